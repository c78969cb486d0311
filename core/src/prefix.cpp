#include "edusight/core/prefix.hpp"

#include <charconv>

#include "edusight/core/names.hpp"

namespace edusight {
namespace {

std::array<std::uint8_t, 16> bytes_of(const boost::asio::ip::address& a) {
  std::array<std::uint8_t, 16> out{};
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.begin());
  } else {
    const auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.begin());
  }
  return out;
}

bool prefix_equal(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                  int bits) {
  int i = 0;
  for (; bits >= 8; bits -= 8, ++i) {
    if (a[i] != b[i]) return false;
  }
  if (bits == 0) return true;
  const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - bits));
  return (a[i] & mask) == (b[i] & mask);
}

}  // namespace

std::optional<Prefix> Prefix::parse(std::string_view text, std::string* why) {
  auto fail = [&](std::string msg) -> std::optional<Prefix> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  const auto slash = text.find('/');
  const auto addr_text = text.substr(0, slash);
  const auto addr = parse_address(addr_text);
  if (!addr) return fail("'" + std::string(addr_text) + "' is not an IPv4 or IPv6 address");
  if (is_ipv4_mapped(*addr))
    return fail("IPv4-mapped prefixes are not accepted; write the IPv4 form");

  Prefix p;
  p.v6_ = addr->is_v6();
  const int max_len = p.v6_ ? 128 : 32;
  p.length_ = max_len;
  if (slash != std::string_view::npos) {
    const auto len_text = text.substr(slash + 1);
    int len = -1;
    const auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc{} || ptr != len_text.data() + len_text.size() || len < 0 || len > max_len) {
      return fail("prefix length '" + std::string(len_text) + "' must be 0.." +
                  std::to_string(max_len));
    }
    p.length_ = len;
  }
  p.bytes_ = bytes_of(*addr);
  // Host bits set (192.0.2.1/24) usually means a typo; refuse rather than guess.
  std::array<std::uint8_t, 16> masked = p.bytes_;
  for (int bit = p.length_; bit < max_len; ++bit)
    masked[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
  if (masked != p.bytes_) return fail("'" + std::string(text) + "' has host bits set");
  return p;
}

bool Prefix::contains(const boost::asio::ip::address& a) const {
  if (a.is_v6() != v6_) return false;
  return prefix_equal(bytes_, bytes_of(a), length_);
}

std::string Prefix::to_string() const {
  boost::asio::ip::address a;
  if (v6_) {
    boost::asio::ip::address_v6::bytes_type b{};
    std::copy(bytes_.begin(), bytes_.end(), b.begin());
    a = boost::asio::ip::address_v6(b);
  } else {
    boost::asio::ip::address_v4::bytes_type b{};
    std::copy(bytes_.begin(), bytes_.begin() + 4, b.begin());
    a = boost::asio::ip::address_v4(b);
  }
  return canonical_address(a) + "/" + std::to_string(length_);
}

}  // namespace edusight
