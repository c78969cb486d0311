#include "resolver.hpp"

#include <spdlog/spdlog.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <optional>
#include <random>
#include <unordered_set>

#include "edusight/core/names.hpp"
#include "message.hpp"

namespace edusight::dns {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxUdpMessage = 65535;
constexpr int kMaxTcpMismatches = 8;  // stray messages tolerated on one TCP exchange
constexpr int kMaxReceiveErrors = 1000;

std::string server_text(const asio::ip::address& a, std::uint16_t port) {
  return canonical_address(a) + "#" + std::to_string(port);
}

// Query ids come from the kernel CSPRNG, fetched in batches to keep the hot path cheap:
// predictable ids would make off-path spoofing easy.
class IdSource {
 public:
  std::uint16_t next() {
    if (pos_ == buf_.size()) refill();
    return buf_[pos_++];
  }

 private:
  void refill() {
    const ssize_t n = getrandom(buf_.data(), sizeof(buf_), 0);
    if (n != static_cast<ssize_t>(sizeof(buf_))) {
      // getrandom cannot fail for this size after boot; keep going with a seeded engine.
      std::random_device rd;
      for (auto& v : buf_) v = static_cast<std::uint16_t>(rd());
    }
    pos_ = 0;
  }
  std::array<std::uint16_t, 512> buf_{};
  std::size_t pos_ = 512;
};

// One outstanding UDP question, registered in its socket's table until answered or expired.
struct Pending {
  udp::endpoint server;
  std::string qname;  // canonical, as scanned from our own query
  RType qtype{};
  asio::steady_timer* timer = nullptr;
  bool done = false;
  bool truncated = false;
  Response response;
};

struct UdpSlot {
  explicit UdpSlot(const asio::any_io_executor& ex) : socket(ex) {}
  udp::socket socket;
  // Indexed by query id: O(1) without allocation (a hash map cost ~4% at full load).
  std::vector<Pending*> pending = std::vector<Pending*>(65536, nullptr);
  std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(kMaxUdpMessage);
};

// Outcome of one UDP or TCP exchange with one server.
struct TryResult {
  Response response;
  bool truncated = false;
};

}  // namespace

struct Resolver::Impl : std::enable_shared_from_this<Resolver::Impl> {
  Impl(asio::any_io_executor e, ResolverOptions o) : ex(std::move(e)), opts(std::move(o)) {}

  asio::any_io_executor ex;
  ResolverOptions opts;
  std::array<std::vector<std::unique_ptr<UdpSlot>>, 2> slots;  // [0] IPv4, [1] IPv6
  std::array<std::size_t, 2> next_slot{0, 0};
  IdSource ids;
  bool closing = false;

  // Concurrency limit with direct hand-off, so no waiter can be starved by newcomers.
  struct Waiter {
    asio::steady_timer* timer;
    bool granted = false;
  };
  std::size_t in_flight = 0;
  std::deque<Waiter*> waiters;

  awaitable<bool> acquire() {
    if (in_flight < std::max<std::size_t>(1, opts.max_in_flight)) {
      ++in_flight;
      co_return true;
    }
    asio::steady_timer t(ex, Clock::time_point::max());
    Waiter w{&t};
    waiters.push_back(&w);
    co_await t.async_wait(use_tuple);
    if (!w.granted) {  // woken by shutdown
      std::erase(waiters, &w);
      co_return false;
    }
    co_return true;
  }

  void release() {
    if (!waiters.empty()) {
      Waiter* w = waiters.front();
      waiters.pop_front();
      w->granted = true;  // the slot passes straight to the waiter
      w->timer->cancel();
      return;
    }
    if (in_flight > 0) --in_flight;
  }

