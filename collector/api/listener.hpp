#pragma once
// The HTTP listeners' shared start-up: one acceptor per configured endpoint. Each family is
// listed explicitly ([::] is v6-only), so 0.0.0.0 and [::] can both be listened on.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/strand.hpp>
#include <memory>
#include <string>

namespace edusight::collector::api {

// "127.0.0.1:8080", "[::1]:8080".
inline std::string endpoint_text(const boost::asio::ip::tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// Opens, binds and listens on its own strand; the bound endpoint (port 0 resolved) in
// `bound`. nullptr and `error` ("listen on [::]:24225: Address already in use") on failure.
inline std::unique_ptr<boost::asio::ip::tcp::acceptor> open_listener(
    const boost::asio::any_io_executor& executor, const boost::asio::ip::tcp::endpoint& ep,
    boost::asio::ip::tcp::endpoint& bound, std::string& error) {
  namespace asio = boost::asio;
  auto a = std::make_unique<asio::ip::tcp::acceptor>(asio::make_strand(executor));
  boost::system::error_code ec;
  a->open(ep.protocol(), ec);
  if (!ec) a->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec && ep.address().is_v6()) a->set_option(asio::ip::v6_only(true), ec);
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) bound = a->local_endpoint(ec);
  if (ec) {
    error = "listen on " + endpoint_text(ep) + ": " + ec.message();
    return nullptr;
  }
  return a;
}

}  // namespace edusight::collector::api
