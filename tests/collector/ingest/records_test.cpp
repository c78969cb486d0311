#include "collector/ingest/records.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace edusight::collector {
namespace {

using std::chrono::system_clock;

forward::Entry entry(const char* json, std::int64_t t = 1700000000) {
  return {{t, 0}, boost::json::parse(json).as_object()};
}

TEST(Rfc3339, ParsesUtcFractionsAndOffsets) {
  auto t = parse_rfc3339("2026-11-25T13:53:17Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_rfc3339(*t), "2026-11-25T13:53:17Z");
  auto f = parse_rfc3339("2026-11-25T13:53:17.250Z");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f - *t, std::chrono::milliseconds(250));
  auto o = parse_rfc3339("2026-11-25T21:53:17+08:00");
  ASSERT_TRUE(o);
  EXPECT_EQ(*o, *t);
  for (const char* bad :
       {"", "2026-11-25", "2026-11-25T13:53:17", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-25T13:53:17Zjunk", "2026-11-25T13:53:17.Z", "x026-11-25T13:53:17Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(Records, FindingFromRecordChecksFields) {
  std::string error;
  auto f = finding_from_record(
      entry(R"({"id":"abc","kind":"ipv6.dns.no_aaaa","severity":"medium","subject":"oa.x.cn",
                "title":"No AAAA","title_zh":"无AAAA","evidence":{"a":["192.0.2.1"]},
                "observed_at":"2026-11-25T13:53:17Z","scan":"s1","agent":"spoofed"})"),
      &error);
  ASSERT_TRUE(f) << error;
  EXPECT_EQ(f->id, "abc");
  EXPECT_EQ(f->severity, Severity::medium);
  EXPECT_EQ(format_rfc3339(f->observed_at), "2026-11-25T13:53:17Z");
  EXPECT_EQ(f->agent, "");  // the transport decides who sent it
  EXPECT_EQ(f->evidence.at("a").as_array().size(), 1u);

  auto computed = finding_from_record(entry(R"({"kind":"k.x","subject":"h"})"), &error);
  ASSERT_TRUE(computed);
  EXPECT_EQ(computed->id, finding_id("k.x", "h"));
  EXPECT_EQ(computed->observed_at, system_clock::time_point(std::chrono::seconds(1700000000)));

  struct Case {
    const char* json;
    const char* error;
  };
  for (const Case& c :
       {Case{R"({"subject":"h"})", "finding has no kind"},
        Case{R"({"kind":"k"})", "finding has no subject"},
        Case{R"({"kind":"k","subject":"h","severity":"urgent"})", "unknown severity"},
        Case{R"({"kind":"k","subject":"h","evidence":[1]})", "not an object"},
        Case{R"({"kind":"k","subject":"h","observed_at":"yesterday"})",
             "unreadable observed_at"}}) {
    error.clear();
    EXPECT_FALSE(finding_from_record(entry(c.json), &error)) << c.json;
    EXPECT_NE(error.find(c.error), std::string::npos) << error;
  }
}

TEST(Records, ConvertSplitsByScanAndReportsBadRecords) {
  forward::EventMessage m;
  m.tag = std::string(kFindingTag);
  m.entries = {entry(R"({"kind":"k","subject":"a","scan":"s1","job":"daily"})"),
               entry(R"({"kind":"k","subject":"b","scan":"s2","job":"daily"})"),
               entry(R"({"subject":"broken"})"),
               entry(R"({"kind":"k","subject":"c","scan":"s1","job":"daily"})")};
  Conversion c = convert(m, "agent-1", "chunk", "192.0.2.9:1");
  ASSERT_EQ(c.batches.size(), 2u);
  EXPECT_EQ(c.batches[0].chunk_id, "chunk#0");
  EXPECT_EQ(c.batches[0].scan, "s1");
  EXPECT_EQ(c.batches[0].job, "daily");
  EXPECT_EQ(c.batches[0].findings.size(), 2u);
  EXPECT_EQ(c.batches[0].findings[1].agent, "agent-1");
  EXPECT_EQ(c.batches[1].chunk_id, "chunk#1");
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].index, 2u);
}

TEST(Records, ScanHeartbeatAndForeignTags) {
  forward::EventMessage scan;
  scan.tag = std::string(kScanTag);
  scan.entries = {entry(R"({"event":"completed","scan":"s1","job":"daily","findings":3})"),
                  entry(R"({"event":"started","scan":"s1"})")};
  Conversion c = convert(scan, "a", "k", "p");
  ASSERT_EQ(c.batches.size(), 1u);
  EXPECT_TRUE(c.batches[0].scan_complete);
  EXPECT_EQ(c.batches[0].chunk_id, "k");
  EXPECT_EQ(c.problems.size(), 1u);

  forward::EventMessage hb;
  hb.tag = std::string(kHeartbeatTag);
  hb.entries = {entry(R"({"version":"0.1.0","uptime_s":5})")};
  c = convert(hb, "a", "k", "192.0.2.1:5");
  ASSERT_EQ(c.heartbeats.size(), 1u);
  EXPECT_EQ(c.heartbeats[0].address, "192.0.2.1:5");
  EXPECT_TRUE(c.batches.empty());

  forward::EventMessage other;
  other.tag = "app.log";
  other.entries = {entry(R"({"msg":"x"})"), entry(R"({"msg":"y"})")};
  c = convert(other, "a", "k", "p");
  EXPECT_EQ(c.foreign_events, 2u);
  EXPECT_TRUE(c.batches.empty());
}

TEST(Records, OnlyACampusCollectorSpeaksForOtherAgentsAndCampuses) {
  forward::EventMessage m;
  m.tag = std::string(kFindingTag);
  m.entries = {
      entry(R"({"kind":"k","subject":"a","scan":"s1","agent":"evil","campus":"other-univ"})")};
  // A plain agent: the record's agent and campus are ignored.
  Conversion plain = convert(m, "agent-1", "chunk", "p");
  ASSERT_EQ(plain.batches.size(), 1u);
  EXPECT_EQ(plain.batches[0].agent, "agent-1");
  EXPECT_EQ(plain.batches[0].findings[0].agent, "agent-1");
  EXPECT_EQ(plain.batches[0].findings[0].campus, "");
  EXPECT_EQ(plain.batches[0].findings[0].id, finding_id("k", "a"));
  // A campus collector: its agents keep their names under it; the campus is its own.
  Conversion campus = convert(m, "campus-a", "chunk", "p", "示范大学");
  ASSERT_EQ(campus.batches.size(), 1u);
  EXPECT_EQ(campus.batches[0].agent, "campus-a/evil");
  EXPECT_EQ(campus.batches[0].findings[0].campus, "示范大学");
  EXPECT_EQ(campus.batches[0].findings[0].id,
            federated_finding_id("示范大学", finding_id("k", "a")));
}

TEST(Records, ScanRecordsMayListTheirSubjects) {
  forward::EventMessage scan;
  scan.tag = std::string(kScanTag);
  scan.entries = {entry(R"({"event":"completed","scan":"s1","scanned_subjects":["a","b"]})"),
                  entry(R"({"event":"completed","scan":"s2","scanned_subjects":[1]})")};
  Conversion c = convert(scan, "a", "k", "p");
  ASSERT_EQ(c.batches.size(), 1u);
  EXPECT_EQ(c.batches[0].scanned_subjects, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.problems.size(), 1u);
}

}  // namespace
}  // namespace edusight::collector
