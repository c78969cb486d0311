#pragma once
// The enrollment listener (enroll.listen): HTTPS only, with the Forward listener's
// certificate so that the pin an administrator hands out is the one agents keep for Forward.
// It serves POST /api/v1/enroll and nothing else, one request per connection, every step
// under a timeout; the Enroller runs on one dedicated store thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "collector/api/enrollment.hpp"

namespace boost::asio::ssl {
class context;
}

namespace edusight::collector::api {

struct EnrollServerConfig {
  std::vector<boost::asio::ip::tcp::endpoint> listen;
  boost::asio::ssl::context* tls = nullptr;  // required; not owned, must outlive the server
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(10)};  // the whole request
  std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};
  std::size_t max_body_bytes = 4096;
  std::size_t max_header_bytes = 8192;
  std::size_t max_connections = 64;  // more are accepted and closed at once
};

class EnrollServer {
 public:
  // `enroller` is called only from the server's own store thread.
  EnrollServer(boost::asio::any_io_executor executor, EnrollServerConfig config,
               Enroller& enroller);
  ~EnrollServer();  // joins the store thread; stop() and let the io_context finish first
  EnrollServer(const EnrollServer&) = delete;
  EnrollServer& operator=(const EnrollServer&) = delete;

  Result start();  // binds every endpoint or none; the error names the endpoint
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;
  void stop();  // thread-safe, idempotent: closes the listeners and open connections

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edusight::collector::api
