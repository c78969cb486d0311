#include "message.hpp"

#include <ldns/ldns.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <cstdlib>
#include <memory>

#include "edusight/core/names.hpp"

namespace edusight::dns {

std::string_view to_string(RType t) {
  switch (t) {
    case RType::A:
      return "A";
    case RType::NS:
      return "NS";
    case RType::CNAME:
      return "CNAME";
    case RType::SOA:
      return "SOA";
    case RType::PTR:
      return "PTR";
    case RType::MX:
      return "MX";
    case RType::TXT:
      return "TXT";
    case RType::AAAA:
      return "AAAA";
    case RType::AXFR:
      return "AXFR";
  }
  return "TYPE?";
}

std::string_view to_string(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::nxdomain:
      return "nxdomain";
    case Status::servfail:
      return "servfail";
    case Status::refused:
      return "refused";
    case Status::other_rcode:
      return "other_rcode";
    case Status::timeout:
      return "timeout";
    case Status::network_error:
      return "network_error";
    case Status::malformed:
      return "malformed";
  }
  return "unknown";
}

namespace wire {
namespace {

constexpr std::size_t kMaxNameWire = 255;
constexpr std::size_t kMaxLabel = 63;

std::uint16_t read16(std::span<const std::uint8_t> m, std::size_t pos) {
  return static_cast<std::uint16_t>((m[pos] << 8) | m[pos + 1]);
}

bool plain_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
}

void append_label(std::string& out, std::span<const std::uint8_t> label) {
  for (std::uint8_t raw : label) {
    unsigned char c = raw;
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if (plain_name_char(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      // Presentation-format escape keeps odd bytes (dots, spaces) unambiguous.
      out.push_back('\\');
      out.push_back(static_cast<char>('0' + c / 100));
      out.push_back(static_cast<char>('0' + (c / 10) % 10));
      out.push_back(static_cast<char>('0' + c % 10));
    }
  }
}

// Walks one (possibly compressed) name starting at `pos`. Returns the offset just past the
// name in the original stream, or 0 when malformed. Each pointer must point before the
// previous one's target (or before the name's start), so the walk always terminates.
std::size_t walk_name(std::span<const std::uint8_t> m, std::size_t pos, std::size_t end,
                      std::string* text) {
  std::size_t limit = pos;  // targets must be strictly below this
  std::size_t after = 0;    // where the name ends in the stream (after the first pointer)
  std::size_t total = 1;    // wire length including the root byte
  bool first_label = true;
  if (text) text->clear();
  while (true) {
    if (pos >= end) return 0;
    const std::uint8_t len = m[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 2 > end) return 0;
      const std::size_t target = read16(m, pos) & 0x3FFF;
      if (after == 0) after = pos + 2;
      if (target >= limit) return 0;
      limit = target;
      pos = target;
      continue;
    }
    if ((len & 0xC0) != 0) return 0;  // extended label types are obsolete
    if (len == 0) {
      if (after == 0) after = pos + 1;
      if (text && first_label) *text = ".";
      return after;
    }
    if (len > kMaxLabel || pos + 1 + len > end) return 0;
    total += len + 1;
    if (total > kMaxNameWire) return 0;
    if (text) {
      if (!first_label) text->push_back('.');
      append_label(*text, m.subspan(pos + 1, len));
    }
    first_label = false;
    pos += 1 + len;
  }
}

// Validates the names that sit inside the RDATA of the types we interpret.
bool rdata_names_ok(std::span<const std::uint8_t> m, std::uint16_t type, std::size_t start,
                    std::size_t rdlen) {
  const std::size_t end = start + rdlen;
  auto name_at = [&](std::size_t p) -> std::size_t {
    // A name in RDATA may point anywhere earlier in the message but must end inside RDATA.
    if (p >= end) return 0;
    return walk_name(m, p, m.size(), nullptr);
  };
  switch (static_cast<RType>(type)) {
    case RType::A:
      return rdlen == 4;
    case RType::AAAA:
      return rdlen == 16;
    case RType::NS:
    case RType::CNAME:
    case RType::PTR: {
      const std::size_t after = name_at(start);
      return after != 0 && after == end;
    }
    case RType::MX: {
      if (rdlen < 3) return false;
      const std::size_t after = name_at(start + 2);
      return after != 0 && after == end;
    }
    case RType::SOA: {
      const std::size_t a = name_at(start);
      if (a == 0 || a > end) return false;
      const std::size_t b = name_at(a);
      return b != 0 && b + 20 == end;
    }
    case RType::TXT: {
      // A sequence of <length><bytes> character strings filling the RDATA exactly.
      std::size_t p = start;
      if (rdlen == 0) return false;
      while (p < end) p += 1 + m[p];
      return p == end;
    }
    default:
      return true;
  }
}

struct PktDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};

