// PortScanner against loopback listeners this test opens (open), ports bound but not
// listening (closed), and, when namespaces can be made, silent and unreachable documentation
// addresses inside a network namespace this test creates (filtered). Nothing else is touched.
#include "probes/exposure/port_scan.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "test_util.hpp"

namespace edusight::exposure {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using test::run_coro;

// Listening sockets (open) and bound, not listening ones (closed: the kernel answers RST, and
// holding the port keeps anyone else from opening it meanwhile).
struct Loopback {
  explicit Loopback(const char* address, int n_open = 3, int n_closed = 3) {
    const auto a = asio::ip::make_address(address);
    for (int i = 0; i < n_open; ++i) {
      auto& s = open.emplace_back(io);
      s.open(a.is_v4() ? tcp::v4() : tcp::v6());
      s.bind({a, 0});
      s.listen(64);
      open_ports.push_back(s.local_endpoint().port());
    }
    for (int i = 0; i < n_closed; ++i) {
      auto& s = closed.emplace_back(io);
      s.open(a.is_v4() ? tcp::v4() : tcp::v6());
      s.bind({a, 0});
      closed_ports.push_back(s.local_endpoint().port());
    }
  }
  std::vector<std::uint16_t> all_ports() const {
    auto ports = open_ports;
    ports.insert(ports.end(), closed_ports.begin(), closed_ports.end());
    return ports;
  }
  asio::io_context io;
  std::deque<tcp::acceptor> open;
  std::deque<tcp::socket> closed;
  std::vector<std::uint16_t> open_ports, closed_ports;
};

std::vector<PortResult> scan(std::vector<asio::ip::address> addresses,
                             std::vector<std::uint16_t> ports, ScanOptions options = {}) {
  return run_coro([&]() -> asio::awaitable<std::vector<PortResult>> {
    PortScanner scanner(co_await asio::this_coro::executor, options);
    co_return co_await scanner.scan(addresses, ports);
  });
}

std::map<std::pair<std::string, std::uint16_t>, PortState> by_pair(
    const std::vector<PortResult>& results) {
  std::map<std::pair<std::string, std::uint16_t>, PortState> m;
  for (const auto& r : results) m[{r.address.to_string(), r.port}] = r.state;
  return m;
}

void expect_loopback_states(const char* address) {
  Loopback lo(address);
  const auto results = scan({asio::ip::make_address(address)}, lo.all_ports());
  ASSERT_EQ(results.size(), lo.all_ports().size());
  const auto states = by_pair(results);
  for (auto p : lo.open_ports) EXPECT_EQ(states.at({address, p}), PortState::open) << p;
  for (auto p : lo.closed_ports) EXPECT_EQ(states.at({address, p}), PortState::closed) << p;
  for (const auto& r : results) EXPECT_LT(r.rtt, 1s);
}

TEST(PortScanner, LoopbackIPv4OpenAndClosed) {
  expect_loopback_states("127.0.0.1");
}

TEST(PortScanner, LoopbackIPv6OpenAndClosed) {
  if (!test::ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  expect_loopback_states("::1");
}

TEST(PortScanner, EveryPairOnceAcrossFamilies) {
  if (!test::ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  Loopback v4("127.0.0.1", 2, 0);
  Loopback v6("::1", 2, 0);
  // Ports open on one family are closed (or open by chance) on the other; each pair once.
  auto ports = v4.all_ports();
  ports.insert(ports.end(), v6.open_ports.begin(), v6.open_ports.end());
  const auto results =
      scan({asio::ip::make_address("127.0.0.1"), asio::ip::make_address("::1")}, ports);
  ASSERT_EQ(results.size(), 2 * ports.size());
  const auto states = by_pair(results);
  EXPECT_EQ(states.size(), results.size());
  for (auto p : v4.open_ports) EXPECT_EQ(states.at({"127.0.0.1", p}), PortState::open);
  for (auto p : v6.open_ports) EXPECT_EQ(states.at({"::1", p}), PortState::open);
}

TEST(PortScanner, EmptyInputsGiveNoResults) {
  EXPECT_TRUE(scan({}, {80}).empty());
  EXPECT_TRUE(scan({asio::ip::make_address("127.0.0.1")}, {}).empty());
}

TEST(PortScanner, RateLimitHonoured) {
  Loopback lo("127.0.0.1", 0, 1);
  // 300 connects at 200/s: at least (300 - burst) / 200 s, whatever the concurrency.
  const std::vector<std::uint16_t> ports(300, lo.closed_ports[0]);
  ScanOptions o;
  o.new_connections_per_second = 200;
  o.max_concurrent = 50;
  const auto t0 = std::chrono::steady_clock::now();
  const auto results = scan({asio::ip::make_address("127.0.0.1")}, ports, o);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(results.size(), 300u);
  for (const auto& r : results) EXPECT_EQ(r.state, PortState::closed);
  EXPECT_GE(elapsed, 1300ms);
}

TEST(PortScanner, UnpacedAndNarrow) {
  Loopback lo("127.0.0.1", 1, 1);
  std::vector<std::uint16_t> ports(1000, lo.closed_ports[0]);
  ports.push_back(lo.open_ports[0]);
  ScanOptions o;
  o.new_connections_per_second = 0;  // unpaced
  o.max_concurrent = 1;
  const auto results = scan({asio::ip::make_address("127.0.0.1")}, ports, o);
  ASSERT_EQ(results.size(), ports.size());
  EXPECT_EQ(std::count_if(results.begin(), results.end(),
                          [](const PortResult& r) { return r.state == PortState::open; }),
            1);
}

TEST(PortScanner, StateNames) {
  EXPECT_EQ(to_string(PortState::open), "open");
  EXPECT_EQ(to_string(PortState::closed), "closed");
  EXPECT_EQ(to_string(PortState::filtered), "filtered");
}

// A namespace of our own: veth va <-> vb, both inside it, va holding 192.0.2.1/24 and
// 2001:db8::1/64. ::99 / .99 have a permanent neighbour entry pointing at a MAC nobody has,
// so SYNs vanish (timeout); 203.0.113.0/24 and 2001:db8:1::/64 are unreachable routes
// (EHOSTUNREACH at once). Traffic never leaves the namespace.
class NamespaceScan : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto ip = test::find_binary("ip");
    if (::geteuid() != 0) {
      reason_ = "creating a network namespace needs root";
      return;
    }
    if (!ip) {
      reason_ = "ip (iproute2) not found";
      return;
    }
    name_ = "esexp-test-" + std::to_string(::getpid());
    const std::string n = ip->string() + " -n " + name_ + " ";
    const std::vector<std::string> steps = {
        ip->string() + " netns add " + name_,
        n + "link set lo up",
        n + "link add va type veth peer name vb",
        n + "link set va up",
        n + "link set vb up",
        n + "addr add 192.0.2.1/24 dev va",
        n + "addr add 2001:db8::1/64 dev va nodad",
        n + "neigh add 192.0.2.99 lladdr 02:00:00:00:00:99 dev va nud permanent",
        n + "-6 neigh add 2001:db8::99 lladdr 02:00:00:00:00:99 dev va nud permanent",
        n + "route add unreachable 203.0.113.0/24",
        n + "-6 route add unreachable 2001:db8:1::/64",
    };
    created_ = true;
    for (const auto& step : steps) {
      if (std::system((step + " >/dev/null 2>&1").c_str()) != 0) {
        reason_ = "namespace set-up failed at: " + step;
        return;
      }
    }
    ready_ = true;
  }
  static void TearDownTestSuite() {
    if (created_) {
      const auto ip = test::find_binary("ip");
      if (ip)
        std::ignore =
            std::system((ip->string() + " netns del " + name_ + " >/dev/null 2>&1").c_str());
    }
  }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << reason_;
  }

