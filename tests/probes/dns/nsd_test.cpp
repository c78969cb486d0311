// The resolver against a real nsd on 127.0.0.1 and [::1] (high port, zones in a temp dir,
// started and killed by the suite). Skips when nsd is not installed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "resolver.hpp"
#include "test_util.hpp"

namespace edusight::dns {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using testing::run_sync;
using namespace std::chrono_literals;

constexpr int kGeneratedHosts = 300;
constexpr int kManyA = 40;  // 40 A records: ~700 bytes, more than 512

std::string find_nsd() {
  for (const char* p : {"/usr/sbin/nsd", "/usr/local/sbin/nsd", "/usr/bin/nsd"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

// A port free for UDP and TCP on both loopback addresses (nsd needs all four).
std::uint16_t free_port() {
  asio::io_context io;
  for (int attempt = 0; attempt < 50; ++attempt) {
    boost::system::error_code ec;
    asio::ip::tcp::acceptor probe(io);
    probe.open(asio::ip::tcp::v4(), ec);
    probe.bind({asio::ip::make_address("127.0.0.1"), 0}, ec);
    if (ec) continue;
    const auto port = probe.local_endpoint().port();
    if (port < 10000) continue;
    bool ok = true;
    for (const char* addr : {"127.0.0.1", "::1"}) {
      asio::ip::udp::socket u(io);
      u.open(asio::ip::make_address(addr).is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
      if (!ec) u.bind({asio::ip::make_address(addr), port}, ec);
      if (ec) ok = false;
      if (std::string_view(addr) == "::1") {
        asio::ip::tcp::acceptor t(io);
        t.open(asio::ip::tcp::v6(), ec);
        if (!ec) t.bind({asio::ip::make_address(addr), port}, ec);
        if (ec) ok = false;
      }
    }
    if (ok) return port;
  }
  return 0;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

std::string example_zone() {
  std::ostringstream z;
  z << "$ORIGIN example.test.\n$TTL 300\n"
       "@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300\n"
       "@ IN NS ns1.example.test.\n@ IN NS NS2.Example.Test.\n"
       "@ IN MX 10 mail.example.test.\n@ IN MX 20 mail2.example.test.\n"
       "ns1 IN A 127.0.0.1\nns1 IN AAAA ::1\nns2 IN A 127.0.0.2\n"
       "www IN A 192.0.2.10\nwww IN AAAA 2001:db8:0:0:0:0:0:10\n"
       "alias IN CNAME alias2\nalias2 IN CNAME WWW\n"
       "mapped IN A 192.0.2.55\nmapped IN AAAA ::ffff:192.0.2.55\n"
       "dangling IN CNAME gone.example.test.\n"
       "out IN CNAME www.other.test.\n"
       "loop1 IN CNAME loop2\nloop2 IN CNAME loop1\n";
  for (int i = 1; i <= 12; ++i) z << "c" << i << " IN CNAME c" << i + 1 << "\n";
  z << "c13 IN A 192.0.2.13\n";
  z << "big IN TXT";
  for (int i = 0; i < 6; ++i) z << " \"" << std::string(200, static_cast<char>('a' + i)) << "\"";
  z << "\n";
  for (int i = 1; i <= kManyA; ++i) z << "many IN A 10.0.0." << i << "\n";
  for (int i = 0; i < kGeneratedHosts; ++i) {
    z << "host" << i << " IN A 10.1." << i / 256 << "." << i % 256 << "\n";
    z << "host" << i << " IN AAAA 2001:db8:1::" << std::hex << i << std::dec << "\n";
  }
  return z.str();
}

class NsdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string nsd = find_nsd();
    if (nsd.empty()) {
      skip_reason_ = "nsd binary not found (install the nsd package)";
      return;
    }
    char tmpl[] = "/tmp/edusight-nsd-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      skip_reason_ = "cannot create a temp dir";
      return;
    }
    dir_ = tmpl;
    port_ = free_port();
    if (port_ == 0) {
      skip_reason_ = "no free loopback port";
      return;
    }
    write_file(dir_ / "example.test.zone", example_zone());
    write_file(dir_ / "other.test.zone",
               "$ORIGIN other.test.\n$TTL 300\n"
               "@ IN SOA ns1.other.test. hostmaster.other.test. 1 3600 900 604800 300\n"
               "@ IN NS ns1.other.test.\nns1 IN A 127.0.0.1\nwww IN A 198.51.100.7\n");
    write_file(dir_ / "reverse.zone",
               "$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n"
               "@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300\n"
               "@ IN NS ns1.example.test.\n10 IN PTR www.example.test.\n");
    const std::string d = dir_.string();
    std::ostringstream conf;
    conf << "server:\n"
         << "  ip-address: 127.0.0.1\n  ip-address: ::1\n  port: " << port_ << "\n"
         << "  username: \"\"\n  chroot: \"\"\n  zonesdir: \"" << d << "\"\n"
         << "  pidfile: \"" << d << "/nsd.pid\"\n  database: \"\"\n"
         << "  xfrdfile: \"" << d << "/xfrd.state\"\n  zonelistfile: \"" << d << "/zone.list\"\n"
         << "  xfrdir: \"" << d << "\"\n  logfile: \"" << d << "/nsd.log\"\n"
         << "  server-count: 1\n  verbosity: 1\n  rrl-ratelimit: 0\n"
         << "remote-control:\n  control-enable: no\n"
         << "zone:\n  name: example.test\n  zonefile: example.test.zone\n"
         << "  provide-xfr: 127.0.0.1 NOKEY\n  provide-xfr: ::1 NOKEY\n"
         << "zone:\n  name: other.test\n  zonefile: other.test.zone\n"
         << "zone:\n  name: 2.0.192.in-addr.arpa\n  zonefile: reverse.zone\n";
    write_file(dir_ / "nsd.conf", conf.str());

    const std::string log = (dir_ / "nsd.stderr").string();
    const std::string conf_path = (dir_ / "nsd.conf").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Child: own process group so the kill reaches nsd's worker too.
      ::setpgid(0, 0);
      FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      ::execl(nsd.c_str(), "nsd", "-d", "-c", conf_path.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid_ < 0) {
      skip_reason_ = "fork failed";
      return;
    }
    // Ready when it answers; bounded to ~10 s.
    asio::io_context io;
    Resolver r(io.get_executor(), ResolverOptions{});
    QueryOptions q;
    q.timeout = 100ms;
    q.tries = 1;
    for (int i = 0; i < 100; ++i) {
      const Response resp = run_sync(io, r.query_server(v4(), "example.test", RType::SOA, q));
      if (resp.status == Status::ok) return;
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    std::ifstream in2(dir_ / "nsd.log");
    ss << in2.rdbuf();
    failure_ = "nsd did not come up: " + ss.str();
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGTERM);
      ::kill(pid_, SIGTERM);
      int st = 0;
      for (int i = 0; i < 50 && ::waitpid(pid_, &st, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(100ms);
      }
      if (::waitpid(pid_, &st, WNOHANG) == 0) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
      }
      pid_ = -1;
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(failure_.empty()) << failure_;
  }

  static Server v4() { return {asio::ip::make_address("127.0.0.1"), port_}; }
  static Server v6() { return {asio::ip::make_address("::1"), port_}; }

  ResolverOptions opts(std::uint16_t edns = 1232) const {
    ResolverOptions o;
    o.servers = {v4()};
    o.query.timeout = 1000ms;
    o.query.tries = 2;
    o.edns_udp_size = edns;
    o.axfr_timeout = 5000ms;
    return o;
  }

  static std::vector<std::string> texts(const std::vector<asio::ip::address>& v) {
    std::vector<std::string> out;
    for (const auto& a : v) out.push_back(a.to_string());
    std::sort(out.begin(), out.end());
    return out;
  }

  asio::io_context io_;

  static inline std::string skip_reason_;
  static inline std::string failure_;
  static inline fs::path dir_;
  static inline std::uint16_t port_ = 0;
  static inline pid_t pid_ = -1;
};

TEST_F(NsdTest, AnswersA) {
  Resolver r(io_.get_executor(), opts());
  const Response resp = run_sync(io_, r.query("WWW.example.test.", RType::A));
  ASSERT_EQ(resp.status, Status::ok) << resp.error;
  EXPECT_TRUE(resp.authoritative);
  EXPECT_FALSE(resp.used_tcp);
  ASSERT_EQ(resp.answers.size(), 1u);
  EXPECT_EQ(resp.answers[0].owner, "www.example.test");
  EXPECT_EQ(resp.answers[0].data, "192.0.2.10");
  EXPECT_EQ(resp.server, "127.0.0.1#" + std::to_string(port_));
}

TEST_F(NsdTest, AnswersAaaaOverIpv6ToOneServer) {
  Resolver r(io_.get_executor(), opts());
  QueryOptions q;
  q.recursion_desired = false;
  q.timeout = 1000ms;
  const Response resp = run_sync(io_, r.query_server(v6(), "www.example.test", RType::AAAA, q));
  ASSERT_EQ(resp.status, Status::ok) << resp.error;
  ASSERT_EQ(resp.answers.size(), 1u);
  EXPECT_EQ(resp.answers[0].data, "2001:db8::10");
  EXPECT_EQ(resp.server, "::1#" + std::to_string(port_));
}

TEST_F(NsdTest, MxNsSoaPtr) {
  Resolver r(io_.get_executor(), opts());
  Response mx = run_sync(io_, r.query("example.test", RType::MX));
  ASSERT_EQ(mx.status, Status::ok) << mx.error;
  ASSERT_EQ(mx.answers.size(), 2u);
  std::sort(mx.answers.begin(), mx.answers.end(),
            [](const Record& a, const Record& b) { return a.preference < b.preference; });
  EXPECT_EQ(mx.answers[0].data, "mail.example.test");
  EXPECT_EQ(mx.answers[0].preference, 10);
  EXPECT_EQ(mx.answers[1].data, "mail2.example.test");

  Response ns = run_sync(io_, r.query("example.test", RType::NS));
  ASSERT_EQ(ns.status, Status::ok) << ns.error;
  std::vector<std::string> names;
  for (const auto& rec : ns.answers) names.push_back(rec.data);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"ns1.example.test", "ns2.example.test"}));

