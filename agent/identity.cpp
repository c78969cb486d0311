#include "agent/identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "agent/daemon_config.hpp"
#include "edusight/core/yaml_reader.hpp"

namespace edusight::agent {

namespace {

std::string quoted(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

Identity parse_identity(const std::string& yaml_text, const std::string& origin) {
  const YAML::Node root = load_yaml(yaml_text, origin);
  Reader r(origin);
  if (!root || root.IsNull()) throw ConfigError(origin, 0, 0, "the identity file is empty");
  r.expect_map(root, "the identity file");
  r.only_keys(root, "the identity file", {"agent_id", "key", "collector"});
  Identity id;
  if (!root["agent_id"]) r.fail(root, "agent_id is missing");
  if (!root["key"]) r.fail(root, "key is missing");
  id.agent_id = r.nonempty(root["agent_id"], "agent_id");
  id.key = r.nonempty(root["key"], "key");
  if (const auto c = root["collector"]) {
    r.expect_map(c, "collector");
    r.only_keys(c, "collector", {"host", "port", "tls", "pin_sha256", "ca_file", "server_name"});
    if (c["host"]) id.host = r.nonempty(c["host"], "collector.host");
    if (c["port"])
      id.port = static_cast<std::uint16_t>(r.uint64(c["port"], "collector.port", 1, 65535));
    if (c["tls"]) id.tls = r.boolean(c["tls"], "collector.tls");
    if (c["pin_sha256"]) id.pin_sha256 = r.scalar(c["pin_sha256"], "collector.pin_sha256");
    if (c["ca_file"]) id.ca_file = r.scalar(c["ca_file"], "collector.ca_file");
    if (c["server_name"]) id.server_name = r.scalar(c["server_name"], "collector.server_name");
  }
  return id;
}

Identity load_identity(const std::string& path) {
  return parse_identity(read_config_text(path), path);
}

std::string render_identity(const Identity& id) {
  std::string out =
      "# This agent's identity at the collector, written by `edusight-agent enroll`.\n"
      "# The key is a secret: keep this file mode 0600.\n";
  out += "agent_id: " + quoted(id.agent_id) + "\n";
  out += "key: " + quoted(id.key) + "\n";
  out += "collector:\n";
  out += "  host: " + quoted(id.host) + "\n";
  out += "  port: " + std::to_string(id.port) + "\n";
  out += std::string("  tls: ") + (id.tls ? "true" : "false") + "\n";
  if (!id.pin_sha256.empty()) out += "  pin_sha256: " + quoted(id.pin_sha256) + "\n";
  if (!id.ca_file.empty()) out += "  ca_file: " + quoted(id.ca_file) + "\n";
  if (!id.server_name.empty()) out += "  server_name: " + quoted(id.server_name) + "\n";
  return out;
}

void write_identity(const std::string& path, const Identity& id, bool force) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (!force && fs::exists(target, ec)) {
    throw std::runtime_error("the identity file " + path +
                             " exists: this agent is enrolled already (--force replaces it)");
  }
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  std::string tmp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());  // mode 0600
  if (fd < 0) throw std::runtime_error("cannot write in " + dir.string() + ": " + errno_text());
  const std::string text = render_identity(id);
  bool ok = ::fchmod(fd, 0600) == 0;
  // Enrolled as root into the service's state directory (/var/lib/edusight-agent, owned by
  // the edusight-agent user): the file goes to the directory's owner, or the daemon, which
  // runs as that user, could not read its own identity.
  struct stat dir_stat {};
  if (ok && ::geteuid() == 0 && ::stat(dir.c_str(), &dir_stat) == 0 && dir_stat.st_uid != 0) {
    ok = ::fchown(fd, dir_stat.st_uid, dir_stat.st_gid) == 0;
  }
  for (std::size_t at = 0; ok && at < text.size();) {
    const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      at += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const std::string why = ok ? "" : errno_text();
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + tmp + ": " + why);
  }
  // Without --force, a file that appeared meanwhile is not replaced either.
  if (!force && ::link(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = errno_text();
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot create " + path + ": " + e);
  }
  if (!force) {
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = errno_text();
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot replace " + path + ": " + e);
  }
  // The rename is durable once the directory is.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace edusight::agent
