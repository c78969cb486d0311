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
      std::array<unsigned char, 4> b{};
      std::copy_n(ldns_rdf_data(r), 4, b.begin());
      rec.data = boost::asio::ip::address_v4(b).to_string();
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

bool collect(const ldns_rr_list* list, std::vector<Record>& out) {
  if (!list) return true;
  const std::size_t n = ldns_rr_list_rr_count(list);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT) continue;
    auto rec = to_record(rr);
    if (!rec) return false;
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

std::optional<std::vector<std::uint8_t>> build_query(std::uint16_t id, std::string_view name,
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
  // One small reusable buffer per thread: ldns_pkt2wire would allocate 64 KiB per query.
  struct BufferDeleter {
    void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
  };
  thread_local std::unique_ptr<ldns_buffer, BufferDeleter> buf(ldns_buffer_new(512));
  if (!buf) return std::nullopt;
  ldns_buffer_clear(buf.get());
  // No compression tree: a query holds a single name, and the tree costs several allocations.
  if (ldns_pkt2buffer_wire_compress(buf.get(), pkt.get(), nullptr) != LDNS_STATUS_OK) {
    return std::nullopt;
  }
  const std::uint8_t* data = ldns_buffer_begin(buf.get());
  return std::vector<std::uint8_t>(data, data + ldns_buffer_position(buf.get()));
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
  h.qdcount = read16(m, 4);
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

Response parse_response(std::span<const std::uint8_t> msg) {
  Response r;
  r.status = Status::malformed;
  if (!scan(msg)) {
    r.error = "malformed message";
    return r;
  }
  ldns_pkt* raw = nullptr;
  const ldns_status st = ldns_wire2pkt(&raw, msg.data(), msg.size());
  std::unique_ptr<ldns_pkt, PktDeleter> pkt(raw);
  if (st != LDNS_STATUS_OK || !pkt) {
    r.error = std::string("ldns: ") + ldns_get_errorstr_by_id(st);
    return r;
  }
  r.rcode = ldns_pkt_get_rcode(pkt.get());
  r.authoritative = ldns_pkt_aa(pkt.get());
  r.recursion_available = ldns_pkt_ra(pkt.get());
  if (!collect(ldns_pkt_answer(pkt.get()), r.answers) ||
      !collect(ldns_pkt_authority(pkt.get()), r.authority)) {
    r.answers.clear();
    r.authority.clear();
    r.error = "record data does not fit its type";
    return r;
  }
  r.status = status_from_rcode(r.rcode);
  if (r.status != Status::ok) r.error = std::string("rcode ") + std::to_string(r.rcode);
  return r;
}

}  // namespace wire
}  // namespace edusight::dns