  Response soa = run_sync(io_, r.query("example.test", RType::SOA));
  ASSERT_EQ(soa.status, Status::ok) << soa.error;
  ASSERT_EQ(soa.answers.size(), 1u);
  EXPECT_EQ(soa.answers[0].data, "ns1.example.test");

  Response ptr = run_sync(io_, r.query("10.2.0.192.in-addr.arpa", RType::PTR));
  ASSERT_EQ(ptr.status, Status::ok) << ptr.error;
  ASSERT_EQ(ptr.answers.size(), 1u);
  EXPECT_EQ(ptr.answers[0].data, "www.example.test");
}

TEST_F(NsdTest, NxdomainAndNodata) {
  Resolver r(io_.get_executor(), opts());
  const Response nx = run_sync(io_, r.query("nope.example.test", RType::A));
  EXPECT_EQ(nx.status, Status::nxdomain);
  EXPECT_EQ(nx.rcode, 3);
  ASSERT_FALSE(nx.authority.empty());
  EXPECT_EQ(nx.authority[0].type, RType::SOA);
  const Response nodata = run_sync(io_, r.query("www.example.test", RType::TXT));
  EXPECT_EQ(nodata.status, Status::ok);
  EXPECT_TRUE(nodata.answers.empty());
}

TEST_F(NsdTest, AddressesPlain) {
  Resolver r(io_.get_executor(), opts());
  const AddressLookup a = run_sync(io_, r.addresses("www.example.test"));
  ASSERT_EQ(a.status, Status::ok) << a.error;
  EXPECT_TRUE(a.cname_chain.empty());
  EXPECT_EQ(texts(a.ipv4), (std::vector<std::string>{"192.0.2.10"}));
  EXPECT_EQ(texts(a.ipv6), (std::vector<std::string>{"2001:db8::10"}));
  EXPECT_TRUE(a.ipv4_mapped.empty());
}

