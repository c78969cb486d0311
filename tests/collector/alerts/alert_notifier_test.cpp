// Due alerts become notifications exactly once per event, from the real store.
#include "collector/alerts/alert_notifier.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "collector/store/sqlite_store.hpp"

namespace edusight::collector {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Records what it is sent.
class RecordingChannel final : public notify::Channel {
 public:
  explicit RecordingChannel(std::vector<notify::Notification>* sent, std::mutex* m)
      : sent_(sent), mutex_(m) {}
  const std::string& name() const override { return name_; }
  notify::Delivery send(const notify::Notification& n) override {
    std::lock_guard lock(*mutex_);
    sent_->push_back(n);
    return notify::Delivery::success();
  }

 private:
  std::string name_ = "recorder";
  std::vector<notify::Notification>* sent_;
  std::mutex* mutex_;
};

class AlertNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edusight-notifier-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    store_ = std::make_unique<SqliteStore>((dir_ / "db").string(), clock_);
    ASSERT_TRUE(store_->status().ok);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  void fire(const std::string& chunk, const std::string& scan, bool present) {
    Batch b;
    b.agent = "agent-1";
    b.chunk_id = chunk;
    b.scan = scan;
    b.job = "nightly";
    b.scan_complete = true;
    if (present) {
      Finding f;
      f.kind = "dns.open_resolver";
      f.subject = "192.0.2.54";
      f.id = finding_id(f.kind, f.subject);
      f.severity = Severity::high;
      f.policy.rules = {"dns-open-resolver"};
      f.policy.alerting = {"dns-open-resolver"};
      b.findings.push_back(f);
      rules::AlertIntent a;
      a.rule = "dns-open-resolver";
      a.subject = f.subject;
      a.finding_id = f.id;
      a.severity = Severity::high;
      a.title = {"Open recursive resolver", "开放递归DNS解析器"};
      a.tags = {"第17条"};
      a.renotify = 1h;
      b.alerts.push_back(a);
    }
    ASSERT_TRUE(store_->commit_batch(b).ok);
  }

  // Waits (bounded) until the dispatcher's worker has delivered `n` notifications.
  std::vector<notify::Notification> delivered(std::size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (sent_.size() >= n) return sent_;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(mutex_);
    return sent_;
  }

  fs::path dir_;
  ManualClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000))};
  std::unique_ptr<SqliteStore> store_;
  metrics::Registry metrics_;
  std::mutex mutex_;
  std::vector<notify::Notification> sent_;
};

TEST_F(AlertNotifierTest, FiringReminderAndResolutionEachOnce) {
  std::vector<notify::Route> routes;
  routes.push_back({std::make_unique<RecordingChannel>(&sent_, &mutex_), {}});
  notify::CondvarSleeper sleeper;
  SeededRandom random(1);
  notify::Dispatcher dispatcher(std::move(routes), metrics_, {}, clock_, sleeper, random);
  AlertNotifierOptions options;
  options.collector = "collector-1";
  options.link_base = "https://edusight.demo-univ.edu.cn";
  AlertNotifier notifier(*store_, dispatcher, metrics_, options);

  fire("c1", "s1", true);
  EXPECT_EQ(notifier.poll_once(), 1u);
  EXPECT_EQ(notifier.poll_once(), 0u);  // marked: not due again
  auto sent = delivered(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].event, notify::Event::firing);
  EXPECT_EQ(sent[0].collector, "collector-1");
  EXPECT_EQ(sent[0].alert.rule, "dns-open-resolver");
  EXPECT_EQ(sent[0].alert.title_zh, "开放递归DNS解析器");
  EXPECT_EQ(sent[0].alert.state, "firing");
  EXPECT_EQ(sent[0].link,
            "https://edusight.demo-univ.edu.cn/api/v1/alerts/" + std::to_string(sent[0].alert.id));

  clock_.advance(1h);
  EXPECT_EQ(notifier.poll_once(), 1u);
  sent = delivered(2);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].event, notify::Event::reminder);

  fire("c2", "s2", false);  // the next scan no longer finds it
  EXPECT_EQ(notifier.poll_once(), 1u);
  sent = delivered(3);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].event, notify::Event::resolved);
  EXPECT_EQ(sent[2].alert.state, "resolved");
  EXPECT_EQ(notifier.poll_once(), 0u);
  dispatcher.stop();
  EXPECT_NE(metrics_.render().find("edusight_alert_notifications_total 3"), std::string::npos);
}

}  // namespace
}  // namespace edusight::collector
