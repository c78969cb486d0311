// The Forward listener against the real store and the real agent-side client, on loopback.
#include "collector/ingest/forward_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <functional>

#include "client.hpp"
#include "collector/ingest/records.hpp"
#include "collector/ingest/tls.hpp"
#include "collector/store/sqlite_store.hpp"
#include "edusight/core/crypto.hpp"

namespace edusight::collector {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;
using asio::ip::tcp;

struct Harness {
  explicit Harness(bool tls, std::chrono::milliseconds handshake_timeout = std::chrono::seconds(5))
      : dir(fs::temp_directory_path() /
            ("es-ingest-" + std::to_string(::getpid()) + "-" + std::to_string(counter++))),
        store((fs::create_directories(dir), (dir / "db").string()), clock),
        writer(store, registry) {
    EXPECT_TRUE(store.status().ok) << store.status().error;
    EXPECT_TRUE(store.add_agent("agent-1", "key-1").ok);
    EXPECT_TRUE(store.add_agent("agent-2", "key-2").ok);
    EXPECT_TRUE(store.add_agent("gone", "key-3").ok);
    EXPECT_TRUE(store.revoke_agent("gone").ok);
    ForwardServerConfig c;
    c.listen = {{asio::ip::make_address("127.0.0.1"), 0}};
    c.hostname = "collector.test";
    c.handshake_timeout = handshake_timeout;
    if (tls) {
      cert = (dir / "c.crt").string();
      ensure_self_signed_certificate(cert, (dir / "c.key").string(), {"localhost", "127.0.0.1"},
                                     clock);
      server_tls.emplace(make_server_tls(cert, (dir / "c.key").string()));
      c.tls = &*server_tls;
    }
    server = std::make_unique<ForwardServer>(io.get_executor(), c, writer, registry, random);
    server->start();
    port = server->local_endpoints().at(0).port();
  }
  ~Harness() {
    server.reset();
    writer.stop();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  forward::ClientOptions client_options(const std::string& agent, const std::string& key) {
    forward::ClientOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.agent_id = agent;
    o.shared_key = key;
    o.ack_timeout = std::chrono::seconds(10);
    if (cert.empty()) {
      o.plaintext = true;
    } else {
      o.ca_file = cert;
      o.server_name = "localhost";
    }
    return o;
  }

  // Runs `body` to completion (or 20 s), then stops the server and drains the io_context.
  void run(std::function<awaitable<void>()> body) {
    bool done = false;
    asio::co_spawn(io, body(), [&](std::exception_ptr e) {
      done = true;
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          ADD_FAILURE() << "test coroutine threw: " << x.what();
        }
      }
      server->stop();
    });
    io.run_for(std::chrono::seconds(20));
    EXPECT_TRUE(done) << "test coroutine did not finish";
  }

  std::int64_t metric(const std::string& name) {
    const std::string text = registry.render();
    const auto pos = text.find("\n" + name + " ");
    if (pos == std::string::npos) return -1;
    return std::stoll(text.substr(pos + name.size() + 2));
  }

  std::vector<StoredFinding> findings(std::optional<FindingState> state = std::nullopt) {
    FindingQuery q;
    q.limit = 0;
    q.state = state;
    return store.query(q).findings;
  }

  static inline int counter = 0;
  fs::path dir;
  SystemClock clock;
  SqliteStore store;
  metrics::Registry registry;
  StoreWriter writer;
  SeededRandom random{7};
  asio::io_context io;
  std::string cert;
  std::optional<asio::ssl::context> server_tls;
  std::unique_ptr<ForwardServer> server;
  std::uint16_t port = 0;
};

std::vector<forward::Entry> finding_entries(const std::string& scan,
                                            std::initializer_list<const char*> subjects) {
  std::vector<forward::Entry> out;
  for (const char* s : subjects) {
    boost::json::object r{{"kind", "ipv6.dns.no_aaaa"},
                          {"subject", s},
                          {"severity", "medium"},
                          {"scan", scan},
                          {"job", "daily"},
                          {"title", "No AAAA"},
                          {"title_zh", "无AAAA"},
                          {"evidence", {{"n", 1}}}};
    out.push_back({{1700000000, 0}, std::move(r)});
  }
  return out;
}

std::vector<forward::Entry> completed(const std::string& scan) {
  return {{{1700000000, 0},
           boost::json::object{{"event", "completed"}, {"scan", scan}, {"job", "daily"}}}};
}

