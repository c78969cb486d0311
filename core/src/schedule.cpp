#include "edusight/core/schedule.hpp"

#include <charconv>
#include <stdexcept>
#include <vector>

#include "edusight/core/duration.hpp"

namespace edusight {

namespace chr = std::chrono;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

std::vector<std::string_view> fields_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const auto start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool to_int(std::string_view s, int* v) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
}

// One cron field into its set of values; throws with the field's name and text.
template <std::size_t N>
std::bitset<N> parse_field(std::string_view text, const char* name, int lo, int hi) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument(std::string(name) + " field '" + std::string(text) + "': " + why);
  };
  std::bitset<N> set;
  for (const auto item : split(text, ',')) {
    if (item.empty()) throw bad("empty list item");
    const auto slash = item.find('/');
    const auto base = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      if (!to_int(item.substr(slash + 1), &step) || step < 1)
        throw bad("step '" + std::string(item.substr(slash + 1)) + "' is not a positive number");
    }
    int a = lo, b = hi;
    if (base != "*") {
      const auto dash = base.find('-');
      if (!to_int(base.substr(0, dash), &a))
        throw bad("'" + std::string(base.substr(0, dash)) + "' is not a number");
      if (dash != std::string_view::npos) {
        if (!to_int(base.substr(dash + 1), &b))
          throw bad("'" + std::string(base.substr(dash + 1)) + "' is not a number");
      } else if (slash == std::string_view::npos) {
        b = a;  // a single value; "a/n" runs from a to the end
      }
      if (a < lo || a > hi || b < lo || b > hi)
        throw bad("values must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      if (a > b) throw bad("range " + std::to_string(a) + "-" + std::to_string(b) + " is reversed");
    }
    for (int v = a; v <= b; v += step) set.set(static_cast<std::size_t>(v));
  }
  return set;
}

}  // namespace

chr::milliseconds duration_or_throw(std::string_view text) {
  if (auto d = parse_duration(text)) return *d;
  throw std::invalid_argument("'" + std::string(text) +
                              "' is not a duration (a whole number and a unit: 500ms, 30s, 5m, "
                              "2h, 1d)");
}

Schedule Schedule::parse(std::string_view text) {
  Schedule s;
  s.text_ = std::string(trim(text));
  std::string_view expr = s.text_;
  if (expr.empty()) throw std::invalid_argument("empty schedule");
  if (expr.substr(0, 6) == "@every") {
    const auto rest = trim(expr.substr(6));
    if (rest.empty() || expr.size() == 6 || (expr[6] != ' ' && expr[6] != '\t'))
      throw std::invalid_argument("'@every' needs an interval, e.g. '@every 30m'");
    s.interval_ = duration_or_throw(rest);
    if (s.interval_ < chr::seconds(1))
      throw std::invalid_argument("'" + s.text_ + "': the interval must be at least 1s");
    return s;
  }
  if (expr == "@hourly")
    expr = "0 * * * *";
  else if (expr == "@daily" || expr == "@midnight")
    expr = "0 0 * * *";
  else if (expr == "@weekly")
    expr = "0 0 * * 0";
  else if (expr == "@monthly")
    expr = "0 0 1 * *";
  else if (expr.front() == '@')
    throw std::invalid_argument("unknown schedule '" + s.text_ +
                                "' (known: @hourly, @daily, @weekly, @monthly, @every <interval>)");
  const auto f = fields_of(expr);
  if (f.size() != 5)
    throw std::invalid_argument(
        "schedule '" + s.text_ + "' has " + std::to_string(f.size()) +
        " fields; cron needs 5: minute hour day-of-month month day-of-week");
  s.minutes_ = parse_field<60>(f[0], "minute", 0, 59);
  s.hours_ = parse_field<24>(f[1], "hour", 0, 23);
  s.days_ = parse_field<32>(f[2], "day-of-month", 1, 31);
  s.months_ = parse_field<13>(f[3], "month", 1, 12);
  const auto dow = parse_field<8>(f[4], "day-of-week", 0, 7);
  for (std::size_t i = 0; i < 7; ++i) s.weekdays_[i] = dow[i];
  if (dow[7]) s.weekdays_.set(0);
  // Vixie cron: a field written with '*' (even "*/2") does not restrict the day.
  s.dom_restricted_ = f[2].front() != '*';
  s.dow_restricted_ = f[4].front() != '*';
  const auto probe = chr::sys_days(chr::year(2000) / 1 / 1);
  if (s.next_after(probe) == time_point::max())
    throw std::invalid_argument("schedule '" + s.text_ + "' never fires");
  return s;
}

Schedule::time_point Schedule::next_after(time_point t) const {
  if (is_interval()) return t + chr::duration_cast<time_point::duration>(interval_);
  const auto start = chr::floor<chr::minutes>(t) + chr::minutes(1);
  auto day = chr::floor<chr::days>(start);
  int first_minute = static_cast<int>((start - day) / chr::minutes(1));
  // Eight years cover every month/day combination, 29 February included.
  for (int i = 0; i < 366 * 8; ++i, day += chr::days(1), first_minute = 0) {
    const chr::year_month_day ymd(day);
    if (!months_[static_cast<unsigned>(ymd.month())]) continue;
    const bool dom = days_[static_cast<unsigned>(ymd.day())];
    const bool dow = weekdays_[chr::weekday(day).c_encoding()];
    const bool match = dom_restricted_ && dow_restricted_ ? (dom || dow) : (dom && dow);
    if (!match) continue;
    for (int m = first_minute; m < 24 * 60; ++m) {
      if (hours_[static_cast<std::size_t>(m / 60)] && minutes_[static_cast<std::size_t>(m % 60)])
        return day + chr::minutes(m);
    }
  }
  return time_point::max();
}

chr::milliseconds draw_jitter(chr::milliseconds max, Random& random) {
  if (max.count() <= 0) return chr::milliseconds(0);
  return chr::milliseconds(random.below(static_cast<std::uint64_t>(max.count()) + 1));
}

}  // namespace edusight
