// collector_loadgen: many agents sending findings to one collector, as fast as acks allow.
// N connections (agent-0 .. agent-(N-1), each with its own key) share a fixed total of
// findings, sent as PackedForward chunks of F findings with W chunks in flight per connection
// (write_encoded + next_ack, as the agent's sender does). All on one io_context thread.
// An ack means the chunk is committed, so acked findings/s is the durable rate.
//
//   collector_loadgen --port P --key-dir DIR --ca-file collector.crt
//       --connections 100 --findings 1000000 [--per-chunk 500] [--window 8] [--hold 30]
//
// Prints "key: value" lines (bench/collector/run.sh reads them). Exit 0 when every finding
// was acknowledged, 1 otherwise, 2 on bad arguments.
#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "client.hpp"
#include "codec.hpp"
#include "edusight/core/finding.hpp"

namespace {

namespace asio = boost::asio;
namespace fw = edusight::forward;
using Steady = std::chrono::steady_clock;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 24224;
  std::size_t connections = 100;
  std::uint64_t findings = 100'000;
  std::size_t per_chunk = 500;  // the agent's batch_max_findings default
  std::size_t window = 8;       // the client's max_in_flight default
  std::string key_dir;
  std::string agent_prefix = "agent-";
  std::string ca_file;
  std::string pin_sha256;
  bool plaintext = false;
  std::size_t connect_parallel = 50;  // handshakes at once, to stay within the handshake timeout
  double hold_s = 0;
  double timeout_s = 900;  // the whole run, so a stuck collector cannot hang the benchmark
  std::string encoder = "fast";
  std::uint64_t first = 0;  // number of the first finding: subjects are h<first+i>...
};

// Realistic finding kinds, as the agent reports them (title_zh exercises UTF-8).
struct Kind {
  const char* kind;
  const char* severity;
  const char* title;
  const char* title_zh;
};
constexpr Kind kKinds[] = {
    {"ipv6.dns.no_aaaa", "medium", "No AAAA record", "无 AAAA 记录"},
    {"ipv6.web.content_mismatch", "low", "Different content over IPv6", "IPv6 与 IPv4 内容不一致"},
    {"exposure.risky_service", "high", "Risky service exposed", "暴露高危服务"},
    {"asset.unregistered", "medium", "System not in the registry", "未登记的信息系统"},
};
constexpr std::uint32_t kObserved = 1'795'000'000;  // 2026-11-18, fixed so runs compare
constexpr const char* kObservedText = "2026-11-18T11:06:40Z";

std::string subject_of(std::uint64_t n) {
  return "h" + std::to_string(n) + ".bench-univ.edu.cn";
}

// The record the agent would send for finding number n (to_json(Finding) plus "job").
boost::json::object record_of(std::uint64_t n, const std::string& agent) {
  const Kind& k = kKinds[n % std::size(kKinds)];
  const std::string subject = subject_of(n);
  boost::json::object evidence;
  evidence["addresses"] = boost::json::array{"192.0.2." + std::to_string(n % 250 + 1),
                                             "2001:db8::" + std::to_string(n % 9000 + 1)};
  evidence["port"] = 443;
  evidence["how"] = "wordlist";
  boost::json::object r;
  r["id"] = edusight::finding_id(k.kind, subject);
  r["kind"] = k.kind;
  r["severity"] = k.severity;
  r["subject"] = subject;
  r["title"] = k.title;
  r["title_zh"] = k.title_zh;
  r["evidence"] = std::move(evidence);
  r["observed_at"] = kObservedText;
  r["agent"] = agent;
  r["scan"] = "scan-bench-1";
  r["job"] = "nightly";
  return r;
}

// Minimal msgpack writer for the fast encoder: the load generator shares two cores with the
// collector, so it must not spend them building boost::json objects.
void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_str(std::string& out, std::string_view s) {
  if (s.size() < 32) {
    out.push_back(static_cast<char>(0xa0 | s.size()));
  } else if (s.size() <= 0xff) {
    out.push_back(static_cast<char>(0xd9));
    put_be(out, s.size(), 1);
  } else {
    out.push_back(static_cast<char>(0xda));
    put_be(out, s.size(), 2);
  }
  out.append(s);
}
void put_bin_header(std::string& out, std::size_t n) {
  out.push_back(static_cast<char>(0xc6));
  put_be(out, n, 4);
}
void put_time(std::string& out, std::uint32_t seconds) {
  out.push_back(static_cast<char>(0xd7));  // fixext 8, type 0: EventTime
  out.push_back(0);
  put_be(out, seconds, 4);
  put_be(out, 0, 4);
}

