#include "collector/forward/client.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "tests/collector/forward/fake_collector.hpp"

namespace edusight::forward {
namespace {

namespace asio = boost::asio;
using testing::FakeCollector;
using testing::FakeCollectorOptions;
using namespace std::chrono_literals;

std::vector<Entry> entries(int n, int first = 0) {
  std::vector<Entry> out;
  for (int i = 0; i < n; ++i) {
    boost::json::object o;
    o["n"] = first + i;
    o["kind"] = "test";
    out.push_back({{1700000000 + i, 0}, o});
  }
  return out;
}

ClientOptions plain(std::uint16_t port) {
  ClientOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.plaintext = true;
  o.agent_id = "campus-a";
  o.shared_key = "s3cret";
  o.connect_timeout = 2s;
  o.handshake_timeout = 2s;
  o.ack_timeout = 2s;
  return o;
}

// Runs `body` as a coroutine on `io` next to the fake collector, bounded by a watchdog.
void run(asio::io_context& io, std::function<asio::awaitable<void>()> body) {
  bool finished = false;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    finished = true;
    io.stop();
    if (e) std::rethrow_exception(e);
  });
  asio::steady_timer watchdog(io, 20s);
  watchdog.async_wait([&](boost::system::error_code ec) {
    if (!ec) io.stop();
  });
  io.run();
  EXPECT_TRUE(finished) << "test coroutine did not finish in time";
}

TEST(ForwardClient, HandshakeThenChunkAcknowledged) {
  asio::io_context io;
  FakeCollector server(io, {});
  SeededRandom random(1);
  Client client(io.get_executor(), plain(server.port()), random);
  run(io, [&]() -> asio::awaitable<void> {
    auto err = co_await client.connect();
    EXPECT_FALSE(err) << err.message();
    EXPECT_EQ(client.server_hostname(), "collector.test");
    err = co_await client.send_chunk("edusight.finding", entries(3), "chunk-1");
    EXPECT_FALSE(err) << err.message();
    EXPECT_EQ(client.in_flight(), 0u);
  });
  ASSERT_EQ(server.ping_hostnames(), std::vector<std::string>{"campus-a"});
  const auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].tag, "edusight.finding");
  EXPECT_EQ(got[0].chunk, "chunk-1");
  ASSERT_EQ(got[0].entries.size(), 3u);
  EXPECT_EQ(got[0].entries[2].record.at("n").to_number<int>(), 2);
}

TEST(ForwardClient, WrongKeyIsRefusedWithTheServersReason) {
  asio::io_context io;
  FakeCollector server(io, {});
  SeededRandom random(2);
  auto opt = plain(server.port());
  opt.shared_key = "not-the-key";
  Client client(io.get_executor(), opt, random);
  run(io, [&]() -> asio::awaitable<void> {
    auto err = co_await client.connect();
    EXPECT_EQ(err.code, Errc::auth_refused) << err.message();
    EXPECT_NE(err.detail.find("shared key mismatch"), std::string::npos) << err.detail;
    EXPECT_FALSE(client.connected());
  });
}

TEST(ForwardClient, ServerThatCannotProveTheKeyIsRefused) {
  asio::io_context io;
  FakeCollectorOptions so;
  so.bogus_digest = true;
  FakeCollector server(io, so);
  SeededRandom random(3);
  Client client(io.get_executor(), plain(server.port()), random);
  run(io, [&]() -> asio::awaitable<void> {
    auto err = co_await client.connect();
    EXPECT_EQ(err.code, Errc::server_unverified) << err.message();
    EXPECT_FALSE(client.connected());
  });
}

TEST(ForwardClient, SilentServerTimesOutTheHandshake) {
  asio::io_context io;
  FakeCollectorOptions so;
  so.silent = true;
  FakeCollector server(io, so);
  SeededRandom random(4);
  auto opt = plain(server.port());
  opt.handshake_timeout = 200ms;
  Client client(io.get_executor(), opt, random);
  run(io, [&]() -> asio::awaitable<void> {
    const auto start = std::chrono::steady_clock::now();
    auto err = co_await client.connect();
    EXPECT_EQ(err.code, Errc::timeout) << err.message();
    EXPECT_NE(err.detail.find("HELO"), std::string::npos) << err.detail;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  });
}

