#include "codec.hpp"

#include <zlib.h>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <msgpack.hpp>
#include <utility>

namespace edusight::forward {
namespace {

constexpr std::int8_t kEventTimeExt = 0;

// Semantic errors inside decode_message travel as this exception and never leave this file.
struct Malformed {
  std::string why;
};

[[noreturn]] void malformed(std::string why) {
  throw Malformed{std::move(why)};
}

std::uint64_t read_be(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

msgpack::unpack_limit to_unpack_limit(const Limits& l) {
  // Counts cannot exceed the byte budget: every element takes at least one byte.
  return msgpack::unpack_limit(l.max_message_size, l.max_message_size, l.max_message_size,
                               l.max_message_size, l.max_message_size, l.max_depth);
}

bool is_text(const msgpack::object& o) {
  return o.type == msgpack::type::STR || o.type == msgpack::type::BIN;
}

std::string text(const msgpack::object& o, const char* what) {
  if (o.type == msgpack::type::STR) return std::string(o.via.str.ptr, o.via.str.size);
  if (o.type == msgpack::type::BIN) return std::string(o.via.bin.ptr, o.via.bin.size);
  malformed(std::string(what) + " is not a string");
}

EventTime to_time(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 > static_cast<std::uint64_t>(INT64_MAX)) malformed("time out of range");
      return {static_cast<std::int64_t>(o.via.u64), 0};
    case msgpack::type::NEGATIVE_INTEGER:
      return {o.via.i64, 0};
    case msgpack::type::EXT: {
      if (o.via.ext.type() != kEventTimeExt || o.via.ext.size != 8) {
        malformed("time is an ext but not EventTime (type 0, 8 bytes)");
      }
      const auto* p = reinterpret_cast<const unsigned char*>(o.via.ext.data());
      const auto nanos = static_cast<std::uint32_t>(read_be(p + 4, 4));
      if (nanos >= 1'000'000'000u) malformed("EventTime nanoseconds out of range");
      return {static_cast<std::int64_t>(read_be(p, 4)), nanos};
    }
    default:
      malformed("time is neither an integer nor EventTime");
  }
}

// Depth is already bounded by the unpack limit, so recursion is safe here.
boost::json::value to_json(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return nullptr;
    case msgpack::type::BOOLEAN:
      return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return o.via.f64;
    case msgpack::type::STR:
    case msgpack::type::BIN:  // raw bytes become a JSON string; Fluent Bit sends some as bin
      return boost::json::string(text(o, "value"));
    case msgpack::type::ARRAY: {
      boost::json::array a;
      a.reserve(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) a.push_back(to_json(o.via.array.ptr[i]));
      return a;
    }
    case msgpack::type::MAP: {
      boost::json::object m;
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (!is_text(kv.key)) malformed("map key is not a string");
        m[text(kv.key, "map key")] = to_json(kv.val);
      }
      return m;
    }
    case msgpack::type::EXT:
      if (o.via.ext.type() == kEventTimeExt && o.via.ext.size == 8) {
        const EventTime t = to_time(o);
        return static_cast<double>(t.seconds) + t.nanoseconds / 1e9;
      }
      malformed("unsupported ext type in record");
  }
  malformed("unknown msgpack type");
}

boost::json::object to_record(const msgpack::object& o) {
  if (o.type != msgpack::type::MAP) malformed("record is not a map");
  return std::move(to_json(o).as_object());
}

Entry to_entry(const msgpack::object& o) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) {
    malformed("entry is not a [time, record] pair");
  }
  return {to_time(o.via.array.ptr[0]), to_record(o.via.array.ptr[1])};
}

Options to_options(const msgpack::object& o) {
  if (o.type == msgpack::type::NIL) return {};
  if (o.type != msgpack::type::MAP) malformed("option is not a map");
  Options opt;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (!is_text(kv.key)) malformed("option key is not a string");
    const std::string key = text(kv.key, "option key");
    if (key == "chunk") {
      opt.chunk = text(kv.val, "chunk option");
    } else if (key == "compressed") {
      opt.compressed = text(kv.val, "compressed option");
    } else if (key == "size") {
      if (kv.val.type != msgpack::type::POSITIVE_INTEGER) malformed("size option is not a count");
      opt.size = kv.val.via.u64;
    }  // unknown options are ignored, as the spec allows
  }
  return opt;
}

