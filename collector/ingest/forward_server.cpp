#include "collector/ingest/forward_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <optional>
#include <variant>

#include "collector/ingest/records.hpp"
#include "edusight/core/crypto.hpp"

namespace edusight::collector {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::ip::tcp;
using Steady = std::chrono::steady_clock;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

struct ForwardServer::Session {
  explicit Session(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {
    timer.expires_at(Steady::time_point::max());
  }
  tcp::socket socket;
  asio::steady_timer timer;  // the watchdog's; moving the deadline re-arms it
  std::optional<ssl::stream<tcp::socket&>> tls;
  std::string peer;
  std::string agent;   // set once the handshake succeeds
  std::string campus;  // the identity's campus: non-empty for a federated campus collector
  // The watchdog closes the socket when this passes; max() while the store has the turn.
  Steady::time_point deadline = Steady::time_point::max();
  bool timed_out = false;
  std::uint64_t id = 0;

  void set_deadline(Steady::time_point t) {
    deadline = t;
    timer.expires_at(t);  // wakes the watchdog, which waits again for the new time
  }

  void close() {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    timer.cancel();
  }
};

namespace {

using SessionPtr = std::shared_ptr<ForwardServer::Session>;

awaitable<void> watchdog(SessionPtr s) {
  while (s->socket.is_open()) {
    co_await s->timer.async_wait(kUse);
    if (s->socket.is_open() && s->deadline <= Steady::now()) {
      s->timed_out = true;
      s->close();
    }
  }
}

awaitable<std::size_t> read_some(ForwardServer::Session& s, char* data, std::size_t size,
                                 boost::system::error_code& ec) {
  std::size_t n = 0;
  if (s.tls) {
    std::tie(ec, n) = co_await s.tls->async_read_some(asio::buffer(data, size), kUse);
  } else {
    std::tie(ec, n) = co_await s.socket.async_read_some(asio::buffer(data, size), kUse);
  }
  co_return n;
}

awaitable<void> write_all(ForwardServer::Session& s, const std::string& bytes,
                          boost::system::error_code& ec) {
  std::size_t n = 0;
  if (s.tls) {
    std::tie(ec, n) = co_await asio::async_write(*s.tls, asio::buffer(bytes), kUse);
  } else {
    std::tie(ec, n) = co_await asio::async_write(s.socket, asio::buffer(bytes), kUse);
  }
}

std::string hex_id(Random& random) {
  return random_hex(random, 16);
}

}  // namespace

ForwardServer::ForwardServer(asio::any_io_executor executor, ForwardServerConfig config,
                             StoreWriter& writer, metrics::Registry& metrics, Random& random)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      writer_(writer),
      random_(random),
      connections_open_(
          metrics.gauge("edusight_forward_connections", "Open Forward connections.").with()),
      connections_total_(
          metrics.counter("edusight_forward_connections_total", "Forward connections accepted.")
              .with()),
      connections_refused_(metrics
                               .counter("edusight_forward_connections_refused_total",
                                        "Connections refused at the connection limit.")
                               .with()),
      closed_(metrics.counter("edusight_forward_connections_closed_total",
                              "Forward connections closed, by reason.")),
      auth_failures_(metrics
                         .counter("edusight_forward_auth_failures_total",
                                  "Handshakes refused (unknown or revoked agent, wrong key).")
                         .with()),
      messages_(
          metrics.counter("edusight_forward_messages_total", "Forward event messages received.")
              .with()),
      bad_messages_(metrics
                        .counter("edusight_forward_bad_messages_total",
                                 "Messages that could not be decoded (skipped).")
                        .with()),
      bad_records_(metrics
                       .counter("edusight_forward_bad_records_total",
                                "Records that are not valid findings (skipped, logged).")
                       .with()),
      foreign_events_(metrics
                          .counter("edusight_forward_foreign_events_total",
                                   "Events with tags the collector does not store.")
                          .with()),
      acks_(metrics.counter("edusight_forward_acks_total", "Chunks acknowledged.").with()) {
  permits_ = std::max<std::size_t>(1, config_.max_messages_in_flight);
}

// All on the server's one io thread, so a counter and a queue of parked timers suffice.
awaitable<void> ForwardServer::acquire_permit() {
  if (permits_ > 0 && waiters_.empty()) {
    --permits_;
    co_return;
  }
  asio::steady_timer parked(executor_, Steady::time_point::max());
  waiters_.push_back(&parked);
  co_await parked.async_wait(kUse);  // release_permit() cancels it, handing its permit over
}

void ForwardServer::release_permit() {
  if (waiters_.empty()) {
    ++permits_;
    return;
  }
  asio::steady_timer* next = waiters_.front();
  waiters_.pop_front();
  next->cancel();
}

namespace {
// Returns the permit however the message's handling ends.
struct PermitGuard {
  std::function<void()> release;
  ~PermitGuard() {
    if (release) release();
  }
};
}  // namespace

ForwardServer::~ForwardServer() = default;

void ForwardServer::start() {
  for (const tcp::endpoint& ep : config_.listen) {
    auto acceptor = std::make_unique<tcp::acceptor>(executor_);
    acceptor->open(ep.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    if (ep.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true));
    boost::system::error_code ec;
    acceptor->bind(ep, ec);
    if (ec) {
      throw std::runtime_error("forward listener cannot bind " + ep.address().to_string() + ":" +
                               std::to_string(ep.port()) + ": " + ec.message());
    }
    acceptor->listen(asio::socket_base::max_listen_connections);
    acceptors_.push_back(std::move(acceptor));
  }
  for (auto& a : acceptors_) {
    tcp::acceptor* acceptor = a.get();
    const auto ep = acceptor->local_endpoint();
    spdlog::info("forward: listening on {}:{} ({})", ep.address().to_string(), ep.port(),
                 config_.tls ? "TLS" : "plaintext");
    asio::co_spawn(executor_, accept_loop(*acceptor), [ep](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          spdlog::error("forward: accept loop on port {} failed: {}", ep.port(), x.what());
        }
      } else {
        spdlog::debug("forward: accept loop on port {} ended", ep.port());
      }
    });
  }
}