std::string rdf_text(const ldns_rdf* rdf) {
  char* s = ldns_rdf2str(rdf);
  if (!s) return {};
  std::string out(s);
  std::free(s);
  return out;
}

std::string rdf_name(const ldns_rdf* rdf) {
  return canonical_wire_name({ldns_rdf_data(rdf), ldns_rdf_size(rdf)});
}

bool is_dname(const ldns_rdf* rdf) {
  return rdf && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME;
}

// nullopt when the RR's shape is impossible for its type.
std::optional<Record> to_record(const ldns_rr* rr) {
  Record rec;
  const ldns_rdf* owner = ldns_rr_owner(rr);
  if (!is_dname(owner)) return std::nullopt;
  rec.owner = rdf_name(owner);
  rec.type = static_cast<RType>(ldns_rr_get_type(rr));
  rec.ttl = ldns_rr_ttl(rr);
  const std::size_t n = ldns_rr_rd_count(rr);
  auto rdf = [&](std::size_t i) { return i < n ? ldns_rr_rdf(rr, i) : nullptr; };
  switch (rec.type) {
    case RType::A: {
      const ldns_rdf* r = rdf(0);
      if (!r || ldns_rdf_size(r) != 4) return std::nullopt;
      // Dotted quad written directly: inet_ntop (behind to_string) goes through sprintf.
      const std::uint8_t* b = ldns_rdf_data(r);
      std::array<char, 16> text{};
      std::size_t n = 0;
      for (std::size_t i = 0; i < 4; ++i) {
        if (i) text[n++] = '.';
        const unsigned v = b[i];
        if (v >= 100) text[n++] = static_cast<char>('0' + v / 100);
        if (v >= 10) text[n++] = static_cast<char>('0' + (v / 10) % 10);
        text[n++] = static_cast<char>('0' + v % 10);
      }
      rec.data.assign(text.data(), n);
      break;
    }
    case RType::AAAA: {
      const ldns_rdf* r = rdf(0);
      if (!r || ldns_rdf_size(r) != 16) return std::nullopt;
      std::array<unsigned char, 16> b{};
      std::copy_n(ldns_rdf_data(r), 16, b.begin());
      rec.data = canonical_address(boost::asio::ip::address(boost::asio::ip::address_v6(b)));
      break;
    }
    case RType::NS:
    case RType::CNAME:
    case RType::PTR:
    case RType::SOA: {  // for SOA, the primary name server
      if (!is_dname(rdf(0))) return std::nullopt;
      rec.data = rdf_name(rdf(0));
      break;
    }
    case RType::MX: {
      const ldns_rdf* pref = rdf(0);
      if (!pref || ldns_rdf_size(pref) != 2 || !is_dname(rdf(1))) return std::nullopt;
      const std::uint8_t* p = ldns_rdf_data(pref);
      rec.preference = static_cast<std::uint16_t>((p[0] << 8) | p[1]);
      rec.data = rdf_name(rdf(1));
      break;
    }
    case RType::TXT: {
      // Character strings joined without separators, as SPF and DMARC readers expect.
      for (std::size_t i = 0; i < n; ++i) {
        const ldns_rdf* r = rdf(i);
        const std::size_t size = ldns_rdf_size(r);
        if (size == 0) return std::nullopt;
        const std::uint8_t* d = ldns_rdf_data(r);
        if (static_cast<std::size_t>(d[0]) + 1 != size) return std::nullopt;
        rec.data.append(reinterpret_cast<const char*>(d + 1), size - 1);
      }
      break;
    }
    default: {
      for (std::size_t i = 0; i < n; ++i) {
        if (i) rec.data.push_back(' ');
        rec.data += rdf_text(rdf(i));
      }
      break;
    }
  }
  return rec;
}

struct RrDeleter {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};

// Parses `count` RRs of one section with ldns, starting at `*pos`. False on any failure;
// `error` then says whether ldns or the record shape was at fault.
bool collect(std::span<const std::uint8_t> msg, std::size_t* pos, std::size_t count,
             ldns_pkt_section section, std::vector<Record>& out, std::string& error) {
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    ldns_rr* raw = nullptr;
    const ldns_status st = ldns_wire2rr(&raw, msg.data(), msg.size(), pos, section);
    std::unique_ptr<ldns_rr, RrDeleter> rr(raw);
    if (st != LDNS_STATUS_OK || !rr) {
      error = std::string("ldns: ") + ldns_get_errorstr_by_id(st);
      return false;
    }
    if (ldns_rr_get_type(rr.get()) == LDNS_RR_TYPE_OPT) continue;
    auto rec = to_record(rr.get());
    if (!rec) {
      error = "record data does not fit its type";
      return false;
    }
    out.push_back(std::move(*rec));
  }
  return true;
}

}  // namespace

