// Fuzz target for the passive frame decoder (probes/passive/decode.hpp): every frame on a
// monitored link, whoever sent it. Built as a libFuzzer binary by fuzz/run.sh (TARGET=
// passive_decoder; clang, sanitizers) and, with fuzz/corpus_main.cpp, as the regression runner
// passive_decoder_corpus (ctest fuzz.passive_decoder.corpus).
//
// Input: the first byte picks the link type, the rest is the frame. Besides "no crash, no
// out-of-bounds read, no UB", it checks that the verdict and the facts agree with each other,
// that every view points into the frame, that counts stay within their arrays, and that
// decoding is deterministic (a reused Facts gives the same answer as a fresh one).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "fuzz_check.hpp"
#include "probes/passive/decode.hpp"

namespace {

namespace pv = edusight::passive;

bool inside(std::string_view v, const std::uint8_t* data, std::size_t size) {
  if (v.empty()) return true;
  const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
  return p >= data && p + v.size() <= data + size;
}

void check_name(const pv::DnsName& n) {
  FUZZ_CHECK(n.length <= 253);
  if (n.valid) {
    FUZZ_CHECK(n.length > 0);
    for (std::size_t i = 0; i < n.length; ++i) {
      const char c = n.text[i];
      FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 c == '.');
    }
  }
}

void check(const pv::Facts& f, bool ok, const std::uint8_t* data, std::size_t size) {
  FUZZ_CHECK(ok == (f.malformed == pv::Malformed::none));
  FUZZ_CHECK(static_cast<std::size_t>(f.malformed) < pv::kMalformedReasons);
  FUZZ_CHECK(f.outer_family == 0 || f.outer_family == 4 || f.outer_family == 6);
  FUZZ_CHECK(f.answer_count <= pv::Facts::kMaxAnswers);
  FUZZ_CHECK(f.cname_count <= pv::Facts::kMaxCnames);
  FUZZ_CHECK(f.prefix_count <= pv::Facts::kMaxPrefixes);
  for (std::size_t i = 0; i < f.prefix_count; ++i) FUZZ_CHECK(f.prefix_lengths[i] <= 128);
  for (std::size_t i = 0; i < f.answer_count; ++i)
    FUZZ_CHECK(f.answers[i].family == 4 || f.answers[i].family == 6);
  if (f.dns_response) check_name(f.dns_qname);
  for (std::size_t i = 0; i < f.cname_count; ++i) check_name(f.cnames[i]);
  FUZZ_CHECK(inside(f.tls_sni, data, size));
  FUZZ_CHECK(inside(f.http_host, data, size));
  FUZZ_CHECK(inside(f.dhcpv6_server_duid, data, size));
  FUZZ_CHECK(f.tls_sni.size() <= 255);
  FUZZ_CHECK(f.dhcpv6_server_duid.size() <= pv::Facts::kMaxDuid);
  if (f.tunnel != pv::TunnelKind::none) FUZZ_CHECK(f.tunnel_src.family != 0);
  if (f.fragment_non_first) FUZZ_CHECK(f.fragment && f.sport == 0 && f.dport == 0);
}

bool same(const pv::Facts& a, const pv::Facts& b) {
  if (a.malformed != b.malformed || a.outer_family != b.outer_family || !(a.src == b.src) ||
      !(a.dst == b.dst) || a.l4 != b.l4 || a.sport != b.sport || a.dport != b.dport ||
      a.tunnel != b.tunnel || a.dns_response != b.dns_response ||
      a.answer_count != b.answer_count || a.cname_count != b.cname_count ||
      a.tls_sni != b.tls_sni || a.http_host != b.http_host || a.router_advert != b.router_advert ||
      a.prefix_count != b.prefix_count || a.dhcpv6_type != b.dhcpv6_type ||
      a.dhcpv6_server_duid != b.dhcpv6_server_duid)
    return false;
  if (a.dns_response && a.dns_qname.view() != b.dns_qname.view()) return false;
  for (std::size_t i = 0; i < a.answer_count; ++i) {
    if (!(a.answers[i] == b.answers[i])) return false;
  }
  return true;
}

// Reused across inputs, as the agent reuses one per capture: stale state must not leak.
pv::Facts g_reused;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 65536 + 1) return 0;
  const auto link = static_cast<pv::LinkType>(data[0] % 4);
  const std::uint8_t* frame = data + 1;
  const std::size_t n = size - 1;

  pv::Facts fresh;
  const bool ok = pv::decode(link, frame, n, fresh);
  check(fresh, ok, frame, n);

  const bool again = pv::decode(link, frame, n, g_reused);
  FUZZ_CHECK(again == ok);
  FUZZ_CHECK(same(fresh, g_reused));
  return 0;
}