TEST_F(NsdTest, AddressesFollowCnameChain) {
  Resolver r(io_.get_executor(), opts());
  const AddressLookup a = run_sync(io_, r.addresses("alias.example.test"));
  ASSERT_EQ(a.status, Status::ok) << a.error;
  EXPECT_EQ(a.cname_chain, (std::vector<std::string>{"alias2.example.test", "www.example.test"}));
  EXPECT_EQ(texts(a.ipv4), (std::vector<std::string>{"192.0.2.10"}));
  EXPECT_EQ(texts(a.ipv6), (std::vector<std::string>{"2001:db8::10"}));
}

TEST_F(NsdTest, AddressesRequeryOutOfZoneTarget) {
  Resolver r(io_.get_executor(), opts());
  const AddressLookup a = run_sync(io_, r.addresses("out.example.test"));
  ASSERT_EQ(a.status, Status::ok) << a.error;
  EXPECT_EQ(a.cname_chain, (std::vector<std::string>{"www.other.test"}));
  EXPECT_EQ(texts(a.ipv4), (std::vector<std::string>{"198.51.100.7"}));
  EXPECT_TRUE(a.ipv6.empty());
}

TEST_F(NsdTest, DanglingCnameIsNxdomainWithChain) {
  Resolver r(io_.get_executor(), opts());
  const AddressLookup a = run_sync(io_, r.addresses("dangling.example.test"));
  EXPECT_EQ(a.status, Status::nxdomain);
  EXPECT_EQ(a.cname_chain, (std::vector<std::string>{"gone.example.test"}));
  EXPECT_TRUE(a.ipv4.empty());
}

