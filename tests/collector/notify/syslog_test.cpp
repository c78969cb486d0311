// The syslog channel against in-test TCP and TLS receivers on loopback: exact octet-counted
// RFC 5424 frames, one connection kept, reconnects, verification and timeouts.
#include "collector/notify/syslog.hpp"

#include <gtest/gtest.h>

#include "edusight/core/config.hpp"
#include "tests/collector/notify/loopback.hpp"
#include "tests/collector/notify/sample.hpp"

namespace edusight::collector::notify {
namespace {

using namespace std::chrono_literals;
using test::sample;

template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

SyslogOptions tcp_to(std::uint16_t port) {
  SyslogOptions o;
  o.name = "siem";
  o.host = "127.0.0.1";
  o.port = port;
  o.transport = SyslogTransport::tcp;
  o.connect_timeout = 2000ms;
  o.write_timeout = 2000ms;
  return o;
}

struct Frames {
  ManualClock clock{test::at("2026-11-25T15:00:01Z")};
  Notification first = sample();
  Notification second = [] {
    auto n = sample(Event::resolved);
    n.alert.id = 43;
    n.alert.state = "resolved";
    n.alert.subject = "vpn.demo-univ.edu.cn:443";
    n.alert.resolved_at = test::at("2026-11-25T15:00:01Z");
    return n;
  }();
  std::string frame(const Notification& n, Facility f = Facility::local0) const {
    return octet_frame(syslog_message(n, f, clock.now()));
  }
};

TEST(NotifySyslog, TcpFramesOnOneConnection) {
  test::SyslogSink sink;
  Frames f;
  SyslogChannel c(tcp_to(sink.port()), f.clock);
  EXPECT_EQ(c.name(), "siem");
  EXPECT_FALSE(c.connected());
  auto d = c.send(f.first);
  ASSERT_TRUE(d.ok) << d.error;
  d = c.send(f.second);
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_TRUE(c.connected());
  const std::string expected = f.frame(f.first) + f.frame(f.second);
  ASSERT_TRUE(eventually([&] { return sink.bytes().size() >= expected.size(); }));
  EXPECT_EQ(sink.bytes(), expected);
  EXPECT_EQ(sink.connections(), 1);
  // The frame starts with its length in bytes (the UTF-8 text counts in bytes, not characters).
  EXPECT_EQ(expected.rfind(
                std::to_string(syslog_message(f.first, Facility::local0, f.clock.now()).size()) +
                    " <131>1 ",
                0),
            0u);
}

TEST(NotifySyslog, ReconnectsWhenTheReceiverClosed) {
  Frames f;
  const std::string one = f.frame(f.first);
  test::SyslogSink sink(std::nullopt, one.size());  // closes after each first frame
  SyslogChannel c(tcp_to(sink.port()), f.clock);
  ASSERT_TRUE(c.send(f.first).ok);
  ASSERT_TRUE(eventually([&] { return sink.closed() == 1; }));
  std::this_thread::sleep_for(50ms);  // the FIN reaches us
  const auto d = c.send(f.second);
  ASSERT_TRUE(d.ok) << d.error;
  const std::string expected = one + f.frame(f.second);
  ASSERT_TRUE(eventually([&] { return sink.bytes().size() >= expected.size(); }));
  EXPECT_EQ(sink.bytes(), expected);
  EXPECT_EQ(sink.connections(), 2);
}

TEST(NotifySyslog, RefusedIsRetryable) {
  std::uint16_t port = 0;
  ::close(test::listen_loopback(port));
  Frames f;
  SyslogChannel c(tcp_to(port), f.clock);
  const auto d = c.send(f.first);
  EXPECT_FALSE(d.ok);
  EXPECT_TRUE(d.retryable);
  EXPECT_NE(d.error.find("cannot connect to 127.0.0.1:"), std::string::npos) << d.error;
  EXPECT_FALSE(c.connected());
}

// A self-signed certificate for siem.test and 127.0.0.1, made with the openssl tool.
class NotifySyslogTls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (dir_.path.empty()) GTEST_SKIP() << "no temporary directory";
    cert_ = (dir_.path / "cert.pem").string();
    key_ = (dir_.path / "key.pem").string();
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=siem.test -addext subjectAltName=DNS:siem.test,IP:127.0.0.1 -keyout " +
        key_ + " -out " + cert_ + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl cannot make a test certificate";
  }
  SyslogOptions tls_to(std::uint16_t port, std::string server_name) const {
    auto o = tcp_to(port);
    o.transport = SyslogTransport::tls;
    o.ca_file = cert_;
    o.server_name = std::move(server_name);
    return o;
  }
  test::TempDir dir_{"notify-syslog-tls"};
  std::string cert_, key_;
};

