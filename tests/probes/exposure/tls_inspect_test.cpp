// inspect_tls against a throw-away nginx on 127.0.0.1 and [::1] (free high ports, temporary
// config) with certificates made here by the openssl CLI: CA-signed and valid, expired,
// wrong name (SNI picks between the last two), and a server still offering TLS 1.0/1.1.
// Skipped with a message when nginx or openssl is not installed. Loopback only.
#include "probes/exposure/tls_inspect.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "support/local_nginx.hpp"
#include "test_util.hpp"

namespace edusight::exposure {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::run_coro;

using testsupport::port_open;
using testsupport::write_file;

// The certificates, made with the openssl CLI in `dir`.
const char* const kCertScript = R"(set -e
cd "$1"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 30 -subj "/CN=Edusight Test CA"
# Valid: CA-signed, SAN names, a UTF-8 organisation.
openssl req -new $ec -keyout valid.key -out valid.csr -utf8 -subj "/CN=valid.test/O=Université Test"
printf 'subjectAltName=DNS:valid.test,DNS:*.Valid.test\n' > valid.ext
openssl x509 -req -in valid.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 30 -extfile valid.ext -out valid.pem
# Expired: openssl 3.0's x509 has no -not_before/-not_after, openssl ca has -startdate/-enddate.
openssl req -new $ec -keyout expired.key -out expired.csr -subj "/CN=expired.test" -addext "subjectAltName=DNS:expired.test"
cat > ca.cnf <<'CNF'
[ ca ]
default_ca = test_ca
[ test_ca ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[ anything ]
commonName = supplied
CNF
: > index.txt
echo 1000 > serial
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem -startdate 20200101000000Z -enddate 20200201000000Z -notext
# Wrong name: self-signed for another host.
openssl req -x509 $ec -keyout other.key -out other.pem -days 30 -subj "/CN=other.test" -addext "subjectAltName=DNS:other.test"
)";

class Nginx : public testsupport::LocalNginx {
 public:
  unsigned short sni = 0, expired = 0, legacy = 0, plain = 0;