TEST_F(NsdTest, MappedAaaaIsNotIpv6) {
  Resolver r(io_.get_executor(), opts());
  const AddressLookup a = run_sync(io_, r.addresses("mapped.example.test"));
  ASSERT_EQ(a.status, Status::ok) << a.error;
  EXPECT_TRUE(a.ipv6.empty());
  EXPECT_EQ(texts(a.ipv4_mapped), (std::vector<std::string>{"::ffff:192.0.2.55"}));
  EXPECT_EQ(texts(a.ipv4), (std::vector<std::string>{"192.0.2.55"}));
}

TEST_F(NsdTest, CnameLoopAndLongChain) {
  Resolver r(io_.get_executor(), opts());
  const AddressLookup loop = run_sync(io_, r.addresses("loop1.example.test"));
  EXPECT_TRUE(loop.cname_loop);
  EXPECT_TRUE(loop.ipv4.empty());
  const AddressLookup deep = run_sync(io_, r.addresses("c1.example.test"));
  EXPECT_TRUE(deep.chain_too_long);
  EXPECT_EQ(deep.cname_chain.size(), 8u);
  EXPECT_TRUE(deep.ipv4.empty());
}

TEST_F(NsdTest, TruncatedAnswersFallBackToTcp) {
  Resolver r(io_.get_executor(), opts(0));  // no EDNS: 512-byte UDP limit
  const Response txt = run_sync(io_, r.query("big.example.test", RType::TXT));
  ASSERT_EQ(txt.status, Status::ok) << txt.error;
  EXPECT_TRUE(txt.used_tcp);
  ASSERT_EQ(txt.answers.size(), 1u);
  EXPECT_EQ(txt.answers[0].data.size(), 1200u);
  const Response many = run_sync(io_, r.query("many.example.test", RType::A));
  ASSERT_EQ(many.status, Status::ok) << many.error;
  EXPECT_TRUE(many.used_tcp);
  EXPECT_EQ(many.answers.size(), static_cast<std::size_t>(kManyA));
  // With a 1232-byte EDNS buffer the 40 A records fit in UDP.
  Resolver e(io_.get_executor(), opts());
  const Response udp = run_sync(io_, e.query("many.example.test", RType::A));
  EXPECT_FALSE(udp.used_tcp);
  EXPECT_EQ(udp.answers.size(), static_cast<std::size_t>(kManyA));
}

