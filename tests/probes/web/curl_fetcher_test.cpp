// CurlFetcher against a real nginx on 127.0.0.1 and [::1] (free high ports, temp config).
// Skipped with a message when nginx or openssl is not installed. Loopback only.
#include "probes/web/curl_fetcher.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "support/local_nginx.hpp"

namespace edusight::web {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using testsupport::find_binary;
using testsupport::free_port;
using testsupport::port_open;
using testsupport::write_file;

class Nginx : public testsupport::LocalNginx {
 public:
  unsigned short http = 0, https = 0;

  bool start() {
    const auto nginx = find_binary("nginx");
    const auto openssl = find_binary("openssl");
    if (!nginx) return fail("nginx binary not found");
    if (!openssl) return fail("openssl binary not found");
    if (!make_dir("edusight-web-test")) return false;
    fs::create_directories(dir / "www");
    write_file(dir / "www/index.html",
               "<html><head><title>Test site</title></head><body>hello</body></html>");
    write_file(dir / "www/big.bin", std::string(2 * 1024 * 1024, 'x'));
    const std::string cert_cmd =
        openssl->string() + " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes" +
        " -keyout " + (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() +
        " -days 30 -subj '/CN=site.test/O=Edusight Test' " +
        "-addext 'subjectAltName=DNS:site.test,DNS:WWW.site.test,IP:127.0.0.1' >/dev/null 2>&1";
    if (std::system(cert_cmd.c_str()) != 0) return fail("openssl req failed");
    http = free_port();
    https = free_port();
    if (http == 0 || https == 0 || http == https) return fail("no free port");
    const std::string d = dir.string();
    const std::string conf = config_head(512) +
                             "  types { text/html html; application/octet-stream bin; }\n"
                             "  absolute_redirect off;\n"
                             "  server {\n"
                             "    listen 127.0.0.1:" +
                             std::to_string(http) + "; listen [::1]:" + std::to_string(http) +
                             ";\n"
                             "    listen 127.0.0.1:" +
                             std::to_string(https) + " ssl; listen [::1]:" + std::to_string(https) +
                             " ssl;\n"
                             "    ssl_certificate " +
                             d + "/cert.pem; ssl_certificate_key " + d +
                             "/key.pem;\n"
                             "    server_name site.test;\n"
                             "    root " +
                             d +
                             "/www;\n"
                             "    location = /redirect { return 302 /index.html; }\n"
                             "    location = /elsewhere { return 301 https://other.test/x; }\n"
                             "    location = /teapot { return 418; }\n"
                             "  }\n"
                             "}\n";
    return launch(*nginx, conf, {{"127.0.0.1", http}, {"::1", https}});
  }
};

class CurlFetcherTest : public testsupport::ServerSuite<Nginx> {
 protected:
  FetchResult fetch(FetchRequest req) {
    asio::io_context io;
    std::optional<FetchResult> out;
    asio::co_spawn(io, fetcher_.fetch(std::move(req)), [&](std::exception_ptr e, FetchResult r) {
      if (e) std::rethrow_exception(e);
      out = std::move(r);
    });
    io.run();
    return std::move(*out);
  }
  static FetchRequest req(std::string url, const char* addr) {
    FetchRequest r;
    r.url = std::move(url);
    r.address = asio::ip::make_address(addr);
    return r;
  }
  static std::string http(const std::string& path) {
    return "http://site.test:" + std::to_string(nginx_->http) + path;
  }
  static std::string https(const std::string& path) {
    return "https://site.test:" + std::to_string(nginx_->https) + path;
  }

