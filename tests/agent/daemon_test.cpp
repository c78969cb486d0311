#include "agent/daemon.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <thread>

#include "tests/collector/forward/fake_collector.hpp"

namespace edusight::agent {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using forward::testing::CollectorThread;
using forward::testing::FakeCollector;
using forward::testing::FakeCollectorOptions;
using namespace std::chrono_literals;

Finding finding(int i) {
  Finding f;
  f.id = "f" + std::to_string(i);
  f.kind = "ipv6.no_aaaa";
  f.subject = "www" + std::to_string(i) + ".demo-univ.edu.cn";
  f.title = "No AAAA";
  f.observed_at = std::chrono::system_clock::now();
  f.agent = "campus-a";
  f.scan = "s";
  return f;
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/daemon-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  CollectorConfig collector(std::uint16_t port) {
    CollectorConfig c;
    c.host = "127.0.0.1";
    c.port = port;
    c.tls = false;
    c.connect_timeout = 2s;
    c.ack_timeout = 2s;
    c.batch_max_findings = 2;
    c.batch_max_delay = 50ms;
    return c;
  }
  fs::path dir_;
};

// Polls `done` every 50 ms for at most 10 s.
template <class F>
bool eventually(F&& done) {
  for (int i = 0; i < 200; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST_F(DaemonTest, ScanFindingsThenCompletionAndHeartbeatsReachTheCollector) {
  CollectorThread server;
  DaemonConfig config;
  config.agent_id = "campus-a";
  config.key = "s3cret";
  config.spool_dir = (dir_ / "spool").string();
  config.heartbeat_interval = 100ms;
  config.collector = collector(server.collector().port());
  JobConfig job;
  job.name = "nightly";
  job.schedule = Schedule::parse("@every 1h");
  job.run_at_start = true;
  config.jobs.push_back(job);

  DaemonOptions options;
  options.handle_signals = false;
  options.version = "test";
  std::atomic<int> scans{0};
  options.scan_runner = [&](const JobConfig& j, FindingSink& sink, const std::string& scan_id,
                            const Clock&) {
    EXPECT_EQ(j.name, "nightly");
    EXPECT_EQ(scan_id.rfind("scan-", 0), 0u);
    for (int i = 0; i < 5; ++i) sink.write(finding(i));
    ++scans;
    ScanOutcome o;
    o.findings = 5;
    return o;
  };
  SystemClock clock;
  SeededRandom random(1);
  Daemon daemon(config, clock, random, options);
  std::thread runner([&] { EXPECT_EQ(daemon.run(), 0); });

  auto& c = server.collector();
  const bool completed = eventually([&] { return c.count_tag(kScanTag) == 1; });
  const bool heartbeats = eventually([&] { return c.count_tag(kHeartbeatTag) >= 2; });
  daemon.stop();
  runner.join();
  ASSERT_TRUE(completed);
  EXPECT_TRUE(heartbeats);
  EXPECT_EQ(scans.load(), 1);  // @every 1h: once at start, not again

  std::vector<std::string> finding_ids;
  bool scan_seen = false;
  for (const auto& r : c.received()) {
    EXPECT_FALSE(r.chunk.empty()) << "every message asks for an ack";
    if (r.tag == kFindingTag) {
      EXPECT_FALSE(scan_seen) << "a finding after its scan's completion event";
      EXPECT_LE(r.entries.size(), 2u);  // batch_max_findings
      for (const auto& e : r.entries) {
        finding_ids.push_back(std::string(e.record.at("id").as_string()));
        EXPECT_EQ(e.record.at("job").as_string(), "nightly");
      }
    } else if (r.tag == kScanTag) {
      scan_seen = true;
      const auto& rec = r.entries.at(0).record;
      EXPECT_EQ(rec.at("event").as_string(), "completed");
      EXPECT_EQ(rec.at("job").as_string(), "nightly");
      EXPECT_EQ(rec.at("findings").to_number<std::uint64_t>(), 5u);
    } else if (r.tag == kHeartbeatTag) {
      const auto& hb = r.entries.at(0).record;
      for (const char* key : {"version", "started_at", "uptime_s", "last_scan", "last_scan_at",
                              "spool_chunks", "spool_bytes", "spool_evicted_chunks", "jobs"})
        EXPECT_TRUE(hb.contains(key)) << key;
      EXPECT_EQ(hb.at("version").as_string(), "test");
      EXPECT_EQ(hb.at("jobs").as_array().at(0).as_object().at("name").as_string(), "nightly");
    }
  }
  EXPECT_EQ(finding_ids, (std::vector<std::string>{"f0", "f1", "f2", "f3", "f4"}));
  EXPECT_EQ(daemon.spool().size_chunks(), 0u);  // everything acknowledged, nothing kept
  EXPECT_EQ(c.ping_hostnames().at(0), "campus-a");
}

TEST_F(DaemonTest, SinkCutsAChunkWhenTheOldestFindingWaitedLongEnough) {
  Spool spool(dir_, {});
  ManualClock clock(std::chrono::system_clock::time_point{} + 1000h);
  SpoolingSink sink(spool, clock, 5, "j", 100, 1s);
  sink.write(finding(0));
  sink.flush_if_due();
  EXPECT_EQ(spool.size_chunks(), 0u);
  clock.advance(999ms);
  sink.flush_if_due();
  EXPECT_EQ(spool.size_chunks(), 0u);
  clock.advance(1ms);
  sink.flush_if_due();
  EXPECT_EQ(spool.size_chunks(), 1u);
  sink.write(finding(1));
  sink.close();
  EXPECT_EQ(spool.size_chunks(), 2u);
  EXPECT_EQ(sink.findings(), 2u);
  // Each chunk is a PackedForward message carrying its chunk id.
  const auto e = spool.front();
  std::string why;
  const auto m = forward::decode_message(e->payload, &why);
  ASSERT_TRUE(m) << why;
  const auto& event = std::get<forward::EventMessage>(*m);
  EXPECT_EQ(event.tag, kFindingTag);
  EXPECT_EQ(event.options.chunk, e->chunk_id);
}

}  // namespace
}  // namespace edusight::agent
