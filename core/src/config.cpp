#include "edusight/core/config.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "edusight/core/names.hpp"
#include "edusight/core/yaml_reader.hpp"

namespace edusight {

ConfigError::ConfigError(std::string file, int line, int column, const std::string& message)
    : std::runtime_error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) +
                         (line > 0 && column > 0 ? ":" + std::to_string(column) : std::string()) +
                         ": " + message),
      file_(std::move(file)),
      line_(line),
      column_(column) {}

namespace {

void read_institution(const Reader& r, const YAML::Node& n, InstitutionProfile& p) {
  r.expect_map(n, "institution");
  r.only_keys(n, "institution", {"name", "own_domains", "own_prefixes", "unit_names"});
  if (n["name"]) p.name = r.scalar(n["name"], "institution.name");
  if (const auto d = n["own_domains"]) {
    std::size_t i = 0;
    for (const auto& text : r.list(d, "institution.own_domains")) {
      const auto item = d.IsSequence() ? d[i++] : d;
      p.own_domains.push_back(r.at(item, [&] { return parse_domain_or_throw(text, r.origin()); }));
    }
  }
  if (const auto d = n["own_prefixes"]) {
    std::size_t i = 0;
    for (const auto& text : r.list(d, "institution.own_prefixes")) {
      const auto item = d.IsSequence() ? d[i++] : d;
      p.own_prefixes.push_back(r.at(item, [&] { return parse_prefix_or_throw(text, r.origin()); }));
    }
  }
  if (const auto d = n["unit_names"]) p.unit_names = r.list(d, "institution.unit_names");
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  const auto hash = text.find('#');
  const auto addr = parse_address(text.substr(0, hash));
  if (!addr) return std::nullopt;
  Endpoint e{*addr, default_port};
  if (hash != std::string_view::npos) {
    const auto port_text = text.substr(hash + 1);
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || v == 0 || v > 65535)
      return std::nullopt;
    e.port = static_cast<std::uint16_t>(v);
  }
  return e;
}

std::string Endpoint::text() const {
  return canonical_address(address) + (port == 53 ? std::string() : "#" + std::to_string(port));
}

std::string parse_domain_or_throw(const std::string& text, const std::string& origin) {
  auto c = canonical_host(text);
  if (!c) throw ConfigError(origin, 0, 0, "'" + text + "' is not a valid domain name");
  return *c;
}

Prefix parse_prefix_or_throw(const std::string& text, const std::string& origin) {
  std::string why;
  auto p = Prefix::parse(text, &why);
  if (!p) throw ConfigError(origin, 0, 0, why);
  return *p;
}

std::vector<std::uint16_t> parse_ports_or_throw(const std::string& text,
                                                const std::string& origin) {
  std::vector<std::uint16_t> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc{} || p != item.data() + item.size() || v == 0 ||
        v > 65535) {
      throw ConfigError(origin, 0, 0, "'" + std::string(item) + "' is not a port (1-65535)");
    }
    out.push_back(static_cast<std::uint16_t>(v));
  }
  if (out.empty()) throw ConfigError(origin, 0, 0, "no ports given");
  return out;
}

