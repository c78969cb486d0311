#pragma once
// A Forward server for tests, written with the codec to docs/collector-protocol.md: HELO,
// PING digest check, PONG with the server digest, acks. Loopback only. Behaviour switches let
// tests make it refuse, lie about its digest, stay silent or withhold acks.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "collector/forward/client.hpp"
#include "collector/forward/codec.hpp"

namespace edusight::forward::testing {

struct FakeCollectorOptions {
  std::string key = "s3cret";
  std::string hostname = "collector.test";
  bool refuse = false;        // PONG false for everyone
  bool bogus_digest = false;  // PONG true with a digest that proves nothing
  bool silent = false;        // never sends HELO
  bool never_ack = false;
  std::size_t ack_batch = 1;  // acks are held until this many chunks arrived
  boost::asio::ssl::context* tls = nullptr;
};

struct Received {
  std::string tag;
  std::vector<Entry> entries;
  std::string chunk;
};

class FakeCollector {
 public:
  FakeCollector(boost::asio::io_context& io, FakeCollectorOptions options)
      : options_(std::move(options)),
        acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    boost::asio::co_spawn(io, accept_loop(), boost::asio::detached);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    std::lock_guard lock(mutex_);
    for (auto& s : sessions_) {
      if (auto p = s.lock()) p->stream.lowest_layer().close(ignored);
    }
  }

  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<std::string> ping_hostnames() const {
    std::lock_guard lock(mutex_);
    return ping_hostnames_;
  }
  int connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  std::size_t count_tag(std::string_view tag) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : received_) n += r.tag == tag;
    return n;
  }

 private:
  struct Session {
    Session(boost::asio::ip::tcp::socket s, boost::asio::ssl::context* ctx)
        : stream(std::move(s), ctx ? *ctx : dummy()), tls(ctx != nullptr) {}
    static boost::asio::ssl::context& dummy() {
      static boost::asio::ssl::context c(boost::asio::ssl::context::tls_server);
      return c;
    }
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream;
    bool tls;
  };

  static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

  boost::asio::awaitable<void> accept_loop() {
    for (;;) {  // ends when the acceptor is closed
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      auto s = std::make_shared<Session>(std::move(socket), options_.tls);
      {
        std::lock_guard lock(mutex_);
        ++connections_;
        sessions_.push_back(s);
      }
      boost::asio::co_spawn(acceptor_.get_executor(), serve(s), boost::asio::detached);
    }
  }

  static boost::asio::awaitable<bool> write(std::shared_ptr<Session> s, std::string bytes) {
    boost::system::error_code ec;
    std::size_t n = 0;
    if (s->tls)
      std::tie(ec, n) =
          co_await boost::asio::async_write(s->stream, boost::asio::buffer(bytes), use_tuple);
    else
      std::tie(ec, n) = co_await boost::asio::async_write(s->stream.next_layer(),
                                                          boost::asio::buffer(bytes), use_tuple);
    co_return !ec;
  }

  static boost::asio::awaitable<bool> read(std::shared_ptr<Session> s, Decoder* decoder) {
    char buf[4096];
    boost::system::error_code ec;
    std::size_t n = 0;
    if (s->tls)
      std::tie(ec, n) = co_await s->stream.async_read_some(boost::asio::buffer(buf), use_tuple);
    else
      std::tie(ec, n) =
          co_await s->stream.next_layer().async_read_some(boost::asio::buffer(buf), use_tuple);
    if (ec) co_return false;
    decoder->feed(buf, n);
    co_return true;
  }

  boost::asio::awaitable<void> serve(std::shared_ptr<Session> s) {
    if (s->tls) {
      auto [ec] =
          co_await s->stream.async_handshake(boost::asio::ssl::stream_base::server, use_tuple);
      if (ec) co_return;
    }
    if (options_.silent) {
      Decoder ignored;
      while (co_await read(s, &ignored)) {
      }
      co_return;
    }
    const std::string nonce = "0123456789abcdef";
    Helo helo;
    helo.nonce = nonce;
    if (!co_await write(s, encode_helo(helo))) co_return;
    Decoder decoder;
    std::string why;
    std::vector<std::string> pending_acks;
    bool authenticated = false;
    for (;;) {  // ends when the client closes
      auto m = decoder.next(&why);
      if (!m) {
        if (decoder.failed()) co_return;
        if (!co_await read(s, &decoder)) co_return;
        continue;
      }
      if (auto* ping = std::get_if<Ping>(&*m)) {
        {
          std::lock_guard lock(mutex_);
          ping_hostnames_.push_back(ping->hostname);
        }
        const bool ok = ping->shared_key_hexdigest ==
                        sha512_hex(ping->shared_key_salt + ping->hostname + nonce + options_.key);
        Pong pong;
        pong.server_hostname = options_.hostname;
        if (!ok || options_.refuse) {
          pong.auth_result = false;
          pong.reason = ok ? "agent revoked" : "shared key mismatch";
          co_await write(s, encode_pong(pong));
          boost::system::error_code ignored;
          s->stream.lowest_layer().close(ignored);
          co_return;
        }
        pong.auth_result = true;
        pong.shared_key_hexdigest =
            options_.bogus_digest
                ? std::string(128, '0')
                : sha512_hex(ping->shared_key_salt + options_.hostname + nonce + options_.key);
        if (!co_await write(s, encode_pong(pong))) co_return;
        authenticated = true;
        continue;
      }
      auto* event = std::get_if<EventMessage>(&*m);
      if (!event || !authenticated) co_return;
      {
        std::lock_guard lock(mutex_);
        received_.push_back({event->tag, event->entries, event->options.chunk.value_or("")});
      }
      if (options_.never_ack || !event->options.chunk) continue;
      pending_acks.push_back(*event->options.chunk);
      if (pending_acks.size() < options_.ack_batch) continue;
      std::string acks;
      for (const auto& id : pending_acks) acks += encode_ack(id);
      pending_acks.clear();
      if (!co_await write(s, acks)) co_return;
    }
  }

  FakeCollectorOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  mutable std::mutex mutex_;
  std::vector<Received> received_;
  std::vector<std::string> ping_hostnames_;
  std::vector<std::weak_ptr<Session>> sessions_;
  int connections_ = 0;
};

// The fake collector on its own thread, for components that run their own event loop.
class CollectorThread {
 public:
  explicit CollectorThread(FakeCollectorOptions o = {}) : collector_(io_, std::move(o)) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~CollectorThread() {
    boost::asio::post(io_, [this] {
      collector_.stop();
      io_.stop();
    });
    thread_.join();
  }
  FakeCollector& collector() { return collector_; }

 private:
  boost::asio::io_context io_;
  FakeCollector collector_;
  std::thread thread_;
};

}  // namespace edusight::forward::testing
