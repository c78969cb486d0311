#include "codec.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>
#include <msgpack.hpp>
#include <cstring>
#include <random>
#include <zlib.h>

namespace edusight::forward {
namespace {

Entry entry(std::int64_t s, std::uint32_t ns, const char* json) {
  return {{s, ns}, boost::json::parse(json).as_object()};
}

std::vector<Entry> sample() {
  return {entry(1700000000, 123456789, R"({"host":"a","n":1,"neg":-5,"f":1.5,"ok":true})"),
          entry(1700000001, 0, R"({"nested":{"list":[1,"x",null]},"empty":{}})")};
}

void expect_same(const std::vector<Entry>& got, const std::vector<Entry>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].time, want[i].time);
    EXPECT_EQ(got[i].record, want[i].record);
  }
}

EventMessage decode_event(const std::string& bytes) {
  std::string err;
  auto m = decode_message(bytes, &err);
  EXPECT_TRUE(m) << err;
  if (!m || !std::holds_alternative<EventMessage>(*m)) {
    ADD_FAILURE() << "not an event message";
    return {};
  }
  return std::get<EventMessage>(std::move(*m));
}

std::string decode_error(const std::string& bytes, const Limits& limits = {}) {
  std::string err;
  EXPECT_FALSE(decode_message(bytes, &err, limits));
  return err;
}

// Builds arbitrary msgpack, for shapes the encoders never produce.
template <typename F>
std::string pack(F&& f) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(&buf);
  f(pk);
  return std::string(buf.data(), buf.size());
}

TEST(ForwardCodec, PackedForwardRoundTripWithChunk) {
  const auto m = decode_event(encode_packed_forward("app.log", sample(), "c-42"));
  EXPECT_EQ(m.mode, Mode::packed_forward);
  EXPECT_EQ(m.tag, "app.log");
  EXPECT_EQ(m.options.chunk, "c-42");
  EXPECT_EQ(m.options.size, 2u);
  expect_same(m.entries, sample());
}

TEST(ForwardCodec, ForwardRoundTrip) {
  const auto m = decode_event(encode_forward("t", sample(), ""));
  EXPECT_EQ(m.mode, Mode::forward);
  EXPECT_FALSE(m.options.chunk);
  expect_same(m.entries, sample());
}

TEST(ForwardCodec, MessageRoundTripWithEventTime) {
  const auto e = entry(1700000000, 999999999, R"({"k":"v"})");
  const auto m = decode_event(encode_message("t", e, "ch"));
  EXPECT_EQ(m.mode, Mode::message);
  EXPECT_EQ(m.options.chunk, "ch");
  expect_same(m.entries, {e});
}

TEST(ForwardCodec, IntegerTimeAndStrPackedStream) {
  // Older Fluentd sends integer time and the event stream as str rather than bin.
  const std::string stream = pack([](auto& pk) {
    pk.pack_array(2);
    pk.pack_uint32(1500000000);
    pk.pack_map(1);
    pk.pack_str(1), pk.pack_str_body("a", 1);
    pk.pack_int(-1);
  });
  const std::string msg = pack([&](auto& pk) {
    pk.pack_array(2);
    pk.pack_str(3), pk.pack_str_body("tag", 3);
    pk.pack_str(static_cast<std::uint32_t>(stream.size()));
    pk.pack_str_body(stream.data(), static_cast<std::uint32_t>(stream.size()));
  });
  const auto m = decode_event(msg);
  EXPECT_EQ(m.mode, Mode::packed_forward);
  expect_same(m.entries, {entry(1500000000, 0, R"({"a":-1})")});
}

TEST(ForwardCodec, EventTimeWireFormatIsBigEndian) {
  const auto bytes = encode_message("t", entry(0x01020304, 0x05060708, "{}"), "");
  // [fixarray3, fixstr "t", fixext8 type 0, seconds, nanoseconds, fixmap0]
  const std::string want("\x93\xa1t\xd7\x00\x01\x02\x03\x04\x05\x06\x07\x08\x80", 14);
  EXPECT_EQ(bytes, want);
}

