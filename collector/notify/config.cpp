#include "collector/notify/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "collector/notify/http.hpp"

namespace edusight::collector::notify {

namespace {

const std::set<std::string> common_keys{"name",   "type",    "min_severity",
                                        "events", "timeout", "ca_file"};
const std::set<std::string> http_keys{"url", "headers", "secret"};
const std::set<std::string> syslog_keys{"address", "transport", "server_name", "facility"};

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// RFC 9110 token characters, for header names.
bool valid_header_name(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    const bool ok =
        std::isalnum(c) ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool has_control(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// "host:port", "[v6]:port", or "host" (the transport's default port).
void read_address(const Reader& r, const YAML::Node& n, ChannelConfig& c) {
  const std::string text = r.nonempty(n, "address");
  std::string port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close == 1)
      r.fail(n, "address '" + text + "' has no closing ']'");
    c.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') r.fail(n, "address '" + text + "' is not [address]:port");
      port = text.substr(close + 2);
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string::npos && text.find(':') != colon) {
      r.fail(n, "address '" + text + "': write an IPv6 address as [address]:port");
    }
    c.host = colon == std::string::npos ? text : text.substr(0, colon);
    if (colon != std::string::npos) port = text.substr(colon + 1);
  }
  if (c.host.empty() || has_control(c.host) || c.host.find(' ') != std::string::npos) {
    r.fail(n, "address '" + text + "' has no host");
  }
  if (port.empty() && text.back() == ':') r.fail(n, "address '" + text + "' has an empty port");
  if (!port.empty()) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || p != port.data() + port.size() || v == 0 || v > 65535) {
      r.fail(n, "address '" + text + "': '" + port + "' is not a port number");
    }
    c.port = static_cast<std::uint16_t>(v);
  }
}

