#pragma once
// An IPv4 or IPv6 prefix such as 192.0.2.0/24 or 2001:db8::/32.
#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edusight {

class Prefix {
 public:
  // Parses "addr/len" or a bare address (a host prefix). On failure returns nullopt and, when
  // `why` is given, says what is wrong (bad address, length out of range, host bits set).
  static std::optional<Prefix> parse(std::string_view text, std::string* why = nullptr);

  bool is_v6() const { return v6_; }
  int length() const { return length_; }
  bool contains(const boost::asio::ip::address& a) const;
  std::string to_string() const;

 private:
  bool v6_ = false;
  int length_ = 0;
  std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace edusight
