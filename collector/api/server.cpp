#include "collector/api/server.hpp"

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
#include <exception>
#include <map>
#include <mutex>
#include <string>

#include "collector/api/listener.hpp"
#include "collector/api/router.hpp"
#include "collector/api/tokens.hpp"

namespace edusight::collector::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kServerName = "edusight-collector";
// A TLS close_notify exchange is a courtesy (responses are length-delimited); never wait
// long for the peer's half, and barely at all when the server is stopping.
constexpr std::chrono::seconds kTlsShutdownTimeout{5};
constexpr std::chrono::seconds kTlsShutdownTimeoutStopping{1};
constexpr std::chrono::milliseconds kAcceptErrorPause{100};

const boost::system::error_category& http_category() {
  return http::make_error_code(http::error::end_of_stream).category();
}

void log_exception(std::string_view what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("api: {}: {}", what, x.what());
  } catch (...) {
    spdlog::error("api: {}: unknown exception", what);
  }
}

}  // namespace

// One open connection, as stop() sees it. Touched only on the connection's strand.
struct Conn {
  asio::any_io_executor strand;
  beast::tcp_stream* stream = nullptr;  // while the session runs
  bool idle = false;                    // waiting for the next request
};

RouterOptions router_options(const ApiConfig& c) {
  RouterOptions o;
  o.agent_online_window = c.agent_online_window;
  o.token_cache_ttl = c.token_cache_ttl;
  o.on_agent_revoked = c.on_agent_revoked;
  o.rules = c.rules;
  o.posture = c.posture;
  o.dashboard_dir = c.dashboard_dir;
  o.institution = c.institution;
  return o;
}

struct ApiServer::Impl {
  Impl(asio::any_io_executor ex, ApiConfig cfg, Store& store, metrics::Registry& reg,
       const Clock& clk, Random* random)
      : executor(std::move(ex)),
        config(std::move(cfg)),
        clock(clk),
        own_random(random ? nullptr : std::make_unique<CryptoRandom>()),
        router(store, clk, random ? *random : *own_random, router_options(config)),
        registry(reg),
        requests(reg.counter("edusight_api_requests_total",
                             "HTTP API requests by route template and status code.")),
        duration_sum(reg.counter("edusight_api_request_duration_microseconds_sum",
                                 "Time from request header to response written, summed.")),
        duration_count(reg.counter("edusight_api_request_duration_microseconds_count",
                                   "Requests counted in the duration sum.")),
        connections(reg.gauge("edusight_api_connections", "Open HTTP API connections.")),
        rejected(reg.counter("edusight_api_connections_rejected_total",
                             "Connections closed at once because max_connections were open.")) {
    connections.with().set(0);
    rejected.with();
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor);
  void start_connection(tcp::socket socket);
  void finish_connection(std::uint64_t id);
  asio::awaitable<void> serve(tcp::socket socket, std::shared_ptr<Conn> conn);
  template <typename Stream>
  asio::awaitable<void> session(Stream& stream, Conn& conn);
  template <typename Stream>
  asio::awaitable<void> reply_to_read_error(Stream& stream, const beast::error_code& ec,
                                            std::chrono::steady_clock::time_point start);
  asio::awaitable<Routed> handle(const Request& req);
  asio::awaitable<Routed> on_store(const Request& req);
  void record(std::string_view route, unsigned code, std::chrono::steady_clock::duration d);
  void stop();

  asio::any_io_executor executor;
  ApiConfig config;
  const Clock& clock;
  std::unique_ptr<CryptoRandom> own_random;
  Router router;  // used only on store_thread
  metrics::Registry& registry;
  metrics::Family& requests;
  metrics::Family& duration_sum;
  metrics::Family& duration_count;
  metrics::Family& connections;
  metrics::Family& rejected;

  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // each on its own strand
  std::vector<tcp::endpoint> bound;
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> active{0};
  std::mutex mutex;  // guards conns and next_id
  std::map<std::uint64_t, std::shared_ptr<Conn>> conns;
  std::uint64_t next_id = 0;

  // Last member: destroyed (joined) first. One thread, so the store sees one caller.
  asio::thread_pool store_thread{1};
};