// One finding's [EventTime, record] in msgpack: the same record as record_of(n).
void put_entry(std::string& out, std::uint64_t n, const std::string& agent) {
  const Kind& k = kKinds[n % std::size(kKinds)];
  const std::string subject = subject_of(n);
  out.push_back(static_cast<char>(0x92));
  put_time(out, kObserved);
  out.push_back(static_cast<char>(0x8b));  // 11 fields
  put_str(out, "id");
  put_str(out, edusight::finding_id(k.kind, subject));
  put_str(out, "kind");
  put_str(out, k.kind);
  put_str(out, "severity");
  put_str(out, k.severity);
  put_str(out, "subject");
  put_str(out, subject);
  put_str(out, "title");
  put_str(out, k.title);
  put_str(out, "title_zh");
  put_str(out, k.title_zh);
  put_str(out, "evidence");
  out.push_back(static_cast<char>(0x83));
  put_str(out, "addresses");
  out.push_back(static_cast<char>(0x92));
  put_str(out, "192.0.2." + std::to_string(n % 250 + 1));
  put_str(out, "2001:db8::" + std::to_string(n % 9000 + 1));
  put_str(out, "port");
  out.push_back(static_cast<char>(0xcd));  // uint16, as msgpack-c packs 443
  put_be(out, 443, 2);
  put_str(out, "how");
  put_str(out, "wordlist");
  put_str(out, "observed_at");
  put_str(out, kObservedText);
  put_str(out, "agent");
  put_str(out, agent);
  put_str(out, "scan");
  put_str(out, "scan-bench-1");
  put_str(out, "job");
  put_str(out, "nightly");
}

// [tag, bin(entries), {"size": n, "chunk": id}], the layout of encode_packed_forward.
std::string encode_fast(std::uint64_t first, std::size_t count, const std::string& agent,
                        const std::string& chunk_id) {
  std::string stream;
  stream.reserve(count * 400);
  for (std::size_t i = 0; i < count; ++i) put_entry(stream, first + i, agent);
  std::string out;
  out.reserve(stream.size() + 64);
  out.push_back(static_cast<char>(0x93));
  put_str(out, "edusight.finding");
  put_bin_header(out, stream.size());
  out.append(stream);
  out.push_back(static_cast<char>(0x82));
  put_str(out, "size");
  out.push_back(static_cast<char>(0xcf));
  put_be(out, count, 8);
  put_str(out, "chunk");
  put_str(out, chunk_id);
  return out;
}

std::vector<fw::Entry> entries_of(std::uint64_t first, std::size_t count,
                                  const std::string& agent) {
  std::vector<fw::Entry> entries;
  entries.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    fw::Entry e;
    e.time.seconds = kObserved;
    e.record = record_of(first + i, agent);
    entries.push_back(std::move(e));
  }
  return entries;
}

// The fast encoder must produce what the codec decodes into the agent's records; checked once
// at start so a drift in either is noticed before numbers are reported.
bool self_check() {
  const std::string agent = "agent-0";
  const std::string bytes = encode_fast(7, 3, agent, "Y2hlY2s=");
  std::string error;
  auto m = fw::decode_message(bytes, &error);
  const auto* e = m ? std::get_if<fw::EventMessage>(&*m) : nullptr;
  if (!e || e->entries.size() != 3 || e->options.chunk != std::string("Y2hlY2s=")) {
    std::fprintf(stderr, "self-check: fast encoding does not decode: %s\n", error.c_str());
    return false;
  }
  for (std::size_t i = 0; i < 3; ++i) {
    const auto want = record_of(7 + i, agent);
    if (e->entries[i].record != want || e->entries[i].time.seconds != kObserved) {
      std::fprintf(stderr, "self-check: record %zu differs:\n  got  %s\n  want %s\n", i,
                   boost::json::serialize(e->entries[i].record).c_str(),
                   boost::json::serialize(want).c_str());
      return false;
    }
  }
  return true;
}

std::string read_key(const std::string& path) {
  std::ifstream in(path);
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  return key;
}

struct Run {
  Options opt;
  asio::io_context io{1};
  // Chunk ids must differ between runs: the collector would take a repeated id as a re-send.
  edusight::SeededRandom random{std::random_device{}()};
  std::uint64_t total_chunks = 0;
  std::uint64_t next_chunk = 0;  // the shared pool: a fast connection takes more chunks
  // Counters.
  std::size_t next_spawn = 0;  // connections are started as earlier handshakes end
  std::size_t connected = 0;
  std::size_t connect_failures = 0;
  std::size_t send_failures = 0;
  std::size_t finished = 0;  // connections done with connecting (ok or failed)
  std::size_t done = 0;      // connections done with sending
  std::uint64_t acked_findings = 0;
  std::uint64_t acked_chunks = 0;
  std::uint64_t lost_findings = 0;  // written but not acknowledged before a failure
  std::string first_error;
  Steady::time_point send_start{}, send_end{};
  bool timed_out = false;
  std::vector<std::unique_ptr<fw::Client>> clients;
  asio::steady_timer start_gate{io};  // released when every connection has tried to connect
  asio::steady_timer hold_timer{io};
  asio::steady_timer deadline{io};

