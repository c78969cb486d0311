#pragma once
// Where packets come from: one interface, two libpcap implementations (a live interface with a
// BPF filter, a pcap or pcapng file), and the privilege drop that follows opening them.
// Opening and configuring throw CaptureError (start-up); reading returns a status.
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "probes/passive/decode.hpp"

namespace edusight::passive {

class CaptureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Packet {
  const std::uint8_t* data = nullptr;
  std::uint32_t caplen = 0;  // bytes captured
  std::uint32_t length = 0;  // bytes on the wire
  std::chrono::system_clock::time_point timestamp{};
};

class PacketConsumer {
 public:
  virtual ~PacketConsumer() = default;
  virtual void on_packet(const Packet& p) = 0;
};

struct CaptureCounters {
  std::uint64_t received = 0;  // by the kernel (live only)
  std::uint64_t dropped = 0;   // by the kernel or the interface: the buffer was full
};

class PacketSource {
 public:
  enum class Status { ok, idle, end, error };
  virtual ~PacketSource() = default;
  virtual LinkType link_type() const = 0;
  // Hands at most `max_packets` packets to `consumer`, waiting at most `wait` for the first
  // (live). ok: some were delivered; idle: none came in time; end: the file is over.
  virtual Status dispatch(std::size_t max_packets, std::chrono::milliseconds wait,
                          PacketConsumer& consumer) = 0;
  virtual CaptureCounters counters() const = 0;
  virtual std::string error() const = 0;
};

struct LiveOptions {
  std::string interface;
  std::string filter;  // BPF; empty: everything
  int snaplen = 65535;
  bool promiscuous = true;  // a mirror port delivers other hosts' traffic
  int buffer_bytes = 16 << 20;
};

// Opening needs CAP_NET_RAW (root); call drop_privileges() right after.
std::unique_ptr<PacketSource> open_live(const LiveOptions& options);
std::unique_ptr<PacketSource> open_file(const std::string& path, const std::string& filter);

// Maps a pcap DLT_ value onto the decoder's link types; false when not supported.
bool link_type_of(int dlt, LinkType& out);

// After the capture is open: switches to `user` (supplementary groups, gid, uid) when running
// as root and keeps no capabilities; when not root, clears whatever capabilities the binary
// was given. user "root" keeps root, deliberately. Throws CaptureError when the drop fails,
// so the agent never goes on as root by accident. Returns a line for the log.
std::string drop_privileges(const std::string& user);

}  // namespace edusight::passive
