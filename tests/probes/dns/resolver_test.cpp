// Resolver behaviour against scripted fake UDP servers on 127.0.0.1: spoofed and stray answers
// are ignored, garbage is malformed, silence times out, retries rotate, many queries share
// a few sockets.
#include "resolver.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <functional>
#include <memory>
#include <set>

#include "message.hpp"
#include "test_util.hpp"

namespace edusight::dns {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using testing::run_sync;
using Packets = std::vector<std::vector<std::uint8_t>>;

// Length of header + question of one of our (uncompressed, single-question) queries.
std::size_t question_end(const std::vector<std::uint8_t>& q) {
  std::size_t p = wire::kHeaderSize;
  while (p < q.size() && q[p] != 0) p += 1 + q[p];
  return p + 5;
}

// A reply to `query` with `rcode` and one A record per address; `id_delta` spoils the id.
std::vector<std::uint8_t> reply(const std::vector<std::uint8_t>& query,
                                std::vector<std::array<std::uint8_t, 4>> addrs, int rcode = 0,
                                int id_delta = 0) {
  std::vector<std::uint8_t> r(query.begin(), query.begin() + question_end(query));
  const auto id = static_cast<std::uint16_t>(((query[0] << 8) | query[1]) + id_delta);
  r[0] = static_cast<std::uint8_t>(id >> 8);
  r[1] = static_cast<std::uint8_t>(id & 0xFF);
  r[2] = static_cast<std::uint8_t>(0x80 | (query[2] & 0x01));
  r[3] = static_cast<std::uint8_t>(0x80 | rcode);
  r[6] = 0;
  r[7] = static_cast<std::uint8_t>(addrs.size());
  r[10] = r[11] = 0;  // drop the OPT count: we do not echo it
  for (const auto& a : addrs) {
    testing::Wire w;
    w.ptr(12).rr_fixed(1).u16(4).bytes({a[0], a[1], a[2], a[3]});
    r.insert(r.end(), w.b.begin(), w.b.end());
  }
  return r;
}

// Serves UDP on 127.0.0.1:<ephemeral>; `script` turns each query into zero or more packets.
class FakeServer {
 public:
  using Script = std::function<Packets(const std::vector<std::uint8_t>&, const udp::endpoint&)>;

  FakeServer(asio::io_context& io, Script script)
      : socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    asio::co_spawn(io, serve(), asio::detached);
  }
  ~FakeServer() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  Server server() const {
    return {socket_.local_endpoint().address(), socket_.local_endpoint().port()};
  }
  int queries() const { return queries_; }
  udp::socket& socket() { return socket_; }

 private:
  asio::awaitable<void> serve() {
    std::vector<std::uint8_t> buf(65535);
    while (socket_.is_open()) {
      udp::endpoint from;
      auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buf), from,
                                                         asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++queries_;
      const std::vector<std::uint8_t> q(buf.begin(), buf.begin() + static_cast<long>(n));
      for (const auto& p : script_(q, from)) {
        boost::system::error_code sec;
        socket_.send_to(asio::buffer(p), from, 0, sec);
      }
    }
  }
  udp::socket socket_;
  Script script_;
  int queries_ = 0;
};

ResolverOptions options_for(std::vector<Server> servers, int timeout_ms = 300, int tries = 2) {
  ResolverOptions o;
  o.servers = std::move(servers);
  o.query.timeout = std::chrono::milliseconds(timeout_ms);
  o.query.tries = tries;
  return o;
}

TEST(Resolver, AcceptsOnlyTheMatchingAnswer) {
  asio::io_context io;
  FakeServer fake(io, [](const auto& q, const auto&) {
    auto wrong_question = reply(q, {{6, 6, 6, 6}});
    wrong_question[13] ^= 0x01;  // first letter of the name changes: another question
    return Packets{reply(q, {{6, 6, 6, 6}}, 0, 1), wrong_question, reply(q, {{192, 0, 2, 1}})};
  });
  Resolver r(io.get_executor(), options_for({fake.server()}));
  const Response resp = run_sync(io, r.query("www.example.com", RType::A));
  ASSERT_EQ(resp.status, Status::ok) << resp.error;
  ASSERT_EQ(resp.answers.size(), 1u);
  EXPECT_EQ(resp.answers[0].data, "192.0.2.1");
  EXPECT_EQ(resp.server,
            fake.server().address.to_string() + "#" + std::to_string(fake.server().port));
}

