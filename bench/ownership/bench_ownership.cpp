// Ownership classification throughput on one thread. Everything is generated from a fixed seed;
// the addresses are random but nothing is sent anywhere, so any address will do.
//
//   edusight-bench-ownership [--n 1000000] [--rounds 5] [--seed 20240611]
//
// Prints classifications/s for classify(name, {address}) (the vector built per call, as callers
// do) and "target met" when the median round reaches 1M/s. Exit 0 met, 1 not met, 2 bad usage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "edusight/core/names.hpp"
#include "edusight/core/ownership.hpp"

namespace {

using boost::asio::ip::address;
using edusight::Prefix;

constexpr double kTarget = 1e6;

std::string random_label(std::mt19937_64& rng, int min_len, int max_len) {
  std::uniform_int_distribution<int> len(min_len, max_len);
  std::uniform_int_distribution<int> ch(0, 35);
  std::string s;
  const int n = len(rng);
  for (int i = 0; i < n; ++i) {
    const int c = ch(rng);
    s.push_back(c < 26 ? static_cast<char>('a' + c) : static_cast<char>('0' + c - 26));
  }
  return s;
}

address random_v4(std::mt19937_64& rng) {
  return boost::asio::ip::address_v4(static_cast<std::uint32_t>(rng()));
}

address random_v6(std::mt19937_64& rng) {
  boost::asio::ip::address_v6::bytes_type b{};
  for (auto& x : b) x = static_cast<unsigned char>(rng());
  b[0] = static_cast<unsigned char>(0x20 | (b[0] & 0x1f));  // global unicast, 2000::/3
  return boost::asio::ip::address_v6(b);
}

std::array<unsigned char, 16> bytes_of(const address& a) {
  std::array<unsigned char, 16> b{};
  if (a.is_v4()) {
    const auto v = a.to_v4().to_bytes();
    std::copy(v.begin(), v.end(), b.begin());
  } else {
    b = a.to_v6().to_bytes();
  }
  return b;
}

address from_bytes(const std::array<unsigned char, 16>& b, bool v6) {
  if (v6) return boost::asio::ip::address_v6(b);
  return boost::asio::ip::address_v4({b[0], b[1], b[2], b[3]});
}

Prefix prefix_of(const address& a, int len) {
  auto b = bytes_of(a);
  const int max = a.is_v4() ? 32 : 128;
  for (int bit = len; bit < max; ++bit)
    b[bit / 8] &= static_cast<unsigned char>(~(0x80 >> (bit % 8)));
  return *Prefix::parse(edusight::canonical_address(from_bytes(b, a.is_v6())) + "/" +
                        std::to_string(len));
}

// A random address inside p: its network bits, random host bits.
address inside(const Prefix& p, std::mt19937_64& rng) {
  const auto net = *edusight::parse_address(p.to_string().substr(0, p.to_string().find('/')));
  auto b = bytes_of(net);
  const int max = p.is_v6() ? 128 : 32;
  for (int bit = p.length(); bit < max; ++bit) {
    if (rng() & 1U) b[bit / 8] |= static_cast<unsigned char>(0x80 >> (bit % 8));
  }
  return from_bytes(b, p.is_v6());
}

long arg(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string_view(argv[i]) == name) return std::strtol(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long n_arg = arg(argc, argv, "--n", 1'000'000);
  const long rounds_arg = arg(argc, argv, "--rounds", 5);
  const auto seed = static_cast<std::uint64_t>(arg(argc, argv, "--seed", 20240611));
  if (n_arg <= 0 || rounds_arg <= 0) {
    std::fprintf(stderr, "usage: %s [--n N] [--rounds R] [--seed S]\n", argv[0]);
    return 2;
  }
  const auto n = static_cast<std::size_t>(n_arg);
  const int rounds = static_cast<int>(rounds_arg);
  std::mt19937_64 rng(seed);

  // The institution: 500 IPv4 prefixes /8../30, 500 IPv6 /16../64, 1,000 zones.
  edusight::InstitutionProfile profile;
  {
    std::set<std::string> seen;
    std::uniform_int_distribution<int> len4(8, 30), len6(16, 64);
    while (profile.own_prefixes.size() < 1000) {
      const bool v6 = profile.own_prefixes.size() >= 500;
      const Prefix p =
          v6 ? prefix_of(random_v6(rng), len6(rng)) : prefix_of(random_v4(rng), len4(rng));
      if (seen.insert(p.to_string()).second) profile.own_prefixes.push_back(p);
    }
  }
  const char* suffixes[] = {"edu.cn", "ac.cn", "cn", "com", "org.cn", "edu"};
  {
    std::set<std::string> seen;
    std::uniform_int_distribution<int> pick(0, 5);
    while (profile.own_domains.size() < 1000) {
      std::string zone = random_label(rng, 4, 12) + "." + suffixes[pick(rng)];
      if (seen.insert(zone).second) profile.own_domains.push_back(std::move(zone));
    }
  }

  // 1M names: half under a zone, half not (look-alikes on a label boundary and foreign names).
  std::vector<std::string> names;
  names.reserve(n);
  {
    const char* hosts[] = {"www", "lib", "mail", "vpn", "oa", "jwc", "cs", "my"};
    std::uniform_int_distribution<std::size_t> zone(0, profile.own_domains.size() - 1);
    std::uniform_int_distribution<int> host(0, 7), depth(0, 2), pick(0, 5);
    for (std::size_t i = 0; i < n; ++i) {
      std::string name;
      for (int d = depth(rng); d > 0; --d) name += random_label(rng, 2, 8) + ".";
      name += hosts[host(rng)];
      if (i % 2 == 0) {
        name += "." + profile.own_domains[zone(rng)];
      } else if (i % 4 == 1) {
        name += "-" + profile.own_domains[zone(rng)];  // evil-demo.edu.cn: not within demo.edu.cn
      } else {
        name += "." + random_label(rng, 4, 12) + "." + suffixes[pick(rng)];
      }
      names.push_back(std::move(name));
    }
  }

  // 1M addresses, half IPv4 and half IPv6; of each, half inside an own prefix.
  std::vector<address> addrs;
  addrs.reserve(n);
  {
    std::uniform_int_distribution<std::size_t> v4p(0, 499), v6p(500, 999);
    for (std::size_t i = 0; i < n; ++i) {
      const bool v6 = i % 2 == 1;
      if ((i / 2) % 2 == 0) {
        addrs.push_back(inside(profile.own_prefixes[v6 ? v6p(rng) : v4p(rng)], rng));
      } else {
        addrs.push_back(v6 ? random_v6(rng) : random_v4(rng));
      }
    }
    // Interleave families and hits unpredictably, as a scan would.
    std::shuffle(addrs.begin(), addrs.end(), rng);
  }

  const edusight::OwnershipClassifier classifier(profile);

  std::size_t own_domain = 0, own_address = 0, checksum = 0;
  auto timed = [&](bool vector_per_call) {
    own_domain = own_address = checksum = 0;
    std::vector<address> one(1);
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      edusight::OwnershipVerdict v;
      if (vector_per_call) {
        v = classifier.classify(names[i], {addrs[i]});
      } else {
        one[0] = addrs[i];
        v = classifier.classify(names[i], one);
      }
      own_domain += v.own_domain;
      own_address += v.own_address;
      checksum += v.zone.size() + v.prefix.size();
    }
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    return static_cast<double>(n) / dt.count();
  };
  auto median_of = [&](bool vector_per_call, double& best) {
    std::vector<double> rates;
    timed(vector_per_call);  // warm-up: caches, allocator
    for (int r = 0; r < rounds; ++r) rates.push_back(timed(vector_per_call));
    std::sort(rates.begin(), rates.end());
    best = rates.back();
    return rates[rates.size() / 2];
  };

  double best = 0, best_reused = 0;
  const double median = median_of(true, best);
  const double median_reused = median_of(false, best_reused);

  std::printf("ownership classification, one thread, seed %llu\n",
              static_cast<unsigned long long>(seed));
  std::printf("  profile: %zu prefixes (500 IPv4 /8-/30, 500 IPv6 /16-/64), %zu zones\n",
              classifier.prefixes().size(), classifier.zones().size());
  std::printf(
      "  inputs: %zu names, %zu addresses; own domain %.1f %%, own address %.1f %% (checksum "
      "%zu)\n",
      n, n, 100.0 * static_cast<double>(own_domain) / static_cast<double>(n),
      100.0 * static_cast<double>(own_address) / static_cast<double>(n), checksum);
  std::printf("  classify(name, {address}):     %.2f M/s median, %.2f M/s best of %d rounds\n",
              median / 1e6, best / 1e6, rounds);
  std::printf("  classify(name, reused vector): %.2f M/s median, %.2f M/s best\n",
              median_reused / 1e6, best_reused / 1e6);
  const bool met = median >= kTarget;
  std::printf("  target >= %.2f M/s: %s\n", kTarget / 1e6, met ? "target met" : "target not met");
  return met ? 0 : 1;
}
