// Fuzz target for the Forward frame decoder (collector/forward/codec.hpp): the bytes any client
// on the network can send. Built as a libFuzzer binary by fuzz/run.sh (clang, sanitizers) and,
// with fuzz/corpus_main.cpp, as the regression runner forward_decoder_corpus (ctest).
//
// Besides "no crash, no leak, no UB", it checks that the result does not depend on how the
// stream was split into reads, that the Decoder agrees with decode_message, that memory stays
// bounded, that a broken stream stays broken, and that decoded events survive re-encoding.
#include <boost/json/value.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "codec.hpp"
#include "fuzz_check.hpp"

namespace {

namespace fw = edusight::forward;

// Inputs above this are not interesting for framing and would make byte-by-byte slow.
constexpr std::size_t kMaxInput = 1u << 20;
constexpr std::size_t kMaxBytewise = 4096;
// Header bytes the scanner may hold beyond a message's limit while waiting for a length field.
constexpr std::size_t kHeaderSlack = 16;

// What the decoder produced for one next() that was not "need more bytes".
struct Outcome {
  int kind = -1;  // Message alternative index; -1: skipped bad message; -2: stream failed
  std::string detail;
  bool operator==(const Outcome&) const = default;
};

Outcome describe(const fw::Message& m) {
  Outcome o;
  o.kind = static_cast<int>(m.index());
  if (const auto* e = std::get_if<fw::EventMessage>(&m)) {
    o.detail = e->tag + "/" + std::to_string(static_cast<int>(e->mode)) + "/" +
               std::to_string(e->entries.size()) + "/" + e->options.chunk.value_or("-");
  } else if (const auto* p = std::get_if<fw::Ping>(&m)) {
    o.detail = p->hostname + "/" + p->shared_key_hexdigest;
  } else if (const auto* h = std::get_if<fw::Helo>(&m)) {
    o.detail = h->nonce;
  } else if (const auto* g = std::get_if<fw::Pong>(&m)) {
    o.detail = g->server_hostname + "/" + std::to_string(g->auth_result);
  }
  return o;
}

double as_double(const boost::json::value& v) {
  if (v.is_double()) return v.get_double();
  return v.is_int64() ? static_cast<double>(v.get_int64()) : static_cast<double>(v.get_uint64());
}

// JSON equality where NaN equals NaN, and a double equals an integer of the same value:
// msgpack-c's pack_double writes integral doubles (12.0) as integers, so 12.0 comes back as 12.
bool same(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_number() && b.is_number() && (a.is_double() || b.is_double())) {
    const double x = as_double(a), y = as_double(b);
    return (std::isnan(x) && std::isnan(y)) || x == y;
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const auto* other = y.if_contains(kv.key());
      if (!other || !same(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

// An event message re-encoded in each mode decodes to the same entries. Times outside what
// EventTime's 32-bit seconds carry are left out (the encoder truncates them by design).
void check_round_trip(const fw::EventMessage& m) {
  for (const auto& e : m.entries) {
    if (e.time.seconds < 0 || e.time.seconds > 0xffffffffLL) return;
  }
  const std::string chunk = m.options.chunk.value_or("");
  std::vector<std::string> encoded{fw::encode_packed_forward(m.tag, m.entries, chunk),
                                   fw::encode_forward(m.tag, m.entries, chunk)};
  if (m.entries.size() == 1) encoded.push_back(fw::encode_message(m.tag, m.entries[0], chunk));
  // Forward mode nests a record two levels deeper than Message mode: allow for that.
  fw::Limits limits;
  limits.max_depth += 2;
  for (const std::string& bytes : encoded) {
    std::string error;
    auto again = fw::decode_message(bytes, &error, limits);
    FUZZ_CHECK(again.has_value());
    const auto* e = std::get_if<fw::EventMessage>(&*again);
    FUZZ_CHECK(e != nullptr);
    FUZZ_CHECK(e->tag == m.tag);
    FUZZ_CHECK(e->entries.size() == m.entries.size());
    FUZZ_CHECK(e->options.chunk.value_or("") == chunk);
    for (std::size_t i = 0; i < m.entries.size(); ++i) {
      FUZZ_CHECK(e->entries[i].time == m.entries[i].time);
      FUZZ_CHECK(
          same(boost::json::value(e->entries[i].record), boost::json::value(m.entries[i].record)));
    }
  }
}

// Drains the decoder, checking its contract on every call. Bounded: each message or skipped
// message consumes at least one byte, so more calls than buffered bytes means a stall.
void drain(fw::Decoder& d, std::size_t just_fed, const fw::Limits& limits,
           std::vector<Outcome>& out, bool round_trip) {
  const std::size_t max_calls = d.buffered() + 2;
  for (std::size_t calls = 0;; ++calls) {
    FUZZ_CHECK(calls <= max_calls);
    const bool was_failed = d.failed();
    const std::size_t before = d.buffered();
    std::string error = "stale";  // next() must overwrite it
    auto m = d.next(&error);
    if (was_failed) {
      FUZZ_CHECK(d.failed() && !m && !error.empty() && d.buffered() == 0);
      return;
    }
    if (m) {
      FUZZ_CHECK(error.empty());
      FUZZ_CHECK(d.buffered() < before);
      out.push_back(describe(*m));
      if (round_trip) {
        if (const auto* e = std::get_if<fw::EventMessage>(&*m)) check_round_trip(*e);
      }
      continue;
    }
    if (d.failed()) {
      FUZZ_CHECK(!error.empty() && d.buffered() == 0);
      out.push_back({-2, error});
      return;
    }
    if (!error.empty()) {  // a bad message was skipped
      FUZZ_CHECK(d.buffered() < before);
      out.push_back({-1, error});
      continue;
    }
    // Needs more: what is held is part of one message under the limit (plus a partial
    // header), and in any case no more than the limit plus what was just fed.
    FUZZ_CHECK(d.buffered() <= limits.max_message_size + just_fed);
    FUZZ_CHECK(d.buffered() <= limits.max_message_size + kHeaderSlack);
    return;
  }
}

// Feeds `in` in pieces whose sizes come from `cut(offset)`, draining after each.
template <typename Cut>
std::vector<Outcome> run(std::string_view in, const fw::Limits& limits, Cut cut,
                         bool round_trip = false) {
  fw::Decoder d(limits);
  std::vector<Outcome> out;
  std::size_t off = 0;
  bool failed = false;
  while (off < in.size()) {  // cut() returns at least 1
    const std::size_t n = std::min(in.size() - off, std::max<std::size_t>(1, cut(off)));
    d.feed(in.substr(off, n));
    off += n;
    if (failed) {
      FUZZ_CHECK(d.failed() && d.buffered() == 0);  // sticky: later bytes are not even kept
      continue;
    }
    drain(d, n, limits, out, round_trip);
    failed = d.failed();
  }
  if (!failed) drain(d, 0, limits, out, false);  // nothing new: must say "need more" again
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Not the collector's 16 MiB: msgpack-c allocates 24 bytes per declared array element (48
  // per map pair) before reading them, so every lying count in a PackedForward body would cost
  // hundreds of MB of ASan shadow work and fuzzing would crawl. The limit arithmetic is the
  // same at any size, and inputs are far below 64 KiB anyway.
  fw::Limits wide;
  wide.max_message_size = 64u * 1024u;
  fw::Limits narrow;  // small enough that seeds reach the size and depth refusals
  narrow.max_message_size = 512;
  narrow.max_depth = 8;

  const fw::Limits* const all_limits[] = {&wide, &narrow};
  for (const fw::Limits* limits_ptr : all_limits) {
    const fw::Limits& limits = *limits_ptr;
    const bool is_wide = limits_ptr == &wide;
    const auto whole = run(
        in, limits, [&](std::size_t) { return in.size(); }, is_wide);
    // A split point derived from the data, so the fuzzer can steer it.
    const std::size_t split =
        size >= 2 ? (static_cast<std::size_t>(data[size - 1]) << 8 | data[size - 2]) % (size + 1)
                  : 0;
    const auto halves =
        run(in, limits, [&](std::size_t off) { return off < split ? split - off : in.size(); });
    FUZZ_CHECK(halves == whole);
    if (size <= kMaxBytewise) {
      const auto bytes = run(in, limits, [](std::size_t) { return std::size_t{1}; });
      FUZZ_CHECK(bytes == whole);
      // Irregular reads: sizes taken from the input itself (1..16 bytes).
      const auto jagged = run(in, limits, [&](std::size_t off) {
        return static_cast<std::size_t>(data[off] & 0x0f) + 1;
      });
      FUZZ_CHECK(jagged == whole);
    }

    // decode_message on the whole input agrees with the stream decoder: a single complete
    // message decodes the same both ways.
    std::string error = "stale";
    auto one = fw::decode_message(in, &error, limits);
    if (one) {
      FUZZ_CHECK(error.empty());
      FUZZ_CHECK(whole.size() == 1 && whole[0] == describe(*one));
    } else {
      FUZZ_CHECK(!error.empty());
    }
  }

  // The client's ack reader sees the same kind of untrusted bytes from a server.
  fw::AckDecoder acks(4096);
  acks.feed(in);
  std::string why;
  for (std::size_t i = 0; i <= size; ++i) {  // each ack consumes at least one byte
    auto id = acks.next(&why);
    if (!id) break;
    FUZZ_CHECK(why.empty());
  }
  if (acks.failed()) {
    FUZZ_CHECK(!why.empty());
    FUZZ_CHECK(!acks.next(&why) && !why.empty());
  }
  return 0;
}