TEST_F(NotifySyslogTls, FramesOverVerifiedTls) {
  test::SyslogSink sink(test::SyslogSink::Tls{cert_, key_});
  Frames f;
  auto o = tls_to(sink.port(), "siem.test");
  o.facility = Facility::authpriv;
  SyslogChannel c(o, f.clock);
  auto d = c.send(f.first);
  ASSERT_TRUE(d.ok) << d.error;
  d = c.send(f.second);
  ASSERT_TRUE(d.ok) << d.error;
  const std::string expected =
      f.frame(f.first, Facility::authpriv) + f.frame(f.second, Facility::authpriv);
  ASSERT_TRUE(eventually([&] { return sink.bytes().size() >= expected.size(); }));
  EXPECT_EQ(sink.bytes(), expected);
  EXPECT_EQ(sink.connections(), 1);
}

TEST_F(NotifySyslogTls, ReconnectsWhenTheReceiverClosed) {
  Frames f;
  const std::string one = f.frame(f.first);
  test::SyslogSink sink(test::SyslogSink::Tls{cert_, key_}, one.size());
  SyslogChannel c(tls_to(sink.port(), "siem.test"), f.clock);
  ASSERT_TRUE(c.send(f.first).ok);
  ASSERT_TRUE(eventually([&] { return sink.closed() == 1; }));
  std::this_thread::sleep_for(50ms);  // the close_notify and FIN reach us
  const auto d = c.send(f.second);
  ASSERT_TRUE(d.ok) << d.error;
  const std::string expected = one + f.frame(f.second);
  ASSERT_TRUE(eventually([&] { return sink.bytes().size() >= expected.size(); }));
  EXPECT_EQ(sink.bytes(), expected);
  EXPECT_EQ(sink.connections(), 2);
}

TEST_F(NotifySyslogTls, AnAddressIsCheckedAgainstTheCertificate) {
  test::SyslogSink sink(test::SyslogSink::Tls{cert_, key_});
  Frames f;
  SyslogChannel c(tls_to(sink.port(), ""), f.clock);  // the name checked is 127.0.0.1
  const auto d = c.send(f.first);
  EXPECT_TRUE(d.ok) << d.error;
}

TEST_F(NotifySyslogTls, WrongNameIsRefused) {
  test::SyslogSink sink(test::SyslogSink::Tls{cert_, key_});
  Frames f;
  SyslogChannel c(tls_to(sink.port(), "other.test"), f.clock);
  const auto d = c.send(f.first);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.error.find("TLS with 127.0.0.1:"), std::string::npos) << d.error;
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(sink.bytes(), "");
}

TEST_F(NotifySyslogTls, UntrustedCertificateIsRefused) {
  test::SyslogSink sink(test::SyslogSink::Tls{cert_, key_});
  Frames f;
  // Another self-signed certificate as the only trusted one.
  const std::string other = (dir_.path / "other.pem").string();
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=siem.test -keyout " +
      (dir_.path / "other.key").string() + " -out " + other + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto o = tls_to(sink.port(), "siem.test");
  o.ca_file = other;
  SyslogChannel c(o, f.clock);
  EXPECT_FALSE(c.send(f.first).ok);
}

TEST_F(NotifySyslogTls, HandshakeIsBoundedByTheConnectTimeout) {
  test::SyslogSink sink(std::nullopt, 0, /*silent=*/true);  // accepts, never answers
  Frames f;
  auto o = tls_to(sink.port(), "siem.test");
  o.connect_timeout = 300ms;
  SyslogChannel c(o, f.clock);
  const auto start = std::chrono::steady_clock::now();
  const auto d = c.send(f.first);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_FALSE(d.ok);
  EXPECT_TRUE(d.retryable);
  EXPECT_NE(d.error.find("TLS"), std::string::npos) << d.error;
}

TEST_F(NotifySyslogTls, MissingCaFileIsAConfigError) {
  Frames f;
  auto o = tls_to(1, "siem.test");
  o.ca_file = (dir_.path / "missing.pem").string();
  EXPECT_THROW(SyslogChannel c(o, f.clock), ConfigError);
}

}  // namespace
}  // namespace edusight::collector::notify