std::vector<Entry> unpack_event_stream(const char* data, std::size_t size, const Limits& limits) {
  std::vector<Entry> entries;
  std::size_t off = 0;
  while (off < size) {
    msgpack::object_handle h;
    try {
      h = msgpack::unpack(data, size, off, nullptr, nullptr, to_unpack_limit(limits));
    } catch (const std::exception& e) {
      malformed(std::string("bad PackedForward entry: ") + e.what());
    }
    entries.push_back(to_entry(h.get()));
  }
  return entries;
}

// Fluentd may concatenate several gzip members in one chunk, so inflate until the input ends.
// The output is bounded like a message: a small bomb cannot inflate into gigabytes.
std::string gunzip(std::string_view in, std::size_t max_out) {
  std::string out;
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) malformed("cannot start gzip decoder");
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&z};
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    const int rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > max_out) malformed("gzip PackedForward inflates beyond the message limit");
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      if (inflateReset(&z) != Z_OK) malformed("cannot restart gzip decoder");
      continue;
    }
    if (rc != Z_OK) malformed("gzip PackedForward is corrupt");
    if (z.avail_in == 0 && z.avail_out != 0) malformed("gzip PackedForward is truncated");
  }
  return out;
}

Message to_message(const msgpack::object& o, const Limits& limits) {
  if (o.type != msgpack::type::ARRAY) malformed("message is not an array");
  const auto n = o.via.array.size;
  const msgpack::object* a = o.via.array.ptr;
  if (n < 2) malformed("message has fewer than 2 elements");
  if (!is_text(a[0])) malformed("tag is not a string");
  std::string tag = text(a[0], "tag");

  // Handshake messages share the array shape; tell them apart by size and element types.
  if (tag == "HELO" && n == 2 && a[1].type == msgpack::type::MAP) {
    Helo helo;
    for (std::uint32_t i = 0; i < a[1].via.map.size; ++i) {
      const auto& kv = a[1].via.map.ptr[i];
      const std::string key = text(kv.key, "HELO option key");
      if (key == "nonce") {
        helo.nonce = text(kv.val, "nonce");
      } else if (key == "auth") {
        helo.auth = text(kv.val, "auth");
      } else if (key == "keepalive") {
        if (kv.val.type != msgpack::type::BOOLEAN) malformed("keepalive is not a boolean");
        helo.keepalive = kv.val.via.boolean;
      }
    }
    return helo;
  }
  if (tag == "PING" && n == 6 && is_text(a[1])) {
    return Ping{text(a[1], "hostname"), text(a[2], "shared_key_salt"),
                text(a[3], "shared_key_hexdigest"), text(a[4], "username"), text(a[5], "password")};
  }
  if (tag == "PONG" && n == 5 && a[1].type == msgpack::type::BOOLEAN) {
    return Pong{a[1].via.boolean, text(a[2], "reason"), text(a[3], "server_hostname"),
                text(a[4], "shared_key_hexdigest")};
  }

  EventMessage m;
  m.tag = std::move(tag);
  const msgpack::object& body = a[1];
  if (body.type == msgpack::type::ARRAY) {
    if (n > 3) malformed("Forward mode message has more than 3 elements");
    m.mode = Mode::forward;
    if (n == 3) m.options = to_options(a[2]);
    m.entries.reserve(body.via.array.size);
    for (std::uint32_t i = 0; i < body.via.array.size; ++i) {
      m.entries.push_back(to_entry(body.via.array.ptr[i]));
    }
  } else if (is_text(body)) {
    if (n > 3) malformed("PackedForward message has more than 3 elements");
    m.mode = Mode::packed_forward;
    if (n == 3) m.options = to_options(a[2]);
    const char* p = body.type == msgpack::type::STR ? body.via.str.ptr : body.via.bin.ptr;
    const std::size_t len = body.type == msgpack::type::STR ? body.via.str.size : body.via.bin.size;
    if (m.options.compressed && *m.options.compressed == "gzip") {
      const std::string plain = gunzip(std::string_view(p, len), limits.max_message_size);
      m.entries = unpack_event_stream(plain.data(), plain.size(), limits);
    } else if (m.options.compressed && *m.options.compressed != "text") {
      malformed("unknown compression \"" + *m.options.compressed + "\"");
    } else {
      m.entries = unpack_event_stream(p, len, limits);
    }
  } else {
    if (n < 3 || n > 4) malformed("Message mode needs [tag, time, record, option?]");
    m.mode = Mode::message;
    if (n == 4) m.options = to_options(a[3]);
    m.entries.push_back({to_time(a[1]), to_record(a[2])});
  }
  return m;
}

