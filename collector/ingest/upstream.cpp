#include "collector/ingest/upstream.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

#include "collector/forward/edusight_tags.hpp"

namespace edusight::collector {

namespace asio = boost::asio;
namespace chr = std::chrono;

namespace {

void log_end(const char* what, std::exception_ptr e) {
  if (!e) {
    spdlog::debug("upstream: {} ended", what);
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("upstream: {} failed: {}", what, x.what());
  }
}

}  // namespace

std::vector<UpstreamChunk> encode_for_upstream(const Batch& batch, const std::string& campus,
                                               std::size_t max_findings,
                                               chr::system_clock::time_point now) {
  std::vector<UpstreamChunk> out;
  if (max_findings == 0) max_findings = 1;
  const std::size_t parts = (batch.findings.size() + max_findings - 1) / max_findings;
  std::vector<forward::Entry> entries;
  for (std::size_t part = 0; part < parts; ++part) {
    entries.clear();
    const std::size_t end = std::min(batch.findings.size(), (part + 1) * max_findings);
    for (std::size_t i = part * max_findings; i < end; ++i) {
      Finding f = batch.findings[i];
      f.policy = {};  // the receiving collector's rules judge it again
      f.agent = batch.agent;
      f.scan = batch.scan;
      f.campus = campus;
      auto record = to_json(f);
      record["job"] = batch.job;
      entries.push_back({forward::event_time(f.observed_at), std::move(record)});
    }
    UpstreamChunk c;
    c.tag = forward::kFindingTag;
    c.chunk_id = parts == 1 ? batch.chunk_id : batch.chunk_id + "/" + std::to_string(part);
    c.message = forward::encode_packed_forward(c.tag, entries, c.chunk_id);
    out.push_back(std::move(c));
  }
  if (batch.scan_complete) {
    boost::json::object record;
    record["event"] = "completed";
    record["scan"] = batch.scan;
    record["job"] = batch.job;
    record["agent"] = batch.agent;
    record["campus"] = campus;
    if (!batch.scanned_subjects.empty())
      record["scanned_subjects"] = to_json_array(batch.scanned_subjects);
    entries.clear();
    entries.push_back({forward::event_time(now), std::move(record)});
    UpstreamChunk c;
    c.tag = forward::kScanTag;
    c.chunk_id = out.empty() ? batch.chunk_id : batch.chunk_id + "/scan";
    c.message = forward::encode_packed_forward(c.tag, entries, c.chunk_id);
    out.push_back(std::move(c));
  }
  return out;
}

Upstream::Upstream(UpstreamOptions options, metrics::Registry& metrics, const Clock& clock,
                   Random& random)
    : options_(std::move(options)),
      clock_(clock),
      random_(random),
      spool_(options_.spool_dir, options_.spool_limits),
      started_at_(clock.now()),
      spool_chunks_(metrics
                        .gauge("edusight_upstream_spool_chunks",
                               "Chunks waiting in the upstream spool for the provincial collector.")
                        .with()),
      spool_bytes_(
          metrics.gauge("edusight_upstream_spool_bytes", "Bytes of the upstream spool.").with()),
      spooled_(metrics
                   .counter("edusight_upstream_chunks_spooled_total",
                            "Chunks put on the upstream spool.")
                   .with()),
      spool_failures_(metrics
                          .counter("edusight_upstream_spool_failures_total",
                                   "Batches the upstream spool refused (not forwarded).")
                          .with()),
      evicted_(metrics
                   .counter("edusight_upstream_spool_evicted_chunks_total",
                            "Oldest chunks dropped from a full upstream spool (never forwarded).")
                   .with()),
      sent_(metrics
                .counter("edusight_upstream_chunks_sent_total",
                         "Chunks written to the provincial collector (resends included).")
                .with()),
      acked_(metrics
                 .counter("edusight_upstream_chunks_acked_total",
                          "Chunks the provincial collector acknowledged.")
                 .with()),
      connected_(metrics
                     .gauge("edusight_upstream_connected",
                            "1 while connected to the provincial collector.")
                     .with()) {
  update_metrics();
}

Upstream::~Upstream() = default;

void Upstream::forward(const Batch& batch) {
  for (const UpstreamChunk& c :
       encode_for_upstream(batch, options_.campus, options_.max_chunk_findings, clock_.now())) {
    if (const auto ec = spool_.append(c.tag, c.chunk_id, c.message)) {
      spool_failures_.add();
      spdlog::error("upstream: chunk {} of agent {} not spooled: {}", c.chunk_id, batch.agent,
                    ec.message());
      continue;
    }
    spooled_.add();
  }
  update_metrics();
  if (sender_) sender_->notify();
}

boost::json::object Upstream::heartbeat() const {
  const auto stats = spool_.stats();
  boost::json::object hb;
  hb["version"] = options_.version;
  hb["role"] = "campus-collector";
  hb["campus"] = options_.campus;
  hb["started_at"] = format_rfc3339(started_at_);
  hb["uptime_s"] = chr::duration_cast<chr::seconds>(clock_.now() - started_at_).count();
  hb["spool_chunks"] = stats.chunks;
  hb["spool_bytes"] = stats.bytes;
  hb["spool_evicted_chunks"] = stats.evicted_chunks;
  return hb;
}

void Upstream::update_metrics() {
  const auto stats = spool_.stats();
  spool_chunks_.set(static_cast<std::int64_t>(stats.chunks));
  spool_bytes_.set(static_cast<std::int64_t>(stats.bytes));
  evicted_.set(static_cast<std::int64_t>(stats.evicted_chunks));
}

void Upstream::start(asio::any_io_executor executor) {
  forward::SenderOptions so = options_.sender;
  so.peer = "provincial collector";
  so.heartbeat = [this] { return heartbeat(); };
  sender_ = std::make_unique<forward::Sender>(executor, spool_, std::move(so), clock_, random_);
  timer_ = std::make_unique<asio::steady_timer>(executor);
  spdlog::info("upstream: forwarding to {}:{} as {} (campus {}), {} chunk(s) waiting in {}",
               options_.sender.client.host, options_.sender.client.port,
               options_.sender.client.agent_id, options_.campus, spool_.size_chunks(),
               options_.spool_dir);
  asio::co_spawn(executor, sender_->run(), [](std::exception_ptr e) { log_end("sender", e); });
  asio::co_spawn(executor, refresh_metrics(),
                 [](std::exception_ptr e) { log_end("metrics refresh", e); });
}

void Upstream::stop() {
  stopping_ = true;
  if (sender_) sender_->stop();
  if (timer_) timer_->cancel();
}

// The sender's figures, once a second (they change on its own executor, between acks).
asio::awaitable<void> Upstream::refresh_metrics() {
  while (!stopping_) {
    update_metrics();
    sent_.set(static_cast<std::int64_t>(sender_->sent_chunks()));
    acked_.set(static_cast<std::int64_t>(sender_->delivered_chunks()));
    connected_.set(sender_->connected() ? 1 : 0);
    timer_->expires_after(chr::seconds(1));
    co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  connected_.set(0);
}

}  // namespace edusight::collector