void ApiServer::Impl::record(std::string_view route, unsigned code,
                             std::chrono::steady_clock::duration d) {
  const std::string r(route);
  requests.with({{"route", r}, {"code", std::to_string(code)}}).add();
  duration_sum.with({{"route", r}})
      .add(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  duration_count.with({{"route", r}}).add();
}

asio::awaitable<void> ApiServer::Impl::accept_loop(tcp::acceptor& acceptor) {
  for (;;) {
    // Each connection gets its own strand: its coroutine and stop()'s cancel never overlap.
    tcp::socket socket(asio::make_strand(executor));
    auto [ec] = co_await acceptor.async_accept(socket, use_nothrow);
    if (stopping || !acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and the like persist for a while: pause instead of spinning.
      spdlog::warn("api: accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor.get_executor(), kAcceptErrorPause);
      [[maybe_unused]] auto [tec] = co_await pause.async_wait(use_nothrow);
      continue;
    }
    if (active.load() >= config.max_connections) {
      rejected.with().add();
      continue;  // the socket closes as it goes out of scope
    }
    start_connection(std::move(socket));
  }
}

void ApiServer::Impl::start_connection(tcp::socket socket) {
  auto conn = std::make_shared<Conn>();
  conn->strand = socket.get_executor();
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex);
    id = next_id++;
    conns.emplace(id, conn);
  }
  connections.with().set(static_cast<std::int64_t>(++active));
  auto strand = conn->strand;
  asio::co_spawn(strand, serve(std::move(socket), std::move(conn)),
                 [this, id](std::exception_ptr e) {
                   log_exception("connection", e);
                   finish_connection(id);
                 });
}

void ApiServer::Impl::finish_connection(std::uint64_t id) {
  {
    std::lock_guard lock(mutex);
    conns.erase(id);
  }
  connections.with().set(static_cast<std::int64_t>(--active));
}

asio::awaitable<void> ApiServer::Impl::serve(tcp::socket socket, std::shared_ptr<Conn> conn) {
  // Clears conn->stream before the stream it points to is destroyed, even on an exception.
  struct Detach {
    Conn& conn;
    ~Detach() {
      conn.stream = nullptr;
      conn.idle = false;
    }
  };
  beast::tcp_stream plain(std::move(socket));
  if (config.tls == nullptr) {
    conn->stream = &plain;
    Detach detach{*conn};
    co_await session(plain, *conn);
    beast::error_code ec;
    plain.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> tls(std::move(plain), *config.tls);
  auto& lowest = beast::get_lowest_layer(tls);
  conn->stream = &lowest;
  Detach detach{*conn};
  if (stopping) co_return;
  lowest.expires_after(config.handshake_timeout);
  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_nothrow);
  if (ec) {
    spdlog::debug("api: TLS handshake failed: {}", ec.message());
    co_return;
  }
  co_await session(tls, *conn);
  lowest.expires_after(std::min<std::chrono::steady_clock::duration>(
      config.write_timeout, stopping ? kTlsShutdownTimeoutStopping : kTlsShutdownTimeout));
  [[maybe_unused]] auto [sec] = co_await tls.async_shutdown(use_nothrow);
}

template <typename Stream>
asio::awaitable<void> ApiServer::Impl::session(Stream& stream, Conn& conn) {
  auto& tcp_stream = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  for (std::size_t served = 0; !stopping; ++served) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
    parser.body_limit(config.max_body_bytes);

    tcp_stream.expires_after(served == 0 ? config.read_timeout : config.idle_timeout);
    conn.idle = true;
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    conn.idle = false;
    const auto start = clock.steady_now();
    if (hec) {
      co_await reply_to_read_error(stream, hec, start);
      co_return;
    }
    tcp_stream.expires_after(config.read_timeout);
    if (!parser.is_done()) {
      // curl and others wait for this before sending a large body.
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
        auto [cec, cn] = co_await http::async_write(stream, cont, use_nothrow);
        if (cec) co_return;
      }
      auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
      if (bec) {
        co_await reply_to_read_error(stream, bec, start);
        co_return;
      }
    }

    Request req = parser.release();
    Routed routed = co_await handle(req);
    auto& res = routed.response;
    res.set(http::field::server, kServerName);
    // Stopping: answer this request, then close.
    const bool keep = req.keep_alive() && !stopping;
    res.keep_alive(keep);
    tcp_stream.expires_after(config.write_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
    const auto code = res.result_int();
    record(routed.route, code, clock.steady_now() - start);
    spdlog::debug("api: {} {} -> {}", std::string_view(req.method_string()),
                  std::string_view(req.target()), code);
    if (wec || !keep) co_return;
  }
}

