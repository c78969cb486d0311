// edusight-bench-web: readiness-fetches N virtual hosts over IPv4 and IPv6 (each fetch pinned
// to 127.0.0.1 or ::1) with a fixed concurrency and prints fetches per second.
// bench/web/run.sh starts the nginx it talks to and compares it with curl --parallel.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "probes/web/curl_fetcher.hpp"

namespace asio = boost::asio;
using edusight::web::CurlFetcher;
using edusight::web::CurlFetcherOptions;
using edusight::web::FetchRequest;
using edusight::web::Status;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: edusight-bench-web --port4 P --port6 P [--hosts 1000] [--concurrency 64]\n"
               "                          [--domain bench.test]\n"
               "       edusight-bench-web --free-ports N   (prints N ports free on 127.0.0.1 "
               "and ::1)\n");
  return 2;
}

int free_ports(int n) {
  asio::io_context io;
  std::vector<asio::ip::tcp::acceptor> held;  // kept open so the N ports differ
  for (int attempt = 0; attempt < 200 && static_cast<int>(held.size()) < 2 * n; ++attempt) {
    boost::system::error_code ec;
    asio::ip::tcp::acceptor a4(io), a6(io);
    a4.open(asio::ip::tcp::v4());
    a4.bind({asio::ip::make_address("127.0.0.1"), 0}, ec);
    if (ec) continue;
    a6.open(asio::ip::tcp::v6());
    a6.bind({asio::ip::make_address("::1"), a4.local_endpoint().port()}, ec);
    if (ec) continue;
    std::printf("%u\n", static_cast<unsigned>(a4.local_endpoint().port()));
    held.push_back(std::move(a4));
    held.push_back(std::move(a6));
  }
  return static_cast<int>(held.size()) == 2 * n ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int hosts = 1000, concurrency = 64, port4 = 0, port6 = 0;
  std::string domain = "bench.test";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--free-ports") return free_ports(std::atoi(v));
    if (k == "--hosts")
      hosts = std::atoi(v);
    else if (k == "--concurrency")
      concurrency = std::atoi(v);
    else if (k == "--port4")
      port4 = std::atoi(v);
    else if (k == "--port6")
      port6 = std::atoi(v);
    else if (k == "--domain")
      domain = v;
    else
      return usage();
  }
  if (port4 <= 0 || port6 <= 0 || hosts <= 0 || concurrency <= 0) return usage();

  std::vector<FetchRequest> work;
  work.reserve(static_cast<std::size_t>(hosts) * 2);
  for (int h = 1; h <= hosts; ++h) {
    char name[64];
    std::snprintf(name, sizeof name, "h%04d.%s", h, domain.c_str());
    for (const bool v6 : {false, true}) {
      FetchRequest r;
      r.url = "http://" + std::string(name) + ":" + std::to_string(v6 ? port6 : port4) + "/";
      r.address = asio::ip::make_address(v6 ? "::1" : "127.0.0.1");
      work.push_back(std::move(r));
    }
  }

  CurlFetcherOptions opts;
  opts.max_in_flight = static_cast<std::size_t>(concurrency);
  CurlFetcher fetcher(opts);
  asio::io_context io;
  std::size_t next = 0, ok = 0, failed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int w = 0; w < concurrency; ++w) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          // Each worker takes the next request until none is left (bounded by work.size()).
          while (next < work.size()) {
            const auto& req = work[next++];
            const auto r = co_await fetcher.fetch(req);
            if (r.status == Status::ok && r.http_status == 200 && !r.body.empty()) {
              ++ok;
            } else {
              ++failed;
              if (failed <= 5) {
                std::fprintf(stderr, "failed %s: %s %s\n", req.url.c_str(),
                             std::string(edusight::web::to_string(r.status)).c_str(),
                             r.error.c_str());
              }
            }
          }
        },
        asio::detached);
  }
  io.run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("ours: fetches=%zu ok=%zu failed=%zu seconds=%.3f fetches_per_s=%.1f\n", work.size(),
              ok, failed, secs, static_cast<double>(work.size()) / secs);
  return failed == 0 ? 0 : 1;
}