TEST(Resolver, IgnoresAnswersFromAnotherSource) {
  asio::io_context io;
  udp::socket spoofer(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  FakeServer fake(io, [&](const auto& q, const udp::endpoint& from) {
    boost::system::error_code ec;
    spoofer.send_to(asio::buffer(reply(q, {{6, 6, 6, 6}})), from, 0, ec);
    return Packets{};  // the real server stays silent
  });
  Resolver r(io.get_executor(), options_for({fake.server()}, 200, 1));
  const Response resp = run_sync(io, r.query("www.example.com", RType::A));
  EXPECT_EQ(resp.status, Status::timeout);
  EXPECT_TRUE(resp.answers.empty());
}

TEST(Resolver, GarbageWithOurIdIsMalformed) {
  asio::io_context io;
  FakeServer fake(io, [](const auto& q, const auto&) {
    std::vector<std::uint8_t> junk{q[0], q[1], 0x81, 0x80, 0, 1, 0, 5, 0, 0, 0, 0, 0xC0, 0x0C};
    return Packets{junk};
  });
  Resolver r(io.get_executor(), options_for({fake.server()}));
  const Response resp = run_sync(io, r.query("www.example.com", RType::A));
  EXPECT_EQ(resp.status, Status::malformed);
  EXPECT_TRUE(resp.answers.empty());
}

TEST(Resolver, SilentServerTimesOutAfterEveryTry) {
  asio::io_context io;
  // A bound socket that never answers (nothing reads it).
  udp::socket silent(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const Server s{silent.local_endpoint().address(), silent.local_endpoint().port()};
  Resolver r(io.get_executor(), options_for({s}, 150, 3));
  const auto start = std::chrono::steady_clock::now();
  const Response resp = run_sync(io, r.query("www.example.com", RType::A));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(resp.status, Status::timeout);
  EXPECT_GE(elapsed, std::chrono::milliseconds(440));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST(Resolver, RetriesRotateAcrossServers) {
  asio::io_context io;
  udp::socket silent(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  FakeServer good(io, [](const auto& q, const auto&) {
    return Packets{reply(q, {{10, 0, 0, 1}})};
  });
  const Server s{silent.local_endpoint().address(), silent.local_endpoint().port()};
  Resolver r(io.get_executor(), options_for({s, good.server()}, 150, 2));
  const Response resp = run_sync(io, r.query("www.example.com", RType::A));
  ASSERT_EQ(resp.status, Status::ok) << resp.error;
  EXPECT_EQ(resp.answers.at(0).data, "10.0.0.1");
  EXPECT_EQ(good.queries(), 1);
}

TEST(Resolver, ServfailFromTheOnlyServerIsFinal) {
  asio::io_context io;
  FakeServer fake(io, [](const auto& q, const auto&) { return Packets{reply(q, {}, 2)}; });
  Resolver r(io.get_executor(), options_for({fake.server()}, 300, 3));
  const Response resp = run_sync(io, r.query("www.example.com", RType::A));
  EXPECT_EQ(resp.status, Status::servfail);
  EXPECT_EQ(fake.queries(), 1);
}

TEST(Resolver, InvalidNameFailsWithoutNetwork) {
  asio::io_context io;
  FakeServer fake(io, [](const auto& q, const auto&) { return Packets{reply(q, {})}; });
  Resolver r(io.get_executor(), options_for({fake.server()}));
  EXPECT_EQ(run_sync(io, r.query("a..b", RType::A)).status, Status::malformed);
  EXPECT_EQ(run_sync(io, r.addresses("")).status, Status::malformed);
  EXPECT_EQ(fake.queries(), 0);
}

TEST(Resolver, ManyQueriesShareFewSockets) {
  asio::io_context io;
  std::set<udp::endpoint> sources;
  FakeServer fake(io, [&](const auto& q, const udp::endpoint& from) {
    sources.insert(from);
    return Packets{reply(q, {{10, 0, 0, 1}})};
  });
  ResolverOptions o = options_for({fake.server()}, 2000, 3);
  o.max_in_flight = 50;
  o.sockets_per_family = 2;
  Resolver r(io.get_executor(), o);
  constexpr int kQueries = 600;
  int ok = 0;
  int done = 0;
  for (int i = 0; i < kQueries; ++i) {
    asio::co_spawn(io, r.query("host" + std::to_string(i) + ".example.com", RType::A),
                   [&](std::exception_ptr, Response resp) {
                     ++done;
                     if (resp.status == Status::ok && resp.answers.size() == 1) ++ok;
                   });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (done < kQueries && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(done, kQueries);
  EXPECT_EQ(ok, kQueries);
  EXPECT_LE(sources.size(), 2u);
}

// A retry reuses the ldns-built wire form with only the id changed.
TEST(Resolver, RetryPatchesOnlyTheId) {
  asio::io_context io;
  Packets seen;
  FakeServer fake(io, [&](const auto& q, const auto&) {
    seen.push_back(q);
    if (seen.size() == 1) return Packets{};  // drop the first try
    return Packets{reply(q, {{10, 0, 0, 9}})};
  });
  Resolver r(io.get_executor(), options_for({fake.server()}, 150, 3));
  const Response resp = run_sync(io, r.query("retry.example.com", RType::A));
  ASSERT_EQ(resp.status, Status::ok) << resp.error;
  EXPECT_EQ(resp.answers.at(0).data, "10.0.0.9");
  ASSERT_EQ(seen.size(), 2u);
  ASSERT_EQ(seen[0].size(), seen[1].size());
  EXPECT_TRUE(std::equal(seen[0].begin() + 2, seen[0].end(), seen[1].begin() + 2));
  const auto id0 = (seen[0][0] << 8) | seen[0][1];
  const auto id1 = (seen[1][0] << 8) | seen[1][1];
  EXPECT_NE(id0, id1);  // a fresh id per try (the late answer to try one is then ignored)
}

// A late answer to an expired try must not complete the retry that reuses the wire form.
TEST(Resolver, LateAnswerToAnEarlierTryIsIgnored) {
  asio::io_context io;
  Packets seen;
  FakeServer fake(io, [&](const auto& q, const auto&) {
    seen.push_back(q);
    if (seen.size() == 2) {
      // Answer try one now (late, with its old id) with a poisoned address; answer try two.
      return Packets{reply(seen[0], {{6, 6, 6, 6}}), reply(q, {{10, 0, 0, 2}})};
    }
    return Packets{};
  });
  Resolver r(io.get_executor(), options_for({fake.server()}, 150, 3));
  const Response resp = run_sync(io, r.query("late.example.com", RType::A));
  ASSERT_EQ(resp.status, Status::ok) << resp.error;
  ASSERT_EQ(resp.answers.size(), 1u);
  EXPECT_EQ(resp.answers[0].data, "10.0.0.2");
}

// Connected sockets learn of a closed port through ICMP errors; they must neither fail the
// query early nor leak into later queries: every try still waits for its timeout.
TEST(Resolver, ClosedPortTimesOutOnConnectedSockets) {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    udp::socket probe(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  const Server closed{asio::ip::make_address("127.0.0.1"), port};
  ResolverOptions o = options_for({closed}, 100, 3);
  o.sockets_per_family = 1;  // every try on the same connected socket
  Resolver r(io.get_executor(), o);
  for (int round = 0; round < 2; ++round) {
    const auto start = std::chrono::steady_clock::now();
    const Response resp = run_sync(io, r.query("closed.example.com", RType::A));
    EXPECT_EQ(resp.status, Status::timeout) << resp.error;
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(290));
  }
  // The same resolver still works for a live server afterwards.
  FakeServer fake(io, [](const auto& q, const auto&) { return Packets{reply(q, {{10, 0, 0, 3}})}; });
  const Response ok = run_sync(io, r.query_server(fake.server(), "after.example.com", RType::A,
                                                  QueryOptions{std::chrono::milliseconds(500), 2}));
  EXPECT_EQ(ok.status, Status::ok) << ok.error;
}

// More servers than connected socket groups: the rest share unconnected sockets, which check
// the source address themselves.
TEST(Resolver, ManyServersBeyondTheConnectedGroups) {
  asio::io_context io;
  std::vector<std::unique_ptr<FakeServer>> fakes;
  for (int i = 0; i < 24; ++i) {
    const auto last = static_cast<std::uint8_t>(i + 1);
    fakes.push_back(std::make_unique<FakeServer>(io, [last](const auto& q, const auto&) {
      return Packets{reply(q, {{10, 0, 1, last}})};
    }));
  }
  ResolverOptions o = options_for({}, 1000, 2);
  o.sockets_per_family = 2;
  Resolver r(io.get_executor(), o);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 24; ++i) {
      const Response resp =
          run_sync(io, r.query_server(fakes[static_cast<std::size_t>(i)]->server(),
                                      "s" + std::to_string(i) + ".example.com", RType::A,
                                      QueryOptions{std::chrono::milliseconds(1000), 2}));
      ASSERT_EQ(resp.status, Status::ok) << i << ": " << resp.error;
      EXPECT_EQ(resp.answers.at(0).data, "10.0.1." + std::to_string(i + 1));
    }
  }
}

// Answers that arrive in one burst larger than a receive batch are all delivered.
TEST(Resolver, BurstLargerThanOneReceiveBatch) {
  asio::io_context io;
  constexpr int kQueries = 700;
  Packets held;
  FakeServer fake(io, [&](const auto& q, const auto&) {
    held.push_back(q);
    if (held.size() < static_cast<std::size_t>(kQueries)) return Packets{};
    Packets out;
    for (const auto& h : held) out.push_back(reply(h, {{10, 0, 0, 4}}));
    return out;  // every answer at once
  });
  // Room for every query while the server holds them back (the default is ~200 datagrams).
  fake.socket().set_option(udp::socket::receive_buffer_size(4 << 20));
  ResolverOptions o = options_for({fake.server()}, 5000, 1);
  o.max_in_flight = kQueries;
  o.sockets_per_family = 1;  // one socket receives the whole burst
  Resolver r(io.get_executor(), o);
  int ok = 0;
  int done = 0;
  for (int i = 0; i < kQueries; ++i) {
    asio::co_spawn(io, r.query("b" + std::to_string(i) + ".example.com", RType::A),
                   [&](std::exception_ptr, Response resp) {
                     ++done;
                     if (resp.status == Status::ok) ++ok;
                   });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (done < kQueries && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(done, kQueries);
  EXPECT_EQ(ok, kQueries);
}

// A send that fails (broadcast without SO_BROADCAST) is a network error, for connected
// sockets (at connect) and for the shared unconnected ones (in the batched sendmmsg).
TEST(Resolver, FailedSendIsNetworkError) {
  asio::io_context io;
  std::vector<std::unique_ptr<FakeServer>> fakes;
  ResolverOptions o = options_for({}, 300, 1);
  o.sockets_per_family = 1;
  Resolver r(io.get_executor(), o);
  const Server broadcast{asio::ip::make_address("255.255.255.255"), 53};
  const QueryOptions q{std::chrono::milliseconds(300), 1};
  EXPECT_EQ(run_sync(io, r.query_server(broadcast, "b.example.com", RType::A, q)).status,
            Status::network_error);
  for (int i = 0; i < 20; ++i) {  // use up the connected groups
    fakes.push_back(std::make_unique<FakeServer>(
        io, [](const auto& q2, const auto&) { return Packets{reply(q2, {{10, 0, 0, 5}})}; }));
    run_sync(io, r.query_server(fakes.back()->server(), "f.example.com", RType::A, q));
  }
  const auto start = std::chrono::steady_clock::now();
  const Response resp =
      run_sync(io, r.query_server(Server{broadcast.address, 54}, "c.example.com", RType::A, q));
  EXPECT_EQ(resp.status, Status::network_error) << resp.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  // The shared socket keeps working for the others.
  EXPECT_EQ(run_sync(io, r.query_server(fakes.back()->server(), "g.example.com", RType::A, q))
                .status,
            Status::ok);
}

// An answer longer than a receive-batch buffer arrives cut; its query falls back to TCP
// rather than reading a partial message.
TEST(Resolver, OversizedDatagramInABatchFallsBackToTcp) {
  asio::io_context io;
  // 255 records: 4 KiB and more on the wire, beyond one batch buffer.
  std::vector<std::array<std::uint8_t, 4>> many(255, std::array<std::uint8_t, 4>{10, 0, 0, 6});
  FakeServer fake(io, [&](const auto& q, const auto&) {
    // A stray first (wakes the receiver), then the big answer, read by recvmmsg.
    return Packets{reply(q, {{6, 6, 6, 6}}, 0, 1), reply(q, many)};
  });
  // The same port over TCP answers with one record.
  asio::ip::tcp::acceptor acceptor(
      io, asio::ip::tcp::endpoint(fake.server().address, fake.server().port));
  int tcp_queries = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
        for (int i = 0; i < 4; ++i) {
          auto [ec, sock] = co_await acceptor.async_accept(tuple);
          if (ec) co_return;
          std::array<std::uint8_t, 2> len{};
          auto [e1, n1] = co_await asio::async_read(sock, asio::buffer(len), tuple);
          if (e1) co_return;
          std::vector<std::uint8_t> q((len[0] << 8) | len[1]);
          auto [e2, n2] = co_await asio::async_read(sock, asio::buffer(q), tuple);
          if (e2) co_return;
          ++tcp_queries;
          const auto a = reply(q, {{10, 0, 0, 7}});
          const std::array<std::uint8_t, 2> alen{static_cast<std::uint8_t>(a.size() >> 8),
                                                 static_cast<std::uint8_t>(a.size() & 0xFF)};
          const std::array<asio::const_buffer, 2> bufs{asio::buffer(alen), asio::buffer(a)};
          co_await asio::async_write(sock, bufs, tuple);
        }
      },
      asio::detached);
  ResolverOptions o = options_for({fake.server()}, 1000, 1);
  o.sockets_per_family = 1;
  Resolver r(io.get_executor(), o);
  const Response resp = run_sync(io, r.query("big.example.com", RType::A));
  ASSERT_EQ(resp.status, Status::ok) << resp.error;
  EXPECT_TRUE(resp.used_tcp);
  EXPECT_EQ(tcp_queries, 1);
  ASSERT_EQ(resp.answers.size(), 1u);
  EXPECT_EQ(resp.answers[0].data, "10.0.0.7");
}

}  // namespace
}  // namespace edusight::dns
