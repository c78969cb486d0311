// edusight-bench-dns: resolves N names (A and AAAA each, via Resolver::addresses) against one
// server and prints names/s and queries/s. Exit status 1 when any lookup failed.
//
//   edusight-bench-dns --server 127.0.0.1 --port 53 (--names FILE | --count N --zone Z)
//                      [--in-flight 2000] [--timeout-ms 2000] [--tries 3] [--sockets 4]
//                      [--threads 2]
// Each thread runs its own io_context and Resolver (the engine is single-threaded by design)
// over a contiguous share of the names; --in-flight is the total over all threads.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "resolver.hpp"

namespace asio = boost::asio;
using namespace edusight::dns;

namespace {

struct Args {
  std::string server = "127.0.0.1";
  std::uint16_t port = 53;
  std::string names_file;
  std::size_t count = 100000;
  std::string zone = "bench.test";
  std::size_t in_flight = 2000;
  int timeout_ms = 2000;
  int tries = 3;
  std::size_t sockets = 4;
  std::size_t threads = 2;
};

struct Stats {
  std::size_t done = 0, ok = 0, with_v4 = 0, with_v6 = 0;
};

// Resolves names[begin, end) with `workers` concurrent lookups (two queries each).
Stats run_share(const std::vector<std::string>& names, std::size_t begin, std::size_t end,
                const ResolverOptions& opts, std::size_t workers) {
  Stats st;
  asio::io_context io(1);
  Resolver resolver(io.get_executor(), opts);
  workers = std::max<std::size_t>(1, std::min(end - begin, workers));
  std::size_t next = begin;
  std::size_t running = workers;
  auto worker = [&]() -> asio::awaitable<void> {
    while (next < end) {
      const std::string& name = names[next++];
      const AddressLookup a = co_await resolver.addresses(name);
      ++st.done;
      if (a.status == Status::ok) ++st.ok;
      if (!a.ipv4.empty()) ++st.with_v4;
      if (!a.ipv6.empty()) ++st.with_v6;
    }
    --running;
  };
  for (std::size_t i = 0; i < workers; ++i) asio::co_spawn(io, worker(), asio::detached);
  // The resolver's receive loops never finish on their own: run until the workers do.
  while (running > 0) io.run_one();
  return st;
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "error: %s\nusage: edusight-bench-dns --server ADDR --port P "
               "(--names FILE | --count N --zone Z) [--in-flight Q] [--timeout-ms T] "
               "[--tries K] [--sockets S]\n",
               msg);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + k).c_str());
    const std::string v = argv[++i];
    try {
      if (k == "--server")
        a.server = v;
      else if (k == "--port")
        a.port = static_cast<std::uint16_t>(std::stoul(v));
      else if (k == "--names")
        a.names_file = v;
      else if (k == "--count")
        a.count = std::stoul(v);
      else if (k == "--zone")
        a.zone = v;
      else if (k == "--in-flight")
        a.in_flight = std::stoul(v);
      else if (k == "--timeout-ms")
        a.timeout_ms = std::stoi(v);
      else if (k == "--tries")
        a.tries = std::stoi(v);
      else if (k == "--sockets")
        a.sockets = std::stoul(v);
      else if (k == "--threads")
        a.threads = std::max<std::size_t>(1, std::stoul(v));
      else
        usage(("unknown option " + k).c_str());
    } catch (const std::exception&) {
      usage(("bad value for " + k).c_str());
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  std::vector<std::string> names;
  if (!args.names_file.empty()) {
    std::ifstream in(args.names_file);
    if (!in) usage("cannot read the names file");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) names.push_back(line);
    }
  } else {
    for (std::size_t i = 0; i < args.count; ++i) {
      names.push_back("h" + std::to_string(i) + "." + args.zone);
    }
  }
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(args.server, ec);
  if (ec) usage("bad server address");

  ResolverOptions opts;
  opts.servers = {Server{addr, args.port}};
  opts.query.timeout = std::chrono::milliseconds(args.timeout_ms);
  opts.query.tries = args.tries;
  opts.max_in_flight = std::max<std::size_t>(2, args.in_flight / args.threads);
  opts.sockets_per_family = args.sockets;

  const std::size_t threads = std::min(args.threads, std::max<std::size_t>(1, names.size()));
  std::vector<Stats> stats(threads);
  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t t = 0; t < threads; ++t) {
    const std::size_t b = names.size() * t / threads;
    const std::size_t e = names.size() * (t + 1) / threads;
    pool.emplace_back(
        [&, t, b, e] { stats[t] = run_share(names, b, e, opts, opts.max_in_flight / 2); });
  }
  for (auto& th : pool) th.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::size_t done = 0, ok = 0, with_v4 = 0, with_v6 = 0;
  for (const Stats& st : stats) {
    done += st.done;
    ok += st.ok;
    with_v4 += st.with_v4;
    with_v6 += st.with_v6;
  }

  const double names_per_s = static_cast<double>(done) / secs;
  std::printf("names: %zu ok: %zu failed: %zu with_a: %zu with_aaaa: %zu\n", done, ok, done - ok,
              with_v4, with_v6);
  std::printf("elapsed_s: %.3f\n", secs);
  std::printf("names_per_s: %.0f\n", names_per_s);
  std::printf("queries_per_s: %.0f\n", 2.0 * names_per_s);
  return ok == done ? 0 : 1;
}
