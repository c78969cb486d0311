#pragma once
// Small helpers that put measured facts into finding evidence the same way everywhere.
#include <boost/asio/ip/address.hpp>
#include <boost/json/array.hpp>
#include <vector>

#include "edusight/core/names.hpp"

namespace edusight {

// Addresses in canonical text (RFC 5952 for IPv6).
inline boost::json::array addresses_json(const std::vector<boost::asio::ip::address>& v) {
  boost::json::array a;
  for (const auto& x : v) a.emplace_back(canonical_address(x));
  return a;
}

}  // namespace edusight
