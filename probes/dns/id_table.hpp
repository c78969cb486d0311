#pragma once
// A small hash table from DNS query id to the waiting query, used by the resolver's sockets.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace edusight::dns {

// Outstanding queries of one socket by 16-bit id: open addressing with linear probing, kept
// at most half full, so the table stays small and in cache (a 65536-entry array missed the
// cache on nearly every lookup). Query ids are random, so their low bits spread evenly.
// Every loop is bounded by the table size; null values are not stored.
template <class T>
class IdTable {
 public:
  T* find(std::uint16_t id) const {
    const std::size_t mask = entries_.size() - 1;
    for (std::size_t n = 0, i = id & mask; n < entries_.size(); ++n, i = (i + 1) & mask) {
      if (!entries_[i].p) return nullptr;
      if (entries_[i].id == id) return entries_[i].p;
    }
    return nullptr;
  }
  // `id` must not be present.
  void insert(std::uint16_t id, T* p) {
    if ((count_ + 1) * 2 > entries_.size()) grow();
    place(id, p);
    ++count_;
  }
  void erase(std::uint16_t id) {
    const std::size_t mask = entries_.size() - 1;
    std::size_t i = id & mask;
    std::size_t n = 0;
    for (; n < entries_.size(); ++n, i = (i + 1) & mask) {
      if (!entries_[i].p) return;
      if (entries_[i].id == id) break;
    }
    if (n == entries_.size()) return;
    // Backward-shift deletion: later entries of the probe run move into the hole unless
    // their home lies cyclically in (hole, j].
    std::size_t j = i;
    for (std::size_t k = 0; k < entries_.size(); ++k) {
      j = (j + 1) & mask;
      if (!entries_[j].p) break;
      const std::size_t home = entries_[j].id & mask;
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      entries_[i] = entries_[j];
      i = j;
    }
    entries_[i] = Entry{};
    --count_;
  }
  std::size_t size() const { return count_; }
  template <class F>
  void for_each(F&& f) const {
    for (const Entry& e : entries_) {
      if (e.p) f(e.p);
    }
  }

 private:
  struct Entry {
    std::uint16_t id = 0;
    T* p = nullptr;
  };
  void place(std::uint16_t id, T* p) {
    const std::size_t mask = entries_.size() - 1;
    std::size_t i = id & mask;
    for (std::size_t n = 0; n < entries_.size() && entries_[i].p; ++n) i = (i + 1) & mask;
    entries_[i] = Entry{id, p};
  }
  void grow() {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(old.size() * 2, Entry{});
    for (const Entry& e : old) {
      if (e.p) place(e.id, e.p);
    }
  }
  std::vector<Entry> entries_ = std::vector<Entry>(64);
  std::size_t count_ = 0;
};

}  // namespace edusight::dns
