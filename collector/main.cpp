// edusight-collector: receives findings from agents (Forward protocol over TLS), stores them,
// and serves the HTTP API. Subcommands manage API tokens and agents' identities.
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>

#include "collector/alerts/active_rules.hpp"
#include "collector/alerts/alert_notifier.hpp"
#include "collector/api/enroll_server.hpp"
#include "collector/api/enrollment.hpp"
#include "collector/api/report_jobs.hpp"
#include "collector/api/router.hpp"
#include "collector/api/server.hpp"
#include "collector/api/tokens.hpp"
#include "collector/config/collector_config.hpp"
#include "collector/ingest/forward_server.hpp"
#include "collector/ingest/tls.hpp"
#include "collector/ingest/upstream.hpp"
#include "collector/ingest/writer.hpp"
#include "collector/store/sqlite_store.hpp"
#ifdef EDUSIGHT_HAVE_POSTGRESQL
#include "collector/store/pg_store.hpp"
#endif
#include "edusight/core/crypto.hpp"
#include "edusight/core/logging.hpp"
#include "edusight/core/schedule.hpp"
#include "rules/engine/rule_tests.hpp"

#ifndef EDUSIGHT_VERSION
#define EDUSIGHT_VERSION "dev"
#endif

namespace {

using namespace edusight;
using namespace edusight::collector;
namespace asio = boost::asio;
namespace fs = std::filesystem;

struct Common {
  std::string config;
  std::string data_dir;
  std::string log_level;
};

CollectorConfig load(const Common& common) {
  CollectorConfig c =
      common.config.empty() ? CollectorConfig{} : load_collector_config(common.config);
  if (!common.data_dir.empty()) c.data_dir = common.data_dir;
  if (!common.log_level.empty()) c.log_level = common.log_level;
  resolve_defaults(c);
  return c;
}

// The data directory holds keys and the database: only the collector's user may read it.
void prepare_data_dir(const CollectorConfig& c) {
  fs::create_directories(c.data_dir);
  ::chmod(c.data_dir.c_str(), 0700);
}

// Each call is one connection: the writer, the API, the notifier and the posture snapshot
// each get their own, so none waits for another's transaction.
std::unique_ptr<Store> open_store(const CollectorConfig& c, const Clock& clock) {
  prepare_data_dir(c);
  if (is_postgresql(c.database)) {
#ifdef EDUSIGHT_HAVE_POSTGRESQL
    auto store = std::make_unique<PgStore>(c.database, clock);
    if (!store->status().ok) {
      throw std::runtime_error(redact_database(c.database) + ": " + store->status().error);
    }
    return store;
#else
    throw std::runtime_error("this build has no PostgreSQL store (libpq was not found)");
#endif
  }
  auto store = std::make_unique<SqliteStore>(c.database, clock);
  if (!store->status().ok) throw std::runtime_error(store->status().error);
  return store;
}

std::vector<asio::ip::tcp::endpoint> endpoints(const std::vector<std::string>& list,
                                               const std::string& what) {
  std::vector<asio::ip::tcp::endpoint> out;
  for (const std::string& text : list) {
    ListenAddress a = parse_listen_address(text, what);
    out.emplace_back(asio::ip::make_address(a.host), a.port);
  }
  return out;
}

std::string describe(const asio::ip::tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// The names the self-signed certificate carries.
std::vector<std::string> certificate_names(const CollectorConfig& c) {
  std::vector<std::string> names{c.hostname, "localhost", "127.0.0.1", "::1"};
  names.insert(names.end(), c.certificate_names.begin(), c.certificate_names.end());
  return names;
}

std::unique_ptr<Upstream> make_upstream(const CollectorConfig& c, metrics::Registry& registry,
                                        const Clock& clock, Random& random) {
  const UpstreamSettings& u = c.upstream;
  if (!u.enabled) return nullptr;
  if (u.campus.empty()) {
    throw ConfigError("upstream.campus", 0, 0,
                      "a campus collector needs upstream.campus (or institution): the campus "
                      "its findings are tagged with");
  }
  UpstreamOptions o;
  o.campus = u.campus;
  o.spool_dir = u.spool_dir;
  o.spool_limits = {u.spool_max_bytes, u.spool_max_chunks};
  o.max_chunk_findings = u.max_chunk_findings;
  o.version = EDUSIGHT_VERSION;
  auto& client = o.sender.client;
  client.host = u.host;
  client.port = u.port;
  client.plaintext = !u.tls;
  client.ca_file = u.ca_file;
  client.pin_sha256 = u.pin_sha256;
  client.server_name = u.server_name;
  client.agent_id = u.agent_id;
  client.shared_key = upstream_key(u);
  client.connect_timeout = u.connect_timeout;
  client.ack_timeout = u.ack_timeout;
  o.sender.heartbeat_interval = u.heartbeat_interval;
  o.sender.backoff_max = u.backoff_max;
  return std::make_unique<Upstream>(std::move(o), registry, clock, random);
}

int run(const CollectorConfig& c) {
  SystemClock clock;
  CryptoRandom random;
  prepare_data_dir(c);

  std::optional<asio::ssl::context> forward_tls, api_tls;
  const auto names = certificate_names(c);
  if (c.forward.tls.enabled) {
    ensure_self_signed_certificate(c.forward.tls.cert_file, c.forward.tls.key_file, names, clock);
    forward_tls.emplace(make_server_tls(c.forward.tls.cert_file, c.forward.tls.key_file));
  }
  if (c.api.tls.enabled) {
    ensure_self_signed_certificate(c.api.tls.cert_file, c.api.tls.key_file, names, clock);
    api_tls.emplace(make_server_tls(c.api.tls.cert_file, c.api.tls.key_file));
  }

  // Two connections to one database: the writer's and the API's (SQLite's WAL lets them
  // overlap; PostgreSQL serves several collectors' connections at once).
  auto ingest_store = open_store(c, clock);
  auto api_store = open_store(c, clock);
  metrics::Registry registry;
  registry.gauge("edusight_collector_info", "Collector build information.")
      .with({{"version", EDUSIGHT_VERSION}})
      .set(1);
  auto& started = registry.gauge("edusight_collector_start_time_seconds",
                                 "When the collector started (Unix time).");
  started.with().set(
      std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count());

  // The rules judge every batch on its way to the store; a reload swaps them whole.
  ActiveRules rules(c.rules, clock, registry);
  spdlog::info("collector: {} rules and {} exceptions from {}", rules.current()->rules().size(),
               rules.current()->exceptions().size(), fmt::join(c.rules, ", "));
  StoreWriter writer(*ingest_store, registry, {c.max_group_findings}, &rules);
  // A campus collector also forwards what it stores to the provincial collector.
  std::unique_ptr<Upstream> upstream = make_upstream(c, registry, clock, random);
  if (upstream) writer.set_committed_hook([&u = *upstream](const Batch& b) { u.forward(b); });

  // Alert notices: the store is the outbox, the dispatcher delivers with retries; neither
  // ever holds up ingest. A third connection, used only by the notifier's thread.
  auto notify_store = open_store(c, clock);
  notify::CondvarSleeper sleeper;
  notify::Dispatcher dispatcher(notify::make_routes(c.notifications, clock), registry, {}, clock,
                                sleeper, random);
  std::optional<AlertNotifier> notifier;
  if (dispatcher.channels() > 0) {
    AlertNotifierOptions no;
    no.poll_interval = c.alerts.poll_interval;
    no.collector = c.hostname;
    no.link_base = c.alerts.link_base;
    if (no.link_base.empty() && !c.api.listen.empty()) {
      no.link_base = std::string(c.api.tls.enabled ? "https://" : "http://") + c.api.listen.front();
    }
    notifier.emplace(*notify_store, dispatcher, registry, no);
    notifier->start();
    spdlog::info("collector: alerts announced on {} channel(s)", dispatcher.channels());
  }
  asio::io_context io(1);

  ForwardServerConfig fc;
  fc.listen = endpoints(c.forward.listen, "forward.listen");
  fc.tls = forward_tls ? &*forward_tls : nullptr;
  fc.hostname = c.hostname;
  fc.handshake_timeout = c.forward.handshake_timeout;
  fc.idle_timeout = c.forward.idle_timeout;
  fc.write_timeout = c.forward.write_timeout;
  fc.max_connections = c.forward.max_connections;
  fc.limits.max_message_size = c.forward.max_message_bytes;
  fc.max_messages_in_flight = c.forward.max_messages_in_flight;
  ForwardServer forward(io.get_executor(), fc, writer, registry, random);

  api::ApiConfig ac;
  ac.listen = endpoints(c.api.listen, "api.listen");
  ac.tls = api_tls ? &*api_tls : nullptr;
  ac.agent_online_window =
      std::chrono::duration_cast<std::chrono::seconds>(c.api.agent_online_window);
  ForwardServer* forward_ptr = &forward;
  ac.on_agent_revoked = [&io, forward_ptr](const std::string& agent) {
    asio::post(io, [forward_ptr, agent] { forward_ptr->close_agent(agent); });
  };
  ac.rules = &rules;
  ac.dashboard_dir = c.api.dashboard_dir;
  ac.institution = c.institution;
  // The posture snapshot has its own connection and thread: building it at a million
  // findings takes seconds, and requests must not wait for that.
  auto posture_store = open_store(c, clock);
  api::PostureCache posture(*posture_store, clock, registry, c.api.posture_refresh);
  posture.start();
  ac.posture = &posture;
  std::vector<api::ReportJob> report_jobs;
  for (const auto& r : c.reports) {
    api::ReportJob job;
    job.name = r.name;
    job.schedule = Schedule::parse(r.schedule);
    job.csv = r.csv;
    job.html = r.html;
    job.dir = r.dir;
    job.keep = r.keep;
    report_jobs.push_back(std::move(job));
  }
  api::ReportJobs reports(
      std::move(report_jobs), [&posture] { return posture.current(); }, clock, c.institution);
  reports.start();
  api::ApiServer api_server(io.get_executor(), ac, *api_store, registry, clock, &random);

  forward.start();
  if (Result r = api_server.start(); !r.ok) throw std::runtime_error(r.error);
  if (upstream) upstream->start(io.get_executor());

  // Enrollment: its own TLS listener with the Forward certificate, so the pin handed out
  // with a token is the one the agent then keeps for Forward (docs/enrollment.md).
  std::unique_ptr<Store> enroll_store;
  std::optional<api::Enroller> enroller;
  std::optional<api::EnrollServer> enroll_server;
  if (!c.enroll.listen.empty() && !forward_tls) {
    spdlog::warn("collector: enrollment is off: it needs forward.tls");
  } else if (!c.enroll.listen.empty()) {
    enroll_store = open_store(c, clock);
    api::EnrollerOptions eo;
    eo.forward_port = forward.local_endpoints().front().port();
    eo.server_name = c.hostname;
    eo.certificate_sha256 = certificate_sha256(c.forward.tls.cert_file);
    eo.max_failures = c.enroll.max_failures;
    eo.failure_window = c.enroll.failure_window;
    enroller.emplace(*enroll_store, clock, random, registry, eo);
    api::EnrollServerConfig ec;
    ec.listen = endpoints(c.enroll.listen, "enroll.listen");
    ec.tls = &*forward_tls;
    enroll_server.emplace(io.get_executor(), ec, *enroller);
    if (Result r = enroll_server->start(); !r.ok) throw std::runtime_error(r.error);
    for (const auto& ep : enroll_server->local_endpoints()) {
      spdlog::info("collector: enrollment on https://{}/api/v1/enroll", describe(ep));
    }
  }

  // SIGHUP re-reads the rule files; a file with a mistake is logged and the old rules stay.
  asio::signal_set hangups(io, SIGHUP);
  std::function<void()> await_hangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("collector: SIGHUP, reloading rules");
      rules.reload();
      await_hangup();
    });
  };
  await_hangup();

  for (const auto& ep : forward.local_endpoints()) {
    spdlog::info("collector: Forward {} on {}", fc.tls ? "TLS" : "plaintext", describe(ep));
  }
  if (c.forward.tls.enabled) {
    spdlog::info("collector: Forward certificate {} (sha256 {})", c.forward.tls.cert_file,
                 certificate_sha256(c.forward.tls.cert_file));
  }
  for (const auto& ep : api_server.local_endpoints()) {
    spdlog::info("collector: API on {}://{}/api/v1 (metrics /metrics, health /healthz)",
                 ac.tls ? "https" : "http", describe(ep));
  }
  spdlog::info("collector: database {} ({})", redact_database(c.database),
               is_postgresql(c.database) ? "PostgreSQL" : "SQLite");
  if (!c.api.dashboard_dir.empty()) {
    for (const auto& ep : api_server.local_endpoints()) {
      spdlog::info("collector: dashboard on {}://{}/ (from {})", ac.tls ? "https" : "http",
                   describe(ep), c.api.dashboard_dir);
    }
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("collector: signal {}, shutting down", sig);
    hangups.cancel();
    forward.stop();
    api_server.stop();
    if (enroll_server) enroll_server->stop();
    if (upstream) upstream->stop();  // what is not acknowledged stays spooled
    // Sessions end at their next step; the io_context then runs out of work.
  });
  io.run();
  writer.stop();  // everything handed to the writer is committed (and acked) before exit
  reports.stop();
  posture.stop();
  if (notifier) notifier->stop();
  dispatcher.stop();  // delivers what is queued, within its drain time
  spdlog::info("collector: stopped");
  return 0;
}