// --- encoding ---

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void pack_bin(Packer& pk, std::string_view s) {
  pk.pack_bin(static_cast<std::uint32_t>(s.size()));
  pk.pack_bin_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void pack_json(Packer& pk, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      pk.pack_nil();
      break;
    case boost::json::kind::bool_:
      v.get_bool() ? pk.pack_true() : pk.pack_false();
      break;
    case boost::json::kind::int64:
      pk.pack_int64(v.get_int64());
      break;
    case boost::json::kind::uint64:
      pk.pack_uint64(v.get_uint64());
      break;
    case boost::json::kind::double_:
      pk.pack_double(v.get_double());
      break;
    case boost::json::kind::string:
      pack_str(pk, v.get_string());
      break;
    case boost::json::kind::array:
      pk.pack_array(static_cast<std::uint32_t>(v.get_array().size()));
      for (const auto& e : v.get_array()) pack_json(pk, e);
      break;
    case boost::json::kind::object:
      pk.pack_map(static_cast<std::uint32_t>(v.get_object().size()));
      for (const auto& kv : v.get_object()) {
        pack_str(pk, kv.key());
        pack_json(pk, kv.value());
      }
      break;
  }
}

void pack_time(Packer& pk, const EventTime& t) {
  // EventTime keeps sub-second precision, which integer time would drop.
  char body[8];
  const auto s = static_cast<std::uint32_t>(t.seconds);
  for (int i = 0; i < 4; ++i) {
    body[i] = static_cast<char>((s >> (24 - 8 * i)) & 0xff);
    body[4 + i] = static_cast<char>((t.nanoseconds >> (24 - 8 * i)) & 0xff);
  }
  pk.pack_ext(8, kEventTimeExt);
  pk.pack_ext_body(body, 8);
}

void pack_entry(Packer& pk, const Entry& e) {
  pk.pack_array(2);
  pack_time(pk, e.time);
  pack_json(pk, boost::json::value(e.record));
}

void pack_options(Packer& pk, std::size_t size, std::string_view chunk_id) {
  pk.pack_map(chunk_id.empty() ? 1 : 2);
  pack_str(pk, "size");
  pk.pack_uint64(size);
  if (!chunk_id.empty()) {
    pack_str(pk, "chunk");
    pack_str(pk, chunk_id);
  }
}

std::string to_string(const msgpack::sbuffer& buf) {
  return std::string(buf.data(), buf.size());
}

}  // namespace

std::optional<Message> decode_message(std::string_view bytes, std::string* error,
                                      const Limits& limits) {
  error->clear();
  if (bytes.size() > limits.max_message_size) {
    *error = "message exceeds max size of " + std::to_string(limits.max_message_size) + " bytes";
    return std::nullopt;
  }
  try {
    std::size_t off = 0;
    msgpack::object_handle h =
        msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, to_unpack_limit(limits));
    if (off != bytes.size()) malformed("trailing bytes after message");
    return to_message(h.get(), limits);
  } catch (const Malformed& m) {
    *error = m.why;
  } catch (const std::exception& e) {
    *error = std::string("malformed msgpack: ") + e.what();
  } catch (...) {
    *error = "malformed message";
  }
  return std::nullopt;
}

Decoder::Decoder(Limits limits) : limits_(limits) {}

void Decoder::feed(const char* data, std::size_t size) {
  if (failed_ || size == 0) return;  // a broken stream is not worth buffering
  // Drop consumed bytes once they dominate, keeping appends amortised linear.
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(0, start_);
    start_ = 0;
    // An idle connection should not keep the capacity of its largest message: with a
    // thousand agents connected that is the collector's memory.
    if (buffer_.empty() && buffer_.capacity() > kKeptCapacity) buffer_.shrink_to_fit();
  }
  buffer_.append(data, size);
}

void Decoder::release_memory() {
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  if (buffer_.capacity() > kKeptCapacity && buffer_.size() < buffer_.capacity() / 4) {
    buffer_.shrink_to_fit();
  }
}

void Decoder::fail(std::string why) {
  failed_ = true;
  failure_ = std::move(why);
  buffer_.clear();
  buffer_.shrink_to_fit();
  start_ = scan_pos_ = 0;
  pending_ = 0;
}