ScanConfig parse_scan_config(const std::string& yaml_text, const std::string& origin) {
  const YAML::Node root = load_yaml(yaml_text, origin);
  ScanConfig c;
  if (!root || root.IsNull()) return c;
  Reader r(origin);
  r.expect_map(root, "the configuration");
  r.only_keys(root, "the configuration",
              {"institution", "dns", "registry", "targets", "ports", "output", "agent", "limits",
               "timeouts", "thresholds", "crawl", "discovery", "exposure", "zombie", "rules"});
  if (const auto n = root["rules"]) c.rules = r.list(n, "rules");

  if (const auto n = root["institution"]) read_institution(r, n, c.institution);
  if (const auto n = root["dns"]) {
    r.expect_map(n, "dns");
    r.only_keys(n, "dns", {"resolvers", "timeout_ms", "tries", "queries_per_second"});
    if (n["resolvers"]) {
      const auto list = n["resolvers"];
      std::size_t i = 0;
      for (const auto& text : r.list(list, "dns.resolvers")) {
        const auto item = list.IsSequence() ? list[i++] : list;
        const auto e = parse_endpoint(text);
        if (!e) r.fail(item, "'" + text + "' is not a resolver address (addr or addr#port)");
        c.resolvers.push_back(*e);
      }
    }
    if (n["timeout_ms"])
      c.timeouts.dns =
          std::chrono::milliseconds(r.integer(n["timeout_ms"], "dns.timeout_ms", 50, 60000));
    if (n["tries"]) c.timeouts.dns_tries = r.integer(n["tries"], "dns.tries", 1, 10);
    if (n["queries_per_second"])
      c.limits.dns_queries_per_second =
          r.number(n["queries_per_second"], "dns.queries_per_second", 1, 1e6);
  }
  if (const auto n = root["registry"]) c.registry = r.scalar(n, "registry");
  if (const auto n = root["targets"]) c.targets = r.list(n, "targets");
  if (const auto n = root["ports"]) {
    std::string joined;
    for (const auto& p : r.list(n, "ports")) joined += (joined.empty() ? "" : ",") + p;
    c.ports = r.at(n, [&] { return parse_ports_or_throw(joined, origin); });
  }
  if (const auto n = root["output"]) {
    r.expect_map(n, "output");
    r.only_keys(n, "output", {"format"});
    if (n["format"]) {
      const auto f = r.scalar(n["format"], "output.format");
      if (f == "jsonl")
        c.format = OutputFormat::jsonl;
      else if (f == "table")
        c.format = OutputFormat::table;
      else
        r.fail(n["format"], "output.format must be jsonl or table, not '" + f + "'");
    }
  }
  if (const auto n = root["agent"]) {
    r.expect_map(n, "agent");
    r.only_keys(n, "agent", {"id"});
    if (n["id"]) c.agent_id = r.scalar(n["id"], "agent.id");
  }
  if (const auto n = root["limits"]) {
    r.expect_map(n, "limits");
    r.only_keys(n, "limits",
                {"new_connections_per_second", "max_concurrent_connections", "max_concurrent_hosts",
                 "requests_per_second_per_host"});
    if (n["new_connections_per_second"])
      c.limits.new_connections_per_second =
          r.number(n["new_connections_per_second"], "limits.new_connections_per_second", 1, 1e6);
    if (n["max_concurrent_connections"])
      c.limits.max_concurrent_connections =
          r.integer(n["max_concurrent_connections"], "limits.max_concurrent_connections", 1, 10000);
    if (n["max_concurrent_hosts"])
      c.limits.max_concurrent_hosts =
          r.integer(n["max_concurrent_hosts"], "limits.max_concurrent_hosts", 1, 10000);
    if (n["requests_per_second_per_host"])
      c.limits.requests_per_second_per_host = r.number(
          n["requests_per_second_per_host"], "limits.requests_per_second_per_host", 0.1, 1e5);
  }
  if (const auto n = root["timeouts"]) {
    r.expect_map(n, "timeouts");
    r.only_keys(n, "timeouts", {"connect_ms", "total_ms"});
    if (n["connect_ms"])
      c.timeouts.connect =
          std::chrono::milliseconds(r.integer(n["connect_ms"], "timeouts.connect_ms", 10, 120000));
    if (n["total_ms"])
      c.timeouts.total =
          std::chrono::milliseconds(r.integer(n["total_ms"], "timeouts.total_ms", 10, 600000));
  }
  if (const auto n = root["thresholds"]) {
    r.expect_map(n, "thresholds");
    r.only_keys(n, "thresholds", {"content_similarity", "link_support", "slow_ms", "slow_tries"});
    if (n["content_similarity"])
      c.thresholds.content_similarity =
          r.number(n["content_similarity"], "thresholds.content_similarity", 0, 1);
    if (n["link_support"])
      c.thresholds.link_support = r.number(n["link_support"], "thresholds.link_support", 0, 1);
    if (n["slow_ms"])
      c.thresholds.slow =
          std::chrono::milliseconds(r.integer(n["slow_ms"], "thresholds.slow_ms", 1, 60000));
    if (n["slow_tries"])
      c.thresholds.slow_tries = r.integer(n["slow_tries"], "thresholds.slow_tries", 1, 15);
  }
  if (const auto n = root["crawl"]) {
    r.expect_map(n, "crawl");
    r.only_keys(n, "crawl", {"max_depth", "max_links_per_level", "max_pages_per_level"});
    if (n["max_depth"]) c.crawl.max_depth = r.integer(n["max_depth"], "crawl.max_depth", 1, 3);
    if (n["max_links_per_level"])
      c.crawl.max_links_per_level =
          r.integer(n["max_links_per_level"], "crawl.max_links_per_level", 1, 5000);
    if (n["max_pages_per_level"])
      c.crawl.max_pages_per_level =
          r.integer(n["max_pages_per_level"], "crawl.max_pages_per_level", 1, 1000);
  }
  if (const auto n = root["discovery"]) {
    r.expect_map(n, "discovery");
    r.only_keys(n, "discovery",
                {"enabled", "axfr", "wordlist", "wordlist_file", "ptr_sweep", "port_scan",
                 "certificates", "follow_links", "max_sweep_addresses", "scope"});
    auto flag = [&](const char* key, bool& out) {
      if (!n[key]) return;
      const auto v = r.scalar(n[key], std::string("discovery.") + key);
      if (v == "true" || v == "yes" || v == "on")
        out = true;
      else if (v == "false" || v == "no" || v == "off")
        out = false;
      else
        r.fail(n[key], std::string("discovery.") + key + " must be true or false, not '" + v + "'");
    };
    flag("enabled", c.discovery.enabled);
    flag("axfr", c.discovery.axfr);
    flag("wordlist", c.discovery.wordlist);
    flag("ptr_sweep", c.discovery.ptr_sweep);
    flag("port_scan", c.discovery.port_scan);
    flag("certificates", c.discovery.certificates);
    flag("follow_links", c.discovery.follow_links);
    if (n["wordlist_file"])
      c.discovery.wordlist_file = r.scalar(n["wordlist_file"], "discovery.wordlist_file");
    if (n["max_sweep_addresses"])
      c.discovery.max_sweep_addresses =
          r.integer(n["max_sweep_addresses"], "discovery.max_sweep_addresses", 0, 1 << 24);
    if (const auto d = n["scope"]) {
      std::size_t i = 0;
      for (const auto& text : r.list(d, "discovery.scope")) {
        const auto item = d.IsSequence() ? d[i++] : d;
        c.discovery.scope.push_back(
            r.at(item, [&] { return parse_prefix_or_throw(text, r.origin()); }));
      }
    }
  }
  if (const auto n = root["exposure"]) {
    r.expect_map(n, "exposure");
    r.only_keys(n, "exposure", {"risky_ports", "tls_expiring_days", "connect_timeout_ms"});
    if (const auto rp = n["risky_ports"]) {
      if (!rp.IsMap())
        r.fail(rp, "exposure.risky_ports must map port numbers to service names, e.g. 6379: redis");
      c.exposure.risky_ports.clear();
      for (const auto& kv : rp) {
        const int port = r.integer(kv.first, "a port in exposure.risky_ports", 1, 65535);
        c.exposure.risky_ports.emplace_back(static_cast<std::uint16_t>(port),
                                            r.scalar(kv.second, "a service name"));
      }
    }
    if (n["tls_expiring_days"])
      c.exposure.tls_expiring_days =
          r.integer(n["tls_expiring_days"], "exposure.tls_expiring_days", 1, 3650);
    if (n["connect_timeout_ms"])
      c.exposure.connect_timeout = std::chrono::milliseconds(
          r.integer(n["connect_timeout_ms"], "exposure.connect_timeout_ms", 10, 60000));
  }
  if (const auto n = root["zombie"]) {
    r.expect_map(n, "zombie");
    r.only_keys(n, "zombie", {"expired_certificate_days", "stale_years"});
    if (n["expired_certificate_days"])
      c.zombie.expired_certificate_days =
          r.integer(n["expired_certificate_days"], "zombie.expired_certificate_days", 1, 36500);
    if (n["stale_years"])
      c.zombie.stale_years = r.integer(n["stale_years"], "zombie.stale_years", 1, 100);
  }
  return c;
}