template <typename Stream>
asio::awaitable<void> ApiServer::Impl::reply_to_read_error(
    Stream& stream, const beast::error_code& ec, std::chrono::steady_clock::time_point start) {
  // Closed, timed out, cancelled by stop(), or cut off mid-message: nobody to answer.
  if (ec.category() != http_category() || ec == http::error::end_of_stream ||
      ec == http::error::partial_message) {
    co_return;
  }
  auto status = http::status::bad_request;
  std::string_view message = "malformed request";
  if (ec == http::error::header_limit) {
    status = http::status::request_header_fields_too_large;
    message = "request header too large";
  } else if (ec == http::error::body_limit) {
    status = http::status::payload_too_large;
    message = "request body too large";
  }
  auto res = error_response(status, message);
  res.set(http::field::server, kServerName);
  res.keep_alive(false);
  beast::get_lowest_layer(stream).expires_after(config.write_timeout);
  [[maybe_unused]] auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
  record("other", res.result_int(), clock.steady_now() - start);
}

asio::awaitable<Routed> ApiServer::Impl::handle(const Request& req) {
  if (route_of(req.target()) == "/metrics") {
    // No store involved: rendered here, on the io thread.
    if (req.method() != http::verb::get) {
      auto res =
          error_response(http::status::method_not_allowed, "method not allowed", req.version());
      res.set(http::field::allow, "GET");
      co_return Routed{std::move(res), "/metrics"};
    }
    Response res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = registry.render();
    res.prepare_payload();
    co_return Routed{std::move(res), "/metrics"};
  }
  co_return co_await on_store(req);
}

// Runs the router on the store thread and resumes the caller on its own executor. Not a
// coroutine itself: async_initiate turns the callback into an awaitable. `req` lives in the
// suspended caller's frame until the result comes back.
asio::awaitable<Routed> ApiServer::Impl::on_store(const Request& req) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Routed)>(
      [this, &req](auto handler) {
        auto work = asio::make_work_guard(asio::get_associated_executor(handler));
        asio::post(store_thread,
                   [this, &req, handler = std::move(handler), work = std::move(work)]() mutable {
                     Routed routed = router.handle(req);  // never throws
                     asio::post(work.get_executor(), [handler = std::move(handler),
                                                      routed = std::move(routed)]() mutable {
                       std::move(handler)(std::move(routed));
                     });
                   });
      },
      asio::use_awaitable);
}

void ApiServer::Impl::stop() {
  if (stopping.exchange(true)) return;
  for (auto& a : acceptors) {
    asio::post(a->get_executor(), [acceptor = a.get()] {
      beast::error_code ec;
      acceptor->close(ec);
    });
  }
  std::vector<std::shared_ptr<Conn>> open;
  {
    std::lock_guard lock(mutex);
    for (const auto& [id, c] : conns) open.push_back(c);
  }
  // Idle connections are closed now; busy ones close after their response (session sees
  // `stopping`).
  for (auto& c : open) {
    asio::post(c->strand, [c] {
      if (c->idle && c->stream) c->stream->cancel();
    });
  }
  spdlog::info("api: stopping ({} open connections)", open.size());
}

ApiServer::ApiServer(asio::any_io_executor executor, ApiConfig config, Store& store,
                     metrics::Registry& registry, const Clock& clock, Random* random)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(config), store, registry, clock,
                                   random)) {}

ApiServer::~ApiServer() {
  // Let requests already handed to the store finish; their results are posted back to the
  // io executor (and dropped if it no longer runs).
  impl_->store_thread.join();
}

Result ApiServer::start() {
  auto& d = *impl_;
  if (d.started.exchange(true)) return Result::failure("api: already started");
  if (d.config.listen.empty()) return Result::failure("api: no listen address");
  std::vector<std::unique_ptr<tcp::acceptor>> made;
  std::vector<tcp::endpoint> bound;
  for (const auto& ep : d.config.listen) {
    tcp::endpoint local;
    std::string error;
    auto a = open_listener(d.executor, ep, local, error);
    if (!a) return Result::failure("api: " + error);
    made.push_back(std::move(a));
    bound.push_back(local);
  }
  d.acceptors = std::move(made);
  d.bound = std::move(bound);
  for (std::size_t i = 0; i < d.acceptors.size(); ++i) {
    auto& acceptor = *d.acceptors[i];
    spdlog::info("api: listening on {}{}", d.config.tls ? "https://" : "http://",
                 endpoint_text(d.bound[i]));
    asio::co_spawn(acceptor.get_executor(), d.accept_loop(acceptor),
                   [](std::exception_ptr e) { log_exception("accept loop", e); });
  }
  return Result::success();
}

std::vector<tcp::endpoint> ApiServer::local_endpoints() const {
  return impl_->bound;
}

void ApiServer::stop() {
  impl_->stop();
}

}  // namespace edusight::collector::api
