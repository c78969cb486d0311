#include "client.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cstdio>
#include <tuple>
#include <utility>

#include "tls_trust.hpp"

namespace edusight::forward {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::ok:
      return "ok";
    case Errc::resolve_failed:
      return "resolve_failed";
    case Errc::connect_failed:
      return "connect_failed";
    case Errc::timeout:
      return "timeout";
    case Errc::tls_failed:
      return "tls_failed";
    case Errc::pin_mismatch:
      return "pin_mismatch";
    case Errc::closed:
      return "closed";
    case Errc::protocol_error:
      return "protocol_error";
    case Errc::auth_refused:
      return "auth_refused";
    case Errc::server_unverified:
      return "server_unverified";
    case Errc::ack_mismatch:
      return "ack_mismatch";
    case Errc::window_full:
      return "window_full";
    case Errc::not_connected:
      return "not_connected";
    case Errc::bad_options:
      return "bad_options";
  }
  return "unknown";
}

std::string Error::message() const {
  std::string m(to_string(code));
  if (!detail.empty()) m += ": " + detail;
  return m;
}

// The connection's I/O objects, shared with the deadline's handler (a cancelled wait still
// completes a moment later and must find them alive).
struct Client::State {
  State(const asio::any_io_executor& ex, std::unique_ptr<ssl::context> c, bool use_tls)
      : ctx(std::move(c)), stream(ex, *ctx), resolver(ex), deadline(ex), tls(use_tls) {}
  std::unique_ptr<ssl::context> ctx;
  ssl::stream<tcp::socket> stream;
  tcp::resolver resolver;
  asio::steady_timer deadline;
  bool tls;
  bool open = false;
  bool expired = false;
  std::uint64_t generation = 0;  // a stale expiry must not close a later step's socket
};

void Client::arm(steady::time_point at) {
  auto s = state_;
  const auto gen = ++s->generation;
  s->expired = false;
  s->deadline.expires_at(at);
  s->deadline.async_wait([s, gen](boost::system::error_code ec) {
    if (ec || gen != s->generation) return;  // cancelled, or a later step owns the timer now
    s->expired = true;
    s->resolver.cancel();
    s->stream.lowest_layer().close(ec);
  });
}

void Client::disarm() {
  ++state_->generation;
  state_->deadline.cancel();
}

Client::Client(asio::any_io_executor executor, ClientOptions options, Random& random)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      random_(random),
      acks_(options_.max_ack_bytes) {}

Client::~Client() {
  close();
}

bool Client::connected() const {
  return state_ && state_->open;
}

void Client::close() {
  in_flight_.clear();
  if (!state_) return;
  disarm();
  boost::system::error_code ignored;
  // No TLS close_notify exchange: waiting for the peer's would only cost time.
  state_->stream.lowest_layer().close(ignored);
  state_->open = false;
}

Error Client::fail(Errc code, std::string detail) {
  close();
  return Error{code, std::move(detail)};
}

asio::awaitable<Error> Client::connect() {
  close();
  server_hostname_.clear();
  acks_ = AckDecoder(options_.max_ack_bytes);
  auto err = co_await connect_impl();
  if (err) {
    close();
    co_return err;
  }
  err = co_await handshake();
  if (err) close();
  co_return err;
}

