#pragma once
// Test listeners on 127.0.0.1 with a kernel-chosen port, each in its own thread and bounded by
// poll() timeouts so a failing test cannot hang: a tiny HTTP/1.1 server with scripted answers,
// and a raw TCP sink (optionally TLS, with OpenSSL) that records the bytes it receives.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace edusight::collector::notify::test {

inline int listen_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// Waits up to `ms` for `fd` to be readable; false on timeout or when `stop` is set.
inline bool readable(int fd, int ms, const std::atomic<bool>& stop) {
  for (int waited = 0; waited < ms && !stop.load(); waited += 20) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) return true;
  }
  return false;
}

struct Answer {
  int status = 200;
  std::string body = "{}";
  std::chrono::milliseconds delay{0};
  std::string extra_headers;  // "Location: ...\r\n"
};

struct ReceivedRequest {
  std::string method, target, head, body;
  std::string header(const std::string& name) const {
    // Case-sensitive is enough: libcurl writes the names as we gave them.
    const auto pos = head.find("\r\n" + name + ": ");
    if (pos == std::string::npos) return {};
    const auto start = pos + name.size() + 4;
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

class HttpListener {
 public:
  HttpListener() {
    fd_ = listen_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~HttpListener() {
    stop_ = true;
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void answer(Answer a) {
    std::lock_guard lock(mutex_);
    answers_.push_back(std::move(a));
  }
  std::vector<ReceivedRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void run() {
    while (!stop_) {
      if (!readable(fd_, 100, stop_)) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }

  // Requests on one connection until it closes (keep-alive), one at a time.
  void serve(int c) {
    std::string buf;
    for (int guard = 0; guard < 100 && !stop_; ++guard) {
      std::size_t end = std::string::npos;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!read_more(c, buf)) return;
      }
      ReceivedRequest r;
      r.head = buf.substr(0, end + 2);
      r.method = r.head.substr(0, r.head.find(' '));
      const auto t = r.head.find(' ') + 1;
      r.target = r.head.substr(t, r.head.find(' ', t) - t);
      const std::size_t length = std::strtoul(r.header("Content-Length").c_str(), nullptr, 10);
      while (buf.size() < end + 4 + length) {
        if (!read_more(c, buf)) return;
      }
      r.body = buf.substr(end + 4, length);
      buf.erase(0, end + 4 + length);
      Answer a;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(r);
        if (!answers_.empty()) {
          a = answers_.front();
          answers_.pop_front();
        }
      }
      for (auto waited = std::chrono::milliseconds(0); waited < a.delay && !stop_;
           waited += std::chrono::milliseconds(10)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      const std::string out = "HTTP/1.1 " + std::to_string(a.status) +
                              " X\r\nContent-Type: " + "application/json\r\nContent-Length: " +
                              std::to_string(a.body.size()) + "\r\n" + a.extra_headers + "\r\n" +
                              a.body;
      if (::send(c, out.data(), out.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  bool read_more(int c, std::string& buf) {
    if (!readable(c, 5000, stop_)) return false;
    char tmp[4096];
    const auto n = ::recv(c, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::deque<Answer> answers_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

// Accepts connections one after the other and records every byte (decrypted with TLS).
// close_after_bytes: close each connection once it has received that many bytes (0: never).
// silent: accept but never read or answer (a receiver that hangs).
class SyslogSink {
 public:
  struct Tls {
    std::string cert_file, key_file;
  };
  explicit SyslogSink(std::optional<Tls> tls = std::nullopt, std::size_t close_after_bytes = 0,
                      bool silent = false)
      : close_after_(close_after_bytes), silent_(silent) {
    // OpenSSL writes to the socket with write(): a client that went away must not kill the
    // test process.
    ::signal(SIGPIPE, SIG_IGN);
    if (tls) {
      ctx_ = SSL_CTX_new(TLS_server_method());
      SSL_CTX_use_certificate_chain_file(ctx_, tls->cert_file.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, tls->key_file.c_str(), SSL_FILETYPE_PEM);
    }
    fd_ = listen_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~SyslogSink() {
    stop_ = true;
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
    if (ctx_) SSL_CTX_free(ctx_);
  }
  std::uint16_t port() const { return port_; }
  std::string bytes() {
    std::lock_guard lock(mutex_);
    return bytes_;
  }
  int connections() const { return connections_.load(); }
  int closed() const { return closed_.load(); }

 private:
  void run() {
    while (!stop_) {
      if (!readable(fd_, 100, stop_)) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++connections_;
      if (silent_) {
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      } else {
        serve(c);
      }
      ::close(c);
      ++closed_;
    }
  }

  void serve(int c) {
    SSL* ssl = nullptr;
    if (ctx_) {
      ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      timeval tv{5, 0};  // the blocking handshake and reads give up after 5 s
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (SSL_accept(ssl) != 1) {
        SSL_free(ssl);
        return;
      }
    }
    std::size_t got = 0;
    for (int guard = 0; guard < 10000 && !stop_; ++guard) {
      if (!(ssl && SSL_pending(ssl) > 0) && !readable(c, 10000, stop_)) break;
      char tmp[4096];
      const int n =
          ssl ? SSL_read(ssl, tmp, sizeof tmp) : static_cast<int>(::recv(c, tmp, sizeof tmp, 0));
      if (n <= 0) break;
      {
        std::lock_guard lock(mutex_);
        bytes_.append(tmp, static_cast<std::size_t>(n));
      }
      got += static_cast<std::size_t>(n);
      if (close_after_ && got >= close_after_) break;
    }
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }

  std::size_t close_after_;
  bool silent_;
  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> closed_{0};
  std::mutex mutex_;
  std::string bytes_;
  std::thread thread_;
};

// A temporary directory removed with the object.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

}  // namespace edusight::collector::notify::test
