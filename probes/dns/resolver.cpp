#include "resolver.hpp"

#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <optional>
#include <random>

#include "edusight/core/names.hpp"
#include "id_table.hpp"
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
constexpr std::size_t kMaxReceiveBatch = 256;         // datagrams read per wake-up before yielding
constexpr std::size_t kBatchMessages = 32;      // datagrams per recvmmsg call
constexpr std::size_t kBatchDatagram = 4096;    // bytes per datagram in a recvmmsg batch
constexpr std::size_t kMaxConnectedServers = 16;  // connected socket groups per resolver

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
  const std::string* qname = nullptr;  // canonical, as scanned from our own query
  RType qtype{};
  asio::steady_timer* timer = nullptr;
  bool done = false;
  bool queued = false;  // waiting in its socket's outbox to be sent
  std::uint16_t id = 0;
  std::span<const std::uint8_t> wire;  // the query (owned by the caller's frame)
  bool truncated = false;
  Response response;
};

struct UdpSlot {
  explicit UdpSlot(const asio::any_io_executor& ex) : socket(ex) {}
  udp::socket socket;
  // Connected to one server: the kernel skips the route lookup on send and drops datagrams
  // from any other source; unconnected slots check the source themselves.
  bool connected = false;
  // Indexed by query id: O(1) without allocation (a hash map cost ~4% at full load).
  IdTable<Pending> pending;  // outstanding queries by id
  std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(kMaxUdpMessage);
  // recvmmsg: one system call reads up to kBatchMessages datagrams of kBatchDatagram bytes;
  // a longer datagram arrives cut (MSG_TRUNC) and its query falls back to TCP.
  std::vector<std::uint8_t> batch = std::vector<std::uint8_t>(kBatchMessages * kBatchDatagram);
  std::array<mmsghdr, kBatchMessages> headers{};
  std::array<iovec, kBatchMessages> iovecs{};
  std::array<sockaddr_storage, kBatchMessages> sources{};
  // Queries to send: queued by their coroutines, sent together with sendmmsg by one posted
  // flush (after every coroutine resumed in the same round has queued its query).
  std::vector<Pending*> outbox;
  bool flush_posted = false;
  bool write_waiting = false;
  std::array<mmsghdr, kBatchMessages> out_headers{};
  std::array<iovec, kBatchMessages> out_iovecs{};
};

// The sockets that carry queries to one server (connected), or to any server of a family
// (unconnected, once the connected groups are used up).
struct SocketGroup {
  std::optional<udp::endpoint> server;  // nullopt: unconnected
  bool v6 = false;
  std::vector<std::unique_ptr<UdpSlot>> slots;
  std::size_t next = 0;
};

// A query's wire form, built with ldns once; retries only patch the id.
struct BuiltQuery {
  std::vector<std::uint8_t> wire;
  std::string qname;  // canonical, as the pre-scan reads it back from `wire`
};

// Outcome of one UDP or TCP exchange with one server.
struct TryResult {
  Response response;
  bool truncated = false;
};

}  // namespace

struct Resolver::Impl : std::enable_shared_from_this<Resolver::Impl> {
  Impl(asio::any_io_executor e, ResolverOptions o) : ex(std::move(e)), opts(std::move(o)) {
    server_labels.reserve(opts.servers.size());
    for (const Server& s : opts.servers) {
      server_labels.push_back(server_text(s.address, s.port));
    }
  }

  asio::any_io_executor ex;
  ResolverOptions opts;
  std::vector<std::string> server_labels;  // "addr#port" of opts.servers, formatted once
  std::vector<std::unique_ptr<SocketGroup>> groups;  // connected ones first, then per family
  IdSource ids;
  bool closing = false;

  // Concurrency limit with direct hand-off, so no waiter can be starved by newcomers.
  struct Waiter {
    asio::steady_timer* timer;
    bool granted = false;
  };
  std::size_t in_flight = 0;
  std::deque<Waiter*> waiters;

