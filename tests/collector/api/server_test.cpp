// ApiServer over HTTP and HTTPS on loopback, with a real SqliteStore in a temporary directory.
#include "collector/api/server.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "collector/api/tokens.hpp"
#include "collector/store/sqlite_store.hpp"

namespace edusight::collector::api {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

const Clock::time_point kStart = Clock::time_point(std::chrono::seconds(1'790'000'000));
constexpr auto kClientTimeout = 5s;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// One request/response on an open stream; every step bounded by the stream's timeout.
template <typename Stream>
asio::awaitable<void> exchange(Stream& stream, beast::flat_buffer& buffer, Request& req,
                               Response& res, beast::error_code& ec) {
  beast::get_lowest_layer(stream).expires_after(kClientTimeout);
  auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
  if (wec) {
    ec = wec;
    co_return;
  }
  auto [rec, rn] = co_await http::async_read(stream, buffer, res, use_nothrow);
  ec = rec;
}

// A small blocking client: its own io_context, run until each exchange is over.
class Client {
 public:
  explicit Client(tcp::endpoint server) : stream_(ioc_) {
    stream_.expires_after(kClientTimeout);
    stream_.async_connect(server, [this](beast::error_code ec) { connect_error_ = ec; });
    ioc_.run();
    ioc_.restart();
  }
  bool connected() const { return !connect_error_; }

  Response send(Request req, beast::error_code* error = nullptr) {
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    Response res;
    beast::error_code ec;
    asio::co_spawn(ioc_, exchange(stream_, buffer_, req, res, ec), asio::detached);
    ioc_.run();
    ioc_.restart();
    if (error) *error = ec;
    EXPECT_TRUE(error || !ec) << ec.message();
    return res;
  }
  Response get(std::string target, std::string token = {}) {
    Request req{http::verb::get, target, 11};
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    return send(std::move(req));
  }

  // Waits (bounded) for the server to close the connection; true if it did.
  bool closed_by_server() {
    bool closed = false;
    stream_.expires_after(kClientTimeout);
    char byte = 0;
    stream_.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code ec, std::size_t) {
      closed = ec == asio::error::eof || ec == asio::error::connection_reset;
    });
    ioc_.run();
    ioc_.restart();
    return closed;
  }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code connect_error_;
};

Finding make_finding(std::string kind, std::string subject, Severity severity) {
  Finding f;
  f.id = finding_id(kind, subject);
  f.kind = std::move(kind);
  f.subject = std::move(subject);
  f.severity = severity;
  f.title = "t";
  f.title_zh = "标题";
  f.observed_at = kStart;
  return f;
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("edusight-api-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
    store_ = std::make_unique<SqliteStore>((dir_ / "collector.db").string(), clock_);
    ASSERT_TRUE(store_->status().ok) << store_->status().error;
    ASSERT_TRUE(store_->add_token("viewer", Role::viewer, sha256_hex("es_viewer")).ok);
    ASSERT_TRUE(store_->add_token("admin", Role::admin, sha256_hex("es_admin")).ok);
  }
  void TearDown() override {
    stop();
    server_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Seeds findings before the server runs: afterwards only the server uses the store.
  void seed(int n) {
    Batch b;
    b.agent = "agent-1";
    b.chunk_id = "chunk-1";
    b.scan = "scan-1";
    for (int i = 0; i < n; ++i) {
      b.findings.push_back(make_finding("ipv6.dns.no_aaaa",
                                        "h" + std::to_string(i) + ".demo-univ.edu.cn",
                                        i % 2 == 0 ? Severity::high : Severity::low));
    }
    b.findings.push_back(make_finding("asset.discovered", "www.demo-univ.edu.cn", Severity::info));
    b.findings.back().evidence =
        boost::json::parse(R"({"ipv4":["192.0.2.10"],"ipv6":[],"sources":["registry"],)"
                           R"("own_domain":true,"own_address":true,"registered":true})")
            .as_object();
    const auto r = store_->commit_batch(b);
    ASSERT_TRUE(r.ok) << r.error;
  }

  void start(ApiConfig config = {}) {
    config.listen = {tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    server_ = std::make_unique<ApiServer>(ioc_.get_executor(), config, *store_, registry_, clock_,
                                          &random_);
    const auto r = server_->start();
    ASSERT_TRUE(r.ok) << r.error;
    endpoint_ = server_->local_endpoints().at(0);
    ASSERT_NE(endpoint_.port(), 0);
    done_ = std::async(std::launch::async, [this] { ioc_.run(); });
  }

  // Stops the server; true if the io_context ran out of work in time (graceful stop).
  bool stop() {
    if (!server_ || !done_.valid()) return true;
    server_->stop();
    const bool finished = done_.wait_for(10s) == std::future_status::ready;
    if (!finished) {
      ioc_.stop();  // do not hang the test run
      done_.wait();
    }
    done_ = {};
    return finished;
  }

  fs::path dir_;
  ManualClock clock_{kStart};
  SeededRandom random_{3};
  metrics::Registry registry_;
  std::unique_ptr<SqliteStore> store_;
  asio::io_context ioc_;
  std::unique_ptr<ApiServer> server_;
  tcp::endpoint endpoint_;
  std::future<void> done_;
};

TEST_F(ApiServerTest, HealthzAndMetricsNeedNoToken) {
  start();
  Client c(endpoint_);
  ASSERT_TRUE(c.connected());
  auto res = c.get("/healthz");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(boost::json::parse(res.body()), boost::json::parse(R"({"status":"ok"})"));
  EXPECT_EQ(res[http::field::server], "edusight-collector");

  res = c.get("/metrics");  // same connection: keep-alive
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(std::string(res[http::field::content_type]).rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(res.body().find("# TYPE edusight_api_requests_total counter"), std::string::npos);
  EXPECT_NE(res.body().find("edusight_api_requests_total{route=\"/healthz\",code=\"200\"} 1"),
            std::string::npos)
      << res.body();
  EXPECT_NE(res.body().find("edusight_api_connections 1"), std::string::npos);
  EXPECT_NE(
      res.body().find("edusight_api_request_duration_microseconds_count{route=\"/healthz\"} 1"),
      std::string::npos);
}

TEST_F(ApiServerTest, TokensRolesAndAgents) {
  start();
  Client c(endpoint_);
  auto res = c.get("/api/v1/findings");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(std::string(res[http::field::www_authenticate]).rfind("Bearer", 0), 0u);
  EXPECT_EQ(c.get("/api/v1/whoami", "es_wrong").result(), http::status::unauthorized);

  res = c.get("/api/v1/whoami", "es_viewer");
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(boost::json::parse(res.body()).at("role"), "viewer");

  Request post{http::verb::post, "/api/v1/agents", 11};
  post.set(http::field::authorization, "Bearer es_viewer");
  post.set(http::field::content_type, "application/json");
  post.body() = R"({"id":"edge-1"})";
  EXPECT_EQ(c.send(post).result(), http::status::forbidden);

  post.set(http::field::authorization, "Bearer es_admin");
  res = c.send(post);
  ASSERT_EQ(res.result(), http::status::created) << res.body();
  const auto key = std::string(boost::json::parse(res.body()).at("key").as_string());
  EXPECT_FALSE(key.empty());
  EXPECT_EQ(c.send(post).result(), http::status::conflict);

  res = c.get("/api/v1/agents", "es_viewer");
  ASSERT_EQ(res.result(), http::status::ok);
  const auto agents = boost::json::parse(res.body()).at("items").as_array();
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0].at("id"), "edge-1");
  EXPECT_EQ(agents[0].at("online"), false);
  EXPECT_EQ(res.body().find(key), std::string::npos);  // the key is shown once only

  Request del{http::verb::delete_, "/api/v1/agents/edge-1", 11};
  del.set(http::field::authorization, "Bearer es_admin");
  EXPECT_EQ(c.send(del).result(), http::status::ok);
  ASSERT_TRUE(stop());
  const auto found = store_->find_agent("edge-1");
  ASSERT_TRUE(found.agent);
  EXPECT_EQ(found.agent->key, key);
  EXPECT_TRUE(found.agent->revoked);
}

TEST_F(ApiServerTest, FindingsPagingFilteringAndAssets) {
  seed(25);
  start();
  Client c(endpoint_);
  auto res = c.get("/api/v1/findings?kind=ipv6.dns.no_aaaa&limit=10&offset=20", "es_viewer");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  auto body = boost::json::parse(res.body());
  EXPECT_EQ(body.at("total"), 25);
  EXPECT_EQ(body.at("items").as_array().size(), 5u);
  EXPECT_EQ(body.at("items").at(0).at("state"), "open");
  EXPECT_EQ(body.at("items").at(0).at("first_seen"), boost::json::value(format_rfc3339(kStart)));

  res = c.get("/api/v1/findings?severity=high", "es_viewer");
  EXPECT_EQ(boost::json::parse(res.body()).at("total"), 13);

  res = c.get("/api/v1/findings?severity=urgent", "es_viewer");
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_EQ(boost::json::parse(res.body()).at("parameter"), "severity");

  const auto id = finding_id("ipv6.dns.no_aaaa", "h3.demo-univ.edu.cn");
  res = c.get("/api/v1/findings/" + id, "es_viewer");
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(boost::json::parse(res.body()).at("subject"), "h3.demo-univ.edu.cn");
  EXPECT_EQ(c.get("/api/v1/findings/ffff", "es_viewer").result(), http::status::not_found);

  res = c.get("/api/v1/assets", "es_viewer");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  body = boost::json::parse(res.body());
  ASSERT_EQ(body.at("total"), 1);
  EXPECT_EQ(body.at("items").at(0).at("name"), "www.demo-univ.edu.cn");
  EXPECT_EQ(body.at("items").at(0).at("ownership"), "own");

  res = c.get("/api/v1/scans", "es_viewer");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  body = boost::json::parse(res.body());
  ASSERT_EQ(body.at("total"), 1);
  EXPECT_EQ(body.at("items").at(0).at("scan"), "scan-1");
}

TEST_F(ApiServerTest, OversizedBodyIs413AndMalformedRequestIs400) {
  ApiConfig config;
  config.max_body_bytes = 1024;
  start(config);
  {
    Client c(endpoint_);
    Request post{http::verb::post, "/api/v1/agents", 11};
    post.set(http::field::authorization, "Bearer es_admin");
    post.body() = std::string(4096, 'x');
    beast::error_code ec;
    const auto res = c.send(post, &ec);
    EXPECT_EQ(res.result(), http::status::payload_too_large);
  }
  {
    // Raw garbage instead of HTTP.
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(endpoint_);
    asio::write(s, asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
    beast::flat_buffer buffer;
    Response res;
    beast::error_code ec;
    http::read(s, buffer, res, ec);  // the server answers, then closes: bounded
    EXPECT_EQ(res.result(), http::status::bad_request);
  }
}

TEST_F(ApiServerTest, StopClosesIdleKeepAliveConnectionsAndFinishes) {
  start();
  Client idle(endpoint_);
  ASSERT_EQ(idle.get("/healthz").result(), http::status::ok);
  EXPECT_TRUE(stop());
  EXPECT_TRUE(idle.closed_by_server());
  // Nothing listens any more.
  asio::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code ec;
  s.connect(endpoint_, ec);
  EXPECT_TRUE(ec);
}

TEST_F(ApiServerTest, SecondListenerOnSamePortFailsWithAnError) {
  start();
  ApiConfig config;
  config.listen = {endpoint_};
  ApiServer other(ioc_.get_executor(), config, *store_, registry_, clock_, &random_);
  const auto r = other.start();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("127.0.0.1:" + std::to_string(endpoint_.port())), std::string::npos)
      << r.error;
}

// A throw-away self-signed certificate for localhost.
void use_self_signed(asio::ssl::context& ctx) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  ASSERT_EQ(SSL_CTX_use_certificate(ctx.native_handle(), cert), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx.native_handle(), key), 1);
  X509_free(cert);
  EVP_PKEY_free(key);
}