void ForwardServer::stop() {
  stopped_ = true;
  for (auto& a : acceptors_) {
    boost::system::error_code ignored;
    a->close(ignored);
  }
  for (auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) s->close();
  }
  // Parked sessions wake with a permit, find their socket closed and end.
  while (!waiters_.empty()) release_permit();
}

std::size_t ForwardServer::close_agent(const std::string& agent) {
  std::size_t closed = 0;
  for (auto& [id, weak] : sessions_) {
    auto s = weak.lock();
    if (s && s->agent == agent && s->socket.is_open()) {
      spdlog::warn("forward: closing {} (agent {}): the agent was revoked", s->peer, agent);
      s->close();
      ++closed;
    }
  }
  return closed;
}

std::vector<tcp::endpoint> ForwardServer::local_endpoints() const {
  std::vector<tcp::endpoint> out;
  for (const auto& a : acceptors_) {
    boost::system::error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) out.push_back(ep);
  }
  return out;
}

awaitable<void> ForwardServer::accept_loop(tcp::acceptor& acceptor) {
  while (!stopped_) {
    auto [ec, socket] = co_await acceptor.async_accept(kUse);
    if (ec) {
      if (stopped_ || ec == asio::error::operation_aborted) co_return;
      // Out of descriptors and the like: back off briefly instead of spinning.
      spdlog::warn("forward: accept failed: {}", ec.message());
      asio::steady_timer pause(executor_, std::chrono::milliseconds(100));
      co_await pause.async_wait(kUse);
      continue;
    }
    if (sessions_.size() >= config_.max_connections) {
      connections_refused_.add();
      spdlog::warn("forward: connection limit ({}) reached, refusing a connection",
                   config_.max_connections);
      continue;  // the socket closes as it goes out of scope
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<Session>(std::move(socket));
    boost::system::error_code pec;
    const auto remote = session->socket.remote_endpoint(pec);
    if (pec) {
      session->peer = "?";
    } else {
      const std::string a = remote.address().to_string();
      session->peer =
          (remote.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(remote.port());
    }
    session->id = next_session_++;
    sessions_[session->id] = session;
    connections_total_.add();
    connections_open_.set(static_cast<std::int64_t>(sessions_.size()));
    asio::co_spawn(executor_, watchdog(session), [peer = session->peer](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("forward: watchdog of {} failed: {}", peer, x.what());
      }
    });
    const std::string peer = session->peer;
    const std::uint64_t id = session->id;
    asio::co_spawn(executor_, serve(session), [this, peer, id](std::exception_ptr e) {
      sessions_.erase(id);
      connections_open_.set(static_cast<std::int64_t>(sessions_.size()));
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          spdlog::error("forward: connection from {} failed: {}", peer, x.what());
        }
      }
    });
  }
}

