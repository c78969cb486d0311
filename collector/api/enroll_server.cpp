#include "collector/api/enroll_server.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <map>
#include <mutex>

#include "collector/api/listener.hpp"

namespace edusight::collector::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kAcceptErrorPause{100};
constexpr std::chrono::seconds kTlsShutdownTimeout{2};
using Stream = beast::ssl_stream<beast::tcp_stream>;

void log_exception(std::string_view what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("enroll: {}: {}", what, x.what());
  } catch (...) {
    spdlog::error("enroll: {}: unknown exception", what);
  }
}

std::string peer_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return a.to_string();
}

}  // namespace

struct EnrollServer::Impl {
  Impl(asio::any_io_executor ex, EnrollServerConfig cfg, Enroller& e)
      : executor(std::move(ex)), config(std::move(cfg)), enroller(e) {}

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor);
  asio::awaitable<void> serve(std::shared_ptr<Stream> stream, std::string peer);
  asio::awaitable<Response> on_store(const Request& req, const std::string& peer);
  void finish(std::uint64_t id);

  asio::any_io_executor executor;
  EnrollServerConfig config;
  Enroller& enroller;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<tcp::endpoint> bound;
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  std::mutex mutex;  // guards conns, next_id
  std::map<std::uint64_t, std::shared_ptr<Stream>> conns;
  std::uint64_t next_id = 0;
  asio::thread_pool store_thread{1};  // last member: joined first
};

asio::awaitable<void> EnrollServer::Impl::accept_loop(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket(asio::make_strand(executor));
    auto [ec] = co_await acceptor.async_accept(socket, use_nothrow);
    if (stopping || !acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      spdlog::warn("enroll: accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor.get_executor(), kAcceptErrorPause);
      [[maybe_unused]] auto [tec] = co_await pause.async_wait(use_nothrow);
      continue;
    }
    const std::string peer = peer_of(socket);
    auto stream = std::make_shared<Stream>(beast::tcp_stream(std::move(socket)), *config.tls);
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mutex);
      if (conns.size() >= config.max_connections) {
        spdlog::warn("enroll: refused {}: {} connections open", peer, conns.size());
        continue;  // the stream closes as it goes out of scope
      }
      id = next_id++;
      conns.emplace(id, stream);
    }
    auto strand = beast::get_lowest_layer(*stream).get_executor();
    asio::co_spawn(strand, serve(stream, peer), [this, id, peer](std::exception_ptr e) {
      log_exception("connection from " + peer, e);
      finish(id);
    });
  }
}

void EnrollServer::Impl::finish(std::uint64_t id) {
  std::lock_guard lock(mutex);
  conns.erase(id);
}

asio::awaitable<void> EnrollServer::Impl::serve(std::shared_ptr<Stream> stream, std::string peer) {
  auto& lowest = beast::get_lowest_layer(*stream);
  if (stopping) co_return;
  lowest.expires_after(config.handshake_timeout);
  auto [hec] = co_await stream->async_handshake(asio::ssl::stream_base::server, use_nothrow);
  if (hec) {
    // Agents that pinned another certificate hang up here: nothing was sent yet.
    spdlog::info("enroll: TLS handshake with {} failed: {}", peer, hec.message());
    co_return;
  }
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
  parser.body_limit(config.max_body_bytes);
  beast::flat_buffer buffer;
  lowest.expires_after(config.read_timeout);
  auto [rec, rn] = co_await http::async_read(*stream, buffer, parser, use_nothrow);
  Response res;
  if (rec) {
    if (rec == http::error::body_limit || rec == http::error::header_limit) {
      res = error_response(http::status::payload_too_large, "request too large");
      enroller.refused(peer, "bad_request", "request too large");
    } else if (rec.category() == http::make_error_code(http::error::end_of_stream).category() &&
               rec != http::error::end_of_stream && rec != http::error::partial_message) {
      res = error_response(http::status::bad_request, "malformed request");
      enroller.refused(peer, "bad_request", "malformed request");
    } else {
      spdlog::info("enroll: {}: no request: {}", peer, rec.message());
      co_return;
    }
  } else {
    res = co_await on_store(parser.get(), peer);
  }
  res.set(http::field::server, "edusight-collector");
  res.keep_alive(false);
  lowest.expires_after(config.write_timeout);
  auto [wec, wn] = co_await http::async_write(*stream, res, use_nothrow);
  if (wec) {
    spdlog::info("enroll: {}: writing the response failed: {}", peer, wec.message());
    co_return;
  }
  lowest.expires_after(kTlsShutdownTimeout);
  [[maybe_unused]] auto [sec] = co_await stream->async_shutdown(use_nothrow);
}

// Runs the Enroller on the store thread and resumes the caller on its own executor.
asio::awaitable<Response> EnrollServer::Impl::on_store(const Request& req,
                                                       const std::string& peer) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Response)>(
      [this, &req, &peer](auto handler) {
        auto work = asio::make_work_guard(asio::get_associated_executor(handler));
        asio::post(store_thread, [this, &req, &peer, handler = std::move(handler),
                                  work = std::move(work)]() mutable {
          Response res;
          try {
            res = enroller.handle(req, peer);
          } catch (const std::exception& e) {
            spdlog::error("enroll: {}: {}", peer, e.what());
            res = error_response(http::status::internal_server_error, "internal error");
          }
          asio::post(work.get_executor(),
                     [handler = std::move(handler), res = std::move(res)]() mutable {
                       std::move(handler)(std::move(res));
                     });
        });
      },
      asio::use_awaitable);
}

EnrollServer::EnrollServer(asio::any_io_executor executor, EnrollServerConfig config,
                           Enroller& enroller)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(config), enroller)) {}

EnrollServer::~EnrollServer() {
  impl_->store_thread.join();
}

Result EnrollServer::start() {
  auto& d = *impl_;
  if (d.started.exchange(true)) return Result::failure("enroll: already started");
  if (!d.config.tls) return Result::failure("enroll: TLS is required");
  std::vector<std::unique_ptr<tcp::acceptor>> made;
  std::vector<tcp::endpoint> bound;
  for (const auto& ep : d.config.listen) {
    tcp::endpoint local;
    std::string error;
    auto a = open_listener(d.executor, ep, local, error);
    if (!a) return Result::failure("enroll: " + error);
    made.push_back(std::move(a));
    bound.push_back(local);
  }
  d.acceptors = std::move(made);
  d.bound = std::move(bound);
  for (auto& a : d.acceptors) {
    asio::co_spawn(a->get_executor(), d.accept_loop(*a),
                   [](std::exception_ptr e) { log_exception("accept loop", e); });
  }
  return Result::success();
}

std::vector<tcp::endpoint> EnrollServer::local_endpoints() const {
  return impl_->bound;
}

void EnrollServer::stop() {
  auto& d = *impl_;
  if (d.stopping.exchange(true)) return;
  for (auto& a : d.acceptors) {
    asio::post(a->get_executor(), [acceptor = a.get()] {
      beast::error_code ec;
      acceptor->close(ec);
    });
  }
  std::lock_guard lock(d.mutex);
  for (const auto& [id, s] : d.conns) {
    auto& lowest = beast::get_lowest_layer(*s);
    asio::post(lowest.get_executor(), [s] { beast::get_lowest_layer(*s).cancel(); });
  }
}

}  // namespace edusight::collector::api
