#pragma once
// Reading YAML configuration with errors that point at the file, line and column, and unknown
// keys refused. Shared by the scan, agent daemon and collector configurations.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "edusight/core/config.hpp"
#include "edusight/core/duration.hpp"

namespace edusight {

class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const {
    const auto m = n.Mark();
    if (m.is_null()) throw ConfigError(origin_, 0, 0, msg);
    throw ConfigError(origin_, m.line + 1, m.column + 1, msg);
  }

  void expect_map(const YAML::Node& n, const std::string& what) const {
    if (!n.IsMap()) fail(n, what + " must be a mapping");
  }

  // Refuses keys that are not in `known`, naming the closest intent.
  void only_keys(const YAML::Node& n, const std::string& where,
                 const std::set<std::string>& known) const {
    for (const auto& kv : n) {
      const auto key = kv.first.as<std::string>();
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(kv.first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
      }
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + " must be a single value");
    return n.Scalar();
  }

  std::string nonempty(const YAML::Node& n, const std::string& what) const {
    auto s = scalar(n, what);
    if (s.empty()) fail(n, what + " must not be empty");
    return s;
  }

  std::uint64_t uint64(const YAML::Node& n, const std::string& what, std::uint64_t lo,
                       std::uint64_t hi) const {
    const auto s = scalar(n, what);
    std::uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || p != s.data() + s.size())
      fail(n, what + " must be a whole number, not '" + s + "'");
    if (v < lo || v > hi)
      fail(n, what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                  ", not " + s);
    return v;
  }

  std::vector<std::string> list(const YAML::Node& n, const std::string& what) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) fail(n, what + " must be a list");
    for (const auto& item : n) out.push_back(scalar(item, "each entry of " + what));
    return out;
  }

  double number(const YAML::Node& n, const std::string& what, double lo, double hi) const {
    const auto s = scalar(n, what);
    double v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size())
      fail(n, what + " must be a number, not '" + s + "'");
    if (v < lo || v > hi) {
      std::ostringstream os;
      os << what << " must be between " << lo << " and " << hi << ", not " << s;
      fail(n, os.str());
    }
    return v;
  }

  int integer(const YAML::Node& n, const std::string& what, int lo, int hi) const {
    const auto s = scalar(n, what);
    int v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size())
      fail(n, what + " must be a whole number, not '" + s + "'");
    if (v < lo || v > hi) {
      fail(n, what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                  ", not " + s);
    }
    return v;
  }

  // Wraps a flag-style validator so its message carries this node's location.
  template <class F>
  auto at(const YAML::Node& n, F&& f) const {
    try {
      return f();
    } catch (const ConfigError& e) {
      // The validators prefix their origin; keep only the message part.
      std::string msg = e.what();
      const auto pos = msg.find(": ");
      fail(n, pos == std::string::npos ? msg : msg.substr(pos + 2));
    }
  }

  // "250ms", "30s", "5m", "2h", "1d"; a bare number is seconds.
  std::chrono::milliseconds duration(const YAML::Node& n, const std::string& what,
                                     std::chrono::milliseconds lo,
                                     std::chrono::milliseconds hi) const {
    const auto s = scalar(n, what);
    const auto d = parse_duration(s, true);
    if (!d) fail(n, what + " must be a duration such as 500ms, 30s, 5m, 2h or 1d, not '" + s + "'");
    if (*d < lo || *d > hi) {
      fail(n, what + " must be between " + std::to_string(lo.count()) + "ms and " +
                  std::to_string(hi.count()) + "ms, not " + s);
    }
    return *d;
  }

  bool boolean(const YAML::Node& n, const std::string& what) const {
    const auto s = scalar(n, what);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail(n, what + " must be true or false, not '" + s + "'");
  }

  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
};

// Parses YAML text; a syntax error becomes a ConfigError at its line and column.
inline YAML::Node load_yaml(const std::string& text, const std::string& origin) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin, e.mark.is_null() ? 0 : e.mark.line + 1,
                      e.mark.is_null() ? 0 : e.mark.column + 1, e.msg);
  }
}

// A configuration file's whole text; ConfigError naming the file when it cannot be read.
inline std::string read_config_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, 0, 0, "cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace edusight
