#include "collector/forward/sender.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <optional>
#include <vector>

#include "collector/forward/edusight_tags.hpp"
#include "edusight/core/schedule.hpp"

namespace edusight::forward {

namespace asio = boost::asio;
namespace chr = std::chrono;
using steady = chr::steady_clock;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

EventTime event_time(chr::system_clock::time_point t) {
  const auto ns = chr::duration_cast<chr::nanoseconds>(t.time_since_epoch()).count();
  return {ns / 1'000'000'000, static_cast<std::uint32_t>(ns % 1'000'000'000)};
}

Sender::Sender(asio::any_io_executor executor, Spool& spool, SenderOptions options,
               const Clock& clock, Random& random)
    : executor_(executor),
      spool_(spool),
      options_(std::move(options)),
      clock_(clock),
      random_(random),
      client_(executor, options_.client, random),
      wake_(executor) {}

void Sender::notify() {
  asio::post(executor_, [this] { wake_.cancel(); });
}

void Sender::stop() {
  stopping_ = true;
  wake_.cancel();
  client_.close();  // a pending read or write ends now
}

asio::awaitable<void> Sender::sleep_until(steady::time_point t) {
  wake_.expires_at(t);
  co_await wake_.async_wait(use_tuple);  // cancelled by notify() or stop(): fine either way
}

asio::awaitable<void> Sender::run() {
  co_await loop(false, {});
}

asio::awaitable<bool> Sender::drain(chr::milliseconds patience) {
  co_return co_await loop(true, patience);
}

asio::awaitable<bool> Sender::loop(bool drain, chr::milliseconds patience) {
  auto backoff = options_.backoff_initial;
  last_progress_ = clock_.steady_now();
  int failures = 0;
  // Each round connects once; it ends on stop, or in drain mode on success or lost patience.
  while (!stopping_) {
    if (drain && spool_.size_chunks() == 0) co_return true;
    if (drain && clock_.steady_now() - last_progress_ > patience) co_return false;
    auto err = co_await client_.connect();
    if (!err) {
      spdlog::info("connected to {} {}:{} ({})", options_.peer, options_.client.host,
                   options_.client.port, client_.server_hostname());
      backoff = options_.backoff_initial;
      failures = 0;
      err = co_await pump(drain);
      client_.close();
      if (!err) continue;  // stopped, or drained
    }
    if (stopping_) break;
    // The first failure in a row is worth a warning; the retries that follow are not news.
    if (failures++ == 0)
      spdlog::warn("{} {}:{}: {}", options_.peer, options_.client.host, options_.client.port,
                   err.message());
    else
      spdlog::debug("{} {}:{}: {}", options_.peer, options_.client.host, options_.client.port,
                    err.message());
    // Jitter keeps a campus of agents from reconnecting in lockstep after a collector restart.
    const auto delay = backoff + draw_jitter(backoff / 2, random_);
    backoff = std::min(backoff * 2, options_.backoff_max);
    auto until = steady::now() + delay;
    if (drain) until = std::min(until, steady::now() + patience);
    // Only stop() ends this early: a notification is no reason to reconnect sooner.
    while (!stopping_ && steady::now() < until) co_await sleep_until(until);
  }
  co_return drain&& spool_.size_chunks() == 0;
}

asio::awaitable<Error> Sender::pump(bool drain) {
  std::uint64_t last_sent = 0;
  std::deque<std::optional<std::uint64_t>> in_flight;  // spool sequence; nullopt: heartbeat
  auto next_heartbeat = clock_.steady_now();
  // Bounded by the connection: every round either sends, receives an ack or waits; errors and
  // stop() end it.
  for (;;) {
    if (stopping_) co_return Error{};
    if (drain && in_flight.empty() && spool_.size_chunks() == 0) co_return Error{};
    if (options_.heartbeat && !client_.window_full() && clock_.steady_now() >= next_heartbeat) {
      const auto id = make_chunk_id(random_);
      std::vector<Entry> entries;
      entries.push_back({event_time(clock_.now()), options_.heartbeat()});
      auto message = encode_packed_forward(kHeartbeatTag, entries, id);
      if (auto err = co_await client_.write_encoded(std::move(message), id); err) co_return err;
      in_flight.push_back(std::nullopt);
      next_heartbeat = clock_.steady_now() + options_.heartbeat_interval;
    }
    while (!client_.window_full()) {  // at most max_in_flight rounds
      auto e = spool_.next_after(last_sent);
      if (!e) break;
      last_sent = e->sequence;
      if (auto err = co_await client_.write_encoded(std::move(e->payload), e->chunk_id); err)
        co_return err;
      ++sent_;
      in_flight.push_back(e->sequence);
    }
    if (!in_flight.empty()) {
      auto ack = co_await client_.next_ack();
      if (ack.error) co_return ack.error;
      if (in_flight.front()) {
        spool_.remove(*in_flight.front());  // false when evicted meanwhile: nothing to do
        ++delivered_;
      }
      in_flight.pop_front();
      last_progress_ = clock_.steady_now();
      continue;
    }
    // Idle: until new chunks, the next heartbeat, or a second (spool entries skipped as
    // corrupt, or a notification lost to a race, are picked up then).
    auto until = steady::now() + chr::seconds(1);
    if (options_.heartbeat)
      until = std::min(until, steady::now() + (next_heartbeat - clock_.steady_now()));
    co_await sleep_until(until);
  }
}

}  // namespace edusight::forward
