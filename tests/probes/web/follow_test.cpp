#include "probes/web/follow.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <optional>
#include <utility>

#include "edusight/core/names.hpp"

namespace edusight::web {
namespace {

namespace asio = boost::asio;

asio::ip::address ip(const char* s) {
  return asio::ip::make_address(s);
}

class FakeFetcher final : public Fetcher {
 public:
  std::map<std::pair<std::string, std::string>, FetchResult> pages;  // (url, address)
  std::vector<std::pair<std::string, std::string>> requests;

  void page(const std::string& url, const char* addr, long status, std::string location = {}) {
    FetchResult r;
    r.status = Status::ok;
    r.http_status = status;
    r.location = std::move(location);
    r.body = "body of " + url;
    pages[{url, canonical_address(ip(addr))}] = r;
  }
  asio::awaitable<FetchResult> fetch(FetchRequest req) override {
    const auto key = std::make_pair(req.url, canonical_address(req.address));
    requests.push_back(key);
    if (auto it = pages.find(key); it != pages.end()) co_return it->second;
    FetchResult r;
    r.status = Status::connect_failed;
    r.error = "Connection refused";
    co_return r;
  }
};

class FakeLookup final : public dns::Lookup {
 public:
  std::map<std::string, dns::AddressLookup> hosts;
  int lookups = 0;

