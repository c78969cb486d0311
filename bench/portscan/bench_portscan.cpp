// edusight-bench-portscan: a TCP connect scan of every address x port, with PortScanner.
// Prints "open ADDRESS PORT" lines (sorted by address, then port) and a summary on stderr.
//
//   edusight-bench-portscan [--ports 1-65535] [--concurrency 1000] [--rate 20000]
//                           [--timeout-ms 1000] [--tries 1] TARGET...
// TARGET is an address or an IPv4 prefix of at most 4096 addresses (192.0.2.0/24: every
// address in it, network and broadcast included, as nmap does). --rate 0 means unpaced.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/exposure/port_scan.hpp"

namespace asio = boost::asio;
using namespace edusight::exposure;

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "edusight-bench-portscan: %s\nusage: edusight-bench-portscan [--ports 1-65535] "
               "[--concurrency N] [--rate N] [--timeout-ms N] [--tries N] TARGET...\n",
               why.c_str());
  std::exit(2);
}

long number(std::string_view text, long lo, long hi, const char* what) {
  const std::string s(text);
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || end == nullptr || *end != '\0' || v < lo || v > hi) {
    usage(std::string("bad ") + what + ": " + s);
  }
  return v;
}

// "1-1024,8080,8443" -> the ports, each once, ascending.
std::vector<std::uint16_t> parse_ports(std::string_view spec) {
  std::vector<bool> seen(65536, false);
  for (std::size_t guard = 0; guard < 65536 && !spec.empty(); ++guard) {
    const auto comma = spec.find(',');
    const auto item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    const auto dash = item.find('-');
    const long lo = number(item.substr(0, dash), 1, 65535, "port");
    const long hi =
        dash == std::string_view::npos ? lo : number(item.substr(dash + 1), lo, 65535, "port");
    for (long p = lo; p <= hi; ++p) seen[static_cast<std::size_t>(p)] = true;
  }
  std::vector<std::uint16_t> ports;
  for (std::size_t p = 1; p < seen.size(); ++p) {
    if (seen[p]) ports.push_back(static_cast<std::uint16_t>(p));
  }
  return ports;
}

void add_target(std::string_view text, std::vector<asio::ip::address>& out) {
  boost::system::error_code ec;
  if (text.find('/') != std::string_view::npos) {
    const auto net = asio::ip::make_network_v4(std::string(text), ec);
    if (ec || net.prefix_length() < 20) usage("bad or too large IPv4 prefix: " + std::string(text));
    const auto first = net.network().to_uint();
    const auto count = 1UL << (32 - net.prefix_length());
    for (unsigned long i = 0; i < count; ++i) {
      out.emplace_back(asio::ip::address_v4(static_cast<std::uint32_t>(first + i)));
    }
    return;
  }
  const auto a = asio::ip::make_address(std::string(text), ec);
  if (ec) usage("bad address: " + std::string(text));
  out.push_back(a);
}

}  // namespace

int main(int argc, char** argv) {
  ScanOptions options;
  std::vector<std::uint16_t> ports = parse_ports("1-65535");
  std::vector<asio::ip::address> targets;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) usage("missing value for " + std::string(arg));
      return argv[++i];
    };
    if (arg == "--ports") {
      ports = parse_ports(value());
    } else if (arg == "--concurrency") {
      options.max_concurrent = static_cast<int>(number(value(), 1, 1'000'000, "concurrency"));
    } else if (arg == "--rate") {
      options.new_connections_per_second =
          static_cast<double>(number(value(), 0, 100'000'000, "rate"));
    } else if (arg == "--timeout-ms") {
      options.timeout = std::chrono::milliseconds(number(value(), 1, 600'000, "timeout"));
    } else if (arg == "--tries") {
      options.tries = static_cast<int>(number(value(), 1, 10, "tries"));
    } else if (arg.starts_with("--")) {
      usage("unknown option " + std::string(arg));
    } else {
      add_target(arg, targets);
    }
  }
  if (targets.empty() || ports.empty()) usage("nothing to scan");

  asio::io_context io(1);
  PortScanner scanner(io.get_executor(), options);
  std::vector<PortResult> results;
  std::exception_ptr failure;
  const auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { results = co_await scanner.scan(targets, ports); },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "scan failed: %s\n", e.what());
    }
    return 1;
  }

  std::size_t counts[3] = {0, 0, 0};
  std::vector<const PortResult*> open;
  for (const auto& r : results) {
    ++counts[static_cast<int>(r.state)];
    if (r.state == PortState::open) open.push_back(&r);
  }
  std::sort(open.begin(), open.end(), [](const PortResult* a, const PortResult* b) {
    return a->address != b->address ? a->address < b->address : a->port < b->port;
  });
  for (const auto* r : open) std::printf("open %s %u\n", r->address.to_string().c_str(), r->port);
  std::fprintf(stderr,
               "%zu pairs (%zu addresses x %zu ports), %d in flight: %zu open, %zu closed, %zu "
               "filtered in %.3f s (%.0f/s)\n",
               results.size(), targets.size(), ports.size(), scanner.concurrency(), counts[0],
               counts[1], counts[2], seconds, static_cast<double>(results.size()) / seconds);
  return results.size() == targets.size() * ports.size() ? 0 : 1;
}
