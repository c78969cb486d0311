#pragma once
// DNS messages on the wire: queries are built and answers parsed with ldns. A cheap
// bounds-checked pre-scan runs before ldns so that the resolver can demultiplex (id +
// question) without a full parse, and so that hostile packets are rejected early.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns.hpp"

namespace edusight::dns::wire {

constexpr std::size_t kHeaderSize = 12;
constexpr std::uint16_t kClassIn = 1;

// The query name as it goes on the wire: lower case, no trailing dot, IDNs as A-labels.
// nullopt when it cannot be a DNS name.
std::optional<std::string> normalize_query_name(std::string_view name);

// Canonical text of a name in DNS wire format (uncompressed labels): lower case, no trailing
// dot, bytes outside [a-z0-9-_*] escaped as \DDD. The root is ".".
std::string canonical_wire_name(std::span<const std::uint8_t> labels);

// An ldns-built query. `edns_udp_size` 0 sends no OPT record. nullopt on an invalid name.
// ldns converts the name and writes the wire form through its buffer functions, without an
// ldns_pkt object (which costs a dozen allocations per query).
std::optional<std::vector<std::uint8_t>> build_query(std::uint16_t id, std::string_view name,
                                                     RType type, bool recursion_desired,
                                                     std::uint16_t edns_udp_size);
// The same through a full ldns_pkt (ldns_pkt_query_new + ldns_pkt2buffer_wire): the reference
// the tests compare build_query with, byte for byte.
std::optional<std::vector<std::uint8_t>> build_query_pkt(std::uint16_t id, std::string_view name,
                                                         RType type, bool recursion_desired,
                                                         std::uint16_t edns_udp_size);

// What the pre-scan learns without ldns.
struct Header {
  std::uint16_t id = 0;
  bool qr = false;
  bool tc = false;
  int opcode = 0;
  int rcode = 0;
  std::uint16_t qdcount = 0;
  std::string qname;  // canonical; empty when qdcount == 0
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
  bool aa = false;
  bool ra = false;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::size_t answer_offset = kHeaderSize;  // where the answer section starts
};

// Bounds-checks the whole message (header, every name, every RR length; compression pointers
// must point strictly backwards, which makes loops impossible). nullopt when malformed.
std::optional<Header> scan(std::span<const std::uint8_t> msg);

// Sets the 16-bit id of a built query in place (retries reuse the ldns-built wire form).
void set_id(std::span<std::uint8_t> msg, std::uint16_t id);

// True when a scanned message is the response to our (id, name, type) question.
bool matches(const Header& h, std::uint16_t id, std::string_view qname, RType qtype);

// Full parse with ldns into a Response (status from the rcode, canonical records). Records of
// types outside RType are kept with their numeric type and ldns' presentation text as data.
// On failure status is malformed and `error` says why; the function never throws.
Response parse_response(std::span<const std::uint8_t> msg);
// The same for a message that `scan` already accepted (`h` is its result): skips the second
// pre-scan. ldns parses the answer and authority sections RR by RR (ldns_wire2rr); the
// additional section, which no caller reads, is bounds-checked by the pre-scan only.
Response parse_response(std::span<const std::uint8_t> msg, const Header& h);

Status status_from_rcode(int rcode);

}  // namespace edusight::dns::wire
