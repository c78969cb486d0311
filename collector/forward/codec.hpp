// Fluentd Forward Protocol v1 codec (msgpack): incremental decoder and the encoders the
// collector needs. https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace edusight::forward {

// Seconds since the epoch; nanoseconds are only non-zero when the sender used EventTime.
struct EventTime {
  std::int64_t seconds = 0;
  std::uint32_t nanoseconds = 0;
  friend bool operator==(const EventTime&, const EventTime&) = default;
};

struct Entry {
  EventTime time;
  boost::json::object record;
};

// The option map of an event message; absent keys stay empty.
struct Options {
  std::optional<std::string> chunk;       // the sender wants {"ack": chunk} back
  std::optional<std::uint64_t> size;      // number of events, as declared by the sender
  std::optional<std::string> compressed;  // "text" or "gzip"
};

enum class Mode { message, forward, packed_forward };

struct EventMessage {
  Mode mode = Mode::message;
  std::string tag;
  std::vector<Entry> entries;
  Options options;
};

// Handshake (only used when the server requires shared-key authentication).
struct Helo {
  std::string nonce;
  std::string auth;  // empty: no user authentication
  bool keepalive = true;
};
struct Ping {
  std::string hostname, shared_key_salt, shared_key_hexdigest, username, password;
};
struct Pong {
  bool auth_result = false;
  std::string reason, server_hostname, shared_key_hexdigest;
};

using Message = std::variant<EventMessage, Helo, Ping, Pong>;

struct Limits {
  // Largest encoded message accepted; bigger ones are refused as soon as their headers say so.
  std::size_t max_message_size = 16u * 1024u * 1024u;
  // Nesting bound, so hostile input cannot exhaust the stack while converting records.
  std::size_t max_depth = 64;
};

// Splits a byte stream into Forward messages. Memory stays bounded by one message (at most
// Limits::max_message_size) plus whatever was fed since the last drain, so callers should call
// next() until it yields nothing after each feed().
class Decoder {
 public:
  explicit Decoder(Limits limits = {});

  void feed(const char* data, std::size_t size);
  void feed(std::string_view bytes) { feed(bytes.data(), bytes.size()); }

  // A message, or nullopt. With nullopt, *error is empty when more bytes are needed, and says
  // why otherwise. A bad message is skipped and decoding continues; a framing error (invalid
  // msgpack, oversized, not an array) breaks the stream for good: failed() turns true and the
  // connection should be closed. Never throws.
  std::optional<Message> next(std::string* error);

  bool failed() const { return failed_; }
  // Bytes held that are not yet part of a returned message.
  std::size_t buffered() const { return buffer_.size() - start_; }
  // Gives back buffer capacity beyond what the unconsumed bytes need; for idle connections.
  void release_memory();

 private:
  enum class Scan { need_more, complete, broken };
  Scan scan(std::string* error);
  void fail(std::string why);

  static constexpr std::size_t kKeptCapacity = 64u * 1024u;
  Limits limits_;
  std::string buffer_;
  std::size_t start_ = 0;  // first byte of the message being scanned
  // Resumable scan state so byte-by-byte feeding stays linear: offset (from start_) of the next
  // item header, and how many items are still owed by open arrays/maps.
  std::size_t scan_pos_ = 0;
  std::uint64_t pending_ = 0;
  bool failed_ = false;
  std::string failure_;
};

// The client side of acknowledgements: splits the server's byte stream into {"ack": chunk_id}
// maps (which Decoder refuses, as they are not arrays). Bounded by max_buffered bytes.
class AckDecoder {
 public:
  explicit AckDecoder(std::size_t max_buffered = 64u * 1024u) : max_buffered_(max_buffered) {}

  void feed(const char* data, std::size_t size);
  void feed(std::string_view bytes) { feed(bytes.data(), bytes.size()); }

  // An acknowledged chunk id, or nullopt: *error empty when more bytes are needed, otherwise
  // the stream is broken for good (anything but an ack map, or too much unread). Never throws.
  std::optional<std::string> next(std::string* error);
  bool failed() const { return failed_; }

 private:
  std::size_t max_buffered_;
  std::string buffer_;
  bool failed_ = false;
  std::string failure_;
};

// Decodes one complete message already in memory (used by Decoder, handy for tests).
std::optional<Message> decode_message(std::string_view bytes, std::string* error,
                                      const Limits& limits = {});

// [tag, bin(concatenated [EventTime, record]), {"size": n, "chunk": chunk_id}]; an empty
// chunk_id leaves "chunk" out (no ack requested).
std::string encode_packed_forward(std::string_view tag, const std::vector<Entry>& entries,
                                  std::string_view chunk_id);
// [tag, [[EventTime, record]...], option?]
std::string encode_forward(std::string_view tag, const std::vector<Entry>& entries,
                           std::string_view chunk_id);
// [tag, EventTime, record, option?]
std::string encode_message(std::string_view tag, const Entry& entry, std::string_view chunk_id);
// {"ack": chunk_id}
std::string encode_ack(std::string_view chunk_id);
std::string encode_helo(const Helo& helo);
std::string encode_ping(const Ping& ping);
std::string encode_pong(const Pong& pong);

}  // namespace edusight::forward