  CurlFetcher fetcher_;
};

TEST_F(CurlFetcherTest, PinnedToIpv4AndIpv6) {
  for (const char* addr : {"127.0.0.1", "::1"}) {
    SCOPED_TRACE(addr);
    // site.test does not resolve: only the pinned address can make this work.
    const auto r = fetch(req(http("/index.html"), addr));
    ASSERT_EQ(r.status, Status::ok) << r.error;
    EXPECT_EQ(r.http_status, 200);
    EXPECT_NE(r.body.find("hello"), std::string::npos);
    EXPECT_FALSE(r.body_truncated);
    EXPECT_EQ(r.content_type, "text/html");
    EXPECT_FALSE(r.last_modified.empty());
    EXPECT_EQ(r.server_header.rfind("nginx", 0), 0u) << r.server_header;
    EXPECT_GT(r.total_time.count(), 0);
    EXPECT_GE(r.first_byte_time, r.connect_time);
    EXPECT_FALSE(r.certificate.has_value());
  }
}

TEST_F(CurlFetcherTest, StatusCodesAreResponses) {
  const auto r404 = fetch(req(http("/missing"), "127.0.0.1"));
  EXPECT_EQ(r404.status, Status::ok);
  EXPECT_EQ(r404.http_status, 404);
  const auto r418 = fetch(req(http("/teapot"), "::1"));
  EXPECT_EQ(r418.status, Status::ok);
  EXPECT_EQ(r418.http_status, 418);
}

TEST_F(CurlFetcherTest, RedirectLocationIsAbsoluteAndNotFollowed) {
  const auto r = fetch(req(http("/redirect"), "::1"));
  ASSERT_EQ(r.status, Status::ok) << r.error;
  EXPECT_EQ(r.http_status, 302);
  EXPECT_EQ(r.location, http("/index.html"));
  const auto e = fetch(req(http("/elsewhere"), "127.0.0.1"));
  EXPECT_EQ(e.http_status, 301);
  EXPECT_EQ(e.location, "https://other.test/x");
}

TEST_F(CurlFetcherTest, BodyCap) {
  auto q = req(http("/big.bin"), "127.0.0.1");
  q.max_body = 500 * 1024;
  const auto r = fetch(q);
  ASSERT_EQ(r.status, Status::ok) << r.error;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_TRUE(r.body_truncated);
  EXPECT_EQ(r.body.size(), 500u * 1024u);
  // A body that fits exactly is not truncated.
  q.max_body = 2 * 1024 * 1024;
  const auto full = fetch(q);
  EXPECT_EQ(full.status, Status::ok);
  EXPECT_FALSE(full.body_truncated);
  EXPECT_EQ(full.body.size(), 2u * 1024u * 1024u);
}

TEST_F(CurlFetcherTest, HeadOnly) {
  auto q = req(http("/index.html"), "::1");
  q.head_only = true;
  const auto r = fetch(q);
  EXPECT_EQ(r.status, Status::ok);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(CurlFetcherTest, NothingListeningIsConnectFailed) {
  const unsigned short closed = free_port();
  for (const char* addr : {"127.0.0.1", "::1"}) {
    const auto r = fetch(req("http://site.test:" + std::to_string(closed) + "/", addr));
    EXPECT_EQ(r.status, Status::connect_failed) << addr << ": " << r.error;
    EXPECT_FALSE(r.error.empty());
  }
  // Pinned elsewhere than where nginx listens: nginx's port on 127.0.0.2 is not nginx.
  const auto r = fetch(req(http("/index.html"), "127.0.0.2"));
  EXPECT_EQ(r.status, Status::connect_failed) << r.error;
}

TEST_F(CurlFetcherTest, SilentServerTimesOut) {
  // The kernel completes the handshake (listen backlog), nobody ever answers.
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto q =
      req("http://site.test:" + std::to_string(silent.local_endpoint().port()) + "/", "127.0.0.1");
  q.total_timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = fetch(q);
  EXPECT_EQ(r.status, Status::timeout) << r.error;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_F(CurlFetcherTest, HttpsCertificateExtracted) {
  for (const char* addr : {"127.0.0.1", "::1"}) {
    SCOPED_TRACE(addr);
    for (int round = 0; round < 2; ++round) {  // the second may reuse the connection
      const auto r = fetch(req(https("/index.html"), addr));
      ASSERT_EQ(r.status, Status::ok) << r.error;
      EXPECT_EQ(r.http_status, 200);
      ASSERT_TRUE(r.certificate.has_value());
      const auto& c = *r.certificate;
      EXPECT_NE(c.subject.find("CN=site.test"), std::string::npos) << c.subject;
      EXPECT_NE(c.subject.find("O=Edusight Test"), std::string::npos) << c.subject;
      EXPECT_EQ(c.subject, c.issuer);  // self-signed
      EXPECT_EQ(c.names, (std::vector<std::string>{"site.test", "www.site.test"}));
      EXPECT_FALSE(c.verified);
      const auto now = std::chrono::system_clock::now();
      EXPECT_LT(c.not_before, now + 1h);
      EXPECT_GT(c.not_before, now - 48h);
      const auto days = std::chrono::duration_cast<std::chrono::hours>(c.not_after - c.not_before);
      EXPECT_EQ(days.count(), 30 * 24);
    }
  }
}

TEST_F(CurlFetcherTest, TlsToPlainPortIsTlsError) {
  const auto r = fetch(req("https://site.test:" + std::to_string(nginx_->http) + "/", "::1"));
  EXPECT_EQ(r.status, Status::tls_error) << to_string(r.status) << ": " << r.error;
}

TEST_F(CurlFetcherTest, BadRequests) {
  EXPECT_EQ(fetch(req("ftp://site.test/", "127.0.0.1")).status, Status::bad_url);
  EXPECT_EQ(fetch(req("not a url", "127.0.0.1")).status, Status::bad_url);
  EXPECT_EQ(fetch(req(http("/"), "0.0.0.0")).status, Status::bad_url);
}

TEST_F(CurlFetcherTest, ManyConcurrentFetchesWithSmallLimit) {
  CurlFetcherOptions o;
  o.max_in_flight = 8;
  CurlFetcher limited(o);
  asio::io_context io;
  int ok = 0, done = 0;
  std::size_t max_seen = 0;
  for (int i = 0; i < 200; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          const auto r = co_await limited.fetch(
              req(http("/index.html?i=" + std::to_string(i)), i % 2 ? "::1" : "127.0.0.1"));
          max_seen = std::max(max_seen, limited.stats().in_flight);
          ok += r.status == Status::ok && r.http_status == 200;
          ++done;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(done, 200);
  EXPECT_EQ(ok, 200);
  EXPECT_LE(max_seen, 8u);
  EXPECT_EQ(limited.stats().completed, 200u);
}

TEST_F(CurlFetcherTest, ShutdownCompletesPendingFetches) {
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("::1"), 0});
  const auto url = "http://site.test:" + std::to_string(silent.local_endpoint().port()) + "/";
  int errors = 0, done = 0;
  {
    CurlFetcherOptions o;
    o.max_in_flight = 2;  // some in flight, the rest queued
    CurlFetcher doomed(o);
    for (int i = 0; i < 6; ++i) {
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            auto q = req(url, "::1");
            q.total_timeout = 60s;
            const auto r = co_await doomed.fetch(q);
            errors += r.status == Status::other && r.error == "fetcher shut down";
            ++done;
          },
          asio::detached);
    }
    io.run_for(200ms);  // submitted, waiting on the silent server
    EXPECT_EQ(done, 0);
  }
  io.restart();
  io.run();
  EXPECT_EQ(done, 6);
  EXPECT_EQ(errors, 6);
}

TEST_F(CurlFetcherTest, CallbackToken) {
  asio::io_context io;
  std::optional<FetchResult> got;
  fetcher_.async_fetch(req(http("/index.html"), "127.0.0.1"),
                       asio::bind_executor(io, [&](FetchResult r) { got = std::move(r); }));
  io.run();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->http_status, 200);
}

}  // namespace
}  // namespace edusight::web
