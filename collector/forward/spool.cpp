#include "collector/forward/spool.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace edusight::forward {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "ESPOOL1\n";
constexpr std::string_view kSuffix = ".chunk";

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // Castagnoli
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads little-endian integers and byte strings, failing on short input.
struct Cursor {
  std::string_view data;
  std::size_t pos = 0;
  bool ok = true;
  std::uint64_t uint(int bytes) {
    if (data.size() - pos < static_cast<std::size_t>(bytes)) {
      ok = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[pos + i])) << (8 * i);
    pos += static_cast<std::size_t>(bytes);
    return v;
  }
  std::string bytes(std::uint64_t n) {
    if (data.size() - pos < n) {
      ok = false;
      return {};
    }
    std::string s(data.substr(pos, static_cast<std::size_t>(n)));
    pos += static_cast<std::size_t>(n);
    return s;
  }
};

std::string encode_record(std::uint64_t seq, std::string_view tag, std::string_view chunk_id,
                          std::string_view payload) {
  std::string out;
  out.reserve(kMagic.size() + 28 + tag.size() + chunk_id.size() + payload.size());
  out.append(kMagic);
  put_u64(out, seq);
  put_u32(out, static_cast<std::uint32_t>(tag.size()));
  out.append(tag);
  put_u32(out, static_cast<std::uint32_t>(chunk_id.size()));
  out.append(chunk_id);
  put_u64(out, payload.size());
  out.append(payload);
  put_u32(out, crc32c(out));
  return out;
}

std::optional<SpoolEntry> decode_record(std::string_view bytes, std::string* why) {
  if (bytes.size() < kMagic.size() + 4 || bytes.substr(0, kMagic.size()) != kMagic) {
    *why = "not a spool record (bad magic or too short)";
    return std::nullopt;
  }
  const auto body = bytes.substr(0, bytes.size() - 4);
  Cursor tail{bytes, bytes.size() - 4};
  if (crc32c(body) != static_cast<std::uint32_t>(tail.uint(4))) {
    *why = "checksum mismatch (torn or damaged file)";
    return std::nullopt;
  }
  Cursor c{body, kMagic.size()};
  SpoolEntry e;
  e.sequence = c.uint(8);
  e.tag = c.bytes(c.uint(4));
  e.chunk_id = c.bytes(c.uint(4));
  e.payload = c.bytes(c.uint(8));
  if (!c.ok || c.pos != body.size()) {
    *why = "record lengths do not add up";
    return std::nullopt;
  }
  return e;
}

std::error_code errno_code() {
  return {errno, std::generic_category()};
}

std::error_code fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_code();
  std::error_code ec;
  if (::fsync(fd) != 0) ec = errno_code();
  ::close(fd);
  return ec;
}

// temp file, fsync, rename, fsync of the directory: all or nothing, and durable.
std::error_code write_durably(const fs::path& file, std::string_view bytes) {
  const fs::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno_code();
  std::size_t done = 0;
  std::error_code ec;
  while (done < bytes.size()) {  // each round writes at least one byte or fails
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ec = errno_code();
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (!ec && ::fsync(fd) != 0) ec = errno_code();
  if (::close(fd) != 0 && !ec) ec = errno_code();
  if (!ec && ::rename(tmp.c_str(), file.c_str()) != 0) ec = errno_code();
  if (ec) {
    ::unlink(tmp.c_str());
    return ec;
  }
  return fsync_dir(file.parent_path());
}

std::optional<std::string> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

std::optional<std::uint64_t> sequence_of(const std::string& name) {
  if (name.size() <= kSuffix.size() ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return std::nullopt;
  std::uint64_t v = 0;
  const char* end = name.data() + name.size() - kSuffix.size();
  const auto [p, ec] = std::from_chars(name.data(), end, v);
  if (ec != std::errc{} || p != end) return std::nullopt;
  return v;
}

}  // namespace

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) {
  crc = ~crc;
  for (unsigned char b : data) crc = kCrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

Spool::Spool(fs::path dir, SpoolLimits limits) : dir_(std::move(dir)), limits_(limits) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_))
    throw std::runtime_error("spool directory " + dir_.string() +
                             " cannot be used: " + (ec ? ec.message() : "not a directory"));
  if (::access(dir_.c_str(), W_OK) != 0)
    throw std::runtime_error("spool directory " + dir_.string() + " is not writable");

  if (const auto state = read_file(dir_ / "state")) {
    std::istringstream in(*state);
    std::string key;
    std::uint64_t value = 0;
    for (int i = 0; i < 16 && (in >> key >> value); ++i) {
      if (key == "evicted_chunks") evicted_ = value;
      if (key == "corrupt_files") corrupt_ = value;
      if (key == "next_sequence") next_sequence_ = value;
    }
  }

  std::lock_guard lock(mutex_);
  bool counted_corrupt = false;
  // Listed first, then handled: files are removed and moved while going through them.
  std::vector<fs::path> files;
  for (const auto& item : fs::directory_iterator(dir_, ec)) {
    if (item.is_regular_file()) files.push_back(item.path());
  }
  if (ec)
    throw std::runtime_error("cannot list spool directory " + dir_.string() + ": " + ec.message());
  for (const auto& path : files) {
    const auto name = path.filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      // An append that never reported success; its chunk is still in memory or lost with
      // the process that wrote it, so nothing was promised about it.
      fs::remove(path, ec);
      continue;
    }
    const auto seq = sequence_of(name);
    if (!seq) continue;
    const auto bytes = read_file(path);
    std::string why = "cannot read";
    std::optional<SpoolEntry> e;
    if (bytes) e = decode_record(*bytes, &why);
    if (e && e->sequence != *seq) {
      why = "sequence in the record does not match the file name";
      e.reset();
    }
    if (!e) {
      move_aside_locked(path, why);
      counted_corrupt = true;
      continue;
    }
    chunks_[*seq] = bytes->size();
    bytes_ += bytes->size();
    if (*seq >= next_sequence_) next_sequence_ = *seq + 1;
  }
  if (counted_corrupt) save_state_locked();
  if (!chunks_.empty())
    spdlog::info("spool {}: {} chunk(s), {} bytes waiting for the collector", dir_.string(),
                 chunks_.size(), bytes_);
}

