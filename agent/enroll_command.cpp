#include "agent/enroll_command.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include "agent/daemon_config.hpp"
#include "agent/enroll.hpp"
#include "agent/identity.hpp"
#include "tls_trust.hpp"

namespace edusight::agent {

namespace {

struct EnrollFlags {
  std::string collector, token, pin, ca_file, server_name, agent_id;
  std::string identity_file = kDefaultIdentityFile;
  unsigned forward_port = 0;
  unsigned timeout_s = 10;
  bool force = false;
};

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

int fail(int status, const std::string& message) {
  std::fprintf(stderr, "edusight-agent enroll: %s\n", message.c_str());
  return status;
}

int run_enroll(const EnrollFlags& f) {
  EnrollOptions o;
  std::uint16_t port = kDefaultEnrollPort;
  // parse_host_port defaults the port to Forward's; the enrollment listener has its own.
  const bool has_port = f.collector.find("]:") != std::string::npos ||
                        (!f.collector.empty() && f.collector.front() != '[' &&
                         f.collector.find(':') != std::string::npos);
  if (!parse_host_port(f.collector, &o.host, &port))
    return fail(2, "--collector '" + f.collector + "' must be HOST, HOST:PORT or [V6]:PORT");
  o.port = has_port ? port : kDefaultEnrollPort;
  if (f.pin.empty() && f.ca_file.empty())
    return fail(2,
                "give --pin SHA256 (printed by `edusight-collector enrollment create`) or "
                "--ca-file FILE: the collector must be verified before the token is sent");
  if (!f.pin.empty()) {
    const std::string pin = forward::normalize_pin(f.pin);
    if (pin.size() != 64 || pin.find_first_not_of("0123456789abcdef") != std::string::npos)
      return fail(2, "--pin must be the 64 hex digits of the certificate's SHA-256");
  }
  if (!f.ca_file.empty() && !std::filesystem::exists(f.ca_file))
    return fail(2, "--ca-file " + f.ca_file + ": no such file");
  std::error_code ec;
  if (!f.force && std::filesystem::exists(f.identity_file, ec))
    return fail(2, "the identity file " + f.identity_file +
                       " exists: this agent is enrolled already (--force replaces it)");
  o.token = f.token;
  o.pin_sha256 = f.pin;
  o.ca_file = f.ca_file;
  o.server_name = f.server_name;
  o.agent_id = f.agent_id;
  o.hostname = host_name();
  o.timeout = std::chrono::seconds(f.timeout_s);

  boost::asio::io_context io(1);
  std::optional<EnrollResult> result;
  boost::asio::co_spawn(io, enroll(io.get_executor(), o),
                        [&](std::exception_ptr e, EnrollResult r) {
                          if (e) {
                            try {
                              std::rethrow_exception(e);
                            } catch (const std::exception& x) {
                              r = EnrollResult{EnrollErrc::protocol, x.what(), {}, {}};
                            }
                          }
                          result = std::move(r);
                        });
  io.run();
  if (!result) return fail(1, "enrollment did not finish");
  if (result->code != EnrollErrc::ok) return fail(1, result->message);
  Identity id = result->identity;
  if (f.forward_port != 0) id.port = static_cast<std::uint16_t>(f.forward_port);
  try {
    write_identity(f.identity_file, id, f.force);
  } catch (const std::exception& e) {
    return fail(1, std::string(e.what()) + " (the collector has enrolled " + id.agent_id +
                       ": ask an administrator to revoke it before enrolling again)");
  }
  std::printf("enrolled as %s; identity written to %s (Forward %s:%u)\n", id.agent_id.c_str(),
              f.identity_file.c_str(), id.host.c_str(), static_cast<unsigned>(id.port));
  return 0;
}

}  // namespace

void add_enroll_command(CLI::App& app) {
  auto f = std::make_shared<EnrollFlags>();
  auto* cmd = app.add_subcommand(
      "enroll", "Get this agent's identity and key from the collector with an enrollment token");
  cmd->add_option("--collector", f->collector,
                  "The collector's enrollment listener: HOST, HOST:PORT or [V6]:PORT (port "
                  "24225 by default)")
      ->required();
  cmd->add_option("--token", f->token, "The enrollment token (works once)")->required();
  cmd->add_option("--pin", f->pin, "SHA-256 of the collector's certificate (hex, colons allowed)");
  cmd->add_option("--ca-file", f->ca_file,
                  "Verify the collector against this CA file and its name instead");
  cmd->add_option("--server-name", f->server_name,
                  "The name the collector's certificate must carry (default: the host)");
  cmd->add_option("--agent-id", f->agent_id,
                  "This agent's id at the collector (default: the token's, or the host name)");
  cmd->add_option(
      "--identity-file", f->identity_file,
      std::string("Where to write the identity (default ") + kDefaultIdentityFile + ")");
  cmd->add_option("--forward-port", f->forward_port,
                  "The Forward port to keep, if not the one the collector reports")
      ->check(CLI::Range(1u, 65535u));
  cmd->add_option("--timeout", f->timeout_s, "Seconds for each network step (default 10)")
      ->check(CLI::Range(1u, 600u));
  cmd->add_flag("--force", f->force, "Replace an existing identity file");
  cmd->callback([f] {
    int status = 1;
    try {
      status = run_enroll(*f);
    } catch (const std::exception& e) {
      status = fail(1, e.what());
    }
    std::fflush(stdout);
    std::fflush(stderr);
    std::exit(status);
  });
}

}  // namespace edusight::agent