// `enrollment create`: the token (shown once), then the command to run on the agent, with
// the Forward certificate's pin that the enrollment listener also presents.
int print_new_enrollment(const CollectorConfig& c, Store& store, Random& random, const Clock& clock,
                         api::EnrollmentRequest request, const std::string& ttl) {
  if (c.enroll.listen.empty()) throw ConfigError("enroll.listen", 0, 0, "enrollment is off");
  if (!c.forward.tls.enabled) throw ConfigError("forward.tls", 0, 0, "enrollment needs TLS");
  try {
    request.ttl = std::chrono::duration_cast<std::chrono::seconds>(duration_or_throw(ttl));
  } catch (const std::invalid_argument& e) {
    throw ConfigError("--ttl", 0, 0, e.what());
  }
  const auto port = parse_listen_address(c.enroll.listen.front(), "enroll.listen").port;
  ensure_self_signed_certificate(c.forward.tls.cert_file, c.forward.tls.key_file,
                                 certificate_names(c), clock);
  const std::string pin = certificate_sha256(c.forward.tls.cert_file);
  const auto made = api::create_enrollment(store, random, clock, request);
  if (!made.result.ok) throw std::runtime_error(made.result.error);
  std::printf("%s\n", made.token.c_str());
  std::printf("edusight-agent enroll --collector %s:%u --token %s --pin %s%s%s\n",
              c.hostname.c_str(), static_cast<unsigned>(port), made.token.c_str(), pin.c_str(),
              request.agent_id.empty() ? "" : " --agent-id ", request.agent_id.c_str());
  std::fprintf(stderr,
               "enrollment token %s: enrolls %lld agent(s) until %s; it is shown only now\n",
               made.record.name.c_str(), static_cast<long long>(made.record.max_uses),
               format_rfc3339(made.record.expires_at).c_str());
  return 0;
}

