#pragma once
// The durable Forward spool, shared by the agent and a campus collector's upstream link: every
// chunk is on disk before it is sent, and leaves only after the receiving collector
// acknowledged it. One file per chunk,
// <dir>/<sequence, 20 digits>.chunk, so delivery order is append order across restarts.
//
// Record layout (little-endian): "ESPOOL1\n", u64 sequence, u32 tag length, tag, u32 chunk id
// length, chunk id, u64 payload length, payload, u32 CRC32C of every byte before it.
// append() writes <name>.tmp, fsyncs it, renames it and fsyncs the directory before it
// reports success: a chunk reported spooled survives a crash or power loss. A file that
// fails its checksum at open (a torn write, a bad disk) goes to <dir>/corrupt/ and is counted.
//
// Bounded by max_bytes and max_chunks: a full spool evicts its OLDEST chunks, and the count
// of evictions is kept in <dir>/state so heartbeats can report it across restarts.
// Thread-safe: scans append from their threads while the sender reads and pops.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace edusight::forward {

struct SpoolEntry {
  std::uint64_t sequence = 0;
  std::string tag;
  std::string chunk_id;
  std::string payload;  // the encoded Forward message, sent as is
};

struct SpoolLimits {
  std::uint64_t max_bytes = 256ull * 1024 * 1024;
  std::uint64_t max_chunks = 100000;
};

struct SpoolStats {
  std::uint64_t chunks = 0;
  std::uint64_t bytes = 0;           // file sizes
  std::uint64_t evicted_chunks = 0;  // ever, persisted
  std::uint64_t corrupt_files = 0;   // moved aside, ever, persisted
};

std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

class Spool {
 public:
  // Creates the directory when missing and loads what is there. Throws std::runtime_error
  // when the directory cannot be used (a start-up error).
  Spool(std::filesystem::path dir, SpoolLimits limits);

  // Durable before it returns success. Evicts the oldest chunks when full; a chunk bigger than
  // max_bytes on its own is refused (file_too_large). Returns the sequence number given.
  std::error_code append(std::string_view tag, std::string_view chunk_id, std::string_view payload,
                         std::uint64_t* sequence = nullptr);

  // The oldest chunk, read from disk; nullopt when empty. A file found corrupt now is moved
  // aside and the next one is tried.
  std::optional<SpoolEntry> front();
  // The first chunk with a sequence number greater than `sequence` (for pipelining).
  std::optional<SpoolEntry> next_after(std::uint64_t sequence);
  // Removes the oldest chunk (after its ack).
  void pop_front();
  // Removes a chunk by sequence number; false when it is gone already (evicted meanwhile).
  bool remove(std::uint64_t sequence);

  std::uint64_t size_chunks() const;
  std::uint64_t size_bytes() const;
  SpoolStats stats() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path file_of(std::uint64_t sequence) const;
  std::optional<SpoolEntry> read_locked(std::uint64_t sequence);  // moves aside when corrupt
  void move_aside_locked(const std::filesystem::path& file, const std::string& why);
  void remove_locked(std::uint64_t sequence);
  void save_state_locked();

  std::filesystem::path dir_;
  SpoolLimits limits_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, std::uint64_t> chunks_;  // sequence -> file size
  std::uint64_t bytes_ = 0;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t evicted_ = 0;
  std::uint64_t corrupt_ = 0;
};

}  // namespace edusight::forward
