#pragma once
// The agent's identity file, written by `edusight-agent enroll` and read by `run` (the
// daemon configuration's agent.identity_file): who the agent is at the collector, its key,
// and how to reach and trust the collector's Forward listener. YAML, mode 0600.
#include <cstdint>
#include <string>

namespace edusight::agent {

inline constexpr const char* kDefaultIdentityFile = "/var/lib/edusight-agent/identity.yaml";

struct Identity {
  std::string agent_id;
  std::string key;
  std::string host;            // the collector, without brackets
  std::uint16_t port = 24224;  // its Forward listener
  bool tls = true;
  std::string pin_sha256;  // lower-case hex of the certificate's DER SHA-256, or
  std::string ca_file;     // a CA file to verify it with (and server_name)
  std::string server_name;
};

// Throws ConfigError (file:line:column) for a malformed file; unknown keys are refused.
Identity load_identity(const std::string& path);
Identity parse_identity(const std::string& yaml_text, const std::string& origin);
std::string render_identity(const Identity& id);
// Writes the file atomically (a temporary file in the same directory, fsync, rename), mode
// 0600, creating the directory (0700) if needed. An existing file is kept unless `force`.
// Throws std::runtime_error saying why.
void write_identity(const std::string& path, const Identity& id, bool force);

}  // namespace edusight::agent
