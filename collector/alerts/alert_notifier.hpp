#pragma once
// Turns due alerts into notifications. The store is the outbox: alerts due for a first
// notice, a reminder or a resolution notice are read on a timer, handed to the dispatcher
// (which never blocks) and marked, so a restart neither loses nor repeats them, and ingest
// never waits for a webhook or a SIEM.
#include <chrono>
#include <string>

#include "collector/metrics/metrics.hpp"
#include "collector/notify/dispatcher.hpp"
#include "collector/store/store.hpp"
#include "edusight/core/periodic.hpp"

namespace edusight::collector {

struct AlertNotifierOptions {
  std::chrono::milliseconds poll_interval{2'000};
  std::string collector;  // our name, in every notification
  std::string link_base;  // "https://host:port"; links are <base>/api/v1/alerts/<id>
  std::size_t batch = 200;
};

// The notification for one due alert (exposed for tests).
notify::Notification make_notification(const DueNotification& due,
                                       const AlertNotifierOptions& options);

class AlertNotifier {
 public:
  // `store` is used only from the notifier's thread: give it its own connection.
  AlertNotifier(AlertStore& store, notify::Dispatcher& dispatcher, metrics::Registry& metrics,
                AlertNotifierOptions options);
  ~AlertNotifier();  // stops
  AlertNotifier(const AlertNotifier&) = delete;
  AlertNotifier& operator=(const AlertNotifier&) = delete;

  // Polls every poll_interval on its own thread until stop(). With several collectors on one
  // database, only the one holding the store's notifier lease reads due notices; the others
  // poll for the lease and take over when its holder goes away.
  void start();
  // One pass: what is due now is handed out and marked; returns how many. Not while the
  // thread runs (the store is not shared).
  std::size_t poll_once();
  void stop();

 private:
  void pass();

  AlertStore& store_;
  notify::Dispatcher& dispatcher_;
  AlertNotifierOptions options_;
  metrics::Value& handed_out_;
  metrics::Value& store_errors_;
  metrics::Value& leader_;
  bool leading_ = false;
  PeriodicThread thread_;  // last: it runs pass(), which uses the members above
};

}  // namespace edusight::collector
