#pragma once
// The DNS engine's interface. ldns builds and parses messages; Boost.Asio carries them
// (UDP, TCP on truncation and for AXFR). Results are values: a lookup never throws.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace edusight::dns {

enum class RType : std::uint16_t {
  A = 1,
  NS = 2,
  CNAME = 5,
  SOA = 6,
  PTR = 12,
  MX = 15,
  TXT = 16,
  AAAA = 28,
  AXFR = 252,
};
std::string_view to_string(RType t);

// What happened to a query, as a value.
enum class Status {
  ok,             // NOERROR with or without answers (NODATA is ok with no answers)
  nxdomain,       // the name does not exist
  servfail,
  refused,
  other_rcode,    // any other rcode; see Response::rcode
  timeout,        // no answer after every try
  network_error,  // send/connect failed (unreachable, refused port)
  malformed,      // an answer came but could not be parsed or did not match the question
};
std::string_view to_string(Status s);

struct Record {
  std::string owner;  // canonical: lower case, no trailing dot
  RType type{};
  std::uint32_t ttl = 0;
  // Canonical text of the data: an address (RFC 5952 for IPv6), a target name (canonical),
  // for MX the exchange name (preference below), for SOA the primary name server.
  std::string data;
  std::uint16_t preference = 0;  // MX only
};

struct Server {
  boost::asio::ip::address address;
  std::uint16_t port = 53;
};

struct Response {
  Status status = Status::timeout;
  int rcode = -1;
  bool authoritative = false;
  bool recursion_available = false;
  bool used_tcp = false;  // UDP answer was truncated and TCP was used
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::string server;  // who answered, "addr#port"
  std::chrono::microseconds rtt{0};
  std::string error;  // a short human reason when status is not ok
};

struct QueryOptions {
  std::chrono::milliseconds timeout{2000};  // per try
  int tries = 3;                            // first try plus retries, rotating servers
  bool recursion_desired = true;
};

// A host's addresses after following its CNAME chain.
struct AddressLookup {
  Status status = Status::timeout;  // of the last query that decided the outcome
  std::vector<std::string> cname_chain;          // the names followed, in order, excluding the start
  std::vector<boost::asio::ip::address> ipv4;
  std::vector<boost::asio::ip::address> ipv6;    // IPv4-mapped addresses excluded
  std::vector<boost::asio::ip::address> ipv4_mapped;  // AAAA records that were ::ffff:a.b.c.d
  bool cname_loop = false;
  bool chain_too_long = false;
  std::string error;
};

struct AxfrResult {
  Status status = Status::timeout;
  bool allowed = false;  // the server sent the zone (SOA ... SOA)
  std::vector<Record> records;
  std::string error;
};

// One interface per concept: checks talk to this, tests may put a fake behind it.
class Lookup {
 public:
  virtual ~Lookup() = default;
  // Through the configured resolvers (recursion desired).
  virtual boost::asio::awaitable<Response> query(std::string name, RType type) = 0;
  // Straight to one server, e.g. each name server of a zone over IPv6.
  virtual boost::asio::awaitable<Response> query_server(Server server, std::string name,
                                                        RType type, QueryOptions options) = 0;
  // A and AAAA of `host`, following CNAMEs (with loop and length limits).
  virtual boost::asio::awaitable<AddressLookup> addresses(std::string host) = 0;
  // A full zone transfer over TCP from one server.
  virtual boost::asio::awaitable<AxfrResult> axfr(Server server, std::string zone) = 0;
};

}  // namespace edusight::dns
