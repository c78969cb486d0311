#pragma once
// `edusight-agent passive`: watch a live interface or read a pcap/pcapng file, aggregate what
// the traffic shows per interval and print the findings (JSONL on stdout, a stats line on
// stderr at the end). docs/passive.md describes it.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace edusight::agent {

struct PassiveFlags {
  std::string interface;
  std::string read;
  std::string filter;
  std::string interval = "5m";
  std::string duration;  // empty: until the file ends or a signal comes
  std::string user = "nobody";
  std::vector<std::string> allowed_routers;
  std::vector<std::string> allowed_dhcpv6_servers;
  std::vector<std::string> own_domains;
  std::vector<std::string> own_prefixes;
  std::size_t max_names = 50000;
  std::string format;
  std::string agent_id;
};

// Runs the command; returns the exit status (0 ran, 2 usage or configuration, 1 internal).
int run_passive_command(const PassiveFlags& flags);

// Registers the subcommand. It runs from the subcommand's callback and ends the process with
// its exit status, so main() needs nothing besides this call.
void add_passive_command(CLI::App& app);

}  // namespace edusight::agent
