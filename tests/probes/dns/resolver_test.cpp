// Resolver behaviour against scripted fake UDP servers on 127.0.0.1: spoofed and stray answers
// are ignored, garbage is malformed, silence times out, retries rotate, many queries share
// a few sockets.
#include "resolver.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
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

}  // namespace
}  // namespace edusight::dns
