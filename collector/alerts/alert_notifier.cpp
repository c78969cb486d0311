#include "collector/alerts/alert_notifier.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace edusight::collector {

namespace {
notify::Event event_of(AlertEvent e) {
  switch (e) {
    case AlertEvent::firing:
      return notify::Event::firing;
    case AlertEvent::reminder:
      return notify::Event::reminder;
    case AlertEvent::resolved:
      return notify::Event::resolved;
  }
  return notify::Event::firing;
}
}  // namespace

notify::Notification make_notification(const DueNotification& due,
                                       const AlertNotifierOptions& options) {
  const AlertRecord& r = due.alert;
  notify::Notification n;
  n.event = event_of(due.event);
  n.collector = options.collector;
  if (!options.link_base.empty()) {
    n.link = options.link_base + "/api/v1/alerts/" + std::to_string(r.id);
  }
  notify::Alert& a = n.alert;
  a.id = r.id;
  a.rule = r.rule;
  a.subject = r.subject;
  a.severity = r.severity;
  a.title = r.title;
  a.title_zh = r.title_zh;
  a.tags = r.tags;
  a.remediation = r.remediation;
  a.remediation_zh = r.remediation_zh;
  a.state = std::string(to_string(r.state));
  a.first_fired = r.first_fired;
  a.last_fired = r.last_fired;
  a.resolved_at = r.resolved_at;
  a.repeats = r.repeats;
  a.acknowledged_by = r.acknowledged_by;
  a.finding_id = r.finding_id;
  a.agent = r.agent;
  return n;
}

AlertNotifier::AlertNotifier(AlertStore& store, notify::Dispatcher& dispatcher,
                             metrics::Registry& metrics, AlertNotifierOptions options)
    : store_(store),
      dispatcher_(dispatcher),
      options_(std::move(options)),
      handed_out_(metrics
                      .counter("edusight_alert_notifications_total",
                               "Alert notices (firing, reminder, resolved) handed to the "
                               "notification channels.")
                      .with()),
      store_errors_(metrics
                        .counter("edusight_alert_notifier_store_errors_total",
                                 "Failed reads or marks of due alert notices (retried).")
                        .with()),
      leader_(metrics
                  .gauge("edusight_alert_notifier_leader",
                         "1 when this collector announces alerts (holds the notifier lease); "
                         "with several collectors on one database, exactly one does.")
                  .with()),
      thread_(options_.poll_interval, [this] { pass(); }) {}

void AlertNotifier::start() {
  thread_.start();
}

AlertNotifier::~AlertNotifier() {
  stop();
}

void AlertNotifier::stop() {
  thread_.stop();
}

std::size_t AlertNotifier::poll_once() {
  const DueList due = store_.due_notifications(options_.batch);
  if (!due.ok) {
    store_errors_.add();
    spdlog::error("alerts: cannot read due notifications: {}", due.error);
    return 0;
  }
  std::vector<NotifiedMark> marks;
  marks.reserve(due.due.size());
  for (const auto& d : due.due) {
    // Marked even when a channel's queue was full: the dispatcher counted the drop, and the
    // channels that took it must not get it twice.
    dispatcher_.offer(make_notification(d, options_));
    marks.push_back({d.alert.id, d.event});
    spdlog::info("alerts: {} alert {} ({} on {})", to_string(d.event), d.alert.id, d.alert.rule,
                 d.alert.subject);
  }
  handed_out_.add(static_cast<std::int64_t>(marks.size()));
  if (const Result r = store_.mark_notified(marks); !r.ok) {
    store_errors_.add();
    spdlog::error("alerts: cannot mark {} notices as sent: {}", marks.size(), r.error);
    return 0;  // not again at once: the same ones would be due
  }
  return marks.size();
}

void AlertNotifier::pass() {
  const bool leading = store_.hold_notifier_lease();
  if (leading != leading_) {
    spdlog::info(leading ? "alerts: this collector announces alerts now"
                         : "alerts: another collector announces alerts");
    leading_ = leading;
  }
  leader_.set(leading ? 1 : 0);
  if (!leading) return;
  // A full batch means more may be due: go again at once, a bounded number of times.
  for (int round = 0; round < 50 && poll_once() == options_.batch; ++round) {
  }
}

}  // namespace edusight::collector
