// edusight-bench-passive-capture: writes a pcap of N mixed frames for bench/passive/run.sh,
// fast (scapy would take minutes for a million): per 100 frames 30 DNS answers (A and AAAA,
// own and outside names, IPv4 and IPv6), 15 TLS ClientHellos with SNI, 10 HTTP requests with
// Host, 20 IPv6 and 15 IPv4 TCP data segments, 4 tunnels (6in4, 6to4, Teredo, GRE), one Router
// Advertisement, one DHCPv6 Reply and 4 VLAN-tagged DNS answers. Names and addresses vary
// (documentation prefixes only); one frame every 500 us from 2026-01-01T00:00:00Z.
//
//   edusight-bench-passive-capture OUT.pcap [N]      (default N = 1000000)
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/probes/passive/frames.hpp"

namespace {

using namespace edusight::passive::test;

struct Writer {
  std::FILE* f;
  void header() {
    const std::uint32_t h[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};  // LE, v2.4, Ethernet
    std::fwrite(h, sizeof h, 1, f);
  }
  void frame(const Bytes& b, std::uint64_t usec) {
    const std::uint32_t rec[4] = {
        static_cast<std::uint32_t>(usec / 1000000), static_cast<std::uint32_t>(usec % 1000000),
        static_cast<std::uint32_t>(b.size()), static_cast<std::uint32_t>(b.size())};
    std::fwrite(rec, sizeof rec, 1, f);
    std::fwrite(b.data(), 1, b.size(), f);
  }
};

std::string v4(const char* net, unsigned host) {
  return net + std::to_string(host % 254 + 1);
}
std::string v6(const char* net, unsigned host) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%x", net, host % 0xfffe + 1);
  return buf;
}

Bytes dns_frame(unsigned k, bool six, std::initializer_list<unsigned> vlans = {}) {
  char name[64];
  const bool own = k % 3 == 0;
  if (own)
    std::snprintf(name, sizeof name, "h%05u.demo-univ.edu.cn", k % 20000);
  else
    std::snprintf(name, sizeof name, "w%05u.example-%u.com", k % 50000, k % 7);
  const std::vector<std::string> answers = {own ? v4("192.0.2.", k) : v4("203.0.113.", k),
                                            own ? v6("2001:db8:a::", k) : v6("2001:db8:ff00::", k)};
  const Bytes msg = udp(53, 30000 + k % 30000, dns_response(name, answers));
  return six ? frame(ethernet(0x86dd, vlans),
                     ipv6("2001:db8:a::53", v6("2001:db8:a:1::", k), 17, msg))
             : frame(ethernet(0x0800, vlans), ipv4("192.0.2.53", v4("192.0.2.", k + 100), 17, msg));
}

Bytes tls_frame(unsigned k) {
  char name[64];
  if (k % 2 == 0)
    std::snprintf(name, sizeof name, "app%04u.demo-univ.edu.cn", k % 5000);
  else
    std::snprintf(name, sizeof name, "cdn%05u.example.net", k % 30000);
  const Bytes seg = tcp(40000 + k % 20000, 443, client_hello(name));
  return k % 3 == 0
             ? frame(ethernet(0x86dd),
                     ipv6(v6("2001:db8:a:1::", k), v6("2001:db8:ff00::", k), 6, seg))
             : frame(ethernet(0x0800), ipv4(v4("192.0.2.", k), v4("198.51.100.", k), 6, seg));
}

Bytes http_frame(unsigned k) {
  const std::string host = k % 2 == 0 ? "lib" + std::to_string(k % 3000) + ".demo-univ.edu.cn"
                                      : "news" + std::to_string(k % 9000) + ".example.org";
  const std::string req = "GET /page/" + std::to_string(k) + " HTTP/1.1\r\nHost: " + host +
                          "\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\n\r\n";
  const Bytes seg = tcp(40000 + k % 20000, 80, Bytes(req.begin(), req.end()));
  return k % 2 == 0
             ? frame(ethernet(0x86dd), ipv6(v6("2001:db8:a:1::", k), v6("2001:db8:a::", k), 6, seg))
             : frame(ethernet(0x0800), ipv4(v4("192.0.2.", k), v4("203.0.113.", k), 6, seg));
}

Bytes data_frame(unsigned k, bool six) {
  const Bytes seg =
      tcp(443, 40000 + k % 20000, Bytes(200 + k % 1000, static_cast<std::uint8_t>(k)));
  return six ? frame(ethernet(0x86dd),
                     ipv6(v6("2001:db8:ff00::", k), v6("2001:db8:a:1::", k), 6, seg))
             : frame(ethernet(0x0800), ipv4(v4("198.51.100.", k), v4("192.0.2.", k), 6, seg));
}

Bytes tunnel_frame(unsigned k, unsigned which) {
  const Bytes inner = ipv6(v6("2001:db8:ff10::", k), v6("2001:db8:ff20::", k), 6,
                           tcp(40000, 443, Bytes(100, 0x42)));
  switch (which) {
    case 0:
      return frame(ethernet(0x0800), ipv4(v4("192.0.2.", k), "198.51.100.1", 41, inner));
    case 1: {
      const Bytes six_to_four = ipv6("2002:c000:201::1", v6("2001:db8:ff20::", k), 59, {});
      return frame(ethernet(0x0800), ipv4(v4("192.0.2.", k), "198.51.100.99", 41, six_to_four));
    }
    case 2:
      return frame(ethernet(0x0800),
                   ipv4(v4("192.0.2.", k), "198.51.100.35", 17, udp(50000, 3544, inner)));
    default: {
      Bytes gre = {0x00, 0x00, 0x86, 0xdd};
      append(gre, inner);
      return frame(ethernet(0x0800), ipv4(v4("192.0.2.", k), "203.0.113.9", 47, gre));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT.pcap [N]\n", argv[0]);
    return 2;
  }
  const unsigned long n = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000000;
  Writer w{std::fopen(argv[1], "wb")};
  if (!w.f) {
    std::perror(argv[1]);
    return 2;
  }
  static char buffer[1 << 20];
  std::setvbuf(w.f, buffer, _IOFBF, sizeof buffer);
  w.header();
  const std::uint64_t t0 = 1767225600ull * 1000000;
  const Bytes duid = {0, 3, 0, 1, 2, 0, 0, 0, 0xde, 0xad};
  for (unsigned long i = 0; i < n; ++i) {
    const auto k = static_cast<unsigned>(i / 100 * 7 + i % 100);  // varies names and addresses
    const unsigned slot = i % 100;
    Bytes b;
    if (slot < 30)
      b = dns_frame(k, slot % 2 == 1);
    else if (slot < 45)
      b = tls_frame(k);
    else if (slot < 55)
      b = http_frame(k);
    else if (slot < 75)
      b = data_frame(k, true);
    else if (slot < 90)
      b = data_frame(k, false);
    else if (slot < 94)
      b = tunnel_frame(k, slot - 90);
    else if (slot == 94)
      b = frame(ethernet(0x86dd), ipv6(k % 2 ? "fe80::1" : "fe80::bad", "ff02::1", 58,
                                       router_advert({{"2001:db8:bad::", 64}})));
    else if (slot == 95)
      b = frame(ethernet(0x86dd),
                ipv6("fe80::dead", "fe80::100", 17, udp(547, 546, dhcpv6(7, duid))));
    else
      b = dns_frame(k, slot % 2 == 1, {10});
    w.frame(b, t0 + i * 500);
  }
  if (std::fclose(w.f) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  return 0;
}
