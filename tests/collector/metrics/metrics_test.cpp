#include "collector/metrics/metrics.hpp"

#include <gtest/gtest.h>

namespace edusight::metrics {
namespace {

TEST(Metrics, RendersCountersAndGaugesInPrometheusText) {
  Registry r;
  auto& chunks = r.counter("edusight_chunks_total", "Chunks committed.");
  chunks.with().add(3);
  auto& conns = r.gauge("edusight_connections", "Open connections.");
  conns.with({{"listener", "forward"}}).set(2);
  conns.with({{"listener", "a\"b"}}).set(1);
  std::string text = r.render();
  EXPECT_NE(text.find("# HELP edusight_chunks_total Chunks committed.\n"
                      "# TYPE edusight_chunks_total counter\n"
                      "edusight_chunks_total 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE edusight_connections gauge\n"), std::string::npos);
  EXPECT_NE(text.find("edusight_connections{listener=\"forward\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("edusight_connections{listener=\"a\\\"b\"} 1\n"), std::string::npos);
}

TEST(Metrics, SameNameIsSameFamilyAndUnusedShowsZero) {
  Registry r;
  Family& a = r.counter("x_total", "x");
  Family& b = r.counter("x_total", "x");
  EXPECT_EQ(&a, &b);
  EXPECT_NE(r.render().find("x_total 0\n"), std::string::npos);
  EXPECT_EQ(r.names(), std::vector<std::string>{"x_total"});
}

}  // namespace
}  // namespace edusight::metrics