Status status_from_rcode(int rcode) {
  switch (rcode) {
    case 0:
      return Status::ok;
    case 2:
      return Status::servfail;
    case 3:
      return Status::nxdomain;
    case 5:
      return Status::refused;
    default:
      return Status::other_rcode;
  }
}

std::string canonical_wire_name(std::span<const std::uint8_t> labels) {
  std::string out;
  std::size_t pos = 0;
  while (pos < labels.size()) {
    const std::size_t len = labels[pos];
    if (len == 0 || pos + 1 + len > labels.size()) break;
    if (!out.empty()) out.push_back('.');
    append_label(out, labels.subspan(pos + 1, len));
    pos += 1 + len;
  }
  return out.empty() ? std::string(".") : out;
}

std::optional<std::string> normalize_query_name(std::string_view name) {
  if (name == ".") return std::string(".");
  const bool ascii = std::all_of(name.begin(), name.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) return canonical_host(name);  // IDNA to A-labels
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return std::nullopt;
  std::string out;
  out.reserve(name.size());
  std::size_t label = 0;
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    // Escapes and spaces are legal in DNS but never in the names we monitor.
    if (c <= ' ' || c == '\\' || c == 0x7F) return std::nullopt;
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
    } else if (++label > kMaxLabel) {
      return std::nullopt;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    out.push_back(static_cast<char>(c));
  }
  return out;
}

