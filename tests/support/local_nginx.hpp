#pragma once
// Test support: a throw-away nginx on loopback (temporary directory, free high ports), and
// the small helpers around it. Tests that need one skip with the reason when it is missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace edusight::testsupport {

// A binary on PATH or in the sbin folders (nginx lives in /usr/sbin).
inline std::optional<std::filesystem::path> find_binary(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/local/sbin";
  std::size_t start = 0;
  for (int guard = 0; guard < 64 && start <= path.size(); ++guard) {
    const auto end = std::min(path.find(':', start), path.size());
    const std::filesystem::path p = std::filesystem::path(path.substr(start, end - start)) / name;
    if (!p.parent_path().empty() && ::access(p.c_str(), X_OK) == 0) return p;
    start = end + 1;
  }
  return std::nullopt;
}

// A port free on both 127.0.0.1 and ::1 (0 when none was found).
inline unsigned short free_port() {
  namespace asio = boost::asio;
  asio::io_context io;
  for (int attempt = 0; attempt < 50; ++attempt) {
    boost::system::error_code ec;
    asio::ip::tcp::acceptor a4(io);
    a4.open(asio::ip::tcp::v4());
    a4.bind({asio::ip::make_address("127.0.0.1"), 0}, ec);
    if (ec) continue;
    const auto port = a4.local_endpoint().port();
    asio::ip::tcp::acceptor a6(io);
    a6.open(asio::ip::tcp::v6());
    a6.set_option(asio::ip::v6_only(true));
    a6.bind({asio::ip::make_address("::1"), port}, ec);
    if (!ec) return port;
  }
  return 0;
}

inline bool port_open(const char* addr, unsigned short port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address(addr), port}, ec);
  return !ec;
}

inline void write_file(const std::filesystem::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary) << content;
}

// nginx started from a configuration the test writes; stop() ends it and removes the folder.
class LocalNginx {
 public:
  std::string skip_reason;
  std::filesystem::path dir;

  // A fresh folder (readable by nginx workers that may run as another user).
  bool make_dir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return fail("mkdtemp failed");
    dir = tmpl;
    ::chmod(dir.c_str(), 0755);
    std::filesystem::create_directories(dir / "tmp");
    return true;
  }

  // The start of a configuration with every path inside `dir`; the caller adds its
  // servers and closes the http block.
  std::string config_head(int worker_connections = 256) const {
    const std::string d = dir.string();
    std::string conf = "worker_processes 1;\npid " + d + "/nginx.pid;\nerror_log " + d +
                       "/error.log;\nevents { worker_connections " +
                       std::to_string(worker_connections) + "; }\nhttp {\n  access_log off;\n";
    for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      conf += "  " + std::string(t) + "_temp_path " + d + "/tmp/" + t + ";\n";
    }
    return conf;
  }

  // Writes the configuration, starts nginx and waits (at most 5 s) until every
  // (address, port) accepts connections.
  bool launch(const std::filesystem::path& nginx, const std::string& conf,
              const std::vector<std::pair<const char*, unsigned short>>& wait_for) {
    using namespace std::chrono_literals;
    const std::string d = dir.string();
    write_file(dir / "nginx.conf", conf);
    const std::string cmd = nginx.string() + " -q -e " + d + "/error.log -p " + d + " -c " + d +
                            "/nginx.conf >" + d + "/start.log 2>&1";
    if (std::system(cmd.c_str()) != 0) return fail("nginx did not start (see " + d + "/start.log)");
    for (int i = 0; i < 100; ++i) {
      bool all = true;
      for (const auto& [addr, port] : wait_for) all = all && port_open(addr, port);
      if (all) return true;
      std::this_thread::sleep_for(50ms);
    }
    return fail("nginx is not listening");
  }

  void stop() {
    using namespace std::chrono_literals;
    if (dir.empty()) return;
    std::ifstream in(dir / "nginx.pid");
    pid_t pid = 0;
    if (in >> pid && pid > 0) {
      ::kill(pid, SIGTERM);
      for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  bool fail(std::string why) {
    skip_reason = std::move(why);
    return false;
  }
};

// A test suite sharing one server (a LocalNginx with a start() of its own) across its tests;
// every test skips with the reason when it could not start.
template <class Server>
class ServerSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    nginx_ = new Server;
    if (!nginx_->start()) {
      reason_ = nginx_->skip_reason;
      nginx_->stop();
      delete nginx_;
      nginx_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (nginx_) nginx_->stop();
    delete nginx_;
    nginx_ = nullptr;
  }
  void SetUp() override {
    if (!nginx_) GTEST_SKIP() << "nginx test server unavailable: " << reason_;
  }

  static inline Server* nginx_ = nullptr;
  static inline std::string reason_;
};

}  // namespace edusight::testsupport