TEST(ForwardCodec, AckEncoding) {
  EXPECT_EQ(encode_ack("abc"), std::string("\x81\xa3"
                                           "ack\xa3"
                                           "abc"));
  const auto bytes = encode_ack("c-1");
  auto h = msgpack::unpack(bytes.data(), bytes.size());
  using Map = std::map<std::string, std::string>;
  EXPECT_EQ(h.get().as<Map>().at("ack"), "c-1");
}

TEST(ForwardCodec, Handshake) {
  std::string err;
  auto helo = decode_message(encode_helo({"nonce\x01", "salt", false}), &err);
  ASSERT_TRUE(helo) << err;
  ASSERT_TRUE(std::holds_alternative<Helo>(*helo));
  EXPECT_EQ(std::get<Helo>(*helo).nonce, "nonce\x01");
  EXPECT_EQ(std::get<Helo>(*helo).auth, "salt");
  EXPECT_FALSE(std::get<Helo>(*helo).keepalive);

  auto ping = decode_message(encode_ping({"client", "s", "digest", "u", "p"}), &err);
  ASSERT_TRUE(ping) << err;
  ASSERT_TRUE(std::holds_alternative<Ping>(*ping));
  EXPECT_EQ(std::get<Ping>(*ping).hostname, "client");
  EXPECT_EQ(std::get<Ping>(*ping).password, "p");

  auto pong = decode_message(encode_pong({true, "", "server", "d"}), &err);
  ASSERT_TRUE(pong) << err;
  ASSERT_TRUE(std::holds_alternative<Pong>(*pong));
  EXPECT_TRUE(std::get<Pong>(*pong).auth_result);
  EXPECT_EQ(std::get<Pong>(*pong).server_hostname, "server");
}

TEST(ForwardDecoder, ByteByByteStream) {
  const std::string stream = encode_packed_forward("a", sample(), "1") +
                             encode_forward("b", sample(), "") +
                             encode_message("c", sample()[0], "3");
  Decoder d;
  std::vector<EventMessage> got;
  std::string err;
  for (char c : stream) {
    d.feed(&c, 1);
    while (auto m = d.next(&err)) got.push_back(std::get<EventMessage>(std::move(*m)));
    ASSERT_EQ(err, "");
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].tag, "a");
  EXPECT_EQ(got[1].tag, "b");
  EXPECT_EQ(got[2].tag, "c");
  expect_same(got[1].entries, sample());
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(ForwardDecoder, TruncatedWaitsForMore) {
  const auto bytes = encode_forward("t", sample(), "");
  Decoder d;
  std::string err;
  d.feed(bytes.data(), bytes.size() - 1);
  EXPECT_FALSE(d.next(&err));
  EXPECT_EQ(err, "");
  EXPECT_FALSE(d.failed());
  d.feed(bytes.data() + bytes.size() - 1, 1);
  EXPECT_TRUE(d.next(&err)) << err;
}

