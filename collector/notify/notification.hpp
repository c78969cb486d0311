#pragma once
// What an alert notification carries and the interface every destination implements. The
// collector fills Alert from its alerts table; channels format and deliver it. Delivery
// failures are values (Delivery), never exceptions.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edusight/core/finding.hpp"  // Severity

namespace edusight::collector::notify {

// reminder: the same still-firing alert notified again.
enum class Event { firing, reminder, resolved };
std::string_view to_string(Event e);
std::optional<Event> parse_event(std::string_view s);

struct Alert {
  std::int64_t id = 0;
  std::string rule;     // rule id, e.g. "ipv6-web-unreachable"
  std::string subject;  // host, zone, address, host:port
  Severity severity = Severity::info;
  std::string title, title_zh;
  std::vector<std::string> tags;  // notice clauses, e.g. "第14条"
  std::string remediation, remediation_zh;
  std::string state;  // "firing", "acknowledged", "resolved"
  std::chrono::system_clock::time_point first_fired{}, last_fired{};
  std::optional<std::chrono::system_clock::time_point> resolved_at;
  std::int64_t repeats = 1;
  std::string acknowledged_by;  // empty if not
  std::string finding_id;       // the latest finding that raised it
  std::string agent;
};

struct Notification {
  Event event = Event::firing;
  Alert alert;
  std::string collector;  // the collector's name
  std::string link;       // the alert in the dashboard/API; may be empty
};

struct Delivery {
  bool ok = false;
  bool retryable = false;
  std::string error;  // empty when ok
  static Delivery success() { return {true, false, {}}; }
  static Delivery retry(std::string why) { return {false, true, std::move(why)}; }
  static Delivery fatal(std::string why) { return {false, false, std::move(why)}; }
};

// One destination.
class Channel {
 public:
  virtual ~Channel();
  virtual const std::string& name() const = 0;  // from config; the metrics label
  // Blocking, bounded by the channel's timeout. Called from one thread at a time.
  virtual Delivery send(const Notification& n) = 0;
};

}  // namespace edusight::collector::notify
