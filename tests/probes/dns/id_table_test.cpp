// The resolver's id table against std::map: random inserts and erases, clustered ids (same
// low bits, long probe runs that wrap around), growth to every id in use.
#include "id_table.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>

namespace edusight::dns {
namespace {

struct Item {
  int n = 0;
};

void expect_same(const IdTable<Item>& t, const std::map<std::uint16_t, Item*>& m) {
  ASSERT_EQ(t.size(), m.size());
  for (const auto& [id, p] : m) ASSERT_EQ(t.find(id), p) << id;
  std::size_t seen = 0;
  t.for_each([&](Item* p) {
    ++seen;
    ASSERT_NE(p, nullptr);
  });
  EXPECT_EQ(seen, m.size());
}

TEST(IdTable, MatchesAMapUnderRandomUse) {
  std::mt19937 rng(7);
  std::vector<Item> items(65536);
  IdTable<Item> t;
  std::map<std::uint16_t, Item*> m;
  for (int op = 0; op < 200000; ++op) {
    // Ids from a narrow set half the time: many share their low bits and collide.
    const auto id = static_cast<std::uint16_t>(op % 2 ? rng() : (rng() % 64) << 10 | 0x3F);
    if (m.contains(id)) {
      ASSERT_EQ(t.find(id), m[id]);
      t.erase(id);
      m.erase(id);
      ASSERT_EQ(t.find(id), nullptr);
    } else if (m.size() < 3000) {
      t.insert(id, &items[id]);
      m[id] = &items[id];
    }
    if (op % 20000 == 0) expect_same(t, m);
  }
  expect_same(t, m);
}

TEST(IdTable, HoldsEveryIdAndEmptiesAgain) {
  std::vector<Item> items(65536);
  IdTable<Item> t;
  for (std::uint32_t id = 0; id < 65536; ++id) {
    t.insert(static_cast<std::uint16_t>(id), &items[id]);
  }
  EXPECT_EQ(t.size(), 65536u);
  for (std::uint32_t id = 0; id < 65536; ++id) {
    ASSERT_EQ(t.find(static_cast<std::uint16_t>(id)), &items[id]);
  }
  for (std::uint32_t id = 0; id < 65536; id += 2) t.erase(static_cast<std::uint16_t>(id));
  for (std::uint32_t id = 0; id < 65536; ++id) {
    ASSERT_EQ(t.find(static_cast<std::uint16_t>(id)), id % 2 ? &items[id] : nullptr);
  }
  for (std::uint32_t id = 1; id < 65536; id += 2) t.erase(static_cast<std::uint16_t>(id));
  EXPECT_EQ(t.size(), 0u);
  t.erase(5);  // absent: no effect
  EXPECT_EQ(t.find(5), nullptr);
}

}  // namespace
}  // namespace edusight::dns
