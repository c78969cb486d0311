#include "probes/exposure/port_scan.hpp"

#include <dirent.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <deque>
#include <exception>
#include <utility>

namespace edusight::exposure {

std::string_view to_string(PortState s) {
  switch (s) {
    case PortState::open:
      return "open";
    case PortState::closed:
      return "closed";
    case PortState::filtered:
      return "filtered";
  }
  return "?";
}

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Descriptors kept back for everything else in the process (io_context, logs, libraries).
constexpr long kReserveDescriptors = 64;
// A pair whose socket cannot be had (descriptors, local ports, buffers) waits this long,
// this often, for others to finish before it is given up as filtered.
constexpr auto kLocalBackoff = 10ms;
constexpr int kLocalRetries = 20;
// Probes a worker may settle in a row without suspending before it yields.
constexpr int kMaxUnsuspended = 32;

long open_descriptors() {
  long n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    for (int guard = 0; guard < 1'000'000 && ::readdir(d) != nullptr; ++guard) ++n;
    ::closedir(d);
    n -= 3;  // ".", ".." and the directory's own descriptor
  }
  return std::max(n, 0L);
}

// Raises the soft descriptor limit to the hard one when `wanted` sockets would not fit, and
// returns how many sockets may be open at once.
int descriptor_budget(int wanted) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return wanted;
  const long in_use = open_descriptors();
  const auto need = static_cast<rlim_t>(wanted + in_use + kReserveDescriptors);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return wanted;
  const long available = static_cast<long>(rl.rlim_cur) - in_use - kReserveDescriptors;
  return static_cast<int>(std::clamp(available, 1L, static_cast<long>(wanted)));
}

// Token bucket in its GCRA form: a virtual schedule one interval apart, of which up to
// `burst` may be spent at once after idling. Each connection reserves the next slot.
class Pacer {
 public:
  explicit Pacer(double per_second) {
    if (!(per_second > 0) || !std::isfinite(per_second)) return;
    interval_ = std::chrono::nanoseconds(std::llround(1e9 / per_second));
    burst_ = std::max<std::chrono::nanoseconds>(interval_, 10ms);
  }
  bool paced() const { return interval_.count() > 0; }
  // When the connection may start: `now` or later.
  Clock::time_point reserve(Clock::time_point now) {
    if (!paced()) return now;
    const auto slot = std::max(next_, now - burst_);
    next_ = slot + interval_;
    return slot;
  }

 private:
  std::chrono::nanoseconds interval_{0};
  std::chrono::nanoseconds burst_{0};
  Clock::time_point next_{};
};

// One worker's socket and timers, reused for every pair it probes.
struct Slot {
  explicit Slot(const asio::any_io_executor& ex) : socket(ex), pause(ex) {}
  tcp::socket socket;
  asio::steady_timer pause;
  Clock::time_point deadline{};
  bool connecting = false;
  bool expired = false;  // the reaper cancelled the connect
};

struct ScanState {
  ScanState(const asio::any_io_executor& ex, ScanOptions o)
      : options(o), pacer(o.new_connections_per_second), reaper(ex), done(ex) {}
  ScanOptions options;
  Pacer pacer;
  std::vector<asio::ip::address> addresses;
  std::vector<std::uint16_t> ports;
  std::vector<PortResult> results;
  std::size_t total = 0;
  std::size_t next = 0;
  std::deque<Slot> slots;
  int workers_running = 0;
  int tasks_alive = 0;  // workers and the reaper
  asio::steady_timer reaper;
  asio::steady_timer done;
  std::exception_ptr failure;
};

bool local_shortage(int err) {
  switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
    case EADDRNOTAVAIL:  // ephemeral ports exhausted
    case EAGAIN:         // connect: no free local port or route cache entry
      return true;
    default:
      return false;
  }
}

