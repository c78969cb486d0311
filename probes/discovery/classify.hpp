#pragma once
// From the inventory to the catalog's asset and hygiene findings: asset.discovered,
// asset.non_own_ip (category 1), asset.non_own_domain (category 2), asset.dual_non_own
// (category 3, 双非, only with a tie), asset.unregistered, asset.zombie, dns.dangling_cname.
// docs/discovery.md states the rules.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "edusight/core/config.hpp"
#include "probes/discovery/inventory.hpp"
#include "probes/ipv6/context.hpp"

namespace edusight::discovery {

// What the port scan saw, per canonical address.
using OpenPorts = std::map<std::string, std::set<std::uint16_t>>;

struct Ties {
  bool registry = false;
  bool unit_name_in_title = false;
  bool unit_name_in_text = false;
  bool unit_in_certificate = false;
  bool linked_from_own_site = false;  // supporting only: a link alone is not a tie
  std::vector<std::string> unit_names_seen;
  bool strong() const {
    return registry || unit_name_in_title || unit_name_in_text || unit_in_certificate;
  }
};
Ties find_ties(const Asset& a, const std::vector<std::string>& unit_names);

struct AbandonmentSigns {
  std::vector<std::string> reasons;  // human-readable, in evidence
  std::optional<int> copyright_year;
  bool default_page = false;
  std::optional<int> certificate_expired_days;
};
AbandonmentSigns abandonment_signs(const Asset& a, const ZombieConfig& z,
                                   std::chrono::system_clock::time_point now);

// Latest year in a copyright notice of the text ("© 2015-2019", "Copyright 2018", "版权所有 2016").
std::optional<int> copyright_year(std::string_view text);
// Title of a stock server page (nginx, Apache, IIS, Tomcat...).
bool is_default_server_page(std::string_view title, std::string_view text);

struct ClassifyInput {
  const ScanConfig& config;
  const OwnershipClassifier& ownership;
  const Registry* registry;  // nullptr when none is configured
  const OpenPorts& open_ports;
  std::chrono::system_clock::time_point now;
};

void classify_and_report(Inventory& inventory, const ClassifyInput& in, ipv6::Reporter& report);

}  // namespace edusight::discovery
