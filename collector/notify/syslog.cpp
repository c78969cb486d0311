#include "collector/notify/syslog.hpp"

#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "edusight/core/config.hpp"  // ConfigError

namespace edusight::collector::notify {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using steady = std::chrono::steady_clock;
using boost::system::error_code;

struct SyslogChannel::Io {
  asio::io_context io;
  ssl::context ctx{ssl::context::tls_client};
  std::optional<ssl::stream<tcp::socket>> stream;  // empty while disconnected

  // Starts one asynchronous step and runs the loop until it completes or `deadline`; on
  // expiry `cancel` aborts it and the aborted handler is drained before returning timed_out.
  template <class Start, class Cancel>
  error_code run(steady::time_point deadline, Start start, Cancel cancel) {
    error_code result = asio::error::would_block;
    start([&result](error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run_until(deadline);
    if (result == asio::error::would_block) {
      cancel();
      io.restart();
      io.run();  // only the aborted step's handlers are left: bounded
      return asio::error::timed_out;
    }
    return result;
  }
};

SyslogChannel::SyslogChannel(SyslogOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), io_(std::make_unique<Io>()) {
  if (options_.transport == SyslogTransport::tls) {
    auto& ctx = io_->ctx;
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (options_.ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
    } else {
      ctx.load_verify_file(options_.ca_file, ec);
    }
    if (ec) {
      throw ConfigError(options_.name, 0, 0,
                        "cannot load the CA file '" + options_.ca_file + "': " + ec.message());
    }
  }
}

SyslogChannel::~SyslogChannel() {
  close();
}

bool SyslogChannel::connected() const {
  return io_->stream.has_value();
}

void SyslogChannel::close() {
  if (!io_->stream) return;
  // Closing with unread bytes (session tickets) sends a reset, which can make the receiver
  // discard what it has not read yet; read them first (a few KiB at most, bounded).
  const int fd = io_->stream->lowest_layer().native_handle();
  char scratch[4096];
  for (int i = 0; i < 16 && ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; ++i) {
  }
  error_code ec;
  io_->stream->lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
  io_->stream->lowest_layer().close(ec);
  io_->stream.reset();
}

// Whether the receiver has shut the connection down (FIN, reset, error): then a message
// written now would be lost, so we reconnect first. Readable data alone is not a sign: a TLS
// 1.3 server sends session tickets after the handshake, which stay unread.
bool SyslogChannel::peer_closed() const {
  if (!io_->stream) return true;
  pollfd p{};
  p.fd = io_->stream->lowest_layer().native_handle();
  p.events = POLLIN | POLLRDHUP;
  if (::poll(&p, 1, 0) < 0) return true;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

Delivery SyslogChannel::connect() {
  close();
  auto& io = *io_;
  const auto deadline = steady::now() + options_.connect_timeout;
  const std::string where = options_.host + ":" + std::to_string(options_.port);

  tcp::resolver resolver(io.io);
  tcp::resolver::results_type endpoints;
  error_code ec = io.run(
      deadline,
      [&](auto handler) {
        resolver.async_resolve(options_.host, std::to_string(options_.port),
                               [&, handler](error_code e, tcp::resolver::results_type r) mutable {
                                 endpoints = std::move(r);
                                 handler(e);
                               });
      },
      [&] { resolver.cancel(); });
  if (ec) return Delivery::retry("cannot resolve " + options_.host + ": " + ec.message());

  io.stream.emplace(io.io, io.ctx);
  auto& s = *io.stream;
  ec = io.run(
      deadline, [&](auto handler) { asio::async_connect(s.next_layer(), endpoints, handler); },
      [&] {
        error_code ignored;
        s.next_layer().close(ignored);
      });
  if (ec) {
    close();
    return Delivery::retry("cannot connect to " + where + ": " + ec.message());
  }
  s.next_layer().set_option(tcp::no_delay(true), ec);

  if (options_.transport == SyslogTransport::tls) {
    const std::string& name = options_.server_name.empty() ? options_.host : options_.server_name;
    error_code parse_ec;
    asio::ip::make_address(name, parse_ec);
    if (parse_ec) SSL_set_tlsext_host_name(s.native_handle(), name.c_str());  // SNI: names only
    s.set_verify_callback(ssl::host_name_verification(name));
    ec = io.run(
        deadline, [&](auto handler) { s.async_handshake(ssl::stream_base::client, handler); },
        [&] {
          error_code ignored;
          s.next_layer().close(ignored);
        });
    if (ec) {
      close();
      // A certificate the CA does not vouch for will not change by retrying soon, but it may
      // be replaced by the SIEM's operators: keep it retryable so queued alerts survive.
      return Delivery::retry("TLS with " + where + " failed: " + ec.message());
    }
  }
  return Delivery::success();
}

Delivery SyslogChannel::send(const Notification& n) {
  const std::string frame = octet_frame(syslog_message(n, options_.facility, clock_.now()));
  if (io_->stream && peer_closed()) close();
  if (!io_->stream) {
    if (auto d = connect(); !d.ok) return d;
  }
  auto& io = *io_;
  auto& s = *io.stream;
  const auto deadline = steady::now() + options_.write_timeout;
  const auto abort = [&] {
    error_code ignored;
    s.next_layer().close(ignored);
  };
  error_code ec;
  if (options_.transport == SyslogTransport::tls) {
    ec = io.run(
        deadline, [&](auto handler) { asio::async_write(s, asio::buffer(frame), handler); }, abort);
  } else {
    ec = io.run(
        deadline,
        [&](auto handler) { asio::async_write(s.next_layer(), asio::buffer(frame), handler); },
        abort);
  }
  if (ec) {
    close();
    return Delivery::retry("write to " + options_.host + ":" + std::to_string(options_.port) +
                           " failed: " + ec.message());
  }
  return Delivery::success();
}

}  // namespace edusight::collector::notify
