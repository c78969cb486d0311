#include "collector/notify/notification.hpp"

namespace edusight::collector::notify {

Channel::~Channel() = default;

std::string_view to_string(Event e) {
  switch (e) {
    case Event::firing:
      return "firing";
    case Event::reminder:
      return "reminder";
    case Event::resolved:
      return "resolved";
  }
  return "firing";
}

std::optional<Event> parse_event(std::string_view s) {
  if (s == "firing") return Event::firing;
  if (s == "reminder") return Event::reminder;
  if (s == "resolved") return Event::resolved;
  return std::nullopt;
}

}  // namespace edusight::collector::notify
