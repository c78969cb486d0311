#pragma once
// RFC 5424 syslog to a SIEM over TCP or TLS, octet-counted (RFC 6587 / RFC 5425). One
// connection kept open between messages, reopened when it fails or the receiver closed it.
// Blocking with deadlines: every step runs on a private io_context for at most its timeout.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "collector/notify/format.hpp"
#include "collector/notify/notification.hpp"
#include "edusight/core/clock.hpp"

namespace edusight::collector::notify {

enum class SyslogTransport { tcp, tls };

struct SyslogOptions {
  std::string name;
  std::string host;  // name or address literal (no brackets)
  std::uint16_t port = 6514;
  SyslogTransport transport = SyslogTransport::tls;
  std::string ca_file;      // empty: the system's trust store
  std::string server_name;  // SNI and the name checked; empty: host
  Facility facility = Facility::local0;
  std::chrono::milliseconds connect_timeout{5000};  // resolve + TCP + TLS
  std::chrono::milliseconds write_timeout{5000};
};

class SyslogChannel final : public Channel {
 public:
  // Throws ConfigError when the CA file cannot be loaded. `clock` stamps the messages and
  // must outlive the channel.
  SyslogChannel(SyslogOptions options, const Clock& clock);
  ~SyslogChannel() override;
  SyslogChannel(const SyslogChannel&) = delete;
  SyslogChannel& operator=(const SyslogChannel&) = delete;

  const std::string& name() const override { return options_.name; }
  Delivery send(const Notification& n) override;
  bool connected() const;

 private:
  struct Io;
  Delivery connect();
  void close();
  bool peer_closed() const;

  SyslogOptions options_;
  const Clock& clock_;
  std::unique_ptr<Io> io_;
};

}  // namespace edusight::collector::notify
