#pragma once
// The `notifications:` list of the collector configuration: one entry per channel, read
// with the shared Reader (errors carry file:line:column; unknown keys are refused), and the
// channels made from it. See docs/notifications.md for the keys.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collector/notify/dispatcher.hpp"
#include "collector/notify/format.hpp"
#include "collector/notify/notification.hpp"
#include "collector/notify/syslog.hpp"
#include "edusight/core/clock.hpp"
#include "edusight/core/yaml_reader.hpp"

namespace edusight::collector::notify {

enum class ChannelType { webhook, wecom, dingtalk, feishu, syslog };
std::string_view to_string(ChannelType t);

struct ChannelConfig {
  std::string name;  // unique; the metrics label
  ChannelType type = ChannelType::webhook;
  Filter filter;  // min_severity, events
  std::chrono::milliseconds timeout{10'000};
  std::string ca_file;  // as written: relative paths are the caller's to resolve
  // HTTP channels
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // webhook only
  std::string secret;                                        // dingtalk / feishu
  // syslog
  std::string host;
  std::uint16_t port = 0;
  SyslogTransport transport = SyslogTransport::tls;
  std::string server_name;
  Facility facility = Facility::local0;
};

// `list` is the value of the `notifications:` key (a sequence; null means none). Throws
// ConfigError.
std::vector<ChannelConfig> parse_channels(const Reader& r, const YAML::Node& list);

// The channels, in the order of `configs`. `clock` stamps and signs messages and must
// outlive them. Throws ConfigError when a CA file cannot be loaded.
std::vector<std::unique_ptr<Channel>> make_channels(const std::vector<ChannelConfig>& configs,
                                                    const Clock& clock);
std::vector<std::unique_ptr<Channel>> make_channels(const std::vector<ChannelConfig>& configs);
// Channels with their filters, ready for the Dispatcher.
std::vector<Route> make_routes(const std::vector<ChannelConfig>& configs, const Clock& clock);

// A process-wide SystemClock for channels made without one.
const Clock& system_clock();

}  // namespace edusight::collector::notify
