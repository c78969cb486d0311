#pragma once
// The registry of information systems (信息系统名录): what the institution says it runs.
// Discovery diffs against it (asset.unregistered, asset.zombie).
//
// CSV, UTF-8 (a BOM is allowed), first line a header, RFC 4180 quoting (quoted fields, doubled
// quotes, commas and line breaks inside quotes). The column `domain` is required; `name`,
// `owner_unit`, `admin` and `registered_ip` are known; other columns are kept as attributes.
// Header names match case-insensitively. Blank rows are skipped.
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "edusight/core/config.hpp"

namespace edusight {

struct RegisteredSystem {
  // Canonical host. "https://www.x.edu.cn/path" and "www.x.edu.cn:8080" are accepted and
  // reduced to the host.
  std::string domain;
  std::string name, owner_unit, admin;
  // Several addresses may be given, separated by ';', ',' or white space.
  std::vector<boost::asio::ip::address> registered_ip;
  // Unknown columns in header order: (header as written, value).
  std::vector<std::pair<std::string, std::string>> attributes;
  int line = 0;  // where the row starts (1 is the header)
};

class Registry {
 public:
  static constexpr std::size_t max_bytes = 64U * 1024U * 1024U;
  static constexpr std::size_t max_rows = 1'000'000;

  // Errors are ConfigError(file, line, column, what is wrong); the column is the 1-based field
  // number when one field is at fault.
  static Registry load(const std::string& path);
  static Registry parse(std::string_view csv, const std::string& origin);

  const std::vector<RegisteredSystem>& systems() const { return systems_; }
  // Exact canonical host.
  const RegisteredSystem* find(std::string_view host) const;
  // Lines of rows whose domain repeats an earlier row; the first row is the one kept.
  const std::vector<int>& duplicate_lines() const { return duplicate_lines_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::vector<RegisteredSystem> systems_;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> index_;
  std::vector<int> duplicate_lines_;
};

}  // namespace edusight