PortState classify(const boost::system::error_code& ec, bool expired) {
  if (expired) return PortState::filtered;
  if (!ec) return PortState::open;
  if (ec == asio::error::connection_refused || ec == asio::error::connection_reset) {
    return PortState::closed;
  }
  // Timeouts, ICMP unreachable (EHOSTUNREACH, ENETUNREACH) and administratively prohibited
  // (EACCES, EPERM) all mean something in between answered for the host, or nothing did.
  return PortState::filtered;
}

asio::awaitable<void> sleep_until(Slot& slot, Clock::time_point at) {
  slot.pause.expires_at(at);
  co_await slot.pause.async_wait(use_tuple);
}

// The outcome of a connect whose socket reports writable: 0 (connected) or the error.
int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

// Open ports are few: SO_LINGER 0 is set only on them, right before the close, so that the
// close sends RST and neither side keeps TIME_WAIT state.
void abort_on_close(int fd) {
  const ::linger abort{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
}

// A connected socket about to be closed: 0 (open), or ECONNREFUSED when it met itself. A
// connect to one's own address and port completes by TCP simultaneous open when the kernel
// picks that very port as the source; nothing listens there.
int settle_open(int fd, const tcp::endpoint& remote) {
  abort_on_close(fd);
  tcp::endpoint local;
  auto len = static_cast<socklen_t>(local.capacity());
  if (::getsockname(fd, local.data(), &len) != 0) return 0;
  local.resize(len);
  return local == remote ? ECONNREFUSED : 0;
}

struct Probe {
  PortResult result;
  bool waited = false;  // went through the reactor (the coroutine was suspended)
};

asio::awaitable<Probe> probe(ScanState& st, Slot& slot, tcp::endpoint ep) {
  Probe p{{ep.address(), ep.port(), PortState::filtered, {}}};
  for (int local_try = 0; local_try <= kLocalRetries; ++local_try) {
    if (local_try > 0) {
      co_await sleep_until(slot, Clock::now() + kLocalBackoff);
      p.waited = true;
    }
    const int fd =
        ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
      if (local_shortage(errno)) continue;
      co_return p;  // e.g. the family is not supported here
    }
    const auto start = Clock::now();
    int err = ::connect(fd, ep.data(), static_cast<socklen_t>(ep.size())) == 0 ? 0 : errno;
    bool expired = false;
    bool fd_closed = false;
    if (err == EINPROGRESS) {
      // On a LAN or a local link the SYN and its answer are often processed before connect
      // returns. Settling it here saves the reactor's two epoll_ctl and a wake-up: SO_ERROR
      // alone for the common refusal, a zero-timeout poll to tell connected from pending.
      err = socket_error(fd);
      ::pollfd pfd{fd, POLLOUT, 0};
      if (err == 0 && ::poll(&pfd, 1, 0) == 1) {
        err = socket_error(fd);
      } else if (err == 0) {
        boost::system::error_code ec;
        slot.socket.assign(ep.protocol(), fd, ec);
        if (ec) {
          err = EINPROGRESS;
        } else {
          slot.deadline = start + st.options.timeout;
          slot.expired = false;
          slot.connecting = true;
          auto [wec] = co_await slot.socket.async_wait(tcp::socket::wait_write, use_tuple);
          slot.connecting = false;
          p.waited = true;
          expired = slot.expired;
          err = wec ? wec.value() : socket_error(fd);
          if (err == 0 && !expired) err = settle_open(fd, ep);
          slot.socket.close(ec);  // the socket owns fd now
          fd_closed = true;
        }
      }
    }
    if (!fd_closed) {
      if (err == 0) err = settle_open(fd, ep);
      ::close(fd);
    }
    p.result.rtt = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    if (!expired && local_shortage(err)) continue;
    p.result.state =
        classify(boost::system::error_code(err, boost::system::system_category()), expired);
    co_return p;
  }
  co_return p;
}

