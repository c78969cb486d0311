#include "probes/passive/capture.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace edusight::passive {

bool link_type_of(int dlt, LinkType& out) {
  switch (dlt) {
    case DLT_EN10MB:
      out = LinkType::ethernet;
      return true;
    case DLT_LINUX_SLL:
      out = LinkType::linux_sll;
      return true;
    case DLT_LINUX_SLL2:
      out = LinkType::linux_sll2;
      return true;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      out = LinkType::raw;
      return true;
    default:
      return false;
  }
}

namespace {

class PcapSource final : public PacketSource {
 public:
  PcapSource(pcap_t* p, bool live, bool nano, std::string name)
      : pcap_(p), live_(live), nano_(nano), name_(std::move(name)) {
    const int dlt = pcap_datalink(pcap_);
    if (!link_type_of(dlt, link_)) {
      const char* dlt_name = pcap_datalink_val_to_name(dlt);
      throw CaptureError(name_ + ": link type " + (dlt_name ? dlt_name : std::to_string(dlt)) +
                         " is not supported (Ethernet, Linux cooked SLL/SLL2 and raw IP are)");
    }
    if (live_) fd_ = pcap_get_selectable_fd(pcap_);
  }
  ~PcapSource() override { pcap_close(pcap_); }
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  LinkType link_type() const override { return link_; }

  Status dispatch(std::size_t max_packets, std::chrono::milliseconds wait,
                  PacketConsumer& consumer) override {
    Context ctx{&consumer, nano_};
    const int cnt = static_cast<int>(std::min<std::size_t>(max_packets, 1 << 20));
    int n = pcap_dispatch(pcap_, cnt, &PcapSource::callback, reinterpret_cast<u_char*>(&ctx));
    if (n < 0) return n == PCAP_ERROR_BREAK ? Status::idle : Status::error;
    if (n > 0) return Status::ok;
    if (!live_) return Status::end;  // a savefile returns 0 only at its end
    // Live and non-blocking: wait for the descriptor, a signal ends the wait early.
    if (fd_ >= 0) {
      pollfd pfd{fd_, POLLIN, 0};
      const int r = ::poll(&pfd, 1, static_cast<int>(wait.count()));
      if (r <= 0) return Status::idle;
    }
    n = pcap_dispatch(pcap_, cnt, &PcapSource::callback, reinterpret_cast<u_char*>(&ctx));
    if (n < 0) return n == PCAP_ERROR_BREAK ? Status::idle : Status::error;
    return n > 0 ? Status::ok : Status::idle;
  }

  CaptureCounters counters() const override {
    CaptureCounters c;
    pcap_stat st{};
    if (live_ && pcap_stats(pcap_, &st) == 0) {
      c.received = st.ps_recv;
      c.dropped = static_cast<std::uint64_t>(st.ps_drop) + st.ps_ifdrop;
    }
    return c;
  }

  std::string error() const override { return name_ + ": " + pcap_geterr(pcap_); }

 private:
  struct Context {
    PacketConsumer* consumer;
    bool nano;
  };
  static void callback(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    const auto* ctx = reinterpret_cast<const Context*>(user);
    Packet p;
    p.data = bytes;
    p.caplen = h->caplen;
    p.length = h->len;
    const auto frac = ctx->nano
                          ? std::chrono::nanoseconds(h->ts.tv_usec)
                          : std::chrono::nanoseconds(std::chrono::microseconds(h->ts.tv_usec));
    p.timestamp = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(h->ts.tv_sec) + frac));
    ctx->consumer->on_packet(p);
  }

  pcap_t* pcap_;
  bool live_;
  bool nano_;
  std::string name_;
  LinkType link_ = LinkType::ethernet;
  int fd_ = -1;
};

void set_filter(pcap_t* p, const std::string& filter, const std::string& name) {
  if (filter.empty()) return;
  bpf_program prog{};
  if (pcap_compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    const std::string why = pcap_geterr(p);
    pcap_close(p);
    throw CaptureError(name + ": filter '" + filter + "': " + why);
  }
  const int rc = pcap_setfilter(p, &prog);
  pcap_freecode(&prog);
  if (rc != 0) {
    const std::string why = pcap_geterr(p);
    pcap_close(p);
    throw CaptureError(name + ": cannot set the filter: " + why);
  }
}

}  // namespace

std::unique_ptr<PacketSource> open_live(const LiveOptions& o) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(o.interface.c_str(), errbuf);
  if (!p) throw CaptureError(o.interface + ": " + errbuf);
  pcap_set_snaplen(p, o.snaplen);
  pcap_set_promisc(p, o.promiscuous ? 1 : 0);
  // Packets wait at most this long in the kernel's buffer before they are handed over.
  pcap_set_timeout(p, 100);
  pcap_set_buffer_size(p, o.buffer_bytes);
  const int rc = pcap_activate(p);
  if (rc < 0) {
    const std::string why = rc == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(rc);
    pcap_close(p);
    throw CaptureError(o.interface + ": cannot capture: " + why);
  }
  set_filter(p, o.filter, o.interface);
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    pcap_close(p);
    throw CaptureError(o.interface + ": " + errbuf);
  }
  try {
    return std::make_unique<PcapSource>(p, true, false, o.interface);
  } catch (...) {
    pcap_close(p);
    throw;
  }
}

std::unique_ptr<PacketSource> open_file(const std::string& path, const std::string& filter) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // pcap and pcapng alike; nanosecond timestamps when the file has them.
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) throw CaptureError(path + ": " + errbuf);
  set_filter(p, filter, path);
  try {
    return std::make_unique<PcapSource>(p, false, true, path);
  } catch (...) {
    pcap_close(p);
    throw;
  }
}

namespace {

bool capabilities_empty() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return false;
  }
  return true;
}

void clear_capabilities() {
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &header, data) != 0)
    throw CaptureError(std::string("cannot clear capabilities: ") + std::strerror(errno));
}

std::string sys_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace

std::string drop_privileges(const std::string& user) {
  if (user == "root") return "running as root: --user root was given";
  std::string outcome;
  if (geteuid() == 0) {
    errno = 0;
    const passwd* pw = getpwnam(user.c_str());
    if (!pw) throw CaptureError("--user " + user + ": no such user");
    if (pw->pw_uid == 0) throw CaptureError("--user " + user + " is root: give --user root");
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    // Empty the bounding set while still allowed to, so nothing can regain a capability.
    for (int cap = 0; cap <= 63; ++cap) {
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;
    }
    if (setgroups(1, &gid) != 0) throw CaptureError(sys_error("setgroups"));
    if (setgid(gid) != 0) throw CaptureError(sys_error("setgid"));
    if (setuid(uid) != 0) throw CaptureError(sys_error("setuid"));
    // The drop must be final: root must not be reachable again.
    if (setuid(0) == 0 || geteuid() == 0 || getuid() == 0)
      throw CaptureError("still root after switching to " + user);
    outcome = "dropped to user " + user + " (uid " + std::to_string(uid) + ", gid " +
              std::to_string(gid) + ")";
  } else {
    outcome = "not root: running as uid " + std::to_string(getuid());
  }
  clear_capabilities();
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (!capabilities_empty()) throw CaptureError("capabilities remain after the privilege drop");
  return outcome + ", no capabilities";
}

}  // namespace edusight::passive