  // Lazily opens the family's sockets; returns one in rotation, or nullptr with `ec`.
  UdpSlot* slot_for(bool v6, error_code& ec) {
    auto& family = slots[v6 ? 1 : 0];
    if (family.empty()) {
      const std::size_t n = std::clamp<std::size_t>(opts.sockets_per_family, 1, 64);
      for (std::size_t i = 0; i < n; ++i) {
        auto s = std::make_unique<UdpSlot>(ex);
        s->socket.open(v6 ? udp::v6() : udp::v4(), ec);
        if (ec) {
          family.clear();
          return nullptr;
        }
        error_code ignored;
        if (v6) s->socket.set_option(asio::ip::v6_only(true), ignored);
        // A big receive buffer absorbs bursts when thousands of answers arrive together.
        s->socket.set_option(udp::socket::receive_buffer_size(4 << 20), ignored);
        s->socket.bind(udp::endpoint(v6 ? udp::v6() : udp::v4(), 0), ec);
        if (!ec) s->socket.non_blocking(true, ec);
        if (ec) {
          family.clear();
          return nullptr;
        }
        asio::co_spawn(ex, receive_loop(shared_from_this(), s.get()), asio::detached);
        family.push_back(std::move(s));
      }
    }
    auto& idx = next_slot[v6 ? 1 : 0];
    UdpSlot* s = family[idx % family.size()].get();
    ++idx;
    return s;
  }

  static void finish(UdpSlot* slot, std::uint16_t id, Pending* p) {
    p->done = true;
    slot->pending[id] = nullptr;
    p->timer->cancel();
  }