TEST(ForwardDecoder, GarbageBreaksStream) {
  Decoder d;
  std::string err;
  d.feed("GET / HTTP/1.1\r\n");
  EXPECT_FALSE(d.next(&err));
  EXPECT_NE(err.find("not an array"), std::string::npos) << err;
  EXPECT_TRUE(d.failed());
  d.feed(encode_forward("t", sample(), ""));  // ignored once broken
  EXPECT_FALSE(d.next(&err));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(ForwardDecoder, InvalidByteBreaksStream) {
  Decoder d;
  std::string err;
  d.feed(std::string("\x92\xa1t\xc1", 4));
  EXPECT_FALSE(d.next(&err));
  EXPECT_TRUE(d.failed());
  EXPECT_NE(err, "");
}

TEST(ForwardDecoder, OversizedRefusedFromHeader) {
  Limits lim;
  lim.max_message_size = 1024;
  Decoder d(lim);
  std::string err;
  // [tag, bin32 of 1 GiB ...]: refused on the 5-byte length, long before the payload.
  d.feed(std::string("\x93\xa1t\xc6\x40\x00\x00\x00", 8));
  EXPECT_FALSE(d.next(&err));
  EXPECT_NE(err.find("max size"), std::string::npos) << err;
  EXPECT_TRUE(d.failed());

  Decoder counts(lim);  // a huge element count is refused too
  counts.feed(std::string("\x92\xa1t\xdd\x7f\xff\xff\xff", 8));
  EXPECT_FALSE(counts.next(&err));
  EXPECT_NE(err.find("max size"), std::string::npos) << err;
}

TEST(ForwardDecoder, OversizedByAccumulation) {
  Limits lim;
  lim.max_message_size = 256;
  std::vector<Entry> many;
  for (int i = 0; i < 50; ++i) many.push_back(entry(i, 0, R"({"k":"value"})"));
  const auto bytes = encode_forward("t", many, "");
  ASSERT_GT(bytes.size(), 256u);
  Decoder d(lim);
  std::string err;
  for (std::size_t i = 0; i < bytes.size() && !d.failed(); ++i) {
    d.feed(&bytes[i], 1);
    EXPECT_FALSE(d.next(&err));
    EXPECT_LE(d.buffered(), 256u);
  }
  EXPECT_TRUE(d.failed());
  EXPECT_NE(err.find("max size"), std::string::npos) << err;
}

TEST(ForwardDecoder, BadMessageIsSkippedStreamContinues) {
  const std::string bad = pack([](auto& pk) {
    pk.pack_array(3);
    pk.pack_str(1), pk.pack_str_body("t", 1);
    pk.pack_uint32(1);
    pk.pack_array(0);  // record must be a map
  });
  Decoder d;
  std::string err;
  d.feed(bad + encode_message("ok", sample()[0], ""));
  EXPECT_FALSE(d.next(&err));
  EXPECT_EQ(err, "record is not a map");
  EXPECT_FALSE(d.failed());
  auto m = d.next(&err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(std::get<EventMessage>(*m).tag, "ok");
}

TEST(ForwardCodec, ShapeErrors) {
  EXPECT_EQ(decode_error(pack([](auto& pk) { pk.pack_array(1), pk.pack_str(0); })),
            "message has fewer than 2 elements");
  EXPECT_EQ(decode_error(pack([](auto& pk) {
              pk.pack_array(3), pk.pack_int(1), pk.pack_int(1), pk.pack_map(0);
            })),
            "tag is not a string");
  EXPECT_EQ(decode_error(pack(
                [](auto& pk) { pk.pack_array(3), pk.pack_str(0), pk.pack_nil(), pk.pack_map(0); })),
            "time is neither an integer nor EventTime");
  EXPECT_EQ(decode_error(pack([](auto& pk) {
              pk.pack_array(3), pk.pack_str(0), pk.pack_ext(4, 0), pk.pack_ext_body("abcd", 4);
              pk.pack_map(0);
            })),
            "time is an ext but not EventTime (type 0, 8 bytes)");
  EXPECT_EQ(decode_error(pack([](auto& pk) {
              pk.pack_array(2), pk.pack_str(0), pk.pack_array(1), pk.pack_int(3);
            })),
            "entry is not a [time, record] pair");
  EXPECT_EQ(decode_error(pack([](auto& pk) {
              pk.pack_array(2), pk.pack_str(0), pk.pack_array(1), pk.pack_array(2), pk.pack_int(3),
                  pk.pack_map(1), pk.pack_int(1), pk.pack_int(2);
            })),
            "map key is not a string");
  EXPECT_NE(decode_error(std::string("\x92\xa1t\xc4\x01\x92", 6)).find("PackedForward"),
            std::string::npos);
}

std::string gzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

std::string packed_gzip_message(const std::string& body) {
  return pack([&](auto& pk) {
    pk.pack_array(3), pk.pack_str(1), pk.pack_str_body("t", 1);
    pk.pack_bin(static_cast<std::uint32_t>(body.size()));
    pk.pack_bin_body(body.data(), static_cast<std::uint32_t>(body.size()));
    pk.pack_map(1), pk.pack_str(10), pk.pack_str_body("compressed", 10);
    pk.pack_str(4), pk.pack_str_body("gzip", 4);
  });
}

// Fluentd's compressed chunks may be several gzip members back to back.
TEST(ForwardCodec, GzipPackedForwardWithSeveralMembers) {
  auto event = [](std::int64_t t, const char* v) {
    return pack([&](auto& pk) {
      pk.pack_array(2), pk.pack_int64(t), pk.pack_map(1), pk.pack_str(1), pk.pack_str_body("k", 1);
      pk.pack_str(static_cast<std::uint32_t>(std::strlen(v)));
      pk.pack_str_body(v, static_cast<std::uint32_t>(std::strlen(v)));
    });
  };
  const std::string body = gzip(event(1700000000, "a")) + gzip(event(1700000001, "b"));
  EventMessage m = decode_event(packed_gzip_message(body));
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[1].time.seconds, 1700000001);
  EXPECT_EQ(m.entries[1].record.at("k").as_string(), "b");
}

TEST(ForwardCodec, GzipBombAndCorruptionAreRefused) {
  const std::string zeros(64u * 1024u * 1024u, '\0');
  EXPECT_EQ(decode_error(packed_gzip_message(gzip(zeros))),
            "gzip PackedForward inflates beyond the message limit");
  std::string broken = gzip("not msgpack but fine for gzip");
  broken[broken.size() / 2] ^= 0x55;
  EXPECT_NE(decode_error(packed_gzip_message(broken)).find("gzip PackedForward is"),
            std::string::npos);
  std::string cut = gzip(std::string(1000, 'x'));
  cut.resize(cut.size() / 2);
  EXPECT_EQ(decode_error(packed_gzip_message(cut)), "gzip PackedForward is truncated");
}

TEST(ForwardCodec, DeepNestingRefused) {
  std::string deep("\x92\xa1t\x91\x92\x01", 6);  // [t, [[1, {"a": [[[...]]]}]]]
  deep +=
      "\x81\xa1"
      "a";
  deep += std::string(500, '\x91');
  deep += '\xc0';
  EXPECT_NE(decode_error(deep), "");
}

TEST(ForwardCodec, TrailingBytesRefused) {
  EXPECT_EQ(decode_error(encode_ack("x").insert(0, encode_message("t", sample()[0], ""))),
            "trailing bytes after message");
}

// Random corruption of valid messages must only ever produce values or errors.
TEST(ForwardDecoder, MutationsNeverCrash) {
  const std::vector<std::string> seeds = {
      encode_packed_forward("app", sample(), "chunk"), encode_forward("app", sample(), "c"),
      encode_message("app", sample()[1], "c"), encode_helo({"n", "a", true}),
      encode_ping({"h", "s", "d", "u", "p"})};
  std::mt19937 rng(20240601);
  Limits lim;
  lim.max_message_size = 4096;
  int decoded = 0, errors = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string bytes = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0:
          bytes[at] = static_cast<char>(rng());
          break;
        case 1:
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
          break;
        case 2:
          bytes.erase(at, 1 + rng() % 3);
          break;
        case 3:
          bytes.insert(at, 1, static_cast<char>(rng()));
          break;
      }
      if (bytes.empty()) bytes = "\x90";
    }
    Decoder d(lim);
    std::string err;
    // Uneven chunks exercise the resumable scanner.
    for (std::size_t off = 0; off < bytes.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 7, bytes.size() - off);
      d.feed(bytes.data() + off, n);
      off += n;
      for (;;) {
        auto m = d.next(&err);
        if (m) {
          ++decoded;
        } else {
          if (!err.empty()) ++errors;
          break;
        }
      }
    }
  }
  EXPECT_GT(decoded + errors, 0);
}

}  // namespace
}  // namespace edusight::forward