TEST(ForwardServer, TlsHandshakeChunksAckedAfterCommitAndLifecycle) {
  Harness h(true);
  // Built outside the coroutine: GCC 12 cannot keep braced lists in coroutine frames.
  const auto first = finding_entries("s1", {"a.x.cn", "b.x.cn"});
  const auto second = finding_entries("s2", {"a.x.cn"});
  const auto done1 = completed("s1"), done2 = completed("s2");
  h.run([&]() -> awaitable<void> {
    forward::Client client(h.io.get_executor(), h.client_options("agent-1", "key-1"), h.random);
    forward::Error e = co_await client.connect();
    EXPECT_FALSE(e) << e.message();
    EXPECT_EQ(client.server_hostname(), "collector.test");
    e = co_await client.send_chunk(kFindingTag, first, "c1");
    EXPECT_FALSE(e) << e.message();
    // Acked means committed: the store has both before the next step.
    EXPECT_EQ(h.findings().size(), 2u);
    e = co_await client.send_chunk(kScanTag, done1, "c2");
    EXPECT_FALSE(e) << e.message();
    e = co_await client.send_chunk(kFindingTag, second, "c3");
    EXPECT_FALSE(e) << e.message();
    e = co_await client.send_chunk(kScanTag, done2, "c4");
    EXPECT_FALSE(e) << e.message();
  });
  auto resolved = h.findings(FindingState::resolved);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].finding.subject, "b.x.cn");
  EXPECT_EQ(resolved[0].finding.agent, "agent-1");
  EXPECT_EQ(h.findings(FindingState::open).size(), 1u);
  EXPECT_EQ(h.metric("edusight_forward_acks_total"), 4);
  ScanList scans = h.store.list_scans({});
  ASSERT_EQ(scans.scans.size(), 2u);
  EXPECT_TRUE(scans.scans[0].complete);
}

TEST(ForwardServer, ResentChunkIsAckedButStoredOnce) {
  Harness h(false);
  const auto entries = finding_entries("s1", {"a.x.cn"});
  h.run([&]() -> awaitable<void> {
    for (int attempt = 0; attempt < 2; ++attempt) {
      forward::Client client(h.io.get_executor(), h.client_options("agent-1", "key-1"), h.random);
      forward::Error e = co_await client.connect();
      EXPECT_FALSE(e) << e.message();
      e = co_await client.send_chunk(kFindingTag, entries, "same");
      EXPECT_FALSE(e) << e.message();
    }
  });
  EXPECT_EQ(h.metric("edusight_store_chunks_committed_total"), 1);
  EXPECT_EQ(h.metric("edusight_store_chunks_duplicate_total"), 1);
  EXPECT_EQ(h.store.list_scans({}).scans.at(0).finding_count, 1u);
}

TEST(ForwardServer, WrongUnknownAndRevokedAgentsAreRefused) {
  Harness h(true);
  h.run([&]() -> awaitable<void> {
    struct Case {
      const char* agent;
      const char* key;
      const char* reason;
    };
    for (const Case& c :
         {Case{"agent-1", "key-2", "shared key mismatch"},
          Case{"stranger", "key-1", "unknown agent"}, Case{"gone", "key-3", "agent revoked"}}) {
      forward::Client client(h.io.get_executor(), h.client_options(c.agent, c.key), h.random);
      forward::Error e = co_await client.connect();
      EXPECT_EQ(e.code, forward::Errc::auth_refused) << c.agent << ": " << e.message();
      EXPECT_NE(e.detail.find(c.reason), std::string::npos) << e.detail;
    }
  });
  EXPECT_EQ(h.metric("edusight_forward_auth_failures_total"), 3);
  EXPECT_TRUE(h.findings().empty());
}

// Raw bytes after a good handshake: garbage closes that connection only.
TEST(ForwardServer, MalformedStreamClosesOnlyThatConnection) {
  Harness h(false);
  const auto entries = finding_entries("s9", {"c.x.cn"});
  const std::string junk = "\xc1\xc1\xc1 this is not msgpack";
  h.run([&]() -> awaitable<void> {
    forward::Client good(h.io.get_executor(), h.client_options("agent-2", "key-2"), h.random);
    forward::Error e = co_await good.connect();
    EXPECT_FALSE(e) << e.message();

    tcp::socket raw(h.io);
    co_await raw.async_connect({asio::ip::make_address("127.0.0.1"), h.port}, asio::use_awaitable);
    // Read HELO, answer a correct PING by hand, read PONG, then send junk.
    std::string buf(4096, '\0');
    std::size_t n = co_await raw.async_read_some(asio::buffer(buf), asio::use_awaitable);
    forward::Decoder d;
    d.feed(buf.data(), n);
    std::string err;
    auto helo = d.next(&err);
    EXPECT_TRUE(helo && std::holds_alternative<forward::Helo>(*helo)) << err;
    const std::string nonce = std::get<forward::Helo>(*helo).nonce;
    forward::Ping ping;
    ping.hostname = "agent-1";
    ping.shared_key_salt = "salt";
    ping.shared_key_hexdigest = sha512_hex("saltagent-1" + nonce + "key-1");
    const std::string ping_bytes = forward::encode_ping(ping);
    co_await asio::async_write(raw, asio::buffer(ping_bytes), asio::use_awaitable);
    n = co_await raw.async_read_some(asio::buffer(buf), asio::use_awaitable);
    d.feed(buf.data(), n);
    auto pong = d.next(&err);
    EXPECT_TRUE(pong && std::get<forward::Pong>(*pong).auth_result);
    co_await asio::async_write(raw, asio::buffer(junk), asio::use_awaitable);
    auto [rec, rn] =
        co_await raw.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    EXPECT_EQ(rec, asio::error::eof) << rec.message();  // closed by the collector

    // The other agent never noticed.
    e = co_await good.send_chunk(kFindingTag, entries, "g1");
    EXPECT_FALSE(e) << e.message();
  });
  EXPECT_EQ(h.findings().size(), 1u);
  EXPECT_EQ(h.metric("edusight_forward_bad_messages_total"), 1);
}