  // Fast path without a coroutine frame; acquire_slow() parks the caller.
  bool try_acquire() {
    if (in_flight < std::max<std::size_t>(1, opts.max_in_flight) && waiters.empty()) {
      ++in_flight;
      return true;
    }
    return false;
  }

  awaitable<bool> acquire_slow() {
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

  // Opens one socket, connected to `server` when given, and starts its receive loop.
  std::unique_ptr<UdpSlot> open_slot(bool v6, const std::optional<udp::endpoint>& server,
                                     error_code& ec) {
    auto s = std::make_unique<UdpSlot>(ex);
    s->socket.open(v6 ? udp::v6() : udp::v4(), ec);
    if (ec) return nullptr;
    error_code ignored;
    if (v6) s->socket.set_option(asio::ip::v6_only(true), ignored);
    // A big receive buffer absorbs bursts when thousands of answers arrive together.
    s->socket.set_option(udp::socket::receive_buffer_size(4 << 20), ignored);
    s->socket.bind(udp::endpoint(v6 ? udp::v6() : udp::v4(), 0), ec);
    if (!ec && server) {
      s->socket.connect(*server, ec);
      s->connected = true;
    }
    if (!ec) s->socket.non_blocking(true, ec);
    if (ec) return nullptr;
    asio::co_spawn(ex, receive_loop(shared_from_this(), s.get()), asio::detached);
    return s;
  }

  // The socket for the next query to `server`: a group connected to it (opened lazily, up to
  // kMaxConnectedServers servers), else the family's unconnected group. nullptr with `ec`.
  UdpSlot* slot_for(const udp::endpoint& server, error_code& ec) {
    const bool v6 = server.address().is_v6();
    SocketGroup* group = nullptr;
    std::size_t connected = 0;
    for (auto& g : groups) {
      if (g->server) ++connected;
      if (g->server == server) {
        group = g.get();
        break;
      }
    }
    if (!group) {
      std::optional<udp::endpoint> target;
      if (connected < kMaxConnectedServers) target = server;
      if (!target) {  // the family's shared unconnected sockets
        for (auto& g : groups) {
          if (!g->server && g->v6 == v6) group = g.get();
        }
      }
      if (!group) {
        auto g = std::make_unique<SocketGroup>();
        g->server = target;
        g->v6 = v6;
        const std::size_t n = std::clamp<std::size_t>(opts.sockets_per_family, 1, 64);
        for (std::size_t i = 0; i < n; ++i) {
          auto s = open_slot(v6, target, ec);
          if (!s) return nullptr;  // the sockets opened so far close with `g`
          g->slots.push_back(std::move(s));
        }
        group = g.get();
        groups.push_back(std::move(g));
      }
    }
    UdpSlot* s = group->slots[group->next % group->slots.size()].get();
    ++group->next;
    return s;
  }

  static void finish(UdpSlot* slot, std::uint16_t id, Pending* p) {
    p->done = true;
    slot->pending.erase(id);
    p->timer->cancel();
  }

  // Hands one datagram to the query it answers, if any. `from` is null on connected sockets
  // (the kernel already dropped other sources). `cut`: the datagram was longer than the
  // buffer, so only its question is checked and the query retries over TCP.
  static void deliver(UdpSlot* slot, std::span<const std::uint8_t> msg, const udp::endpoint* from,
                      bool cut = false) {
    if (msg.size() < wire::kHeaderSize) return;
    const auto id = static_cast<std::uint16_t>((msg[0] << 8) | msg[1]);
    Pending* p = slot->pending.find(id);
    if (!p) return;                               // late, spoofed or duplicate
    if (from && *from != p->server) return;       // answers must come from whom we asked
    std::optional<wire::Header> header;
    if (cut) {
      // Header and question only: the record counts are zeroed on a copy of the start.
      std::array<std::uint8_t, 512> head{};
      const std::size_t len = std::min(head.size(), msg.size());
      std::copy_n(msg.begin(), len, head.begin());
      std::fill(head.begin() + 6, head.begin() + 12, std::uint8_t{0});
      header = wire::scan(std::span<const std::uint8_t>(head.data(), len));
      if (header && wire::matches(*header, id, *p->qname, p->qtype)) {
        p->truncated = true;
        finish(slot, id, p);
      }
      return;
    }
    header = wire::scan(msg);
    if (!header) {
      p->response.status = Status::malformed;
      p->response.error = "malformed answer";
      finish(slot, id, p);
      return;
    }
    if (!wire::matches(*header, id, *p->qname, p->qtype)) {
      if (spdlog::should_log(spdlog::level::debug)) {
        spdlog::debug("dns: ignoring answer with mismatched question from {}",
                      p->server.address().to_string());
      }
      return;
    }
    if (header->tc) {
      p->truncated = true;
    } else {
      p->response = wire::parse_response(msg, *header);
    }
    finish(slot, id, p);
  }

  // Reads what is queued on the socket with recvmmsg, without blocking. Returns the number of
  // datagrams handled; 0 when the socket is empty. `errors` counts failed calls.
  static std::size_t drain_batch(UdpSlot* slot, int& errors) {
    for (std::size_t i = 0; i < kBatchMessages; ++i) {
      slot->iovecs[i].iov_base = slot->batch.data() + i * kBatchDatagram;
      slot->iovecs[i].iov_len = kBatchDatagram;
      msghdr& h = slot->headers[i].msg_hdr;
      h = msghdr{};
      h.msg_iov = &slot->iovecs[i];
      h.msg_iovlen = 1;
      if (!slot->connected) {
        h.msg_name = &slot->sources[i];
        h.msg_namelen = sizeof(sockaddr_storage);
      }
      slot->headers[i].msg_len = 0;
    }
    const int got = ::recvmmsg(slot->socket.native_handle(), slot->headers.data(),
                               static_cast<unsigned>(kBatchMessages), MSG_DONTWAIT, nullptr);
    if (got < 0) {
      // A connected socket reports ICMP port unreachable here; each consumes one event.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) ++errors;
      return 0;
    }
    errors = 0;
    for (int i = 0; i < got; ++i) {
      const mmsghdr& m = slot->headers[static_cast<std::size_t>(i)];
      const std::span<const std::uint8_t> msg(
          slot->batch.data() + static_cast<std::size_t>(i) * kBatchDatagram,
          std::min<std::size_t>(m.msg_len, kBatchDatagram));
      const bool cut = (m.msg_hdr.msg_flags & MSG_TRUNC) != 0;
      if (slot->connected) {
        deliver(slot, msg, nullptr, cut);
        continue;
      }
      udp::endpoint from;
      if (m.msg_hdr.msg_namelen > from.capacity()) continue;
      std::memcpy(from.data(), m.msg_hdr.msg_name, m.msg_hdr.msg_namelen);
      from.resize(m.msg_hdr.msg_namelen);
      deliver(slot, msg, &from, cut);
    }
    return static_cast<std::size_t>(got);
  }

  // One coroutine per socket reads every answer and hands it to the query it belongs to. Each
  // wake-up drains the socket with recvmmsg (at most kMaxReceiveBatch datagrams, then it
  // yields to the other work); the resumed queries run after the batch.
  static awaitable<void> receive_loop(std::shared_ptr<Impl> self, UdpSlot* slot) {
    int errors = 0;
    bool drain = false;  // the last batch stopped at its limit: read on without waiting
    while (!self->closing && errors < kMaxReceiveErrors) {
      if (drain) {
        co_await asio::post(self->ex, asio::use_awaitable);
        if (self->closing || !slot->socket.is_open()) break;
      } else {
        udp::endpoint from;
        auto [ec, n] = slot->connected
                           ? co_await slot->socket.async_receive(asio::buffer(slot->buf), use_tuple)
                           : co_await slot->socket.async_receive_from(asio::buffer(slot->buf),
                                                                      from, use_tuple);
        if (ec) {
          if (ec == asio::error::operation_aborted || !slot->socket.is_open()) break;
          // A connected socket reports ICMP port unreachable here; each consumes one event.
          if (ec != asio::error::connection_refused) ++errors;
          continue;
        }
        errors = 0;
        deliver(slot, std::span<const std::uint8_t>(slot->buf.data(), n),
                slot->connected ? nullptr : &from);
      }
      drain = false;
      std::size_t handled = 0;
      // Bounded: each round reads at least one datagram or stops.
      for (std::size_t round = 0; round * kBatchMessages < kMaxReceiveBatch; ++round) {
        if (self->closing || !slot->socket.is_open()) break;
        const std::size_t got = drain_batch(slot, errors);
        handled += got;
        if (got < kBatchMessages) break;
      }
      if (handled >= kMaxReceiveBatch) drain = true;
    }
  }

  // Fails a queued query whose send failed; its coroutine wakes with the error.
  static void fail_send(UdpSlot* slot, Pending* p, const error_code& ec) {
    p->response.status = Status::network_error;
    p->response.error = "send: " + ec.message();
    finish(slot, p->id, p);
  }

  // Sends the outbox with sendmmsg, kBatchMessages at a time. Unconnected sockets address each
  // message. A connected socket may first report an ICMP error left by an earlier query,
  // which belongs to nobody now: that call is repeated once. When the socket buffer is full
  // the rest waits for writability.
  void flush(UdpSlot* slot) {
    slot->flush_posted = false;
    if (slot->write_waiting || !slot->socket.is_open()) return;
    std::size_t sent_total = 0;
    bool refused_once = false;
    // Bounded: every round sends at least one message, fails one, or stops; a stale ICMP
    // error costs at most one extra round per message.
    const std::size_t max_rounds = 2 * slot->outbox.size() + 2;
    for (std::size_t round = 0; round < max_rounds && sent_total < slot->outbox.size(); ++round) {
      const std::size_t n = std::min(kBatchMessages, slot->outbox.size() - sent_total);
      for (std::size_t i = 0; i < n; ++i) {
        Pending* p = slot->outbox[sent_total + i];
        slot->out_iovecs[i].iov_base = const_cast<std::uint8_t*>(p->wire.data());
        slot->out_iovecs[i].iov_len = p->wire.size();
        msghdr& h = slot->out_headers[i].msg_hdr;
        h = msghdr{};
        h.msg_iov = &slot->out_iovecs[i];
        h.msg_iovlen = 1;
        if (!slot->connected) {
          h.msg_name = p->server.data();
          h.msg_namelen = static_cast<socklen_t>(p->server.size());
        }
      }
      const int sent = ::sendmmsg(slot->socket.native_handle(), slot->out_headers.data(),
                                  static_cast<unsigned>(n), MSG_DONTWAIT);
      if (sent > 0) {
        for (std::size_t i = 0; i < static_cast<std::size_t>(sent); ++i) {
          slot->outbox[sent_total + i]->queued = false;
        }
        sent_total += static_cast<std::size_t>(sent);
        refused_once = false;
        continue;
      }
      const int err = sent < 0 ? errno : EIO;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        slot->write_waiting = true;
        slot->socket.async_wait(udp::socket::wait_write,
                                [self = shared_from_this(), slot](error_code ec) {
                                  slot->write_waiting = false;
                                  if (!ec) self->flush(slot);
                                });
        break;
      }
      if (err == ECONNREFUSED && slot->connected && !refused_once) {
        refused_once = true;  // a stale ICMP error: consumed now, try again
        continue;
      }
      refused_once = false;
      Pending* p = slot->outbox[sent_total];
      p->queued = false;
      ++sent_total;
      fail_send(slot, p, error_code(err, boost::system::system_category()));
    }
    slot->outbox.erase(slot->outbox.begin(),
                       slot->outbox.begin() + static_cast<std::ptrdiff_t>(sent_total));
  }