TEST_F(ApiServerTest, ServesHttps) {
  asio::ssl::context server_tls(asio::ssl::context::tls_server);
  use_self_signed(server_tls);
  ApiConfig config;
  config.tls = &server_tls;
  start(config);

  asio::io_context ioc;
  asio::ssl::context client_tls(asio::ssl::context::tls_client);
  client_tls.set_verify_mode(asio::ssl::verify_none);  // self-signed; the channel is the point
  beast::ssl_stream<beast::tcp_stream> stream(ioc, client_tls);
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(kClientTimeout);
  beast::get_lowest_layer(stream).async_connect(endpoint_, [&](beast::error_code e) { ec = e; });
  ioc.run();
  ioc.restart();
  ASSERT_FALSE(ec) << ec.message();
  stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
  ioc.run();
  ioc.restart();
  ASSERT_FALSE(ec) << ec.message();

  beast::flat_buffer buffer;
  Request req{http::verb::get, "/api/v1/whoami", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::authorization, "Bearer es_admin");
  Response res;
  asio::co_spawn(ioc, exchange(stream, buffer, req, res, ec), asio::detached);
  ioc.run();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(boost::json::parse(res.body()).at("name"), "admin");
  EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8");
  // The client stays connected and silent: stop() still finishes (TLS shutdown is bounded).
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(stop());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

}  // namespace
}  // namespace edusight::collector::api