ScanConfig load_scan_config(const std::string& path) {
  auto c = parse_scan_config(read_config_text(path), path);
  // Files named in the configuration are relative to it, not to wherever the agent runs.
  const auto dir = std::filesystem::path(path).parent_path();
  for (auto* file : {&c.registry, &c.discovery.wordlist_file}) {
    if (!file->empty() && std::filesystem::path(*file).is_relative())
      *file = (dir / *file).string();
  }
  if (c.rules) {
    for (auto& p : *c.rules) {
      if (std::filesystem::path(p).is_relative()) p = (dir / p).string();
    }
  }
  return c;
}

void validate_scan_config(const ScanConfig& c) {
  if (c.institution.own_domains.empty() && c.institution.own_prefixes.empty()) {
    throw ConfigError(
        "configuration", 0, 0,
        "no own domain or own prefix: give --own-domain/--own-prefix or institution.own_domains");
  }
  if (c.resolvers.empty())
    throw ConfigError("configuration", 0, 0, "no resolver: give --resolver or dns.resolvers");
  if (c.targets.empty())
    throw ConfigError("configuration", 0, 0, "no target: give --target or targets");
  if (c.timeouts.connect > c.timeouts.total) {
    throw ConfigError("configuration", 0, 0,
                      "timeouts.connect_ms must not exceed timeouts.total_ms");
  }
}

namespace {
std::string strip_trailing_space_of(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  return s;
}
}  // namespace

bool parse_host_port(const std::string& text, std::string* host, std::uint16_t* port) {
  std::string h;
  std::string p;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) return false;
    h = text.substr(1, close - 1);
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(h, ec);
    if (ec) return false;
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      p = rest.substr(1);
      if (p.empty()) return false;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string::npos && text.find(':') != colon) return false;  // bare IPv6
    h = text.substr(0, colon);
    if (colon != std::string::npos) {
      p = text.substr(colon + 1);
      if (p.empty()) return false;
    }
  }
  if (h.empty() || h.find_first_of(" /\t") != std::string::npos) return false;
  unsigned v = 24224;
  if (!p.empty()) {
    const auto [e, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc{} || e != p.data() + p.size() || v == 0 || v > 65535) return false;
  }
  *host = h;
  *port = static_cast<std::uint16_t>(v);
  return true;
}

std::string read_key_file(const std::string& path, const std::string& origin) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(origin, 0, 0, "cannot read key file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto key = strip_trailing_space_of(ss.str());
  if (key.empty()) throw ConfigError(origin, 0, 0, "key file " + path + " is empty");
  return key;
}

}  // namespace edusight