  // Finding numbers are opt.first + [0, opt.findings); chunk c holds per_chunk of them.
  std::uint64_t chunk_first(std::uint64_t chunk) const { return opt.first + chunk * opt.per_chunk; }
  std::size_t chunk_size(std::uint64_t chunk) const {
    const std::uint64_t offset = chunk * opt.per_chunk;
    return static_cast<std::size_t>(std::min<std::uint64_t>(opt.per_chunk, opt.findings - offset));
  }
  void spawn_next();
  void note(const fw::Error& e) {
    if (first_error.empty()) first_error = e.message();
  }
  void connect_finished() {
    if (++finished == opt.connections) {
      send_start = Steady::now();
      start_gate.cancel();
    }
  }
  void send_finished() {
    if (++done == opt.connections) {
      send_end = Steady::now();
      if (opt.hold_s <= 0) {
        deadline.cancel();
      } else {
        std::printf("holding: %zu connections open for %.0f s\n", connected, opt.hold_s);
        std::fflush(stdout);
        hold_timer.expires_after(std::chrono::milliseconds(static_cast<long>(opt.hold_s * 1000)));
        hold_timer.async_wait([this](boost::system::error_code) {
          std::size_t open = 0;
          for (auto& c : clients) open += c->connected() ? 1 : 0;
          std::printf("held_open: %zu\n", open);
          deadline.cancel();
        });
      }
    }
  }
};

asio::awaitable<void> connection(Run& run, std::size_t index) {
  fw::Client& client = *run.clients[index];
  const std::string agent = run.opt.agent_prefix + std::to_string(index);
  fw::Error err;
  if (run.timed_out) {
    err.code = fw::Errc::timeout;
    err.detail = "the run timed out before this connection started";
  } else {
    err = co_await client.connect();
  }
  run.spawn_next();  // this handshake is over: the next connection may start its own
  if (err) {
    ++run.connect_failures;
    run.note(err);
    run.connect_finished();
    run.send_finished();
    co_return;
  }
  ++run.connected;
  run.connect_finished();
  if (run.finished < run.opt.connections) co_await run.start_gate.async_wait(kUse);

  std::deque<std::uint64_t> in_flight;  // chunk numbers, oldest first (acks come in order)
  for (;;) {  // every round writes or consumes an ack; ends when the pool is empty
    while (!client.window_full() && run.next_chunk < run.total_chunks && !run.timed_out) {
      const std::uint64_t chunk = run.next_chunk++;
      std::string id = fw::make_chunk_id(run.random);
      const std::uint64_t first = run.chunk_first(chunk);
      const std::size_t count = run.chunk_size(chunk);
      if (run.opt.encoder == "client") {
        const auto entries = entries_of(first, count, agent);
        err = co_await client.write_chunk("edusight.finding", entries, std::move(id));
      } else {
        std::string message = encode_fast(first, count, agent, id);
        err = co_await client.write_encoded(std::move(message), std::move(id));
      }
      if (err) break;
      in_flight.push_back(chunk);
    }
    if (err || in_flight.empty()) break;
    fw::AckResult ack = co_await client.next_ack();
    if (ack.error) {
      err = ack.error;
      break;
    }
    run.acked_findings += run.chunk_size(in_flight.front());
    ++run.acked_chunks;
    in_flight.pop_front();
  }
  if (err) {
    ++run.send_failures;
    run.note(err);
    for (std::uint64_t chunk : in_flight) run.lost_findings += run.chunk_size(chunk);
  }
  run.send_finished();
}