asio::awaitable<void> worker(ScanState& st, Slot& slot) {
  const std::size_t n_addresses = st.addresses.size();
  const int tries = std::max(1, st.options.tries);
  int unsuspended = 0;
  while (st.next < st.total) {
    // Port-major order: consecutive connects go to different hosts.
    const std::size_t i = st.next++;
    const tcp::endpoint ep(st.addresses[i % n_addresses], st.ports[i / n_addresses]);
    for (int attempt = 0; attempt < tries; ++attempt) {
      const auto now = Clock::now();
      const auto at = st.pacer.reserve(now);
      // Early by less than this is within the bucket's burst; not worth a timer wake-up.
      bool suspended = false;
      if (at - now > 200us) {
        co_await sleep_until(slot, at);
        suspended = true;
      }
      const auto p = co_await probe(st, slot, ep);
      st.results[i] = p.result;
      // Probes settled without the reactor never suspend: yield now and then so the reaper
      // and everything else on this executor keep running.
      if (p.waited || suspended) {
        unsuspended = 0;
      } else if (++unsuspended >= kMaxUnsuspended) {
        unsuspended = 0;
        co_await asio::post(slot.socket.get_executor(), asio::use_awaitable);
      }
      if (p.result.state != PortState::filtered) break;
    }
  }
}

// Expires connects past their deadline. One coarse sweep instead of a timer per connect:
// a deadline may be late by one tick, a small fraction of the timeout.
asio::awaitable<void> reaper(ScanState& st) {
  const auto tick = std::clamp<Clock::duration>(st.options.timeout / 16, 1ms, 25ms);
  while (st.workers_running > 0) {
    st.reaper.expires_after(tick);
    co_await st.reaper.async_wait(use_tuple);
    const auto now = Clock::now();
    for (auto& slot : st.slots) {
      if (slot.connecting && !slot.expired && slot.deadline <= now) {
        slot.expired = true;
        boost::system::error_code ec;
        slot.socket.cancel(ec);
      }
    }
  }
}

}  // namespace

PortScanner::PortScanner(asio::any_io_executor ex, ScanOptions o)
    : ex_(std::move(ex)), options_(o) {
  const int wanted = std::max(1, options_.max_concurrent);
  concurrency_ = descriptor_budget(wanted);
  if (concurrency_ < wanted) {
    spdlog::warn("port scan: descriptor limit allows {} connects in flight, not {}", concurrency_,
                 wanted);
  }
}

asio::awaitable<std::vector<PortResult>> PortScanner::scan(std::vector<asio::ip::address> addresses,
                                                           std::vector<std::uint16_t> ports) {
  ScanState st(ex_, options_);
  st.total = addresses.size() * ports.size();
  if (st.total == 0) co_return std::vector<PortResult>{};
  st.addresses = std::move(addresses);
  st.ports = std::move(ports);
  st.results.resize(st.total);

  const auto finished = [&st](std::exception_ptr e) {
    if (e && !st.failure) st.failure = e;
    if (--st.tasks_alive == 0) st.done.cancel();
  };
  const auto n_workers = static_cast<int>(std::min<std::size_t>(concurrency_, st.total));
  for (int w = 0; w < n_workers; ++w) st.slots.emplace_back(ex_);
  st.workers_running = n_workers;
  st.tasks_alive = n_workers + 1;
  for (auto& slot : st.slots) {
    asio::co_spawn(ex_, worker(st, slot), [&st, finished](std::exception_ptr e) {
      if (--st.workers_running == 0) st.reaper.cancel();
      finished(e);
    });
  }
  asio::co_spawn(ex_, reaper(st), finished);

  // Woken by the last task; the periodic wake-up only guards against a missed cancel.
  while (st.tasks_alive > 0) {
    st.done.expires_after(1s);
    co_await st.done.async_wait(use_tuple);
  }
  if (st.failure) std::rethrow_exception(st.failure);
  co_return std::move(st.results);
}

}  // namespace edusight::exposure