TEST_F(NsdTest, AxfrAllowedOverBothFamilies) {
  Resolver r(io_.get_executor(), opts());
  for (const Server& s : {v4(), v6()}) {
    const AxfrResult x = run_sync(io_, r.axfr(s, "example.test"));
    ASSERT_EQ(x.status, Status::ok) << x.error;
    EXPECT_TRUE(x.allowed);
    ASSERT_GT(x.records.size(), static_cast<std::size_t>(2 * kGeneratedHosts));
    EXPECT_EQ(x.records.front().type, RType::SOA);
    EXPECT_EQ(x.records.back().type, RType::SOA);
    EXPECT_TRUE(std::any_of(x.records.begin(), x.records.end(), [](const Record& rec) {
      return rec.owner == "www.example.test" && rec.data == "2001:db8::10";
    }));
  }
}

TEST_F(NsdTest, AxfrRefused) {
  Resolver r(io_.get_executor(), opts());
  const AxfrResult x = run_sync(io_, r.axfr(v4(), "other.test"));
  EXPECT_FALSE(x.allowed);
  EXPECT_TRUE(x.status == Status::refused || x.status == Status::other_rcode) << x.error;
  EXPECT_TRUE(x.records.empty());
  const AxfrResult y = run_sync(io_, r.axfr(v4(), "not-served.test"));
  EXPECT_FALSE(y.allowed);
}

TEST_F(NsdTest, AxfrRecordLimitMeansNotComplete) {
  ResolverOptions o = opts();
  o.axfr_max_records = 50;
  Resolver r(io_.get_executor(), o);
  const AxfrResult x = run_sync(io_, r.axfr(v4(), "example.test"));
  EXPECT_FALSE(x.allowed);
  EXPECT_LE(x.records.size(), 50u);
}

TEST_F(NsdTest, SilentFirstServerRotatesToNsd) {
  asio::ip::udp::socket silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
  ResolverOptions o = opts();
  o.servers = {Server{silent.local_endpoint().address(), silent.local_endpoint().port()}, v4()};
  o.query.timeout = 200ms;
  Resolver r(io_.get_executor(), o);
  const Response resp = run_sync(io_, r.query("www.example.test", RType::A));
  ASSERT_EQ(resp.status, Status::ok) << resp.error;
  EXPECT_EQ(resp.server, "127.0.0.1#" + std::to_string(port_));
}

TEST_F(NsdTest, ManyConcurrentAddressLookups) {
  Resolver r(io_.get_executor(), opts());
  int done = 0;
  int ok = 0;
  for (int i = 0; i < kGeneratedHosts; ++i) {
    asio::co_spawn(io_, r.addresses("host" + std::to_string(i) + ".example.test"),
                   [&, i](std::exception_ptr, AddressLookup a) {
                     ++done;
                     if (a.status == Status::ok && a.ipv4.size() == 1 && a.ipv6.size() == 1 &&
                         a.ipv4[0].to_string() ==
                             "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256))
                       ++ok;
                   });
  }
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (done < kGeneratedHosts && std::chrono::steady_clock::now() < deadline) {
    io_.run_one_for(100ms);
  }
  EXPECT_EQ(done, kGeneratedHosts);
  EXPECT_EQ(ok, kGeneratedHosts);
}

}  // namespace
}  // namespace edusight::dns
