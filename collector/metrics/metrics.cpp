#include "collector/metrics/metrics.hpp"

namespace edusight::metrics {

namespace {

// Label values escape backslash, quote and newline (exposition format).
std::string render_labels(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

Value& Family::with(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::lock_guard lock(mutex_);
  return values_[render_labels(labels)];
}

void Family::render(std::string& out) const {
  out += "# HELP " + name_ + " " + help_ + "\n";
  out += "# TYPE " + name_ + (type_ == Type::counter ? " counter\n" : " gauge\n");
  std::lock_guard lock(mutex_);
  if (values_.empty()) {
    // An unused family still shows as zero, so dashboards and alerts see it exists.
    out += name_ + " 0\n";
    return;
  }
  for (const auto& [labels, value] : values_) {
    out += name_ + labels + " " + std::to_string(value.get()) + "\n";
  }
}

Family& Registry::family(const std::string& name, const std::string& help, Type type) {
  std::lock_guard lock(mutex_);
  for (Family& f : families_) {
    if (f.name() == name) return f;
  }
  return families_.emplace_back(name, help, type);
}

Family& Registry::counter(const std::string& name, const std::string& help) {
  return family(name, help, Type::counter);
}

Family& Registry::gauge(const std::string& name, const std::string& help) {
  return family(name, help, Type::gauge);
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const Family& f : families_) f.render(out);
  return out;
}

std::vector<std::string> Registry::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const Family& f : families_) out.push_back(f.name());
  return out;
}

}  // namespace edusight::metrics
