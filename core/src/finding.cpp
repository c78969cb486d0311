#include "edusight/core/finding.hpp"

#include <openssl/evp.h>

#include <array>
#include <boost/json/serialize.hpp>
#include <ctime>

namespace edusight {

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::low:
      return "low";
    case Severity::medium:
      return "medium";
    case Severity::high:
      return "high";
    case Severity::critical:
      return "critical";
  }
  return "info";
}

std::optional<Severity> parse_severity(std::string_view s) {
  for (auto v :
       {Severity::info, Severity::low, Severity::medium, Severity::high, Severity::critical}) {
    if (to_string(v) == s) return v;
  }
  return std::nullopt;
}

std::string finding_id(std::string_view kind, std::string_view subject,
                       std::string_view discriminator) {
  // NUL separators keep ("a","bc") and ("ab","c") apart.
  std::string input;
  input.reserve(kind.size() + subject.size() + discriminator.size() + 2);
  input.append(kind).push_back('\0');
  input.append(subject).push_back('\0');
  input.append(discriminator);

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha256(), nullptr);

  // 128 bits are plenty to keep distinct findings apart and short enough to read.
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (unsigned i = 0; i < 16 && i < len; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::array<char, 32> buf{};
  const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf.data(), n);
}

boost::json::object to_json(const Finding& f) {
  boost::json::object o;
  o["id"] = f.id;
  o["kind"] = f.kind;
  o["severity"] = to_string(f.severity);
  o["subject"] = f.subject;
  o["title"] = f.title;
  o["title_zh"] = f.title_zh;
  o["evidence"] = f.evidence;
  o["observed_at"] = format_rfc3339(f.observed_at);
  o["agent"] = f.agent;
  o["scan"] = f.scan;
  return o;
}

std::string to_jsonl(const Finding& f) {
  return boost::json::serialize(to_json(f));
}

}  // namespace edusight