ChannelConfig read_channel(const Reader& r, const YAML::Node& n, std::size_t index) {
  const std::string where = "notifications[" + std::to_string(index) + "]";
  r.expect_map(n, where);
  std::set<std::string> known = common_keys;
  known.insert(http_keys.begin(), http_keys.end());
  known.insert(syslog_keys.begin(), syslog_keys.end());
  r.only_keys(n, where, known);

  ChannelConfig c;
  if (!n["name"]) r.fail(n, where + " needs a name");
  c.name = r.nonempty(n["name"], where + ".name");
  if (!valid_name(c.name)) {
    r.fail(n["name"],
           where + ".name '" + c.name + "' must be 1 to 64 letters, digits, '-', '_' or '.'");
  }
  const std::string at = "notification channel '" + c.name + "'";
  if (!n["type"]) r.fail(n, at + " needs a type (webhook, wecom, dingtalk, feishu or syslog)");
  const std::string type = r.scalar(n["type"], at + ".type");
  if (type == "webhook") {
    c.type = ChannelType::webhook;
  } else if (type == "wecom") {
    c.type = ChannelType::wecom;
  } else if (type == "dingtalk") {
    c.type = ChannelType::dingtalk;
  } else if (type == "feishu") {
    c.type = ChannelType::feishu;
  } else if (type == "syslog") {
    c.type = ChannelType::syslog;
  } else {
    r.fail(n["type"],
           at + ": type must be webhook, wecom, dingtalk, feishu or syslog, not '" + type + "'");
  }
  const bool is_syslog = c.type == ChannelType::syslog;
  // Keys of the other kind of channel are refused rather than silently ignored.
  for (const auto& kv : n) {
    const auto key = kv.first.as<std::string>();
    if (is_syslog && http_keys.count(key))
      r.fail(kv.first, at + ": '" + key + "' is not for syslog");
    if (!is_syslog && syslog_keys.count(key)) {
      r.fail(kv.first, at + ": '" + key + "' is for syslog channels only");
    }
  }

  if (n["min_severity"]) {
    const auto s = r.scalar(n["min_severity"], at + ".min_severity");
    const auto sev = parse_severity(s);
    if (!sev) {
      r.fail(n["min_severity"],
             at + ".min_severity must be info, low, medium, high or critical, not '" + s + "'");
    }
    c.filter.min_severity = *sev;
  }
  if (n["events"]) {
    c.filter.events.clear();
    for (const auto& e : r.list(n["events"], at + ".events")) {
      const auto ev = parse_event(e);
      if (!ev) r.fail(n["events"], at + ".events: '" + e + "' is not firing, reminder or resolved");
      c.filter.events.insert(*ev);
    }
    if (c.filter.events.empty()) r.fail(n["events"], at + ".events must name at least one event");
  }
  if (n["timeout"]) {
    c.timeout = r.duration(n["timeout"], at + ".timeout", std::chrono::milliseconds(100),
                           std::chrono::milliseconds(120'000));
  }
  if (n["ca_file"]) c.ca_file = r.nonempty(n["ca_file"], at + ".ca_file");

  if (!is_syslog) {
    if (!n["url"]) r.fail(n, at + " needs a url");
    c.url = r.nonempty(n["url"], at + ".url");
    if ((c.url.rfind("https://", 0) != 0 && c.url.rfind("http://", 0) != 0) || has_control(c.url) ||
        c.url.find(' ') != std::string::npos) {
      r.fail(n["url"], at + ".url must be an http:// or https:// URL");
    }
    if (n["headers"]) {
      if (c.type != ChannelType::webhook)
        r.fail(n["headers"], at + ": headers are for webhook channels only");
      r.expect_map(n["headers"], at + ".headers");
      for (const auto& kv : n["headers"]) {
        const auto key = kv.first.as<std::string>();
        if (!valid_header_name(key))
          r.fail(kv.first, at + ".headers: '" + key + "' is not a header name");
        const auto value = r.scalar(kv.second, at + ".headers." + key);
        if (has_control(value)) r.fail(kv.second, at + ".headers." + key + " must be one line");
        c.headers.emplace_back(key, value);
      }
    }
    if (n["secret"]) {
      if (c.type != ChannelType::dingtalk && c.type != ChannelType::feishu) {
        r.fail(n["secret"], at + ": secret (signing) is for dingtalk and feishu channels only");
      }
      c.secret = r.nonempty(n["secret"], at + ".secret");
    }
    return c;
  }

  if (n["transport"]) {
    const auto t = r.scalar(n["transport"], at + ".transport");
    if (t == "tcp") {
      c.transport = SyslogTransport::tcp;
    } else if (t == "tls") {
      c.transport = SyslogTransport::tls;
    } else {
      r.fail(n["transport"], at + ".transport must be tcp or tls, not '" + t + "'");
    }
  }
  if (!n["address"]) r.fail(n, at + " needs an address (host:port)");
  read_address(r, n["address"], c);
  if (c.port == 0) c.port = c.transport == SyslogTransport::tls ? 6514 : 514;
  if (n["server_name"]) {
    if (c.transport != SyslogTransport::tls)
      r.fail(n["server_name"], at + ": server_name needs transport tls");
    c.server_name = r.nonempty(n["server_name"], at + ".server_name");
  }
  if (n["ca_file"] && c.transport != SyslogTransport::tls) {
    r.fail(n["ca_file"], at + ": ca_file needs transport tls");
  }
  if (n["facility"]) {
    const auto f = r.scalar(n["facility"], at + ".facility");
    const auto fac = parse_facility(f);
    if (!fac)
      r.fail(n["facility"],
             at + ".facility must be a syslog facility such as local0, not '" + f + "'");
    c.facility = *fac;
  }
  return c;
}

}  // namespace

std::string_view to_string(ChannelType t) {
  switch (t) {
    case ChannelType::webhook:
      return "webhook";
    case ChannelType::wecom:
      return "wecom";
    case ChannelType::dingtalk:
      return "dingtalk";
    case ChannelType::feishu:
      return "feishu";
    case ChannelType::syslog:
      return "syslog";
  }
  return "webhook";
}

std::vector<ChannelConfig> parse_channels(const Reader& r, const YAML::Node& list) {
  std::vector<ChannelConfig> out;
  if (!list || list.IsNull()) return out;
  if (!list.IsSequence()) r.fail(list, "notifications must be a list of channels");
  std::set<std::string> names;
  std::size_t index = 0;
  for (const auto& item : list) {
    auto c = read_channel(r, item, index++);
    if (!names.insert(c.name).second) {
      r.fail(item["name"], "notification channel name '" + c.name + "' is used twice");
    }
    out.push_back(std::move(c));
  }
  return out;
}

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

std::vector<std::unique_ptr<Channel>> make_channels(const std::vector<ChannelConfig>& configs,
                                                    const Clock& clock) {
  std::vector<std::unique_ptr<Channel>> out;
  for (const auto& c : configs) {
    if (c.type == ChannelType::syslog) {
      SyslogOptions o;
      o.name = c.name;
      o.host = c.host;
      o.port = c.port;
      o.transport = c.transport;
      o.ca_file = c.ca_file;
      o.server_name = c.server_name;
      o.facility = c.facility;
      o.connect_timeout = c.timeout;
      o.write_timeout = c.timeout;
      out.push_back(std::make_unique<SyslogChannel>(std::move(o), clock));
      continue;
    }
    CurlOptions curl;
    curl.timeout = c.timeout;
    curl.connect_timeout = std::min(c.timeout, std::chrono::milliseconds(5000));
    curl.ca_file = c.ca_file;
    HttpChannelOptions o;
    o.name = c.name;
    o.url = c.url;
    o.headers = c.headers;
    o.secret = c.secret;
    switch (c.type) {
      case ChannelType::wecom:
        o.vendor = Vendor::wecom;
        break;
      case ChannelType::dingtalk:
        o.vendor = Vendor::dingtalk;
        break;
      case ChannelType::feishu:
        o.vendor = Vendor::feishu;
        break;
      default:
        o.vendor = Vendor::webhook;
        break;
    }
    out.push_back(
        std::make_unique<HttpChannel>(std::move(o), std::make_unique<CurlPoster>(curl), clock));
  }
  return out;
}

std::vector<std::unique_ptr<Channel>> make_channels(const std::vector<ChannelConfig>& configs) {
  return make_channels(configs, system_clock());
}

std::vector<Route> make_routes(const std::vector<ChannelConfig>& configs, const Clock& clock) {
  auto channels = make_channels(configs, clock);
  std::vector<Route> out;
  for (std::size_t i = 0; i < channels.size(); ++i) {
    out.push_back(Route{std::move(channels[i]), configs[i].filter});
  }
  return out;
}

}  // namespace edusight::collector::notify