awaitable<void> ForwardServer::serve(std::shared_ptr<Session> s) {
  std::string reason = "closed by peer";
  auto finish = [&](const std::string& why, bool problem) {
    reason = why;
    closed_.with({{"reason", why.substr(0, why.find(':'))}}).add();
    if (problem) {
      spdlog::warn("forward: closing {}{}: {}", s->peer,
                   s->agent.empty() ? "" : " (agent " + s->agent + ")", why);
    } else {
      spdlog::debug("forward: {} closed: {}", s->peer, why);
    }
    s->close();
  };
  auto timeout_or = [&](const boost::system::error_code& ec) {
    return s->timed_out ? std::string("timeout") : ec.message();
  };
  boost::system::error_code ec;

  s->set_deadline(Steady::now() + config_.handshake_timeout);
  if (config_.tls) {
    s->tls.emplace(s->socket, *config_.tls);
    std::tie(ec) = co_await s->tls->async_handshake(ssl::stream_base::server, kUse);
    if (ec) {
      finish("tls handshake: " + timeout_or(ec), true);
      co_return;
    }
  }

  // HELO -> PING -> PONG (docs/collector-protocol.md).
  // Messages are built before each co_await: GCC 12 miscompiles braced temporaries there.
  const std::string nonce = random_bytes(random_, 16);
  forward::Helo helo;
  helo.nonce = nonce;
  const std::string helo_bytes = forward::encode_helo(helo);
  co_await write_all(*s, helo_bytes, ec);
  if (ec) {
    finish("handshake write: " + timeout_or(ec), true);
    co_return;
  }
  forward::Decoder decoder(config_.limits);
  // A TLS record is at most 16 KiB, so a bigger buffer would only cost idle connections.
  std::vector<char> buffer(16 * 1024);
  std::optional<forward::Ping> ping;
  while (!ping) {
    std::string error;
    auto m = decoder.next(&error);
    if (m) {
      if (!std::holds_alternative<forward::Ping>(*m)) {
        auth_failures_.add();
        finish("handshake: expected PING", true);
        co_return;
      }
      ping = std::get<forward::Ping>(std::move(*m));
      break;
    }
    if (decoder.failed() || !error.empty()) {
      auth_failures_.add();
      finish("handshake: " + error, true);
      co_return;
    }
    const std::size_t n = co_await read_some(*s, buffer.data(), buffer.size(), ec);
    if (ec) {
      finish("handshake read: " + timeout_or(ec), ec != asio::error::eof);
      co_return;
    }
    decoder.feed(buffer.data(), n);
  }

  s->set_deadline(Steady::time_point::max());  // the lookup waits on the store, not the agent
  AgentLookup lookup = co_await writer_.async_find_agent(ping->hostname, asio::use_awaitable);
  s->set_deadline(Steady::now() + config_.handshake_timeout);
  std::string refusal;
  if (!lookup.ok) {
    refusal = "agent directory unavailable";
    spdlog::error("forward: agent lookup for {} failed: {}", ping->hostname, lookup.error);
  } else if (!lookup.agent) {
    refusal = "unknown agent";
  } else if (lookup.agent->revoked) {
    refusal = "agent revoked";
  } else if (!equal_constant_time(
                 ping->shared_key_hexdigest,
                 sha512_hex(ping->shared_key_salt + ping->hostname + nonce + lookup.agent->key))) {
    refusal = "shared key mismatch";
  }
  if (!refusal.empty()) {
    auth_failures_.add();
    forward::Pong no;
    no.reason = refusal;
    no.server_hostname = config_.hostname;
    const std::string no_bytes = forward::encode_pong(no);
    co_await write_all(*s, no_bytes, ec);
    finish("auth: " + refusal + " (client hostname \"" + ping->hostname + "\")", true);
    co_return;
  }
  s->agent = ping->hostname;
  s->campus = lookup.agent->campus;
  forward::Pong yes;
  yes.auth_result = true;
  yes.server_hostname = config_.hostname;
  yes.shared_key_hexdigest =
      sha512_hex(ping->shared_key_salt + config_.hostname + nonce + lookup.agent->key);
  const std::string yes_bytes = forward::encode_pong(yes);
  co_await write_all(*s, yes_bytes, ec);
  if (ec) {
    finish("handshake write: " + timeout_or(ec), true);
    co_return;
  }
  if (s->campus.empty()) {
    spdlog::debug("forward: agent {} connected from {}", s->agent, s->peer);
  } else {
    spdlog::info("forward: campus collector {} ({}) connected from {}", s->agent, s->campus,
                 s->peer);
  }

  // Event messages until the agent goes away. Each message is applied before the next is
  // read: acks stay in order and a slow store slows the reader (backpressure).
  while (true) {
    // Decoding and storing a message happen under a permit (see max_messages_in_flight).
    PermitGuard permit;
    if (decoder.buffered() > 0) {
      s->set_deadline(Steady::time_point::max());
      co_await acquire_permit();
      permit.release = [this] { release_permit(); };
    }
    std::string error;
    auto m = decoder.next(&error);
    if (!m) {
      if (decoder.failed()) {
        bad_messages_.add();
        finish("protocol: " + error, true);
        co_return;
      }
      if (!error.empty()) {
        bad_messages_.add();
        spdlog::warn("forward: skipped a message from agent {} ({}): {}", s->agent, s->peer, error);
        continue;
      }
      if (permit.release) {
        permit.release();
        permit.release = nullptr;
      }
      if (decoder.buffered() == 0) decoder.release_memory();
      s->set_deadline(Steady::now() + config_.idle_timeout);
      const std::size_t n = co_await read_some(*s, buffer.data(), buffer.size(), ec);
      if (ec) {
        const bool quiet = ec == asio::error::eof || ec == ssl::error::stream_truncated;
        finish(quiet ? "closed by peer" : "read: " + timeout_or(ec), !quiet);
        co_return;
      }
      decoder.feed(buffer.data(), n);
      continue;
    }
    if (!std::holds_alternative<forward::EventMessage>(*m)) {
      bad_messages_.add();
      finish("protocol: handshake message after the handshake", true);
      co_return;
    }
    auto& message = std::get<forward::EventMessage>(*m);
    messages_.add();
    const std::string chunk = message.options.chunk ? *message.options.chunk : hex_id(random_);
    Conversion conversion = convert(message, s->agent, chunk, s->peer, s->campus);
    for (const RecordProblem& p : conversion.problems) {
      bad_records_.add();
      spdlog::warn("forward: agent {} chunk {} record {} skipped: {}", s->agent, chunk, p.index,
                   p.error);
    }
    foreign_events_.add(static_cast<std::int64_t>(conversion.foreign_events));
    for (Heartbeat& h : conversion.heartbeats) writer_.record_heartbeat(std::move(h));

    s->set_deadline(Steady::time_point::max());
    for (Batch& batch : conversion.batches) {
      const std::string chunk_id = batch.chunk_id;
      Result r = co_await writer_.async_commit(std::move(batch), asio::use_awaitable);
      if (!r.ok) {
        // Not acknowledged: the agent keeps the chunk and sends it again later.
        finish("store: chunk " + chunk_id + ": " + r.error, true);
        co_return;
      }
    }
    if (message.options.chunk) {
      s->set_deadline(Steady::now() + config_.write_timeout);
      const std::string ack = forward::encode_ack(*message.options.chunk);
      co_await write_all(*s, ack, ec);
      if (ec) {
        finish("ack write: " + timeout_or(ec), true);
        co_return;
      }
      acks_.add();
    }
  }
}

}  // namespace edusight::collector