TEST(ForwardServer, SilentClientIsClosedAtTheHandshakeDeadline) {
  Harness h(false, std::chrono::milliseconds(200));
  h.run([&]() -> awaitable<void> {
    tcp::socket raw(h.io);
    co_await raw.async_connect({asio::ip::make_address("127.0.0.1"), h.port}, asio::use_awaitable);
    std::string buf(4096, '\0');
    std::size_t total = 0;
    boost::system::error_code ec;
    for (int i = 0; i < 10 && !ec; ++i) {  // HELO, then the close
      std::size_t n = 0;
      std::tie(ec, n) =
          co_await raw.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      total += n;
    }
    EXPECT_GT(total, 0u);
    EXPECT_EQ(ec, asio::error::eof);
  });
}

TEST(ForwardServer, RecordsThatAreNotFindingsAreSkippedAndTheChunkAcked) {
  Harness h(false);
  std::vector<forward::Entry> entries = finding_entries("s1", {"a.x.cn"});
  entries.push_back({{1700000000, 0}, boost::json::object{{"hello", "world"}}});
  const std::vector<forward::Entry> foreign{{{1700000000, 0}, {{"msg", "x"}}}};
  const std::vector<forward::Entry> heartbeat{
      {{1700000000, 0}, {{"version", "0.1.0"}, {"uptime_s", 3}}}};
  h.run([&]() -> awaitable<void> {
    forward::Client client(h.io.get_executor(), h.client_options("agent-1", "key-1"), h.random);
    forward::Error e = co_await client.connect();
    EXPECT_FALSE(e) << e.message();
    e = co_await client.send_chunk(kFindingTag, entries, "mixed");
    EXPECT_FALSE(e) << e.message();
    e = co_await client.send_chunk("app.log", foreign, "foreign");
    EXPECT_FALSE(e) << e.message();
    e = co_await client.send_chunk(kHeartbeatTag, heartbeat, "hb");
    EXPECT_FALSE(e) << e.message();
  });
  EXPECT_EQ(h.findings().size(), 1u);
  EXPECT_EQ(h.metric("edusight_forward_bad_records_total"), 1);
  EXPECT_EQ(h.metric("edusight_forward_foreign_events_total"), 1);
  h.writer.stop();  // heartbeats are written with the next group; stop flushes them
  AgentLookup a = h.store.find_agent("agent-1");
  ASSERT_TRUE(a.agent);
  EXPECT_TRUE(a.agent->last_heartbeat);
  EXPECT_EQ(a.agent->status.at("version").as_string(), "0.1.0");
}

TEST(ForwardServer, RevokedAgentsOpenConnectionIsClosed) {
  Harness h(false);
  const auto entries = finding_entries("s1", {"a.x.cn"});
  h.run([&]() -> awaitable<void> {
    forward::Client one(h.io.get_executor(), h.client_options("agent-1", "key-1"), h.random);
    forward::Client two(h.io.get_executor(), h.client_options("agent-2", "key-2"), h.random);
    forward::Error e = co_await one.connect();
    EXPECT_FALSE(e) << e.message();
    e = co_await two.connect();
    EXPECT_FALSE(e) << e.message();
    EXPECT_EQ(h.server->close_agent("agent-1"), 1u);
    e = co_await one.send_chunk(kFindingTag, entries, "after-revoke");
    EXPECT_TRUE(e) << "a revoked agent's connection still took a chunk";
    e = co_await two.send_chunk(kFindingTag, entries, "other-agent");
    EXPECT_FALSE(e) << e.message();
  });
  EXPECT_EQ(h.findings().size(), 1u);
}

}  // namespace
}  // namespace edusight::collector