fs::path Spool::file_of(std::uint64_t sequence) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu", static_cast<unsigned long long>(sequence));
  return dir_ / (std::string(name) + std::string(kSuffix));
}

void Spool::move_aside_locked(const fs::path& file, const std::string& why) {
  std::error_code ec;
  const auto corrupt_dir = dir_ / "corrupt";
  fs::create_directories(corrupt_dir, ec);
  fs::rename(file, corrupt_dir / file.filename(), ec);
  if (ec) fs::remove(file, ec);  // it must not block the spool either way
  ++corrupt_;
  spdlog::error("spool: {} is corrupt ({}); moved to {}", file.string(), why, corrupt_dir.string());
}

void Spool::save_state_locked() {
  const std::string text = "evicted_chunks " + std::to_string(evicted_) + "\ncorrupt_files " +
                           std::to_string(corrupt_) + "\nnext_sequence " +
                           std::to_string(next_sequence_) + "\n";
  if (const auto ec = write_durably(dir_ / "state", text))
    spdlog::warn("spool: cannot save {}: {}", (dir_ / "state").string(), ec.message());
}

void Spool::remove_locked(std::uint64_t sequence) {
  const auto it = chunks_.find(sequence);
  if (it == chunks_.end()) return;
  std::error_code ec;
  fs::remove(file_of(sequence), ec);
  if (ec) spdlog::warn("spool: cannot remove {}: {}", file_of(sequence).string(), ec.message());
  bytes_ -= it->second;
  chunks_.erase(it);
}

std::error_code Spool::append(std::string_view tag, std::string_view chunk_id,
                              std::string_view payload, std::uint64_t* sequence) {
  std::lock_guard lock(mutex_);
  const std::uint64_t seq = next_sequence_;
  const std::string record = encode_record(seq, tag, chunk_id, payload);
  if (record.size() > limits_.max_bytes) return std::make_error_code(std::errc::file_too_large);
  // Oldest first: the newest findings describe the network as it is now.
  std::uint64_t evicted_now = 0;
  while (!chunks_.empty() &&
         (chunks_.size() + 1 > limits_.max_chunks || bytes_ + record.size() > limits_.max_bytes)) {
    remove_locked(chunks_.begin()->first);
    ++evicted_now;
  }
  if (const auto ec = write_durably(file_of(seq), record)) return ec;
  ++next_sequence_;
  chunks_[seq] = record.size();
  bytes_ += record.size();
  if (evicted_now > 0) {
    evicted_ += evicted_now;
    save_state_locked();
    spdlog::warn("spool full: evicted {} oldest chunk(s) ({} in total)", evicted_now, evicted_);
  }
  if (sequence) *sequence = seq;
  return {};
}

std::optional<SpoolEntry> Spool::read_locked(std::uint64_t sequence) {
  const auto file = file_of(sequence);
  const auto bytes = read_file(file);
  std::string why = "cannot read";
  std::optional<SpoolEntry> e;
  if (bytes) e = decode_record(*bytes, &why);
  if (e && e->sequence == sequence) return e;
  if (e) why = "sequence in the record does not match the file name";
  const auto it = chunks_.find(sequence);
  bytes_ -= it->second;
  chunks_.erase(it);
  move_aside_locked(file, why);
  save_state_locked();
  return std::nullopt;
}

std::optional<SpoolEntry> Spool::front() {
  return next_after(0);
}

std::optional<SpoolEntry> Spool::next_after(std::uint64_t sequence) {
  std::lock_guard lock(mutex_);
  // Each round either returns or drops one corrupt chunk, so this ends.
  for (auto it = chunks_.upper_bound(sequence); it != chunks_.end();
       it = chunks_.upper_bound(sequence)) {
    if (auto e = read_locked(it->first)) return e;
  }
  return std::nullopt;
}

void Spool::pop_front() {
  std::lock_guard lock(mutex_);
  if (!chunks_.empty()) remove_locked(chunks_.begin()->first);
}

bool Spool::remove(std::uint64_t sequence) {
  std::lock_guard lock(mutex_);
  if (!chunks_.count(sequence)) return false;
  remove_locked(sequence);
  return true;
}

std::uint64_t Spool::size_chunks() const {
  std::lock_guard lock(mutex_);
  return chunks_.size();
}

std::uint64_t Spool::size_bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

SpoolStats Spool::stats() const {
  std::lock_guard lock(mutex_);
  return {chunks_.size(), bytes_, evicted_, corrupt_};
}

}  // namespace edusight::forward