TEST(ForwardClient, MissingAckTimesOut) {
  asio::io_context io;
  FakeCollectorOptions so;
  so.never_ack = true;
  FakeCollector server(io, so);
  SeededRandom random(5);
  auto opt = plain(server.port());
  opt.ack_timeout = 200ms;
  Client client(io.get_executor(), opt, random);
  run(io, [&]() -> asio::awaitable<void> {
    auto err = co_await client.connect();
    EXPECT_FALSE(err) << err.message();
    const auto start = std::chrono::steady_clock::now();
    err = co_await client.send_chunk("edusight.finding", entries(1), "lost");
    EXPECT_EQ(err.code, Errc::timeout) << err.message();
    EXPECT_NE(err.detail.find("lost"), std::string::npos) << err.detail;
    EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
    EXPECT_FALSE(client.connected());  // a timed-out connection is not reused
  });
}

TEST(ForwardClient, PipelinedChunksAreAcknowledgedInOrder) {
  asio::io_context io;
  FakeCollectorOptions so;
  so.ack_batch = 4;  // acks only once four chunks are in: one chunk per round trip would hang
  FakeCollector server(io, so);
  SeededRandom random(6);
  auto opt = plain(server.port());
  opt.max_in_flight = 4;
  Client client(io.get_executor(), opt, random);
  run(io, [&]() -> asio::awaitable<void> {
    auto err = co_await client.connect();
    EXPECT_FALSE(err) << err.message();
    for (int i = 0; i < 4; ++i) {
      err = co_await client.write_chunk("edusight.finding", entries(2, 10 * i),
                                        "c" + std::to_string(i));
      EXPECT_FALSE(err) << err.message();
    }
    EXPECT_TRUE(client.window_full());
    err = co_await client.write_chunk("edusight.finding", entries(1), "c4");
    EXPECT_EQ(err.code, Errc::window_full);
    for (int i = 0; i < 4; ++i) {
      auto ack = co_await client.next_ack();
      EXPECT_FALSE(ack.error) << ack.error.message();
      EXPECT_EQ(ack.chunk_id, "c" + std::to_string(i));
    }
    EXPECT_EQ(client.in_flight(), 0u);
  });
  const auto got = server.received();
  ASSERT_EQ(got.size(), 4u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].chunk, "c" + std::to_string(i));
}

TEST(ForwardClient, RefusedConnectionIsAnErrorValue) {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  SeededRandom random(7);
  Client client(io.get_executor(), plain(port), random);
  run(io, [&]() -> asio::awaitable<void> {
    auto err = co_await client.connect();
    EXPECT_EQ(err.code, Errc::connect_failed) << err.message();
  });
}

TEST(ForwardClient, TlsNeedsACaOrAPin) {
  asio::io_context io;
  SeededRandom random(8);
  auto opt = plain(1);
  opt.plaintext = false;
  Client client(io.get_executor(), opt, random);
  run(io, [&]() -> asio::awaitable<void> {
    auto err = co_await client.connect();
    EXPECT_EQ(err.code, Errc::bad_options);
  });
}

