#include "collector/ingest/upstream.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <variant>

#include "collector/forward/edusight_tags.hpp"
#include "collector/ingest/records.hpp"

namespace edusight::collector {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

Finding finding(const std::string& subject) {
  Finding f;
  f.kind = "ipv6.no_aaaa";
  f.subject = subject;
  f.id = finding_id(f.kind, f.subject);
  f.severity = Severity::medium;
  f.title = "No AAAA";
  f.observed_at = system_clock::time_point{} + std::chrono::hours(500'000);
  f.policy.rules = {"local-rule"};  // the campus's verdict: not forwarded
  return f;
}

Batch batch_of(std::size_t n) {
  Batch b;
  b.agent = "agent-1";
  b.chunk_id = "Q2h1bmsx";
  b.scan = "scan-1";
  b.job = "daily";
  for (std::size_t i = 0; i < n; ++i) b.findings.push_back(finding("www" + std::to_string(i)));
  return b;
}

forward::EventMessage decode(const UpstreamChunk& c) {
  std::string error;
  auto m = forward::decode_message(c.message, &error);
  EXPECT_TRUE(m) << error;
  EXPECT_TRUE(std::holds_alternative<forward::EventMessage>(*m));
  return std::get<forward::EventMessage>(*m);
}

TEST(Upstream, FindingsKeepAgentScanJobAndCarryTheCampus) {
  const auto chunks = encode_for_upstream(batch_of(2), "示范大学", 100, system_clock::now());
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].tag, forward::kFindingTag);
  EXPECT_EQ(chunks[0].chunk_id, "Q2h1bmsx");  // the agent's: a re-forward is the same chunk
  const auto m = decode(chunks[0]);
  EXPECT_EQ(m.tag, forward::kFindingTag);
  ASSERT_TRUE(m.options.chunk);
  EXPECT_EQ(*m.options.chunk, "Q2h1bmsx");
  ASSERT_EQ(m.entries.size(), 2u);
  const auto& r = m.entries[0].record;
  EXPECT_EQ(r.at("agent").as_string(), "agent-1");
  EXPECT_EQ(r.at("scan").as_string(), "scan-1");
  EXPECT_EQ(r.at("job").as_string(), "daily");
  EXPECT_EQ(r.at("campus").as_string(), "示范大学");
  EXPECT_EQ(r.at("id").as_string(), finding_id("ipv6.no_aaaa", "www0"));
  EXPECT_FALSE(r.contains("policy"));
}

TEST(Upstream, ABigBatchIsSplitWithStableChunkIds) {
  const auto a = encode_for_upstream(batch_of(5), "c", 2, system_clock::now());
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].chunk_id, "Q2h1bmsx/0");
  EXPECT_EQ(a[2].chunk_id, "Q2h1bmsx/2");
  EXPECT_EQ(decode(a[2]).entries.size(), 1u);
  const auto b = encode_for_upstream(batch_of(5), "c", 2, system_clock::now());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].message, b[i].message);
}

TEST(Upstream, ACompletedScanGoesAsItsScanRecord) {
  Batch b = batch_of(0);
  b.scan_complete = true;
  b.scanned_subjects = {"www0", "www1"};
  const auto chunks = encode_for_upstream(b, "c", 100, system_clock::now());
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].tag, forward::kScanTag);
  EXPECT_EQ(chunks[0].chunk_id, "Q2h1bmsx");
  const auto r = decode(chunks[0]).entries.at(0).record;
  EXPECT_EQ(r.at("event").as_string(), "completed");
  EXPECT_EQ(r.at("scan").as_string(), "scan-1");
  EXPECT_EQ(r.at("agent").as_string(), "agent-1");
  EXPECT_EQ(r.at("scanned_subjects").as_array().size(), 2u);
}

// What the provincial collector makes of the chunks: the same batch, under the campus
// collector's identity, with the campus from its own record of that identity.
TEST(Upstream, TheProvincialCollectorReadsBackTheBatch) {
  Batch original = batch_of(3);
  {
    const Batch* b = &original;
    const auto chunks = encode_for_upstream(*b, "示范大学", 100, system_clock::now());
    const auto m = decode(chunks[0]);
    Conversion c = convert(m, "campus-a", *m.options.chunk, "192.0.2.7:1", "示范大学");
    ASSERT_EQ(c.batches.size(), 1u);
    const Batch& got = c.batches[0];
    EXPECT_EQ(got.agent, "campus-a/agent-1");
    EXPECT_EQ(got.chunk_id, "Q2h1bmsx");
    EXPECT_EQ(got.scan, "scan-1");
    EXPECT_EQ(got.job, "daily");
    ASSERT_EQ(got.findings.size(), 3u);
    EXPECT_EQ(got.findings[0].campus, "示范大学");
    EXPECT_EQ(got.findings[0].agent, "campus-a/agent-1");
    EXPECT_EQ(got.findings[0].id, federated_finding_id("示范大学", b->findings[0].id));
    EXPECT_EQ(got.findings[0].observed_at, b->findings[0].observed_at);
  }
  Batch done = batch_of(0);
  done.scan_complete = true;
  done.scanned_subjects = {"www0"};
  const auto m = decode(encode_for_upstream(done, "示范大学", 100, system_clock::now())[0]);
  Conversion c = convert(m, "campus-a", *m.options.chunk, "p", "示范大学");
  ASSERT_EQ(c.batches.size(), 1u);
  EXPECT_TRUE(c.batches[0].scan_complete);
  EXPECT_EQ(c.batches[0].agent, "campus-a/agent-1");
  EXPECT_EQ(c.batches[0].job, "daily");
  EXPECT_EQ(c.batches[0].scanned_subjects, std::vector<std::string>{"www0"});
}

TEST(Upstream, TwoCampusesWithTheSameFindingStayTwo) {
  const std::string id = finding_id("ipv6.no_aaaa", "www0");
  EXPECT_NE(federated_finding_id("campus-a", id), federated_finding_id("campus-b", id));
  EXPECT_EQ(federated_finding_id("campus-a", id), federated_finding_id("campus-a", id));
}

TEST(Upstream, ForwardSpoolsDurablyAndCountsIt) {
  char tmpl[] = "/tmp/upstream-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  {
    metrics::Registry registry;
    SystemClock clock;
    SeededRandom random(1);
    UpstreamOptions o;
    o.campus = "c";
    o.spool_dir = (dir / "spool").string();
    o.max_chunk_findings = 2;
    Upstream u(o, registry, clock, random);
    u.forward(batch_of(3));
    EXPECT_EQ(u.spool().size_chunks(), 2u);
    const auto front = u.spool().front();
    ASSERT_TRUE(front);
    EXPECT_EQ(front->chunk_id, "Q2h1bmsx/0");
    const std::string text = registry.render();
    EXPECT_NE(text.find("edusight_upstream_spool_chunks 2"), std::string::npos) << text;
    EXPECT_NE(text.find("edusight_upstream_chunks_spooled_total 2"), std::string::npos);
  }
  {
    // Reopened (a restart): still there.
    forward::Spool again((dir / "spool").string(), {});
    EXPECT_EQ(again.size_chunks(), 2u);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace edusight::collector
