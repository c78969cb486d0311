#include "agent/enroll.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>

#include "tls_trust.hpp"

namespace edusight::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

EnrollResult failure(EnrollErrc code, std::string message) {
  EnrollResult r;
  r.code = code;
  r.message = std::move(message);
  return r;
}

// What to tell a person for each refusal the collector names.
std::string advice(const std::string& reason, const std::string& detail) {
  if (reason == "unknown")
    return "the collector does not know this token: check it was copied whole, or ask for a new "
           "one (edusight-collector enrollment create)";
  if (reason == "expired")
    return "the token has expired: ask for a new one (edusight-collector enrollment create)";
  if (reason == "used")
    return "the token was already used: each token enrolls its number of agents once; ask for a "
           "new one";
  if (reason == "revoked") return "the token was revoked by an administrator";
  if (reason == "rate_limited")
    return "too many failed attempts from this address: wait and try again later";
  if (reason == "agent_exists")
    return "an agent with this id is enrolled already: choose another --agent-id, or have it "
           "revoked and removed first";
  if (reason == "wrong_agent")
    return "this token is for another agent id: pass --agent-id with the id it was made for";
  return detail.empty() ? "refused (" + reason + ")" : detail;
}

}  // namespace

asio::awaitable<EnrollResult> enroll(asio::any_io_executor executor, EnrollOptions o) {
  if (o.host.empty() || o.token.empty())
    co_return failure(EnrollErrc::bad_options, "the collector and the token are required");
  const forward::TlsTrust trust{o.ca_file, o.pin_sha256,
                                o.server_name.empty() ? o.host : o.server_name};
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  if (auto err = forward::prepare_client_context(ctx, trust); err)
    co_return failure(EnrollErrc::bad_options, err.detail);
  beast::ssl_stream<beast::tcp_stream> stream(executor, ctx);
  if (auto err = forward::prepare_client_connection(stream.native_handle(), trust); err)
    co_return failure(EnrollErrc::bad_options, err.detail);
  auto& lowest = beast::get_lowest_layer(stream);
  const std::string where = o.host + ":" + std::to_string(o.port);

  tcp::resolver resolver(executor);
  lowest.expires_after(o.timeout);
  // The resolver has no deadline of its own: cancel it when the stream's would pass.
  asio::steady_timer guard(executor, o.timeout);
  guard.async_wait([&resolver](const boost::system::error_code& ec) {
    if (!ec) resolver.cancel();
  });
  auto [rec, endpoints] =
      co_await resolver.async_resolve(o.host, std::to_string(o.port), use_tuple);
  guard.cancel();
  if (rec) {
    co_return failure(
        rec == asio::error::operation_aborted ? EnrollErrc::timeout : EnrollErrc::cannot_connect,
        "cannot resolve " + o.host + ": " + rec.message());
  }
  lowest.expires_after(o.timeout);
  auto [cec, ep] = co_await lowest.async_connect(endpoints, use_tuple);
  if (cec) {
    co_return failure(
        cec == beast::error::timeout ? EnrollErrc::timeout : EnrollErrc::cannot_connect,
        "cannot connect to " + where + ": " + cec.message());
  }
  lowest.expires_after(o.timeout);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) {
    if (hec == beast::error::timeout)
      co_return failure(EnrollErrc::timeout, "TLS handshake with " + where + " timed out");
    co_return failure(EnrollErrc::tls_failed,
                      "TLS with " + where +
                          " failed: " + forward::handshake_failure(stream.native_handle(), hec) +
                          (o.ca_file.empty() ? ""
                                             : " (verified against " + o.ca_file +
                                                   " for the name " + trust.server_name + ")"));
  }
  // The pin decides before anything is sent: a wrong pin never sees the token.
  if (auto err = forward::check_pin(stream.native_handle(), trust); err) {
    co_return failure(EnrollErrc::pin_mismatch,
                      "the collector's certificate does not match --pin (" + err.detail +
                          "): the token was not sent");
  }

  boost::json::object body;
  body["token"] = o.token;
  if (!o.agent_id.empty()) body["agent_id"] = o.agent_id;
  if (!o.hostname.empty()) body["hostname"] = o.hostname;
  http::request<http::string_body> req{http::verb::post, "/api/v1/enroll", 11};
  req.set(http::field::host, trust.server_name);
  req.set(http::field::user_agent, "edusight-agent");
  req.set(http::field::content_type, "application/json");
  req.body() = boost::json::serialize(body);
  req.prepare_payload();
  lowest.expires_after(o.timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
  if (wec) {
    co_return failure(
        wec == beast::error::timeout ? EnrollErrc::timeout : EnrollErrc::cannot_connect,
        "sending the request to " + where + " failed: " + wec.message());
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(o.max_response_bytes);
  lowest.expires_after(o.timeout);
  auto [rdec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
  if (rdec) {
    co_return failure(rdec == beast::error::timeout ? EnrollErrc::timeout : EnrollErrc::protocol,
                      "reading the answer from " + where + " failed: " + rdec.message());
  }
  lowest.expires_after(std::chrono::seconds(2));
  [[maybe_unused]] auto [sec] = co_await stream.async_shutdown(use_tuple);

  const auto& res = parser.get();
  boost::system::error_code jec;
  const auto json = boost::json::parse(res.body(), jec);
  const auto* obj = !jec && json.is_object() ? &json.get_object() : nullptr;
  auto field = [&](const boost::json::object* from, std::string_view key) -> std::string {
    if (!from) return {};
    const auto* v = from->if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  if (res.result() != http::status::ok) {
    EnrollResult r = failure(EnrollErrc::refused, "");
    r.reason = field(obj, "reason");
    const std::string detail = field(obj, "error");
    r.message =
        "the collector refused: " + (r.reason.empty() ? "HTTP " + std::to_string(res.result_int()) +
                                                            (detail.empty() ? "" : ": " + detail)
                                                      : advice(r.reason, detail));
    co_return r;
  }
  EnrollResult r;
  r.identity.agent_id = field(obj, "agent_id");
  r.identity.key = field(obj, "key");
  const auto* fwd = obj ? obj->if_contains("forward") : nullptr;
  const auto* fobj = fwd && fwd->is_object() ? &fwd->get_object() : nullptr;
  const auto* port = fobj ? fobj->if_contains("port") : nullptr;
  if (r.identity.agent_id.empty() || r.identity.key.empty() || !port ||
      !(port->is_int64() || port->is_uint64()) || port->to_number<std::int64_t>() < 1 ||
      port->to_number<std::int64_t>() > 65535) {
    co_return failure(EnrollErrc::protocol, "the collector's answer is not an identity");
  }
  r.identity.port = static_cast<std::uint16_t>(port->to_number<std::int64_t>());
  r.identity.host = o.host;
  r.identity.tls = true;
  if (!o.ca_file.empty()) {
    std::error_code ec;
    const auto abs = std::filesystem::absolute(o.ca_file, ec);
    r.identity.ca_file = ec ? o.ca_file : abs.string();
    r.identity.server_name = trust.server_name;
  } else {
    // The Forward listener presents the certificate just verified by the pin.
    r.identity.pin_sha256 = forward::normalize_pin(o.pin_sha256);
    r.identity.server_name = o.server_name;
  }
  co_return r;
}

}  // namespace edusight::agent