  void host(const std::string& name, std::vector<const char*> v4, std::vector<const char*> v6) {
    dns::AddressLookup a;
    a.status = dns::Status::ok;
    for (auto* s : v4) a.ipv4.push_back(ip(s));
    for (auto* s : v6) a.ipv6.push_back(ip(s));
    hosts[name] = a;
  }
  asio::awaitable<dns::Response> query(std::string, dns::RType) override {
    co_return dns::Response{};
  }
  asio::awaitable<dns::Response> query_server(dns::Server, std::string, dns::RType,
                                              dns::QueryOptions) override {
    co_return dns::Response{};
  }
  asio::awaitable<dns::AddressLookup> addresses(std::string host) override {
    ++lookups;
    if (auto it = hosts.find(host); it != hosts.end()) co_return it->second;
    dns::AddressLookup a;
    a.status = dns::Status::nxdomain;
    a.error = "no such name";
    co_return a;
  }
  asio::awaitable<dns::AxfrResult> axfr(dns::Server, std::string) override {
    co_return dns::AxfrResult{};
  }
};

ProbeResult follow(FakeFetcher& f, FakeLookup& d, std::string url, const char* first,
                   FollowOptions opt = {}) {
  asio::io_context io;
  std::optional<ProbeResult> out;
  asio::co_spawn(io, fetch_following(f, d, std::move(url), ip(first), opt),
                 [&](std::exception_ptr e, ProbeResult r) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(r);
                 });
  io.run();
  return std::move(*out);
}

TEST(FetchFollowing, NoRedirect) {
  FakeFetcher f;
  FakeLookup d;
  f.page("http://www.example.edu/", "2001:db8::1", 200);
  const auto r = follow(f, d, "http://www.example.edu/", "2001:db8::1");
  EXPECT_EQ(r.final.status, Status::ok);
  EXPECT_EQ(r.final.http_status, 200);
  EXPECT_EQ(r.final_url, "http://www.example.edu/");
  ASSERT_EQ(r.hops.size(), 1u);
  EXPECT_EQ(d.lookups, 0);
}

TEST(FetchFollowing, SameHostReusesAddress) {
  FakeFetcher f;
  FakeLookup d;
  f.page("http://www.example.edu/", "2001:db8::1", 301, "https://www.example.edu/");
  f.page("https://www.example.edu/", "2001:db8::1", 302, "https://WWW.example.edu/index.html");
  f.page("https://WWW.example.edu/index.html", "2001:db8::1", 200);
  const auto r = follow(f, d, "http://www.example.edu/", "2001:db8::1");
  EXPECT_EQ(r.final.status, Status::ok);
  EXPECT_EQ(r.final_url, "https://WWW.example.edu/index.html");
  ASSERT_EQ(r.hops.size(), 3u);
  EXPECT_EQ(r.hops[0].http_status, 301);
  EXPECT_EQ(r.hops[2].address, ip("2001:db8::1"));
  EXPECT_EQ(d.lookups, 0);
}

TEST(FetchFollowing, CrossHostSameFamily) {
  FakeFetcher f;
  FakeLookup d;
  d.host("portal.example.edu", {"192.0.2.7"}, {"2001:db8::7", "2001:db8::8"});
  f.page("http://example.edu/", "2001:db8::1", 302, "https://portal.example.edu/login");
  f.page("https://portal.example.edu/login", "2001:db8::7", 200);
  f.page("http://example.edu/", "192.0.2.1", 302, "https://portal.example.edu/login");
  f.page("https://portal.example.edu/login", "192.0.2.7", 200);

  const auto r6 = follow(f, d, "http://example.edu/", "2001:db8::1");
  EXPECT_EQ(r6.final.status, Status::ok);
  ASSERT_EQ(r6.hops.size(), 2u);
  EXPECT_EQ(r6.hops[1].address, ip("2001:db8::7"));

  const auto r4 = follow(f, d, "http://example.edu/", "192.0.2.1");
  EXPECT_EQ(r4.final.status, Status::ok);
  ASSERT_EQ(r4.hops.size(), 2u);
  EXPECT_EQ(r4.hops[1].address, ip("192.0.2.7"));
}

TEST(FetchFollowing, V6RedirectToV4OnlyHostFails) {
  FakeFetcher f;
  FakeLookup d;
  d.host("old.example.edu", {"192.0.2.9"}, {});
  f.page("http://www.example.edu/", "2001:db8::1", 302, "http://old.example.edu/");
  f.page("http://old.example.edu/", "192.0.2.9", 200);
  const auto r = follow(f, d, "http://www.example.edu/", "2001:db8::1");
  EXPECT_EQ(r.final.status, Status::dns_failed);
  EXPECT_NE(r.final.error.find("IPv4-only host old.example.edu"), std::string::npos)
      << r.final.error;
  EXPECT_EQ(r.final_url, "http://old.example.edu/");
  EXPECT_EQ(r.hops.size(), 1u);
  // Nothing was sent over IPv4.
  for (const auto& req : f.requests) EXPECT_NE(req.second, "192.0.2.9");
}

TEST(FetchFollowing, RedirectToUnresolvableHost) {
  FakeFetcher f;
  FakeLookup d;
  f.page("http://www.example.edu/", "192.0.2.1", 302, "http://gone.example.edu/");
  const auto r = follow(f, d, "http://www.example.edu/", "192.0.2.1");
  EXPECT_EQ(r.final.status, Status::dns_failed);
  EXPECT_NE(r.final.error.find("gone.example.edu"), std::string::npos);
}

TEST(FetchFollowing, LoopIsTooManyRedirects) {
  FakeFetcher f;
  FakeLookup d;
  f.page("http://a.example.edu/", "192.0.2.1", 302, "http://a.example.edu/b");
  f.page("http://a.example.edu/b", "192.0.2.1", 302, "http://a.example.edu/");
  const auto r = follow(f, d, "http://a.example.edu/", "192.0.2.1");
  EXPECT_EQ(r.final.status, Status::too_many_redirects);
  EXPECT_NE(r.final.error.find("loop"), std::string::npos);
  EXPECT_EQ(r.hops.size(), 2u);
}

TEST(FetchFollowing, LongChainIsTooManyRedirects) {
  FakeFetcher f;
  FakeLookup d;
  for (int i = 0; i < 10; ++i) {
    f.page("http://a.example.edu/" + std::to_string(i), "192.0.2.1", 302,
           "http://a.example.edu/" + std::to_string(i + 1));
  }
  FollowOptions opt;
  opt.max_redirects = 3;
  const auto r = follow(f, d, "http://a.example.edu/0", "192.0.2.1", opt);
  EXPECT_EQ(r.final.status, Status::too_many_redirects);
  EXPECT_EQ(r.hops.size(), 4u);  // the first request and three redirects
}

TEST(FetchFollowing, FailuresAndBadUrls) {
  FakeFetcher f;
  FakeLookup d;
  const auto r = follow(f, d, "http://down.example.edu/", "2001:db8::2");
  EXPECT_EQ(r.final.status, Status::connect_failed);
  EXPECT_EQ(r.hops.size(), 1u);
  const auto b = follow(f, d, "ftp://x.example.edu/", "2001:db8::2");
  EXPECT_EQ(b.final.status, Status::bad_url);
  EXPECT_TRUE(b.hops.empty());
  // A redirect to a non-http target ends the chain at the redirect itself.
  f.page("http://m.example.edu/", "192.0.2.1", 302, "mailto:admin@example.edu");
  const auto m = follow(f, d, "http://m.example.edu/", "192.0.2.1");
  EXPECT_EQ(m.final.status, Status::ok);
  EXPECT_EQ(m.final.http_status, 302);
}

}  // namespace
}  // namespace edusight::web
