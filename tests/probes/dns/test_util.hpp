#pragma once
// Helpers shared by the DNS tests: crafting wire bytes by hand and running a coroutine to
// completion on an io_context whose resolver keeps receive loops alive.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace edusight::dns::testing {

// Builds DNS messages byte by byte, so tests control every field (and every mistake).
struct Wire {
  std::vector<std::uint8_t> b;

  Wire& u8(std::uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Wire& u16(std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v & 0xFF));
    return *this;
  }
  Wire& u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    return u16(static_cast<std::uint16_t>(v & 0xFFFF));
  }
  Wire& bytes(std::initializer_list<std::uint8_t> v) {
    b.insert(b.end(), v);
    return *this;
  }
  // Uncompressed labels; `end_with_root` false leaves room for a compression pointer.
  Wire& labels(std::string_view dotted, bool end_with_root = true) {
    while (!dotted.empty()) {
      const auto dot = dotted.find('.');
      const auto label = dotted.substr(0, dot);
      b.push_back(static_cast<std::uint8_t>(label.size()));
      b.insert(b.end(), label.begin(), label.end());
      if (dot == std::string_view::npos) break;
      dotted.remove_prefix(dot + 1);
    }
    if (end_with_root) b.push_back(0);
    return *this;
  }
  Wire& ptr(std::uint16_t offset) { return u16(static_cast<std::uint16_t>(0xC000 | offset)); }
  // Response header: QR, optionally AA/TC, RD, RA.
  Wire& header(std::uint16_t id, std::uint16_t qd, std::uint16_t an, std::uint16_t ns = 0,
               std::uint16_t ar = 0, int rcode = 0, bool tc = false) {
    u16(id);
    u8(static_cast<std::uint8_t>(0x80 | 0x04 | (tc ? 0x02 : 0) | 0x01));
    u8(static_cast<std::uint8_t>(0x80 | (rcode & 0x0F)));
    return u16(qd).u16(an).u16(ns).u16(ar);
  }
  // type, class IN, ttl, then the caller writes rdlength + rdata.
  Wire& rr_fixed(std::uint16_t type, std::uint32_t ttl = 300) { return u16(type).u16(1).u32(ttl); }
  std::size_t size() const { return b.size(); }
  // Patches a big-endian 16-bit value (e.g. an rdlength written before the data was known).
  void patch16(std::size_t at, std::uint16_t v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v & 0xFF);
  }
};

// Runs `aw` on `io` until it completes (other work such as receive loops keeps running).
template <class T>
T run_sync(boost::asio::io_context& io, boost::asio::awaitable<T> aw,
           std::chrono::seconds limit = std::chrono::seconds(30)) {
  std::optional<T> out;
  std::exception_ptr error;
  boost::asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
    if (e)
      error = e;
    else
      out = std::move(v);
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!out && !error && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(100));
  }
  if (error) std::rethrow_exception(error);
  if (!out) throw std::runtime_error("coroutine did not finish in time");
  return std::move(*out);
}

}  // namespace edusight::dns::testing