asio::awaitable<Error> Client::connect_impl() {
  if (options_.host.empty() || options_.agent_id.empty() || options_.shared_key.empty())
    co_return Error{Errc::bad_options, "host, agent id and key are required"};
  const bool tls = !options_.plaintext;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  const TlsTrust trust{options_.ca_file, options_.pin_sha256,
                       options_.server_name.empty() ? options_.host : options_.server_name};
  if (tls) {
    if (auto err = prepare_client_context(*ctx, trust); err) co_return err;
  }
  state_ = std::make_shared<State>(executor_, std::move(ctx), tls);
  State& s = *state_;
  if (tls) {
    if (auto err = prepare_client_connection(s.stream.native_handle(), trust); err) co_return err;
  }

  arm(steady::now() + options_.connect_timeout);
  auto [rec, endpoints] =
      co_await s.resolver.async_resolve(options_.host, std::to_string(options_.port), use_tuple);
  if (rec || s.expired) {
    disarm();
    co_return Error{s.expired ? Errc::timeout : Errc::resolve_failed,
                    options_.host + ": " + (s.expired ? "resolve timed out" : rec.message())};
  }
  arm(steady::now() + options_.connect_timeout);
  auto [cec, ep] = co_await asio::async_connect(s.stream.lowest_layer(), endpoints, use_tuple);
  if (cec || s.expired) {
    disarm();
    co_return Error{s.expired ? Errc::timeout : Errc::connect_failed,
                    options_.host + ":" + std::to_string(options_.port) + ": " +
                        (s.expired ? "connect timed out" : cec.message())};
  }
  boost::system::error_code ignored;
  s.stream.lowest_layer().set_option(tcp::no_delay(true), ignored);
  if (tls) {
    arm(steady::now() + options_.connect_timeout);
    auto [hec] = co_await s.stream.async_handshake(ssl::stream_base::client, use_tuple);
    disarm();
    if (hec || s.expired) {
      const std::string why =
          s.expired ? "TLS handshake timed out" : handshake_failure(s.stream.native_handle(), hec);
      co_return Error{s.expired ? Errc::timeout : Errc::tls_failed, why};
    }
    if (auto err = check_pin(s.stream.native_handle(), trust); err) co_return err;
  }
  disarm();
  s.open = true;
  co_return Error{};
}

asio::awaitable<Error> Client::read_more(steady::time_point deadline, std::string* out) {
  State& s = *state_;
  std::array<char, 4096> buf;
  arm(deadline);
  boost::system::error_code ec;
  std::size_t n = 0;
  if (s.tls) {
    std::tie(ec, n) = co_await s.stream.async_read_some(asio::buffer(buf), use_tuple);
  } else {
    std::tie(ec, n) = co_await s.stream.next_layer().async_read_some(asio::buffer(buf), use_tuple);
  }
  const bool expired = s.expired;
  disarm();
  if (expired) co_return Error{Errc::timeout, "no answer from the server in time"};
  if (ec) co_return Error{Errc::closed, ec == asio::error::eof ? "server closed" : ec.message()};
  out->assign(buf.data(), n);
  co_return Error{};
}

asio::awaitable<Error> Client::write_all(std::string bytes, std::chrono::milliseconds timeout) {
  State& s = *state_;
  arm(steady::now() + timeout);
  boost::system::error_code ec;
  std::size_t n = 0;
  if (s.tls) {
    std::tie(ec, n) = co_await asio::async_write(s.stream, asio::buffer(bytes), use_tuple);
  } else {
    std::tie(ec, n) =
        co_await asio::async_write(s.stream.next_layer(), asio::buffer(bytes), use_tuple);
  }
  const bool expired = s.expired;
  disarm();
  if (expired) co_return Error{Errc::timeout, "write timed out"};
  if (ec) co_return Error{Errc::closed, "write: " + ec.message()};
  co_return Error{};
}

asio::awaitable<Error> Client::handshake() {
  const auto deadline = steady::now() + options_.handshake_timeout;
  Decoder decoder;
  std::string bytes, why;
  Errc failure = Errc::protocol_error;
  // Reads until one whole message; bounded by the deadline (which closes the socket).
  auto next_message = [&]() -> asio::awaitable<std::optional<Message>> {
    for (;;) {
      auto m = decoder.next(&why);
      if (m || !why.empty()) co_return m;
      auto err = co_await read_more(deadline, &bytes);
      if (err) {
        failure = err.code;
        why = err.detail;
        co_return std::nullopt;
      }
      decoder.feed(bytes);
    }
  };

  auto helo_msg = co_await next_message();
  if (!helo_msg) co_return fail(failure, "waiting for HELO: " + why);
  const auto* helo = std::get_if<Helo>(&*helo_msg);
  if (!helo) co_return fail(Errc::protocol_error, "the server did not start with HELO");

  const std::string salt = random_hex(random_, 16);
  Ping ping;
  ping.hostname = options_.agent_id;
  ping.shared_key_salt = salt;
  ping.shared_key_hexdigest =
      sha512_hex(salt + options_.agent_id + helo->nonce + options_.shared_key);
  const std::string nonce = helo->nonce;
  if (auto err = co_await write_all(encode_ping(ping), options_.handshake_timeout); err)
    co_return fail(err.code, "sending PING: " + err.detail);

  auto pong_msg = co_await next_message();
  if (!pong_msg) co_return fail(failure, "waiting for PONG: " + why);
  const auto* pong = std::get_if<Pong>(&*pong_msg);
  if (!pong) co_return fail(Errc::protocol_error, "the server did not answer PING with PONG");
  if (!pong->auth_result)
    co_return fail(Errc::auth_refused, pong->reason.empty() ? "no reason given" : pong->reason);
  const auto expected = sha512_hex(salt + pong->server_hostname + nonce + options_.shared_key);
  if (normalize_pin(pong->shared_key_hexdigest) != expected)
    co_return fail(Errc::server_unverified,
                   "server '" + pong->server_hostname + "' does not know this agent's key");
  if (decoder.buffered() > 0) co_return fail(Errc::protocol_error, "unexpected bytes after PONG");
  server_hostname_ = pong->server_hostname;
  co_return Error{};
}