// A self-signed certificate for collector.test and 127.0.0.1, made with the openssl tool.
class ForwardClientTls : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/forward-client-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=collector.test -addext subjectAltName=DNS:collector.test,IP:127.0.0.1 "
        "-keyout " +
        (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl cannot make a test certificate";
    ctx_.use_certificate_chain_file((dir_ / "cert.pem").string());
    ctx_.use_private_key_file((dir_ / "key.pem").string(), asio::ssl::context::pem);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Error connect_with(const std::function<void(ClientOptions&)>& adjust) {
    asio::io_context io;
    FakeCollectorOptions so;
    so.tls = &ctx_;
    FakeCollector server(io, so);
    SeededRandom random(9);
    auto opt = plain(server.port());
    opt.plaintext = false;
    adjust(opt);
    Client client(io.get_executor(), opt, random);
    Error result;
    run(io, [&]() -> asio::awaitable<void> {
      result = co_await client.connect();
      if (!result) result = co_await client.send_chunk("edusight.finding", entries(1), "tls-1");
    });
    return result;
  }

  std::filesystem::path dir_;
  asio::ssl::context ctx_{asio::ssl::context::tls_server};
};

TEST_F(ForwardClientTls, VerifiesAgainstTheCaAndName) {
  const auto err = connect_with([&](ClientOptions& o) {
    o.ca_file = (dir_ / "cert.pem").string();
    o.server_name = "collector.test";
  });
  EXPECT_FALSE(err) << err.message();
}

TEST_F(ForwardClientTls, VerifiesAnAddressAsTheName) {
  const auto err =
      connect_with([&](ClientOptions& o) { o.ca_file = (dir_ / "cert.pem").string(); });
  EXPECT_FALSE(err) << err.message();
}

TEST_F(ForwardClientTls, RefusesAWrongName) {
  const auto err = connect_with([&](ClientOptions& o) {
    o.ca_file = (dir_ / "cert.pem").string();
    o.server_name = "other.test";
  });
  EXPECT_EQ(err.code, Errc::tls_failed) << err.message();
}

TEST_F(ForwardClientTls, AcceptsThePinnedCertificate) {
  const auto pin = certificate_sha256_hex((dir_ / "cert.pem").string());
  ASSERT_EQ(pin.size(), 64u);
  const auto err = connect_with([&](ClientOptions& o) { o.pin_sha256 = pin; });
  EXPECT_FALSE(err) << err.message();
}

TEST_F(ForwardClientTls, RefusesAnotherPin) {
  const auto err = connect_with([&](ClientOptions& o) { o.pin_sha256 = std::string(64, 'a'); });
  EXPECT_EQ(err.code, Errc::pin_mismatch) << err.message();
}

TEST(ForwardClientHelpers, ChunkIdsAreBase64Of16RandomBytes) {
  SeededRandom random(10);
  const auto a = make_chunk_id(random);
  const auto b = make_chunk_id(random);
  EXPECT_EQ(a.size(), 24u);
  EXPECT_EQ(a.substr(22), "==");
  EXPECT_NE(a, b);
}

TEST(ForwardClientHelpers, Sha512HexOfKnownInput) {
  EXPECT_EQ(sha512_hex("abc").substr(0, 32), "ddaf35a193617abacc417349ae204131");
  EXPECT_EQ(sha512_hex("abc").size(), 128u);
}

TEST(AckDecoder, SplitsAcksFedByteByByte) {
  const std::string bytes = encode_ack("one") + encode_ack("two");
  AckDecoder d;
  std::vector<std::string> got;
  std::string why;
  for (char c : bytes) {
    d.feed(&c, 1);
    while (auto id = d.next(&why)) got.push_back(*id);
    EXPECT_TRUE(why.empty()) << why;
  }
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two"}));
}

TEST(AckDecoder, AnythingButAnAckMapBreaksTheStream) {
  AckDecoder d;
  d.feed(encode_pong({}));
  std::string why;
  EXPECT_FALSE(d.next(&why));
  EXPECT_FALSE(why.empty());
  EXPECT_TRUE(d.failed());
}

TEST(AckDecoder, OversizedGarbageIsRefused) {
  AckDecoder d(16);
  d.feed(std::string("\xdb\x00\x01\x00\x00", 5) + std::string(40, 'x'));  // str32 of 65536
  std::string why;
  EXPECT_FALSE(d.next(&why));
  EXPECT_TRUE(d.failed()) << why;
}

}  // namespace
}  // namespace edusight::forward