void set_log_level(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

int main(int argc, char** argv) {
  edusight::setup_logging(edusight::LogStream::out, "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  CLI::App app{"EduSight collector: receives agents' findings, stores them, serves the API"};
  app.set_version_flag("--version", EDUSIGHT_VERSION);
  Common common;
  bool check_config = false;
  app.add_option("--config", common.config, "Collector configuration file (YAML)")
      ->check(CLI::ExistingFile);
  app.add_option("--data-dir", common.data_dir,
                 "Data directory (database, self-signed certificate); overrides the file");
  app.add_option("--log-level", common.log_level, "trace, debug, info, warn, error");
  app.add_flag("--check-config", check_config, "Check the configuration and exit");

  std::string token_name, token_role = "viewer";
  auto* token = app.add_subcommand("token", "Manage API tokens");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Create a token; printed once");
  token_create->add_option("--name", token_name, "Who or what uses it")->required();
  token_create->add_option("--role", token_role, "viewer or admin")
      ->check(CLI::IsMember({"viewer", "admin"}));
  auto* token_list = token->add_subcommand("list", "List tokens (names and roles)");
  auto* token_revoke = token->add_subcommand("revoke", "Revoke a token by name");
  token_revoke->add_option("name", token_name)->required();

  std::string agent_id, key_file, agent_campus;
  auto* agent = app.add_subcommand("agent", "Manage agents' identities and keys");
  agent->require_subcommand(1);
  auto* agent_add = agent->add_subcommand("add", "Create an agent identity; its key is printed");
  agent_add->add_option("id", agent_id, "The agent's id (its Forward client hostname)")->required();
  agent_add->add_option("--key-file", key_file, "Also write the key to this file (mode 0600)");
  agent_add->add_option("--campus", agent_campus,
                        "Make it a campus collector forwarding that campus's findings "
                        "(docs/federation.md)");
  auto* agent_list = agent->add_subcommand("list", "List agents");
  auto* agent_revoke = agent->add_subcommand("revoke", "Revoke an agent; it is refused");
  agent_revoke->add_option("id", agent_id)->required();

  api::EnrollmentRequest enroll_request;
  std::string enroll_ttl = "24h", enroll_name;
  auto* enrollment = app.add_subcommand("enrollment", "Manage agents' enrollment tokens");
  enrollment->require_subcommand(1);
  auto* enrollment_create = enrollment->add_subcommand(
      "create", "Create an enrollment token; it and the agent's command are printed once");
  enrollment_create->add_option("--name", enroll_request.name, "Its name (default: random)");
  enrollment_create->add_option("--comment", enroll_request.comment, "Who or what it is for");
  enrollment_create->add_option("--ttl", enroll_ttl, "How long it works: 30m, 24h, 7d");
  enrollment_create->add_option("--uses", enroll_request.max_uses, "How many agents it enrolls")
      ->check(CLI::Range(1, 100000));
  enrollment_create->add_option("--agent-id", enroll_request.agent_id,
                                "The only agent id it enrolls (default: the agent's choice)");
  auto* enrollment_list = enrollment->add_subcommand("list", "List enrollment tokens");
  auto* enrollment_revoke =
      enrollment->add_subcommand("revoke", "Revoke an enrollment token by name");
  enrollment_revoke->add_option("name", enroll_name)->required();

  std::vector<std::string> rule_paths;
  bool allow_untested = false;
  auto* rules_cmd = app.add_subcommand("rules", "Check and test rule files");
  rules_cmd->require_subcommand(1);
  auto* rules_check = rules_cmd->add_subcommand(
      "check", "Load rule files or directories and report the first mistake (file:line)");
  rules_check->add_option("paths", rule_paths, "Rule files or directories")->required();
  auto* rules_test = rules_cmd->add_subcommand(
      "test", "Run fixture tests (*.test.yaml) against the rules they name, like promtool");
  rules_test->add_option("files", rule_paths, "Fixture files")->required();
  rules_test->add_flag("--allow-untested", allow_untested,
                       "Do not fail when a loaded rule is matched by no test");

  CLI11_PARSE(app, argc, argv);

  // Rule tooling needs no configuration or database.
  if (rules_test->parsed()) {
    return rules::run_rule_tests(rule_paths, std::cout, {!allow_untested});
  }
  if (rules_check->parsed()) {
    try {
      const auto set = rules::load_rule_files(rule_paths);
      std::printf("rules OK: %zu rules, %zu exceptions\n", set.rules().size(),
                  set.exceptions().size());
      return 0;
    } catch (const ConfigError& e) {
      std::fprintf(stderr, "edusight-collector: %s\n", e.what());
      return 2;
    }
  }

  try {
    CollectorConfig config = load(common);
    set_log_level(config.log_level);
    if (check_config) {
      endpoints(config.forward.listen, "forward.listen");
      endpoints(config.api.listen, "api.listen");
      endpoints(config.enroll.listen, "enroll.listen");
      if (config.upstream.enabled) upstream_key(config.upstream);
      const auto set = rules::load_rule_files(config.rules);
      std::printf("rules OK: %zu rules, %zu exceptions\n", set.rules().size(),
                  set.exceptions().size());
      std::printf("configuration OK (data directory %s)\n", config.data_dir.c_str());
      return 0;
    }
    SystemClock clock;
    if (token_create->parsed() || token_list->parsed() || token_revoke->parsed() ||
        agent_add->parsed() || agent_list->parsed() || agent_revoke->parsed() ||
        enrollment->parsed()) {
      auto store = open_store(config, clock);
      CryptoRandom random;
      auto check = [](const Result& r) {
        if (!r.ok) throw std::runtime_error(r.error);
      };
      if (token_create->parsed()) {
        const std::string secret = api::generate_token(random);
        check(store->add_token(token_name, *parse_role(token_role), sha256_hex(secret)));
        std::printf("%s\n", secret.c_str());
      } else if (token_list->parsed()) {
        TokenList list = store->list_tokens();
        if (!list.ok) throw std::runtime_error(list.error);
        for (const auto& t : list.tokens) {
          std::printf("%s\t%s\t%s%s\n", t.name.c_str(), std::string(to_string(t.role)).c_str(),
                      format_rfc3339(t.created_at).c_str(), t.revoked ? "\trevoked" : "");
        }
      } else if (token_revoke->parsed()) {
        check(store->revoke_token(token_name));
      } else if (agent_add->parsed()) {
        // No '/': forwarded findings are filed under "<campus collector>/<agent>".
        if (!api::valid_agent_id(agent_id)) {
          throw ConfigError("agent id", 0, 0,
                            "'" + agent_id + "': 1 to 253 letters, digits, '.', '-' or '_'");
        }
        const std::string key = api::generate_secret(random, "esk_");
        check(store->add_agent(agent_id, key, agent_campus));
        if (!key_file.empty()) {
          const mode_t old = umask(077);
          std::ofstream out(key_file, std::ios::trunc);
          umask(old);
          out << key << "\n";
          if (!out) throw std::runtime_error("cannot write " + key_file);
        }
        std::printf("%s\n", key.c_str());
      } else if (agent_list->parsed()) {
        AgentList list = store->list_agents();
        if (!list.ok) throw std::runtime_error(list.error);
        for (const auto& a : list.agents) {
          std::printf("%s\t%s\t%s%s%s\n", a.id.c_str(), format_rfc3339(a.created_at).c_str(),
                      a.last_heartbeat ? format_rfc3339(*a.last_heartbeat).c_str() : "-",
                      a.campus.empty() ? "" : ("\tcampus " + a.campus).c_str(),
                      a.revoked ? "\trevoked" : "");
        }
      } else if (agent_revoke->parsed()) {
        check(store->revoke_agent(agent_id));
      } else if (enrollment_create->parsed()) {
        return print_new_enrollment(config, *store, random, clock, enroll_request, enroll_ttl);
      } else if (enrollment_list->parsed()) {
        EnrollmentList list = store->list_enrollments();
        if (!list.ok) throw std::runtime_error(list.error);
        for (const auto& e : list.enrollments) {
          std::printf("%s\t%s\texpires %s\tuses %lld/%lld\t%s\t%s\n", e.name.c_str(),
                      std::string(api::enrollment_state(e, clock.now())).c_str(),
                      format_rfc3339(e.expires_at).c_str(), static_cast<long long>(e.uses),
                      static_cast<long long>(e.max_uses),
                      e.used_by.empty() ? "-" : e.used_by.c_str(),
                      e.agent_id.empty() ? "any agent id" : e.agent_id.c_str());
        }
      } else if (enrollment_revoke->parsed()) {
        check(store->revoke_enrollment(enroll_name));
      }
      return 0;
    }
    return run(config);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "edusight-collector: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edusight-collector: %s\n", e.what());
    return 1;
  }
}