namespace {

struct BufferDeleter {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
struct RdfDeleter {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};

// One small reusable buffer per thread: ldns_pkt2wire would allocate 64 KiB per query.
ldns_buffer* query_buffer() {
  thread_local std::unique_ptr<ldns_buffer, BufferDeleter> buf(ldns_buffer_new(512));
  if (buf) ldns_buffer_clear(buf.get());
  return buf.get();
}

std::optional<std::vector<std::uint8_t>> buffer_bytes(ldns_buffer* buf) {
  if (!ldns_buffer_status_ok(buf)) return std::nullopt;
  const std::uint8_t* data = ldns_buffer_begin(buf);
  return std::vector<std::uint8_t>(data, data + ldns_buffer_position(buf));
}

}  // namespace

std::optional<std::vector<std::uint8_t>> build_query(std::uint16_t id, std::string_view name,
                                                     RType type, bool recursion_desired,
                                                     std::uint16_t edns_udp_size) {
  // ldns' wire writers without an ldns_pkt: the packet object costs a dozen allocations per
  // query (lists, question RR, EDNS data) for the same bytes (see build_query_pkt).
  // A C string for ldns without a heap copy: presentation names fit in 1 KiB (255 wire
  // bytes, at most 4 text bytes each for escapes).
  std::array<char, 1025> text{};
  if (name.size() >= text.size()) return std::nullopt;
  std::copy(name.begin(), name.end(), text.begin());
  ldns_rdf* raw = nullptr;
  if (ldns_str2rdf_dname(&raw, text.data()) != LDNS_STATUS_OK || !raw) return std::nullopt;
  const std::unique_ptr<ldns_rdf, RdfDeleter> qname(raw);
  ldns_buffer* buf = query_buffer();
  if (!buf) return std::nullopt;
  ldns_buffer_write_u16(buf, id);
  ldns_buffer_write_u8(buf, recursion_desired ? 0x01 : 0x00);  // QUERY, RD
  ldns_buffer_write_u8(buf, 0x00);
  ldns_buffer_write_u16(buf, 1);                       // QDCOUNT
  ldns_buffer_write_u16(buf, 0);                       // ANCOUNT
  ldns_buffer_write_u16(buf, 0);                       // NSCOUNT
  ldns_buffer_write_u16(buf, edns_udp_size > 0 ? 1 : 0);  // ARCOUNT: the OPT record
  if (ldns_dname2buffer_wire(buf, qname.get()) != LDNS_STATUS_OK) return std::nullopt;
  ldns_buffer_write_u16(buf, static_cast<std::uint16_t>(type));
  ldns_buffer_write_u16(buf, LDNS_RR_CLASS_IN);
  if (edns_udp_size > 0) {
    ldns_buffer_write_u8(buf, 0);  // owner: the root
    ldns_buffer_write_u16(buf, LDNS_RR_TYPE_OPT);
    ldns_buffer_write_u16(buf, edns_udp_size);  // class: the payload size
    ldns_buffer_write_u32(buf, 0);              // extended rcode, version 0, no flags
    ldns_buffer_write_u16(buf, 0);              // no options
  }
  return buffer_bytes(buf);
}

std::optional<std::vector<std::uint8_t>> build_query_pkt(std::uint16_t id, std::string_view name,
                                                         RType type, bool recursion_desired,
                                                         std::uint16_t edns_udp_size) {
  const std::string text(name);
  ldns_rdf* qname = ldns_dname_new_frm_str(text.c_str());
  if (!qname) return std::nullopt;
  // ldns_pkt_query_new takes ownership of qname, also on failure.
  std::unique_ptr<ldns_pkt, PktDeleter> pkt(ldns_pkt_query_new(
      qname, static_cast<ldns_rr_type>(type), LDNS_RR_CLASS_IN, recursion_desired ? LDNS_RD : 0));
  if (!pkt) return std::nullopt;
  ldns_pkt_set_id(pkt.get(), id);
  ldns_pkt_set_rd(pkt.get(), recursion_desired);
  if (edns_udp_size > 0) ldns_pkt_set_edns_udp_size(pkt.get(), edns_udp_size);
  ldns_buffer* buf = query_buffer();
  if (!buf) return std::nullopt;
  // No compression tree: a query holds a single name, and the tree costs several allocations.
  if (ldns_pkt2buffer_wire_compress(buf, pkt.get(), nullptr) != LDNS_STATUS_OK) {
    return std::nullopt;
  }
  return buffer_bytes(buf);
}

std::optional<Header> scan(std::span<const std::uint8_t> m) {
  if (m.size() < kHeaderSize) return std::nullopt;
  Header h;
  h.id = read16(m, 0);
  const std::uint8_t f1 = m[2];
  const std::uint8_t f2 = m[3];
  h.qr = (f1 & 0x80) != 0;
  h.opcode = (f1 >> 3) & 0x0F;
  h.tc = (f1 & 0x02) != 0;
  h.rcode = f2 & 0x0F;
  h.aa = (f1 & 0x04) != 0;
  h.ra = (f2 & 0x80) != 0;
  h.qdcount = read16(m, 4);
  h.ancount = read16(m, 6);
  h.nscount = read16(m, 8);
  const std::size_t rrs = static_cast<std::size_t>(read16(m, 6)) + read16(m, 8) + read16(m, 10);
  if (h.qdcount > 1) return std::nullopt;  // no server sends more than one question
  std::size_t pos = kHeaderSize;
  if (h.qdcount == 1) {
    const std::size_t after = walk_name(m, pos, m.size(), &h.qname);
    if (after == 0 || after + 4 > m.size()) return std::nullopt;
    h.qtype = read16(m, after);
    h.qclass = read16(m, after + 2);
    pos = after + 4;
  }
  h.answer_offset = pos;
  // Every RR needs at least 11 bytes, so counts beyond that cannot be honest.
  if (rrs > (m.size() - pos) / 11 + 1) return std::nullopt;
  for (std::size_t i = 0; i < rrs; ++i) {
    const std::size_t after = walk_name(m, pos, m.size(), nullptr);
    if (after == 0 || after + 10 > m.size()) return std::nullopt;
    const std::uint16_t type = read16(m, after);
    const std::size_t rdlen = read16(m, after + 8);
    const std::size_t rdata = after + 10;
    if (rdata + rdlen > m.size()) return std::nullopt;
    if (!rdata_names_ok(m, type, rdata, rdlen)) return std::nullopt;
    pos = rdata + rdlen;
  }
  return h;
}

bool matches(const Header& h, std::uint16_t id, std::string_view qname, RType qtype) {
  return h.qr && h.opcode == 0 && h.id == id && h.qdcount == 1 && h.qclass == kClassIn &&
         h.qtype == static_cast<std::uint16_t>(qtype) && h.qname == qname;
}

void set_id(std::span<std::uint8_t> msg, std::uint16_t id) {
  if (msg.size() < 2) return;
  msg[0] = static_cast<std::uint8_t>(id >> 8);
  msg[1] = static_cast<std::uint8_t>(id & 0xFF);
}

Response parse_response(std::span<const std::uint8_t> msg) {
  auto h = scan(msg);
  if (!h) {
    Response r;
    r.status = Status::malformed;
    r.error = "malformed message";
    return r;
  }
  return parse_response(msg, *h);
}

Response parse_response(std::span<const std::uint8_t> msg, const Header& h) {
  Response r;
  r.status = Status::malformed;
  // ldns reads the header fields from the wire just as the pre-scan did.
  r.rcode = h.rcode;
  r.authoritative = h.aa;
  r.recursion_available = h.ra;
  std::size_t pos = h.answer_offset;
  if (!collect(msg, &pos, h.ancount, LDNS_SECTION_ANSWER, r.answers, r.error) ||
      !collect(msg, &pos, h.nscount, LDNS_SECTION_AUTHORITY, r.authority, r.error)) {
    r.answers.clear();
    r.authority.clear();
    return r;
  }
  r.status = status_from_rcode(r.rcode);
  if (r.status != Status::ok) r.error = std::string("rcode ") + std::to_string(r.rcode);
  return r;
}

}  // namespace wire
}  // namespace edusight::dns
