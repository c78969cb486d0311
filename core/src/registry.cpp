#include "edusight/core/registry.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "edusight/core/names.hpp"

namespace edusight {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Offset of the first byte that is not well-formed UTF-8 (overlongs, surrogates and code
// points above U+10FFFF included), or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + static_cast<std::size_t>(extra) >= n) return i;  // cut short at the end
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (int k = 2; k <= extra; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += static_cast<std::size_t>(extra) + 1;
  }
  return std::string_view::npos;
}

struct Field {
  std::string text;
  int line = 0;
};

// RFC 4180 records. Leniencies, each common in spreadsheet exports: LF, CRLF or CR line ends;
// blanks around a quoted field; a quote inside an unquoted field is taken literally.
class CsvReader {
 public:
  CsvReader(std::string_view text, const std::string& origin) : s_(text), origin_(origin) {}

  // Reads the next record into `fields`; false at the end of the input.
  bool next(std::vector<Field>& fields, int& record_line) {
    if (pos_ >= s_.size()) return false;
    fields.clear();
    record_line = line_;
    for (;;) {
      Field f;
      f.line = line_;
      std::size_t p = pos_;
      while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
      if (p < s_.size() && s_[p] == '"') {
        read_quoted(p + 1, f.text);
      } else {
        const std::size_t end = s_.find_first_of(",\r\n", pos_);
        const std::size_t stop = end == std::string_view::npos ? s_.size() : end;
        f.text.assign(s_.substr(pos_, stop - pos_));
        pos_ = stop;
      }
      fields.push_back(std::move(f));
      if (pos_ >= s_.size()) return true;
      const char c = s_[pos_++];
      if (c == ',') continue;
      if (c == '\r' && pos_ < s_.size() && s_[pos_] == '\n') ++pos_;
      ++line_;
      return true;
    }
  }

 private:
  void read_quoted(std::size_t p, std::string& out) {
    const int opened = line_;
    for (;;) {
      const std::size_t q = s_.find('"', p);
      if (q == std::string_view::npos) {
        throw ConfigError(origin_, opened, 0,
                          "a quoted field is never closed (unterminated quote)");
      }
      const std::string_view chunk = s_.substr(p, q - p);
      line_ += static_cast<int>(std::count(chunk.begin(), chunk.end(), '\n'));
      out.append(chunk);
      if (q + 1 < s_.size() && s_[q + 1] == '"') {  // "" is one quote
        out.push_back('"');
        p = q + 2;
        continue;
      }
      p = q + 1;
      break;
    }
    while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
    if (p < s_.size() && s_[p] != ',' && s_[p] != '\r' && s_[p] != '\n') {
      throw ConfigError(origin_, line_, 0,
                        "unexpected text after a closing quote (a quote inside a quoted field is "
                        "written as \"\")");
    }
    pos_ = p;
  }

  std::string_view s_;
  const std::string& origin_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

// "https://user@www.x.edu.cn:8443/path?q" -> "www.x.edu.cn", canonical.
std::optional<std::string> host_of(std::string_view text, std::string& why) {
  std::string_view s = trim(text);
  if (s.empty()) {
    why = "the domain is empty";
    return std::nullopt;
  }
  if (const auto scheme = s.find("://"); scheme != std::string_view::npos) {
    s.remove_prefix(scheme + 3);
  } else if (s.starts_with("//")) {
    s.remove_prefix(2);
  }
  s = s.substr(0, s.find_first_of("/?#"));
  if (const auto at = s.rfind('@'); at != std::string_view::npos) s.remove_prefix(at + 1);
  const std::string shown = "'" + std::string(trim(text)) + "'";
  if (s.starts_with('[') || std::count(s.begin(), s.end(), ':') > 1 || parse_address(s)) {
    why = "the domain " + shown +
          " is an address, not a host name; list addresses under registered_ip";
    return std::nullopt;
  }
  if (const auto colon = s.find(':'); colon != std::string_view::npos) {
    const std::string_view port = s.substr(colon + 1);
    const bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoul(std::string(port)) > 65535) {
      why = "the domain " + shown + " has an invalid port";
      return std::nullopt;
    }
    s = s.substr(0, colon);
  }
  auto host = canonical_host(s);
  if (!host) {
    why = "the domain " + shown + " is not a valid host name";
    return std::nullopt;
  }
  if (parse_address(*host)) {
    why = "the domain " + shown +
          " is an address, not a host name; list addresses under registered_ip";
    return std::nullopt;
  }
  return host;
}

enum class Column { domain, name, owner_unit, admin, registered_ip, other };

Column column_of(const std::string& lower) {
  if (lower == "domain") return Column::domain;
  if (lower == "name") return Column::name;
  if (lower == "owner_unit") return Column::owner_unit;
  if (lower == "admin") return Column::admin;
  if (lower == "registered_ip") return Column::registered_ip;
  return Column::other;
}

}  // namespace

