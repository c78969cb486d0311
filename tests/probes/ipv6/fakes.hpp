#pragma once
// Fakes behind the DNS and web interfaces, so the checks' logic is tested without a network.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <vector>

#include "edusight/core/names.hpp"
#include "edusight/core/sink.hpp"
#include "probes/dns/dns.hpp"
#include "probes/web/web.hpp"

namespace edusight::testing {

class FakeLookup final : public dns::Lookup {
 public:
  std::map<std::pair<std::string, dns::RType>, dns::Response> answers;
  std::map<std::string, dns::AddressLookup> hosts;
  // (server address, name) -> whether it answers SOA
  std::map<std::pair<std::string, std::string>, bool> direct_soa;

  void host(const std::string& name, std::vector<std::string> v4, std::vector<std::string> v6,
            std::vector<std::string> mapped = {}) {
    dns::AddressLookup a;
    a.status = dns::Status::ok;
    for (auto& s : v4) a.ipv4.push_back(*parse_address(s));
    for (auto& s : v6) a.ipv6.push_back(*parse_address(s));
    for (auto& s : mapped) a.ipv4_mapped.push_back(*parse_address(s));
    hosts[name] = a;
  }
  void records(const std::string& name, dns::RType t, std::vector<dns::Record> recs) {
    dns::Response r;
    r.status = dns::Status::ok;
    r.rcode = 0;
    r.answers = std::move(recs);
    answers[{name, t}] = r;
  }

  boost::asio::awaitable<dns::Response> query(std::string name, dns::RType type) override {
    if (auto it = answers.find({name, type}); it != answers.end()) co_return it->second;
    dns::Response r;
    r.status = dns::Status::nxdomain;
    r.rcode = 3;
    co_return r;
  }
  boost::asio::awaitable<dns::Response> query_server(dns::Server s, std::string name, dns::RType,
                                                     dns::QueryOptions) override {
    dns::Response r;
    const auto it = direct_soa.find({canonical_address(s.address), name});
    if (it != direct_soa.end() && it->second) {
      r.status = dns::Status::ok;
      r.answers.push_back({name, dns::RType::SOA, 300, "ns1." + name, 0});
    } else {
      r.status = dns::Status::timeout;
      r.error = "no answer";
    }
    co_return r;
  }
  boost::asio::awaitable<dns::AddressLookup> addresses(std::string host) override {
    if (auto it = hosts.find(host); it != hosts.end()) co_return it->second;
    dns::AddressLookup a;
    a.status = dns::Status::nxdomain;
    co_return a;
  }
  boost::asio::awaitable<dns::AxfrResult> axfr(dns::Server, std::string) override {
    co_return dns::AxfrResult{};
  }
};

class FakeFetcher final : public web::Fetcher {
 public:
  // (url, address) -> result; anything else: connection refused.
  std::map<std::pair<std::string, std::string>, web::FetchResult> pages;
  std::vector<std::pair<std::string, std::string>> requests;

  void page(const std::string& url, const std::string& addr, long status, std::string body,
            std::chrono::milliseconds first_byte = std::chrono::milliseconds(5)) {
    web::FetchResult r;
    r.status = web::Status::ok;
    r.http_status = status;
    r.body = std::move(body);
    r.content_type = "text/html";
    r.connect_time = std::chrono::milliseconds(1);
    r.first_byte_time = first_byte;
    pages[{url, canonical_address(*parse_address(addr))}] = r;
  }

  boost::asio::awaitable<web::FetchResult> fetch(web::FetchRequest req) override {
    const auto key = std::make_pair(req.url, canonical_address(req.address));
    requests.push_back(key);
    if (auto it = pages.find(key); it != pages.end()) co_return it->second;
    web::FetchResult r;
    r.status = web::Status::connect_failed;
    r.error = "Connection refused";
    co_return r;
  }
};

// Runs a coroutine to completion on a private io_context.
template <class T>
T run(boost::asio::awaitable<T> a) {
  boost::asio::io_context io;
  std::optional<T> out;
  boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.run();
  return std::move(*out);
}

inline void run(boost::asio::awaitable<void> a) {
  boost::asio::io_context io;
  boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}

// Keeps every finding written.
class CollectingSink final : public FindingSink {
 public:
  std::vector<Finding> findings;
  void write(const Finding& f) override { findings.push_back(f); }
  std::vector<std::string> kinds() const {
    std::vector<std::string> k;
    for (const auto& f : findings) k.push_back(f.kind);
    return k;
  }
  const Finding* find(const std::string& kind, const std::string& subject) const {
    for (const auto& f : findings) {
      if (f.kind == kind && f.subject == subject) return &f;
    }
    return nullptr;
  }
};

}  // namespace edusight::testing