// Walks msgpack headers without allocating, to find where the current message ends and to refuse
// oversized ones from their declared sizes, before their bytes arrive.
Decoder::Scan Decoder::scan(std::string* error) {
  const auto* base = reinterpret_cast<const unsigned char*>(buffer_.data()) + start_;
  const std::size_t avail = buffer_.size() - start_;
  const std::size_t max = limits_.max_message_size;
  auto too_big = [&] {
    *error = "message exceeds max size of " + std::to_string(max) + " bytes";
    return Scan::broken;
  };
  for (;;) {
    if (scan_pos_ > 0 && pending_ == 0)
      return avail >= scan_pos_ ? Scan::complete : Scan::need_more;
    if (avail <= scan_pos_) return Scan::need_more;
    const unsigned char* p = base + scan_pos_;
    const std::size_t have = avail - scan_pos_;
    const unsigned char c = p[0];
    std::size_t head = 1;       // header bytes, type byte included
    std::size_t len_bytes = 0;  // width of a length field that follows the type byte
    std::uint64_t payload = 0;
    std::uint64_t items = 0;  // elements owed by a container
    bool container = false;

    if (scan_pos_ == 0 && !(c >= 0x90 && c <= 0x9f) && c != 0xdc && c != 0xdd) {
      *error = "not a Forward protocol stream: message is not an array";
      return Scan::broken;
    }
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
    } else if (c <= 0x8f) {
      container = true, items = 2u * (c & 0x0f);
    } else if (c <= 0x9f) {
      container = true, items = c & 0x0f;
    } else if (c <= 0xbf) {
      payload = c & 0x1f;
    } else {
      switch (c) {
        case 0xc4:
        case 0xd9:
          len_bytes = 1;
          break;
        case 0xc5:
        case 0xda:
          len_bytes = 2;
          break;
        case 0xc6:
        case 0xdb:
          len_bytes = 4;
          break;
        case 0xc7:
          len_bytes = 1, head = 2;
          break;  // ext: one more byte for the type
        case 0xc8:
          len_bytes = 2, head = 2;
          break;
        case 0xc9:
          len_bytes = 4, head = 2;
          break;
        case 0xca:
          head = 5;
          break;
        case 0xcb:
          head = 9;
          break;
        case 0xcc:
        case 0xd0:
          head = 2;
          break;
        case 0xcd:
        case 0xd1:
          head = 3;
          break;
        case 0xce:
        case 0xd2:
          head = 5;
          break;
        case 0xcf:
        case 0xd3:
          head = 9;
          break;
        case 0xd4:
          head = 3;
          break;
        case 0xd5:
          head = 4;
          break;
        case 0xd6:
          head = 6;
          break;
        case 0xd7:
          head = 10;
          break;
        case 0xd8:
          head = 18;
          break;
        case 0xdc:
          len_bytes = 2, container = true;
          break;
        case 0xdd:
          len_bytes = 4, container = true;
          break;
        case 0xde:
          len_bytes = 2, container = true;
          break;
        case 0xdf:
          len_bytes = 4, container = true;
          break;
        default:  // 0xc1 is never used
          *error = "invalid msgpack byte";
          return Scan::broken;
      }
      if (len_bytes > 0) {
        if (have < 1 + len_bytes) return Scan::need_more;
        const std::uint64_t n = read_be(p + 1, len_bytes);
        if (container) {
          items = (c == 0xde || c == 0xdf) ? 2 * n : n;
        } else {
          payload = n;
        }
        head += len_bytes;
      }
    }
    // Every owed element needs at least one byte, so huge declared counts are refused early too.
    // The element just scanned is no longer owed: its bytes are already part of `end`.
    const std::uint64_t end = scan_pos_ + head + payload;
    const bool top = scan_pos_ == 0;  // the top-level array opens the message
    const std::uint64_t owed = top ? items : pending_ - 1 + items;
    if (end > max || owed > max - end) return too_big();
    scan_pos_ = static_cast<std::size_t>(end);
    pending_ = owed;
  }
}

std::optional<Message> Decoder::next(std::string* error) {
  error->clear();
  if (failed_) {
    *error = failure_;
    return std::nullopt;
  }
  std::string why;
  switch (scan(&why)) {
    case Scan::need_more:
      return std::nullopt;
    case Scan::broken:
      fail(why);
      *error = failure_;
      return std::nullopt;
    case Scan::complete:
      break;
  }
  const std::string_view bytes(buffer_.data() + start_, scan_pos_);
  start_ += scan_pos_;
  scan_pos_ = 0;
  pending_ = 0;
  auto msg = decode_message(bytes, error, limits_);
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return msg;
}