  // Queues a query on its socket; the first in a round posts the flush.
  void enqueue(UdpSlot* slot, Pending* p) {
    p->queued = true;
    slot->outbox.push_back(p);
    if (!slot->flush_posted && !slot->write_waiting) {
      slot->flush_posted = true;
      asio::post(ex, [self = shared_from_this(), slot] { self->flush(slot); });
    }
  }

  // One UDP try to one server. `query` is the ldns-built wire form; its id is set here.
  awaitable<TryResult> udp_try(const Server& server, const std::string& label, BuiltQuery& query,
                               RType type, std::chrono::milliseconds timeout) {
    TryResult out;
    if (!try_acquire() && !co_await acquire_slow()) {
      out.response.status = Status::network_error;
      out.response.error = "resolver shutting down";
      out.response.server = label;
      co_return out;
    }
    struct Release {
      Impl* impl;
      ~Release() { impl->release(); }
    } release{this};

    error_code ec;
    const udp::endpoint endpoint(server.address, server.port);
    UdpSlot* slot = slot_for(endpoint, ec);
    if (!slot) {
      out.response.status = Status::network_error;
      out.response.error = "socket: " + ec.message();
      out.response.server = label;
      co_return out;
    }
    // Find an id not in use on this socket; with <= 2000 in flight of 65536 this ends fast.
    std::uint16_t id = ids.next();
    for (int i = 0; i < 64 && slot->pending.find(id); ++i) id = ids.next();
    if (slot->pending.find(id)) {
      out.response.status = Status::network_error;
      out.response.error = "no free query id";
      out.response.server = label;
      co_return out;
    }
    wire::set_id(query.wire, id);

    asio::steady_timer timer(ex);
    timer.expires_after(timeout);
    Pending p;
    p.server = endpoint;
    p.qname = &query.qname;
    p.qtype = type;
    p.timer = &timer;
    p.id = id;
    p.wire = query.wire;
    slot->pending.insert(id, &p);
    struct Unregister {  // also on coroutine destruction at shutdown
      UdpSlot* slot;
      std::uint16_t id;
      Pending* p;
      ~Unregister() {
        if (slot->pending.find(id) == p) slot->pending.erase(id);
        if (p->queued) std::erase(slot->outbox, p);  // never sent: the wire goes away
      }
    } unregister{slot, id, &p};

    const auto start = Clock::now();
    enqueue(slot, &p);  // sent with the others of this round (sendmmsg)
    if (!p.done) co_await timer.async_wait(use_tuple);
    if (p.queued) {  // woken at shutdown before the flush ran
      out.response.status = Status::network_error;
      out.response.error = "resolver shutting down";
      out.response.server = label;
      co_return out;
    }
    if (!p.done) {
      out.response.status = Status::timeout;
      out.response.error = "no answer within " + std::to_string(timeout.count()) + " ms";
      out.response.server = label;
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

  // Tries in turn, rotating over `servers`; TCP when the UDP answer was truncated. `servers`
  // and `labels` (their "addr#port", may be null) must outlive the call.
  awaitable<Response> run(const std::vector<Server>& servers,
                          const std::vector<std::string>* labels, const std::string& name,
                          RType type, QueryOptions q, bool normalized = false) {
    auto self = shared_from_this();
    Response last;
    // follow() passes names that are normalized already (its start, or canonical targets).
    std::optional<std::string> own_name;
    if (!normalized) {
      own_name = wire::normalize_query_name(name);
      if (!own_name) {
        last.status = Status::malformed;
        last.error = "invalid query name";
        co_return last;
      }
    }
    const std::string* qname = normalized ? &name : &*own_name;
    if (qname->empty()) {
      last.status = Status::malformed;
      last.error = "invalid query name";
      co_return last;
    }
    if (servers.empty()) {
      last.status = Status::network_error;
      last.error = "no servers configured";
      co_return last;
    }
    // Built with ldns once; each UDP try only patches the id.
    BuiltQuery query;
    {
      auto built = wire::build_query(0, *qname, type, q.recursion_desired, opts.edns_udp_size);
      auto header = built ? wire::scan(*built) : std::nullopt;
      if (!header) {
        last.status = Status::malformed;
        last.error = "cannot encode query name";
        co_return last;
      }
      query.wire = std::move(*built);
      query.qname = std::move(header->qname);
    }
    const int tries = std::clamp(q.tries, 1, 20);
    std::vector<std::string> own_labels;
    if (!labels || labels->size() != servers.size()) {
      own_labels.reserve(std::min<std::size_t>(servers.size(), static_cast<std::size_t>(tries)));
      for (std::size_t i = 0; i < servers.size() && i < static_cast<std::size_t>(tries); ++i) {
        own_labels.push_back(server_text(servers[i].address, servers[i].port));
      }
      labels = &own_labels;
    }
    for (int i = 0; i < tries; ++i) {
      const std::size_t idx = static_cast<std::size_t>(i) % servers.size();
      const Server& server = servers[idx];
      TryResult r = co_await udp_try(server, (*labels)[idx], query, type, q.timeout);
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
    // At most max_depth + 1 names: a vector beats a hash set at this size. Filled only once a
    // CNAME appears (most names have none), starting with `start`.
    std::vector<std::string> visited;
    std::string current = std::move(start);
    // Each round either ends or adds at least one name, so depth + 2 rounds suffice.
    for (std::size_t round = 0; round < max_depth + 2; ++round) {
      Response r =
          co_await run(opts.servers, &server_labels, current, type, opts.query,
                       !current.empty() && current.find('\\') == std::string::npos);
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
        if (visited.empty()) visited.push_back(current);  // still the start: no step yet
        if (std::find(visited.begin(), visited.end(), it->data) != visited.end()) {
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
        visited.push_back(current);
        c.names.push_back(current);
        advanced = true;
      }
      for (auto& rec : r.answers) {
        if (rec.type == type && rec.owner == current) c.data.push_back(std::move(rec.data));
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
    // parse_address() without its string copy: the data are NUL-free canonical text.
    auto parse = [](const std::string& d) -> std::optional<asio::ip::address> {
      error_code ec;
      auto a = asio::ip::make_address(d.c_str(), ec);
      if (ec) return std::nullopt;
      return a;
    };
    for (const auto& d : a.data) {
      if (auto addr = parse(d); addr && addr->is_v4()) add_unique(out.ipv4, *addr);
    }
    for (const auto& d : aaaa.data) {
      auto addr = parse(d);
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
    for (auto& group : groups) {
      for (auto& s : group->slots) {
        s->socket.close(ignored);
        s->pending.for_each([](Pending* p) { p->timer->cancel(); });
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

// Each call's own coroutine frame holds a reference to the engine, which keeps it alive even
// if the Resolver goes away meanwhile.
awaitable<Response> Resolver::query(std::string name, RType type) {
  return [](std::shared_ptr<Impl> impl, std::string n, RType t) -> awaitable<Response> {
    co_return co_await impl->run(impl->opts.servers, &impl->server_labels, n, t,
                                 impl->opts.query);
  }(impl_, std::move(name), type);
}

awaitable<Response> Resolver::query_server(Server server, std::string name, RType type,
                                           QueryOptions options) {
  return [](std::shared_ptr<Impl> impl, std::vector<Server> one, std::string n, RType t,
            QueryOptions o) -> awaitable<Response> {
    co_return co_await impl->run(one, nullptr, n, t, o);
  }(impl_, std::vector<Server>(1, server), std::move(name), type, options);
}

awaitable<AddressLookup> Resolver::addresses(std::string host) {
  return impl_->addresses(std::move(host));  // holds `self` in its own frame
}

awaitable<AxfrResult> Resolver::axfr(Server server, std::string zone) {
  return impl_->axfr(server, std::move(zone));  // holds `self` in its own frame
}

}  // namespace edusight::dns
