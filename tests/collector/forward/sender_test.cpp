#include "collector/forward/sender.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <thread>

#include "collector/forward/edusight_tags.hpp"
#include "tests/collector/forward/fake_collector.hpp"

namespace edusight::forward {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using testing::CollectorThread;
using testing::FakeCollector;
using testing::FakeCollectorOptions;
using namespace std::chrono_literals;

class SenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sender-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static ClientOptions client(std::uint16_t port) {
    ClientOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.plaintext = true;
    o.agent_id = "campus-a";
    o.shared_key = "s3cret";
    o.connect_timeout = 2s;
    o.ack_timeout = 2s;
    return o;
  }
  // One chunk of one record, as the agent's sink spools it.
  static void spool_one(Spool& spool, Random& random, std::string_view tag,
                        boost::json::object record) {
    const auto id = make_chunk_id(random);
    std::vector<Entry> entries;
    entries.push_back({event_time(std::chrono::system_clock::now()), std::move(record)});
    ASSERT_FALSE(spool.append(tag, id, encode_packed_forward(tag, entries, id)));
  }
  fs::path dir_;
};

TEST_F(SenderTest, DrainDeliversTheSpoolInOrder) {
  CollectorThread server;
  Spool spool(dir_, {});
  SeededRandom random(2);
  SystemClock clock;
  for (int i = 0; i < 4; ++i) {
    spool_one(spool, random, kFindingTag, {{"id", "f" + std::to_string(i)}});
  }
  spool_one(spool, random, kScanTag, {{"event", "completed"}, {"scan", "s"}});
  EXPECT_EQ(spool.size_chunks(), 5u);

  asio::io_context io;
  SenderOptions so;
  so.client = client(server.collector().port());
  Sender sender(io.get_executor(), spool, so, clock, random);
  bool ok = false;
  asio::co_spawn(io, sender.drain(2s), [&](std::exception_ptr e, bool r) {
    EXPECT_FALSE(e);
    ok = r;
  });
  io.run_for(10s);
  EXPECT_TRUE(ok);
  EXPECT_EQ(spool.size_chunks(), 0u);
  EXPECT_EQ(sender.delivered_chunks(), 5u);
  EXPECT_GE(sender.sent_chunks(), 5u);
  const auto got = server.collector().received();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got.back().tag, kScanTag);
  EXPECT_EQ(got[0].entries.at(0).record.at("id").as_string(), "f0");
  EXPECT_EQ(got[3].entries.at(0).record.at("id").as_string(), "f3");
}

TEST_F(SenderTest, DrainGivesUpWithoutAcksAndKeepsTheSpool) {
  FakeCollectorOptions fo;
  fo.never_ack = true;
  CollectorThread server(fo);
  Spool spool(dir_, {});
  SeededRandom random(3);
  SystemClock clock;
  spool_one(spool, random, kScanTag, {{"event", "completed"}, {"scan", "s"}});

  asio::io_context io;
  SenderOptions so;
  so.client = client(server.collector().port());
  so.client.ack_timeout = 200ms;
  so.backoff_initial = 50ms;
  Sender sender(io.get_executor(), spool, so, clock, random);
  bool ok = true, finished = false;
  asio::co_spawn(io, sender.drain(500ms), [&](std::exception_ptr e, bool r) {
    EXPECT_FALSE(e);
    ok = r;
    finished = true;
  });
  io.run_for(10s);
  EXPECT_TRUE(finished);
  EXPECT_FALSE(ok);
  EXPECT_EQ(spool.size_chunks(), 1u);  // kept for the next attempt
  EXPECT_EQ(sender.delivered_chunks(), 0u);
  EXPECT_GE(server.collector().count_tag(kScanTag), 1u);
}

TEST_F(SenderTest, DrainAgainstNoCollectorEndsWithinItsPatience) {
  std::uint16_t port = 0;
  {
    asio::io_context tmp;
    asio::ip::tcp::acceptor a(tmp, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  Spool spool(dir_, {});
  SeededRandom random(4);
  SystemClock clock;
  spool_one(spool, random, kScanTag, {{"event", "completed"}, {"scan", "s"}});
  asio::io_context io;
  SenderOptions so;
  so.client = client(port);
  so.backoff_initial = 50ms;
  Sender sender(io.get_executor(), spool, so, clock, random);
  bool ok = true, finished = false;
  asio::co_spawn(io, sender.drain(400ms), [&](std::exception_ptr, bool r) {
    ok = r;
    finished = true;
  });
  io.run_for(10s);
  EXPECT_TRUE(finished);
  EXPECT_FALSE(ok);
  EXPECT_EQ(spool.size_chunks(), 1u);
}

}  // namespace
}  // namespace edusight::forward
