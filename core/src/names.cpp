#include "edusight/core/names.hpp"

#include <idn2.h>

#include <algorithm>
#include <cctype>

namespace edusight {
namespace {

bool valid_ascii_host(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label_len = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      if (label_len == 0) return false;
      label_len = 0;
      continue;
    }
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '*';
    if (!ok) return false;
    if (++label_len > 63) return false;
  }
  return label_len > 0;
}

}  // namespace

std::optional<std::string> canonical_host(std::string_view name) {
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return std::nullopt;

  const bool ascii = std::all_of(name.begin(), name.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  std::string out;
  if (ascii) {
    out.assign(name);
  } else {
    // IDNA2008 with TR46 mapping, as browsers do, to get the A-label form.
    const std::string in(name);
    char* ascii_out = nullptr;
    const int rc = idn2_to_ascii_8z(in.c_str(), &ascii_out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK || ascii_out == nullptr) return std::nullopt;
    out = ascii_out;
    idn2_free(ascii_out);
  }
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!valid_ascii_host(out)) return std::nullopt;
  return out;
}

std::optional<boost::asio::ip::address> parse_address(std::string_view text) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return a;
}

std::string canonical_address(const boost::asio::ip::address& a) {
  // inet_ntop (behind to_string) already writes RFC 5952: lower case, longest zero run
  // compressed, ::ffff:a.b.c.d for mapped addresses.
  return a.to_string();
}

bool is_ipv4_mapped(const boost::asio::ip::address& a) {
  return a.is_v6() && a.to_v6().is_v4_mapped();
}

bool is_within_zone(std::string_view name, std::string_view zone) {
  if (zone.empty()) return false;
  if (name.size() < zone.size()) return false;
  if (name.size() == zone.size()) return name == zone;
  // Label boundary: "evil-demo.edu.cn" is not within "demo.edu.cn".
  return name.substr(name.size() - zone.size()) == zone &&
         name[name.size() - zone.size() - 1] == '.';
}

}  // namespace edusight