  // One coroutine per socket reads every answer and hands it to the query it belongs to.
  static awaitable<void> receive_loop(std::shared_ptr<Impl> self, UdpSlot* slot) {
    int errors = 0;
    while (!self->closing && errors < kMaxReceiveErrors) {
      udp::endpoint from;
      auto [ec, n] =
          co_await slot->socket.async_receive_from(asio::buffer(slot->buf), from, use_tuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !slot->socket.is_open()) break;
        ++errors;
        continue;
      }
      errors = 0;
      if (n < wire::kHeaderSize) continue;
      const auto id = static_cast<std::uint16_t>((slot->buf[0] << 8) | slot->buf[1]);
      Pending* p = slot->pending[id];
      if (!p) continue;                 // late, spoofed or duplicate
      if (from != p->server) continue;  // answers must come from whom we asked
      const std::span<const std::uint8_t> msg(slot->buf.data(), n);
      auto header = wire::scan(msg);
      if (!header) {
        p->response.status = Status::malformed;
        p->response.error = "malformed answer";
        finish(slot, id, p);
        continue;
      }
      if (!wire::matches(*header, id, p->qname, p->qtype)) {
        spdlog::debug("dns: ignoring answer with mismatched question from {}",
                      from.address().to_string());
        continue;
      }
      if (header->tc) {
        p->truncated = true;
      } else {
        p->response = wire::parse_response(msg);
      }
      finish(slot, id, p);
    }
  }

  // One UDP try to one server.
  awaitable<TryResult> udp_try(const Server& server, const std::string& label,
                               const std::string& qname, RType type, bool rd,
                               std::chrono::milliseconds timeout) {
    TryResult out;
    out.response.server = label;
    auto self = shared_from_this();
    if (!co_await acquire()) {
      out.response.status = Status::network_error;
      out.response.error = "resolver shutting down";
      co_return out;
    }
    struct Release {
      Impl* impl;
      ~Release() { impl->release(); }
    } release{this};

    error_code ec;
    UdpSlot* slot = slot_for(server.address.is_v6(), ec);
    if (!slot) {
      out.response.status = Status::network_error;
      out.response.error = "socket: " + ec.message();
      co_return out;
    }
    // Find an id not in use on this socket; with <= 2000 in flight of 65536 this ends fast.
    std::uint16_t id = ids.next();
    for (int i = 0; i < 64 && slot->pending[id]; ++i) id = ids.next();
    if (slot->pending[id]) {
      out.response.status = Status::network_error;
      out.response.error = "no free query id";
      co_return out;
    }
    auto query = wire::build_query(id, qname, type, rd, opts.edns_udp_size);
    auto header = query ? wire::scan(*query) : std::nullopt;
    if (!header) {
      out.response.status = Status::malformed;
      out.response.error = "cannot encode query name";
      co_return out;
    }

    asio::steady_timer timer(ex);
    timer.expires_after(timeout);
    Pending p;
    p.server = udp::endpoint(server.address, server.port);
    p.qname = std::move(header->qname);
    p.qtype = type;
    p.timer = &timer;
    slot->pending[id] = &p;
    struct Unregister {  // also on coroutine destruction at shutdown
      UdpSlot* slot;
      std::uint16_t id;
      Pending* p;
      ~Unregister() {
        if (slot->pending[id] == p) slot->pending[id] = nullptr;
      }
    } unregister{slot, id, &p};

    const auto start = Clock::now();
    // Non-blocking send first: UDP sends almost never block, and this saves a suspension.
    slot->socket.send_to(asio::buffer(*query), p.server, 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto [sec, sent] =
          co_await slot->socket.async_send_to(asio::buffer(*query), p.server, use_tuple);
      ec = sec;
    }
    if (ec) {
      out.response.status = Status::network_error;
      out.response.error = "send: " + ec.message();
      co_return out;
    }
    if (!p.done) co_await timer.async_wait(use_tuple);
    if (!p.done) {
      out.response.status = Status::timeout;
      out.response.error = "no answer within " + std::to_string(timeout.count()) + " ms";
      co_return out;
    }
    out.truncated = p.truncated;
    out.response = std::move(p.response);
    out.response.server = label;
    out.response.rtt = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    co_return out;
  }

  // Reads one length-prefixed DNS message from a TCP stream.
  static awaitable<std::optional<std::vector<std::uint8_t>>> read_tcp_message(tcp::socket& sock,
                                                                              error_code& ec) {
    std::array<std::uint8_t, 2> len_buf{};
    auto [e1, n1] = co_await asio::async_read(sock, asio::buffer(len_buf), use_tuple);
    if (e1) {
      ec = e1;
      co_return std::nullopt;
    }
    const std::size_t len = (len_buf[0] << 8) | len_buf[1];
    std::vector<std::uint8_t> msg(len);
    auto [e2, n2] = co_await asio::async_read(sock, asio::buffer(msg), use_tuple);
    if (e2) {
      ec = e2;
      co_return std::nullopt;
    }
    co_return msg;
  }

  // A TCP connection whose whole life is bounded by one deadline: the timer closes it.
  struct TcpSession {
    std::shared_ptr<tcp::socket> sock;
    std::shared_ptr<bool> expired = std::make_shared<bool>(false);
    asio::steady_timer deadline;

    TcpSession(const asio::any_io_executor& ex, std::chrono::milliseconds limit)
        : sock(std::make_shared<tcp::socket>(ex)), deadline(ex) {
      deadline.expires_after(limit);
      deadline.async_wait([s = sock, e = expired](error_code ec) {
        if (ec) return;
        *e = true;
        error_code ignored;
        s->close(ignored);
      });
    }
    ~TcpSession() { deadline.cancel(); }

    Status failure(const error_code&) const {
      return *expired ? Status::timeout : Status::network_error;
    }

    awaitable<error_code> connect_and_send(const Server& server,
                                           const std::vector<std::uint8_t>& query) {
      auto [ec] =
          co_await sock->async_connect(tcp::endpoint(server.address, server.port), use_tuple);
      if (ec) co_return ec;
      const std::array<std::uint8_t, 2> len{static_cast<std::uint8_t>(query.size() >> 8),
                                            static_cast<std::uint8_t>(query.size() & 0xFF)};
      const std::array<asio::const_buffer, 2> bufs{asio::buffer(len), asio::buffer(query)};
      auto [wec, n] = co_await asio::async_write(*sock, bufs, use_tuple);
      co_return wec;
    }
  };

  awaitable<TryResult> tcp_try(const Server& server, const std::string& qname, RType type, bool rd,
                               std::chrono::milliseconds timeout) {
    TryResult out;
    out.response.server = server_text(server.address, server.port);
    out.response.used_tcp = true;
    const std::uint16_t id = ids.next();
    // No EDNS needed: TCP carries up to 64 KiB anyway.
    auto query = wire::build_query(id, qname, type, rd, 0);
    auto header = query ? wire::scan(*query) : std::nullopt;
    if (!header) {
      out.response.status = Status::malformed;
      out.response.error = "cannot encode query name";
      co_return out;
    }
    const auto start = Clock::now();
    TcpSession session(ex, timeout);
    if (auto ec = co_await session.connect_and_send(server, *query)) {
      out.response.status = session.failure(ec);
      out.response.error = "tcp: " + ec.message();
      co_return out;
    }
    for (int i = 0; i < kMaxTcpMismatches; ++i) {
      error_code ec;
      auto msg = co_await read_tcp_message(*session.sock, ec);
      if (!msg) {
        out.response.status = session.failure(ec);
        out.response.error = "tcp read: " + ec.message();
        co_return out;
      }
      auto h = wire::scan(*msg);
      if (h && !wire::matches(*h, id, header->qname, type)) continue;  // not ours: ignore
      out.response = wire::parse_response(*msg);
      out.response.used_tcp = true;
      out.response.server = server_text(server.address, server.port);
      out.response.rtt =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
      co_return out;
    }
    out.response.status = Status::malformed;
    out.response.error = "tcp: no matching answer";
    co_return out;
  }

  // Tries in turn, rotating over `servers`; TCP when the UDP answer was truncated.
  awaitable<Response> run(std::vector<Server> servers, std::string name, RType type,
                          QueryOptions q) {
    auto self = shared_from_this();
    Response last;
    auto qname = wire::normalize_query_name(name);
    if (!qname) {
      last.status = Status::malformed;
      last.error = "invalid query name";
      co_return last;
    }
    if (servers.empty()) {
      last.status = Status::network_error;
      last.error = "no servers configured";
      co_return last;
    }
    const int tries = std::clamp(q.tries, 1, 20);
    std::vector<std::string> labels;  // "addr#port", formatted once per query
    labels.reserve(std::min<std::size_t>(servers.size(), static_cast<std::size_t>(tries)));
    for (std::size_t i = 0; i < servers.size() && i < static_cast<std::size_t>(tries); ++i) {
      labels.push_back(server_text(servers[i].address, servers[i].port));
    }
    for (int i = 0; i < tries; ++i) {
      const std::size_t idx = static_cast<std::size_t>(i) % servers.size();
      const Server& server = servers[idx];
      TryResult r =
          co_await udp_try(server, labels[idx], *qname, type, q.recursion_desired, q.timeout);
      if (r.truncated) {
        r = co_await tcp_try(server, *qname, type, q.recursion_desired, q.timeout);
      }
      last = std::move(r.response);
      if (last.status == Status::ok || last.status == Status::nxdomain) co_return last;
      if (last.status == Status::timeout || last.status == Status::network_error) continue;
      // An answer that failed (SERVFAIL, REFUSED, garbage): another server may do better.
      if (servers.size() == 1) co_return last;
    }
    co_return last;
  }

  // Follows one type's CNAME chain from `start`.
  struct Chain {
    Status status = Status::timeout;
    std::vector<std::string> names;
    std::vector<std::string> data;
    bool loop = false;
    bool too_long = false;
    std::string error;
  };

  awaitable<Chain> follow(std::string start, RType type) {
    auto self = shared_from_this();
    Chain c;
    const auto max_depth = static_cast<std::size_t>(std::max(0, opts.max_cname_depth));
    std::unordered_set<std::string> visited{start};
    std::string current = start;
    // Each round either ends or adds at least one name, so depth + 2 rounds suffice.
    for (std::size_t round = 0; round < max_depth + 2; ++round) {
      Response r = co_await run(opts.servers, current, type, opts.query);
      c.status = r.status;
      if (r.status != Status::ok && r.status != Status::nxdomain) {
        c.error = std::string(to_string(type)) + ": " + r.error;
        co_return c;
      }
      // CNAMEs in the answer, in chain order (servers may send them in any order).
      bool advanced = false;
      for (std::size_t step = 0; step < r.answers.size(); ++step) {
        auto it = std::find_if(r.answers.begin(), r.answers.end(), [&](const Record& rec) {
          return rec.type == RType::CNAME && rec.owner == current;
        });
        if (it == r.answers.end()) break;
        if (visited.contains(it->data)) {
          c.loop = true;
          c.error = "CNAME loop at " + it->data;
          co_return c;
        }
        if (c.names.size() >= max_depth) {
          c.too_long = true;
          c.error = "CNAME chain longer than " + std::to_string(max_depth);
          co_return c;
        }
        current = it->data;
        visited.insert(current);
        c.names.push_back(current);
        advanced = true;
      }
      for (const auto& rec : r.answers) {
        if (rec.type == type && rec.owner == current) c.data.push_back(rec.data);
      }
      if (!c.data.empty() || r.status == Status::nxdomain) co_return c;
      const bool nodata = std::any_of(r.authority.begin(), r.authority.end(),
                                      [](const Record& rec) { return rec.type == RType::SOA; });
      // The server stopped at a CNAME without saying the target is empty (typical of an
      // authoritative server whose target is out of zone): ask for the target itself.
      if (!advanced || nodata) co_return c;
    }
    c.too_long = true;
    c.error = "CNAME chain longer than " + std::to_string(max_depth);
    co_return c;
  }

  awaitable<AddressLookup> addresses(std::string host) {
    auto self = shared_from_this();
    AddressLookup out;
    auto name = wire::normalize_query_name(host);
    if (!name) {
      out.status = Status::malformed;
      out.error = "invalid host name";
      co_return out;
    }
    // AAAA runs as a sibling coroutine while this one follows A; a timer parks us until the
    // sibling reports (lighter than a parallel_group, which matters at 100k names/s).
    struct Sibling {
      explicit Sibling(const asio::any_io_executor& e) : wake(e, Clock::time_point::max()) {}
      asio::steady_timer wake;
      std::optional<Chain> result;
    };
    auto sibling = std::make_shared<Sibling>(ex);
    asio::co_spawn(ex, follow(*name, RType::AAAA), [sibling](std::exception_ptr e, Chain c) {
      if (e) {
        c = Chain{};
        c.status = Status::network_error;
        c.error = "AAAA lookup failed";
      }
      sibling->result = std::move(c);
      sibling->wake.cancel();
    });
    Chain a = co_await follow(*name, RType::A);
    if (!sibling->result) co_await sibling->wake.async_wait(use_tuple);
    if (!sibling->result) {  // only at shutdown
      out.status = Status::network_error;
      out.error = "resolver shutting down";
      co_return out;
    }
    Chain aaaa = std::move(*sibling->result);
    out.cname_chain = a.names.size() >= aaaa.names.size() ? a.names : aaaa.names;
    out.cname_loop = a.loop || aaaa.loop;
    out.chain_too_long = a.too_long || aaaa.too_long;
    auto add_unique = [](std::vector<asio::ip::address>& v, const asio::ip::address& x) {
      if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
    };
    for (const auto& d : a.data) {
      if (auto addr = parse_address(d); addr && addr->is_v4()) add_unique(out.ipv4, *addr);
    }
    for (const auto& d : aaaa.data) {
      auto addr = parse_address(d);
      if (!addr || !addr->is_v6()) continue;
      add_unique(is_ipv4_mapped(*addr) ? out.ipv4_mapped : out.ipv6, *addr);
    }
    // ok only when both questions were answered; otherwise the more telling failure.
    if (a.status == Status::ok && aaaa.status == Status::ok) {
      out.status = Status::ok;
    } else if (a.status == Status::nxdomain || aaaa.status == Status::nxdomain) {
      out.status = Status::nxdomain;
    } else {
      out.status = a.status != Status::ok ? a.status : aaaa.status;
    }
    out.error = a.error;
    if (!aaaa.error.empty() && aaaa.error != a.error) {
      if (!out.error.empty()) out.error += "; ";
      out.error += aaaa.error;
    }
    co_return out;
  }

  awaitable<AxfrResult> axfr(Server server, std::string zone) {
    auto self = shared_from_this();
    AxfrResult out;
    auto qname = wire::normalize_query_name(zone);
    const std::uint16_t id = ids.next();
    auto query = qname ? wire::build_query(id, *qname, RType::AXFR, false, 0) : std::nullopt;
    auto header = query ? wire::scan(*query) : std::nullopt;
    if (!header) {
      out.status = Status::malformed;
      out.error = "invalid zone name";
      co_return out;
    }
    TcpSession session(ex, opts.axfr_timeout);
    if (auto ec = co_await session.connect_and_send(server, *query)) {
      out.status = session.failure(ec);
      out.error = "tcp: " + ec.message();
      co_return out;
    }
    int soa_seen = 0;
    std::size_t total = 0;
    // Each message adds at least one record or ends the loop; the count bound stops the rest.
    for (std::size_t msgs = 0; msgs <= opts.axfr_max_records; ++msgs) {
      error_code ec;
      auto msg = co_await read_tcp_message(*session.sock, ec);
      if (!msg) {
        out.status = session.failure(ec);
        out.error = "transfer incomplete: " + ec.message();
        co_return out;
      }
      auto h = wire::scan(*msg);
      if (!h) {
        out.status = Status::malformed;
        out.error = "malformed transfer message";
        co_return out;
      }
      // Later messages may omit the question (RFC 5936 2.2); when present it must match.
      if (!h->qr || h->id != id ||
          (h->qdcount == 1 && !wire::matches(*h, id, header->qname, RType::AXFR))) {
        out.status = Status::malformed;
        out.error = "transfer message does not match the query";
        co_return out;
      }
      Response r = wire::parse_response(*msg);
      if (r.status != Status::ok) {
        out.status = r.status;  // REFUSED, NOTAUTH (other_rcode), ...
        out.error = r.error.empty() ? "transfer failed" : r.error;
        co_return out;
      }
      if (r.answers.empty()) {
        out.status = Status::malformed;
        out.error = "empty transfer message";
        co_return out;
      }
      for (auto& rec : r.answers) {
        if (total == 0 && (rec.type != RType::SOA || rec.owner != header->qname)) {
          out.status = Status::malformed;
          out.error = "transfer does not start with the zone's SOA";
          co_return out;
        }
        ++total;
        if (total > opts.axfr_max_records) {
          out.status = Status::ok;
          out.error = "transfer exceeded " + std::to_string(opts.axfr_max_records) + " records";
          co_return out;
        }
        const bool soa = rec.type == RType::SOA;
        out.records.push_back(std::move(rec));
        if (soa && ++soa_seen == 2) {
          out.status = Status::ok;
          out.allowed = true;
          co_return out;
        }
      }
    }
    out.status = Status::malformed;
    out.error = "transfer did not end";
    co_return out;
  }

  void shutdown() {
    closing = true;
    error_code ignored;
    for (auto& family : slots) {
      for (auto& s : family) {
        s->socket.close(ignored);
        for (Pending* p : s->pending) {
          if (p) p->timer->cancel();
        }
      }
    }
    for (Waiter* w : waiters) w->timer->cancel();
  }
};

Resolver::Resolver(asio::any_io_executor executor, ResolverOptions options)
    : options_(options), impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

Resolver::~Resolver() {
  impl_->shutdown();
}

awaitable<Response> Resolver::query(std::string name, RType type) {
  auto impl = impl_;  // keeps the engine alive even if the Resolver goes away meanwhile
  co_return co_await impl->run(impl->opts.servers, std::move(name), type, impl->opts.query);
}

awaitable<Response> Resolver::query_server(Server server, std::string name, RType type,
                                           QueryOptions options) {
  auto impl = impl_;
  std::vector<Server> one(1, server);
  co_return co_await impl->run(std::move(one), std::move(name), type, options);
}

awaitable<AddressLookup> Resolver::addresses(std::string host) {
  auto impl = impl_;
  co_return co_await impl->addresses(std::move(host));
}

awaitable<AxfrResult> Resolver::axfr(Server server, std::string zone) {
  auto impl = impl_;
  co_return co_await impl->axfr(server, std::move(zone));
}

}  // namespace edusight::dns