// At most connect_parallel handshakes at once, so that 1,000 agents arriving together stay
// within the collector's handshake timeout.
void Run::spawn_next() {
  if (next_spawn < opt.connections) {
    asio::co_spawn(io, connection(*this, next_spawn++), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load generator for edusight-collector: N agents sending findings over Forward"};
  Options o;
  app.add_option("--host", o.host, "Collector address");
  app.add_option("--port", o.port, "Collector Forward port")->required();
  app.add_option("--connections", o.connections, "Agents, one connection each")
      ->check(CLI::Range(1, 100000));
  app.add_option("--findings", o.findings, "Findings in total, shared by all connections")
      ->check(CLI::Range(1, 1'000'000'000));
  // A finding's id is derived from kind and subject, so a second run into the same database
  // must use other subjects, or it updates the first run's rows instead of inserting.
  app.add_option("--first", o.first, "Number of the first finding (subject h<N>.bench-univ...)");
  app.add_option("--per-chunk", o.per_chunk, "Findings per PackedForward chunk")
      ->check(CLI::Range(1, 100000));
  app.add_option("--window", o.window, "Chunks in flight per connection")
      ->check(CLI::Range(1, 1024));
  app.add_option("--key-dir", o.key_dir, "Directory of PREFIX<i>.key files (agent add --key-file)")
      ->required();
  app.add_option("--agent-prefix", o.agent_prefix, "Agent ids are PREFIX0 .. PREFIX(N-1)");
  app.add_option("--ca-file", o.ca_file, "Collector certificate (TLS)");
  app.add_option("--pin-sha256", o.pin_sha256, "Collector certificate SHA-256 (TLS)");
  app.add_flag("--plaintext", o.plaintext, "No TLS");
  app.add_option("--connect-parallel", o.connect_parallel, "Handshakes in progress at once")
      ->check(CLI::Range(1, 100000));
  app.add_option("--hold", o.hold_s, "Keep every connection open this long after sending (s)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--timeout", o.timeout_s, "Give up after this long (s)")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--encoder", o.encoder,
                 "fast: msgpack written directly; client: boost::json records through "
                 "Client::write_chunk (the agent's encoder, costs the generator more CPU)")
      ->check(CLI::IsMember({"fast", "client"}));
  CLI11_PARSE(app, argc, argv);
  if (!o.plaintext && o.ca_file.empty() && o.pin_sha256.empty()) {
    std::fprintf(stderr, "TLS needs --ca-file or --pin-sha256 (or --plaintext)\n");
    return 2;
  }
  if (!self_check()) return 1;

  Run run;
  run.opt = o;
  run.total_chunks = (o.findings + o.per_chunk - 1) / o.per_chunk;
  run.start_gate.expires_at(Steady::time_point::max());
  for (std::size_t i = 0; i < o.connections; ++i) {
    fw::ClientOptions co;
    co.host = o.host;
    co.port = o.port;
    co.plaintext = o.plaintext;
    co.ca_file = o.ca_file;
    co.pin_sha256 = o.pin_sha256;
    co.agent_id = o.agent_prefix + std::to_string(i);
    co.shared_key = read_key(o.key_dir + "/" + co.agent_id + ".key");
    if (co.shared_key.empty()) {
      std::fprintf(stderr, "no key in %s/%s.key\n", o.key_dir.c_str(), co.agent_id.c_str());
      return 2;
    }
    co.max_in_flight = o.window;
    co.ack_timeout = std::chrono::seconds(120);  // a group commit under load can take a while
    run.clients.push_back(std::make_unique<fw::Client>(run.io.get_executor(), co, run.random));
  }

  const auto t0 = Steady::now();
  run.deadline.expires_after(std::chrono::milliseconds(static_cast<long>(o.timeout_s * 1000)));
  run.deadline.async_wait([&run](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the run is over
    run.timed_out = true;
    std::fprintf(stderr, "timeout: closing every connection\n");
    run.start_gate.cancel();
    run.hold_timer.cancel();
    for (auto& c : run.clients) c->close();
  });
  for (std::size_t i = 0; i < o.connect_parallel; ++i) run.spawn_next();
  run.io.run();  // ends when every connection is done and the hold is over
  const auto t1 = Steady::now();
  for (auto& c : run.clients) c->close();

  const auto secs = [](Steady::time_point a, Steady::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  const double connect_s = run.send_start > t0 ? secs(t0, run.send_start) : secs(t0, t1);
  const double send_s = run.send_end > run.send_start ? secs(run.send_start, run.send_end) : 0;
  std::printf("connections: %zu (connected %zu, connect failures %zu, send failures %zu)\n",
              o.connections, run.connected, run.connect_failures, run.send_failures);
  std::printf("connect_s: %.3f\n", connect_s);
  std::printf("findings_total: %llu (%llu chunks of up to %zu, window %zu, encoder %s)\n",
              static_cast<unsigned long long>(o.findings),
              static_cast<unsigned long long>(run.total_chunks), o.per_chunk, o.window,
              o.encoder.c_str());
  std::printf("findings_acked: %llu (%llu chunks; %llu lost in failed connections)\n",
              static_cast<unsigned long long>(run.acked_findings),
              static_cast<unsigned long long>(run.acked_chunks),
              static_cast<unsigned long long>(run.lost_findings));
  std::printf("send_s: %.3f\n", send_s);
  std::printf("acked_findings_per_s: %.0f\n", send_s > 0 ? run.acked_findings / send_s : 0.0);
  std::printf("connection_failures: %zu\n", run.connect_failures + run.send_failures);
  if (!run.first_error.empty()) std::printf("first_error: %s\n", run.first_error.c_str());
  if (run.timed_out) std::printf("timed_out: yes\n");
  return run.acked_findings == o.findings && !run.timed_out ? 0 : 1;
}