void AckDecoder::feed(const char* data, std::size_t size) {
  if (failed_) return;
  buffer_.append(data, size);
}

std::optional<std::string> AckDecoder::next(std::string* error) {
  error->clear();
  if (failed_) {
    *error = failure_;
    return std::nullopt;
  }
  if (buffer_.empty()) return std::nullopt;
  auto fail = [&](std::string why) {
    failed_ = true;
    failure_ = std::move(why);
    buffer_.clear();
    *error = failure_;
    return std::nullopt;
  };
  Limits limits;
  limits.max_message_size = max_buffered_;
  limits.max_depth = 4;
  std::size_t off = 0;
  msgpack::object_handle h;
  try {
    h = msgpack::unpack(buffer_.data(), buffer_.size(), off, nullptr, nullptr,
                        to_unpack_limit(limits));
  } catch (const msgpack::insufficient_bytes&) {
    if (buffer_.size() > max_buffered_) return fail("unread answer exceeds max size");
    return std::nullopt;
  } catch (const std::exception& e) {
    return fail(std::string("malformed msgpack from server: ") + e.what());
  }
  buffer_.erase(0, off);
  const msgpack::object& o = h.get();
  if (o.type != msgpack::type::MAP) return fail("answer from server is not an ack map");
  auto view = [](const msgpack::object& t) {
    return t.type == msgpack::type::STR ? std::string_view(t.via.str.ptr, t.via.str.size)
                                        : std::string_view(t.via.bin.ptr, t.via.bin.size);
  };
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (is_text(kv.key) && is_text(kv.val) && view(kv.key) == "ack")
      return std::string(view(kv.val));
  }
  return fail("answer from server has no \"ack\" string");
}

std::string encode_packed_forward(std::string_view tag, const std::vector<Entry>& entries,
                                  std::string_view chunk_id) {
  msgpack::sbuffer stream;
  Packer inner(&stream);
  for (const auto& e : entries) pack_entry(inner, e);
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_array(3);
  pack_str(pk, tag);
  pack_bin(pk, std::string_view(stream.data(), stream.size()));
  pack_options(pk, entries.size(), chunk_id);
  return to_string(buf);
}

std::string encode_forward(std::string_view tag, const std::vector<Entry>& entries,
                           std::string_view chunk_id) {
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_array(3);
  pack_str(pk, tag);
  pk.pack_array(static_cast<std::uint32_t>(entries.size()));
  for (const auto& e : entries) pack_entry(pk, e);
  pack_options(pk, entries.size(), chunk_id);
  return to_string(buf);
}

std::string encode_message(std::string_view tag, const Entry& entry, std::string_view chunk_id) {
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_array(chunk_id.empty() ? 3 : 4);
  pack_str(pk, tag);
  pack_time(pk, entry.time);
  pack_json(pk, boost::json::value(entry.record));
  if (!chunk_id.empty()) {
    pk.pack_map(1);
    pack_str(pk, "chunk");
    pack_str(pk, chunk_id);
  }
  return to_string(buf);
}

std::string encode_ack(std::string_view chunk_id) {
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_map(1);
  pack_str(pk, "ack");
  pack_str(pk, chunk_id);
  return to_string(buf);
}

std::string encode_helo(const Helo& helo) {
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_array(2);
  pack_str(pk, "HELO");
  pk.pack_map(3);
  pack_str(pk, "nonce");
  pack_bin(pk, helo.nonce);
  pack_str(pk, "auth");
  pack_bin(pk, helo.auth);
  pack_str(pk, "keepalive");
  helo.keepalive ? pk.pack_true() : pk.pack_false();
  return to_string(buf);
}

std::string encode_ping(const Ping& ping) {
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_array(6);
  pack_str(pk, "PING");
  for (const auto* s : {&ping.hostname, &ping.shared_key_salt, &ping.shared_key_hexdigest,
                        &ping.username, &ping.password}) {
    pack_str(pk, *s);
  }
  return to_string(buf);
}

std::string encode_pong(const Pong& pong) {
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_array(5);
  pack_str(pk, "PONG");
  pong.auth_result ? pk.pack_true() : pk.pack_false();
  pack_str(pk, pong.reason);
  pack_str(pk, pong.server_hostname);
  pack_str(pk, pong.shared_key_hexdigest);
  return to_string(buf);
}

}  // namespace edusight::forward