  // Runs `f` on a thread that has entered the namespace: its sockets live there.
  template <typename F>
  static auto inside(F f) {
    decltype(f()) out{};
    std::string error;
    std::thread t([&] {
      const std::string path = "/run/netns/" + name_;
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
        error = "cannot enter " + path;
        if (fd >= 0) ::close(fd);
        return;
      }
      ::close(fd);
      try {
        out = f();
      } catch (const std::exception& e) {
        error = e.what();
      }
    });
    t.join();
    if (!error.empty()) ADD_FAILURE() << error;
    return out;
  }

  static inline std::string name_;
  static inline std::string reason_;
  static inline bool created_ = false;
  static inline bool ready_ = false;
};

TEST_F(NamespaceScan, SilentAddressesAreFilteredAfterTheTimeout) {
  ScanOptions o;
  o.timeout = 300ms;
  const auto results = inside([&] {
    return scan({asio::ip::make_address("192.0.2.99"), asio::ip::make_address("2001:db8::99")},
                {22, 80, 443}, o);
  });
  ASSERT_EQ(results.size(), 6u);
  for (const auto& r : results) {
    EXPECT_EQ(r.state, PortState::filtered) << r.address << " " << r.port;
    EXPECT_GE(r.rtt, 250ms);
    EXPECT_LT(r.rtt, 5s);
  }
}

TEST_F(NamespaceScan, UnreachableIsFilteredAtOnce) {
  ScanOptions o;
  o.timeout = 2000ms;
  const auto results = inside([&] {
    return scan({asio::ip::make_address("203.0.113.5"), asio::ip::make_address("2001:db8:1::5")},
                {80}, o);
  });
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.state, PortState::filtered) << r.address;
    EXPECT_LT(r.rtt, 1500ms) << "an ICMP-style error should not wait for the deadline";
  }
}

TEST_F(NamespaceScan, OpenAndClosedInsideTheNamespace) {
  // Compared inside the thread, where the listeners live; only the mismatches come out.
  const auto mismatches = inside([&] {
    std::vector<std::string> out;
    for (const char* address : {"192.0.2.1", "2001:db8::1"}) {
      Loopback lo(address, 2, 2);
      const auto states = by_pair(scan({asio::ip::make_address(address)}, lo.all_ports()));
      if (states.size() != 4) out.push_back(std::string(address) + ": wrong result count");
      for (auto p : lo.open_ports) {
        if (states.at({address, p}) != PortState::open)
          out.push_back(address + (" " + std::to_string(p)));
      }
      for (auto p : lo.closed_ports) {
        if (states.at({address, p}) != PortState::closed)
          out.push_back(address + (" " + std::to_string(p)));
      }
    }
    return out;
  });
  EXPECT_TRUE(mismatches.empty()) << ::testing::PrintToString(mismatches);
}

TEST_F(NamespaceScan, ConcurrencyAndTriesBoundTheWork) {
  ScanOptions o;
  o.timeout = 200ms;
  o.max_concurrent = 2;
  // Six silent pairs, two at a time: three rounds of the timeout at least.
  auto t0 = std::chrono::steady_clock::now();
  auto results = inside([&] {
    return scan({asio::ip::make_address("192.0.2.99")}, {1, 2, 3, 4, 5, 6}, o);
  });
  EXPECT_EQ(results.size(), 6u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 550ms);

  o.max_concurrent = 10;
  o.tries = 3;
  t0 = std::chrono::steady_clock::now();
  results = inside([&] { return scan({asio::ip::make_address("192.0.2.99")}, {7}, o); });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].state, PortState::filtered);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 550ms);
}

}  // namespace
}  // namespace edusight::exposure