Registry Registry::parse(std::string_view csv, const std::string& origin) {
  if (csv.size() > max_bytes) {
    throw ConfigError(origin, 0, 0,
                      "the registry is " + std::to_string(csv.size()) +
                          " bytes; the limit is 64 MiB (split it or drop unused columns)");
  }
  if (csv.starts_with(kBom)) csv.remove_prefix(kBom.size());
  if (const auto bad = invalid_utf8_at(csv); bad != std::string_view::npos) {
    const auto before = csv.substr(0, bad);
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const auto line_start = before.rfind('\n');
    const int column =
        static_cast<int>(bad - (line_start == std::string_view::npos ? 0 : line_start + 1)) + 1;
    throw ConfigError(origin, line, column,
                      "the registry is not valid UTF-8 (saved as GBK? save it as \"CSV UTF-8\")");
  }

  CsvReader reader(csv, origin);
  std::vector<Field> fields;
  int line = 0;
  if (!reader.next(fields, line))
    throw ConfigError(origin, 1, 0, "the registry is empty: no header line");

  // The header.
  std::vector<Column> columns;
  std::vector<std::string> names;
  int domain_col = -1;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto col = static_cast<int>(i) + 1;
    const std::string_view written = trim(fields[i].text);
    if (written.empty())
      throw ConfigError(origin, fields[i].line, col,
                        "column " + std::to_string(col) + " has no name in the header");
    const std::string lower = ascii_lower(written);
    for (std::size_t j = 0; j < i; ++j) {
      if (ascii_lower(names[j]) == lower) {
        throw ConfigError(origin, fields[i].line, col,
                          "column '" + std::string(written) + "' appears twice in the header");
      }
    }
    columns.push_back(column_of(lower));
    names.emplace_back(written);
    if (columns.back() == Column::domain) domain_col = static_cast<int>(i);
  }
  if (domain_col < 0) {
    std::string seen;
    for (const auto& n : names) seen += (seen.empty() ? "" : ", ") + n;
    throw ConfigError(origin, line, 0, "the header has no 'domain' column (columns: " + seen + ")");
  }

  Registry r;
  std::size_t rows = 0;
  while (reader.next(fields, line)) {
    if (std::all_of(fields.begin(), fields.end(),
                    [](const Field& f) { return trim(f.text).empty(); })) {
      continue;  // a blank line, or a row of empty cells a spreadsheet left behind
    }
    if (++rows > max_rows) {
      throw ConfigError(origin, line, 0,
                        "more than " + std::to_string(max_rows) + " rows; split the registry");
    }
    if (fields.size() > columns.size()) {
      throw ConfigError(origin, fields[columns.size()].line, static_cast<int>(columns.size()) + 1,
                        "the row has " + std::to_string(fields.size()) +
                            " fields but the header has " + std::to_string(columns.size()) +
                            " (quote values that contain a comma)");
    }
    RegisteredSystem sys;
    sys.line = line;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const int col = static_cast<int>(i) + 1;
      const int at = i < fields.size() ? fields[i].line : line;
      const std::string_view value = i < fields.size() ? trim(fields[i].text) : std::string_view();
      switch (columns[i]) {
        case Column::domain: {
          std::string why;
          auto host = host_of(value, why);
          if (!host) throw ConfigError(origin, at, col, why);
          sys.domain = std::move(*host);
          break;
        }
        case Column::name:
          sys.name = value;
          break;
        case Column::owner_unit:
          sys.owner_unit = value;
          break;
        case Column::admin:
          sys.admin = value;
          break;
        case Column::registered_ip: {
          std::string_view rest = value;
          for (;;) {
            const auto start = rest.find_first_not_of("; ,\t\r\n");
            if (start == std::string_view::npos) break;
            rest.remove_prefix(start);
            const auto end = std::min(rest.find_first_of("; ,\t\r\n"), rest.size());
            const std::string_view token = rest.substr(0, end);
            const auto a = parse_address(token);
            if (!a) {
              throw ConfigError(
                  origin, at, col,
                  "registered_ip: '" + std::string(token) + "' is not an IPv4 or IPv6 address");
            }
            sys.registered_ip.push_back(*a);
            rest.remove_prefix(end);
          }
          break;
        }
        case Column::other:
          sys.attributes.emplace_back(names[i], std::string(value));
          break;
      }
    }
    if (r.index_.contains(sys.domain)) {
      r.duplicate_lines_.push_back(line);
      continue;
    }
    r.index_.emplace(sys.domain, r.systems_.size());
    r.systems_.push_back(std::move(sys));
  }
  return r;
}

Registry Registry::load(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw ConfigError(path, 0, 0, "cannot read the registry: " + ec.message());
  if (size > max_bytes) {
    throw ConfigError(path, 0, 0,
                      "the registry is " + std::to_string(size) +
                          " bytes; the limit is 64 MiB (split it or drop unused columns)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, 0, 0, "cannot open the registry");
  // Read up to one byte past the limit, so a file that grew since file_size() is still refused
  // by parse() rather than silently cut.
  std::string text(static_cast<std::size_t>(size) + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  while (in && text.size() <= max_bytes) {
    char buf[65536];
    in.read(buf, sizeof buf);
    text.append(buf, static_cast<std::size_t>(in.gcount()));
  }
  return parse(text, path);
}

const RegisteredSystem* Registry::find(std::string_view host) const {
  const auto it = index_.find(host);
  return it == index_.end() ? nullptr : &systems_[it->second];
}

}  // namespace edusight