asio::awaitable<Error> Client::write_encoded(std::string message, std::string chunk_id) {
  if (!connected()) co_return Error{Errc::not_connected, {}};
  if (window_full()) co_return Error{Errc::window_full, {}};
  const auto written_at = steady::now();
  auto err = co_await write_all(std::move(message), options_.ack_timeout);
  if (err) co_return fail(err.code, err.detail);
  in_flight_.push_back({std::move(chunk_id), written_at});
  co_return Error{};
}

asio::awaitable<Error> Client::write_chunk(std::string_view tag, const std::vector<Entry>& entries,
                                           std::string chunk_id) {
  // Encoded before the first suspension, so the caller's tag and entries are not kept.
  auto message = encode_packed_forward(tag, entries, chunk_id);
  co_return co_await write_encoded(std::move(message), std::move(chunk_id));
}

asio::awaitable<AckResult> Client::next_ack() {
  AckResult r;
  if (in_flight_.empty()) {
    r.error = Error{Errc::bad_options, "no chunk in flight"};
    co_return r;
  }
  if (!connected()) {
    r.error = fail(Errc::not_connected, {});
    co_return r;
  }
  const auto deadline = in_flight_.front().written_at + options_.ack_timeout;
  std::string bytes, why;
  for (;;) {  // bounded by the deadline, which closes the socket
    auto id = acks_.next(&why);
    if (id) {
      if (*id != in_flight_.front().chunk_id) {
        r.error = fail(Errc::ack_mismatch,
                       "ack for '" + *id + "', expected '" + in_flight_.front().chunk_id + "'");
        co_return r;
      }
      r.chunk_id = std::move(*id);
      in_flight_.erase(in_flight_.begin());
      co_return r;
    }
    if (!why.empty()) {
      r.error = fail(Errc::protocol_error, why);
      co_return r;
    }
    auto err = co_await read_more(deadline, &bytes);
    if (!err && (in_flight_.empty() || !connected()))  // close() ran while this read was pending
      err = Error{Errc::not_connected, "closed while waiting for an ack"};
    if (err) {
      if (err.code == Errc::timeout && !in_flight_.empty())
        err.detail = "no ack for chunk " + in_flight_.front().chunk_id;
      r.error = fail(err.code, err.detail);
      co_return r;
    }
    acks_.feed(bytes);
  }
}

asio::awaitable<Error> Client::send_encoded(std::string message, std::string chunk_id) {
  // Make room first: the window is shared with chunks written before.
  while (window_full()) {
    auto ack = co_await next_ack();
    if (ack.error) co_return ack.error;
  }
  const std::string id = chunk_id;
  if (auto err = co_await write_encoded(std::move(message), std::move(chunk_id)); err)
    co_return err;
  while (!in_flight_.empty()) {  // at most max_in_flight rounds
    auto ack = co_await next_ack();
    if (ack.error) co_return ack.error;
    if (ack.chunk_id == id) break;
  }
  co_return Error{};
}

asio::awaitable<Error> Client::send_chunk(std::string_view tag, const std::vector<Entry>& entries,
                                          std::string chunk_id) {
  auto message = encode_packed_forward(tag, entries, chunk_id);
  co_return co_await send_encoded(std::move(message), std::move(chunk_id));
}

std::string make_chunk_id(Random& random) {
  unsigned char raw[16];
  for (auto& b : raw) b = static_cast<unsigned char>(random.below(256));
  unsigned char out[4 * ((sizeof raw + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(out, raw, sizeof raw);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

}  // namespace edusight::forward
