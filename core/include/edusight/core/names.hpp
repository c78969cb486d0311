#pragma once
// Canonical names and addresses, as the catalog requires: lower case, no trailing dot,
// IDNs as A-labels; IPv6 in RFC 5952 form.
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace edusight {

// Returns nullopt when the name is not a valid host name (empty label, label > 63 octets,
// name > 253 octets, characters IDNA rejects).
std::optional<std::string> canonical_host(std::string_view name);

std::optional<boost::asio::ip::address> parse_address(std::string_view text);
std::string canonical_address(const boost::asio::ip::address& a);

// ::ffff:a.b.c.d is IPv4 in IPv6 clothing: it does not count as IPv6 support.
bool is_ipv4_mapped(const boost::asio::ip::address& a);

// True when `name` equals `zone` or lies below it, compared label by label.
bool is_within_zone(std::string_view name, std::string_view zone);

}  // namespace edusight