  bool start() {
    const auto nginx = test::find_binary("nginx");
    const auto openssl = test::find_binary("openssl");
    if (!nginx) return fail("nginx binary not found");
    if (!openssl) return fail("openssl binary not found");
    if (!make_dir("edusight-exposure-test")) return false;
    const std::string d = dir.string();
    write_file(dir / "certs.sh", kCertScript);
    const std::string gen = "PATH=" + openssl->parent_path().string() + ":$PATH sh " + d +
                            "/certs.sh " + d + " >" + d + "/certs.log 2>&1";
    if (std::system(gen.c_str()) != 0)
      return fail("certificate generation failed (see " + d + "/certs.log)");

    for (auto* p : {&sni, &expired, &legacy, &plain}) {
      for (int attempt = 0; attempt < 20 && (*p == 0 || std::count(&sni, &plain + 1, *p) > 1);
           ++attempt) {
        *p = test::free_port();
      }
      if (*p == 0) return fail("no free port");
    }
    auto listen = [](unsigned short port, const char* extra) {
      const auto p = std::to_string(port);
      return "    listen 127.0.0.1:" + p + extra + "; listen [::1]:" + p + extra + ";\n";
    };
    auto cert = [&](const char* name) {
      return "    ssl_certificate " + d + "/" + name + ".pem; ssl_certificate_key " + d + "/" +
             name + ".key;\n";
    };
    std::string conf = config_head() +
                       // nginx 1.22's default still lists TLSv1 and TLSv1.1 and lacks TLSv1.3.
                       "  ssl_protocols TLSv1.2 TLSv1.3;\n";
    conf += "  server {\n" + listen(sni, " ssl default_server") + "    server_name other.test;\n" +
            cert("other") + "    return 200 other;\n  }\n";
    conf += "  server {\n" + listen(sni, " ssl") + "    server_name valid.test;\n" + cert("valid") +
            "    return 200 valid;\n  }\n";
    conf += "  server {\n" + listen(expired, " ssl") + cert("expired") +
            "    return 200 expired;\n  }\n";
    conf += "  server {\n" + listen(legacy, " ssl") + cert("valid") +
            "    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n    ssl_ciphers DEFAULT@SECLEVEL=0;\n"
            "    return 200 legacy;\n  }\n";
    conf += "  server {\n" + listen(plain, "") + "    return 200 plain;\n  }\n}\n";
    return launch(*nginx, conf, {{"127.0.0.1", plain}, {"::1", legacy}});
  }
};

class TlsInspect : public testsupport::ServerSuite<Nginx> {
 protected:
  static TlsReport inspect(const char* address, unsigned short port, std::string sni,
                           std::chrono::milliseconds timeout = 3000ms) {
    return run_coro([&]() -> asio::awaitable<TlsReport> {
      co_return co_await inspect_tls(asio::ip::make_address(address), port, sni, timeout);
    });
  }
};

void expect_valid(const TlsReport& r) {
  EXPECT_TRUE(r.handshake_ok) << r.error;
  EXPECT_EQ(r.negotiated_protocol, "TLSv1.3");
  EXPECT_TRUE(r.legacy_protocols_accepted.empty());
  ASSERT_TRUE(r.certificate.has_value());
  const auto& c = *r.certificate;
  EXPECT_EQ(c.dns_names, (std::vector<std::string>{"valid.test", "*.valid.test"}));
  EXPECT_EQ(c.subject_cn, "valid.test");
  EXPECT_EQ(c.subject_o, "Université Test");
  EXPECT_NE(c.subject.find("CN=valid.test"), std::string::npos) << c.subject;
  EXPECT_NE(c.subject.find("O=Université Test"), std::string::npos) << c.subject;
  EXPECT_EQ(c.issuer, "CN=Edusight Test CA");
  const auto now = std::chrono::system_clock::now();
  EXPECT_LE(c.not_before, now);
  EXPECT_GT(c.not_after, now + 29 * 24h);
  EXPECT_LT(c.not_after, now + 31 * 24h);
  EXPECT_TRUE(certificate_matches_host(c, "valid.test"));
  EXPECT_TRUE(certificate_matches_host(c, "www.valid.test"));
  EXPECT_FALSE(certificate_matches_host(c, "other.test"));
}

TEST_F(TlsInspect, ValidCertificateIPv4) {
  expect_valid(inspect("127.0.0.1", nginx_->sni, "valid.test"));
}

TEST_F(TlsInspect, ValidCertificateIPv6) {
  expect_valid(inspect("::1", nginx_->sni, "valid.test"));
}

TEST_F(TlsInspect, SniSelectsTheCertificateAndMismatchIsSeen) {
  const auto r = inspect("127.0.0.1", nginx_->sni, "nomatch.test");
  EXPECT_TRUE(r.handshake_ok) << r.error;
  ASSERT_TRUE(r.certificate.has_value());
  EXPECT_EQ(r.certificate->dns_names, std::vector<std::string>{"other.test"});
  EXPECT_EQ(r.certificate->issuer, r.certificate->subject);  // self-signed, still inspected
  EXPECT_FALSE(certificate_matches_host(*r.certificate, "nomatch.test"));
  EXPECT_TRUE(certificate_matches_host(*r.certificate, "other.test"));
}

TEST_F(TlsInspect, ExpiredCertificateDates) {
  using namespace std::chrono;
  const auto r = inspect("::1", nginx_->expired, "expired.test");
  EXPECT_TRUE(r.handshake_ok) << r.error;
  ASSERT_TRUE(r.certificate.has_value());
  EXPECT_EQ(r.certificate->not_before, sys_days(2020y / January / 1));
  EXPECT_EQ(r.certificate->not_after, sys_days(2020y / February / 1));
  EXPECT_LT(r.certificate->not_after, system_clock::now());
  EXPECT_TRUE(certificate_matches_host(*r.certificate, "expired.test"));
  EXPECT_EQ(r.certificate->subject_o, "");
}

TEST_F(TlsInspect, LegacyProtocolsDetected) {
  for (const char* address : {"127.0.0.1", "::1"}) {
    const auto r = inspect(address, nginx_->legacy, "valid.test");
    EXPECT_TRUE(r.handshake_ok) << r.error;
    EXPECT_EQ(r.negotiated_protocol, "TLSv1.2");
    EXPECT_EQ(r.legacy_protocols_accepted, (std::vector<std::string>{"TLSv1", "TLSv1.1"}))
        << address << " (nginx error log: " << nginx_->dir.string() << "/error.log)";
  }
}

TEST_F(TlsInspect, PlainHttpIsAHandshakeFailure) {
  const auto r = inspect("127.0.0.1", nginx_->plain, "valid.test");
  EXPECT_FALSE(r.handshake_ok);
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(r.certificate.has_value());
  EXPECT_TRUE(r.legacy_protocols_accepted.empty());
}

TEST(TlsInspectNoServer, ClosedPortIsAConnectError) {
  asio::io_context io;
  asio::ip::tcp::socket holder(io);  // bound, not listening: connects are refused
  holder.open(asio::ip::tcp::v4());
  holder.bind({asio::ip::make_address("127.0.0.1"), 0});
  const auto port = holder.local_endpoint().port();
  const auto r = run_coro([&]() -> asio::awaitable<TlsReport> {
    co_return co_await inspect_tls(asio::ip::make_address("127.0.0.1"), port, "x.test", 2000ms);
  });
  EXPECT_FALSE(r.handshake_ok);
  EXPECT_EQ(r.error.rfind("connect:", 0), 0u) << r.error;
  EXPECT_TRUE(r.legacy_protocols_accepted.empty());
}

TEST(TlsInspectNoServer, SilentServerTimesOut) {
  // Listening but never reading: the TCP handshake completes, the TLS one never does.
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = silent.local_endpoint().port();
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_coro([&]() -> asio::awaitable<TlsReport> {
    co_return co_await inspect_tls(asio::ip::make_address("127.0.0.1"), port, "x.test", 300ms);
  });
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(r.handshake_ok);
  EXPECT_EQ(r.error, "handshake: timeout");
  EXPECT_TRUE(r.legacy_protocols_accepted.empty());
  // Three handshakes (modern, TLSv1, TLSv1.1) of 300 ms each, nothing waits longer.
  EXPECT_GE(elapsed, 850ms);
  EXPECT_LT(elapsed, 5s);
}

}  // namespace
}  // namespace edusight::exposure
