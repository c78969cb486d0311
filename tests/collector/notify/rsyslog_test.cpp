// The syslog channel against a real rsyslogd (Debian package rsyslog): imtcp on a loopback
// port it picks, writing what it parsed to a file. rsyslogd runs in the foreground with its
// own configuration, work directory and pid file in a temporary directory, and is killed in
// every case: by the guard's destructor, and by the kernel (PR_SET_PDEATHSIG) should this
// test process die first.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "collector/notify/syslog.hpp"
#include "tests/collector/notify/loopback.hpp"
#include "tests/collector/notify/sample.hpp"
#include "tests/support/local_nginx.hpp"  // find_binary

namespace edusight::collector::notify {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Rsyslogd {
 public:
  Rsyslogd(const std::filesystem::path& binary, const std::filesystem::path& dir) {
    const auto conf = (dir / "rsyslog.conf").string();
    const auto pidfile = (dir / "rsyslogd.pid").string();
    const std::string args[] = {binary.string(), "-n", "-f", conf, "-i", pidfile};
    parent_ = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Dies with the test process, whatever happens to it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent_) ::_exit(127);
      const auto log = (dir / "rsyslogd.stderr").string();
      std::FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Rsyslogd() { stop(); }
  bool started() const { return pid_ > 0; }
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {  // 3 s, then SIGKILL
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t parent_ = 0;
  pid_t pid_ = -1;
};

TEST(NotifyRsyslog, ReceivesAlertsWithStructuredData) {
  const auto binary = testsupport::find_binary("rsyslogd");
  if (!binary) GTEST_SKIP() << "rsyslogd is not installed (Debian package rsyslog)";
  test::TempDir dir("notify-rsyslog");
  ASSERT_FALSE(dir.path.empty());
  std::filesystem::create_directory(dir.path / "work");
  const auto out = dir.path / "alerts.log";
  const auto port_file = dir.path / "port";
  // The template shows what rsyslog parsed: a message it could not parse as RFC 5424 would
  // have no MSGID or structured data.
  testsupport::write_file(
      dir.path / "rsyslog.conf",
      "global(workDirectory=\"" + (dir.path / "work").string() +
          "\")\n"
          "module(load=\"imtcp\")\n"
          "template(name=\"edusight\" type=\"string\" "
          "string=\"%pri% %hostname% %app-name% %msgid% %structured-data%\\n\")\n"
          "ruleset(name=\"alerts\") {\n"
          "  action(type=\"omfile\" file=\"" +
          out.string() +
          "\" template=\"edusight\")\n"
          "}\n"
          "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"0\" listenPortFileName=\"" +
          port_file.string() + "\" ruleset=\"alerts\")\n");

  Rsyslogd rsyslogd(*binary, dir.path);
  ASSERT_TRUE(rsyslogd.started());
  std::string port_text;
  for (int i = 0; i < 1000 && port_text.empty(); ++i) {  // up to 10 s
    ASSERT_TRUE(rsyslogd.running()) << read_file(dir.path / "rsyslogd.stderr");
    port_text = read_file(port_file);
    if (port_text.empty()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_FALSE(port_text.empty()) << read_file(dir.path / "rsyslogd.stderr");
  const int port = std::stoi(port_text);

  ManualClock clock(test::at("2026-11-25T15:00:01Z"));
  SyslogOptions o;
  o.name = "siem";
  o.host = "127.0.0.1";
  o.port = static_cast<std::uint16_t>(port);
  o.transport = SyslogTransport::tcp;
  SyslogChannel channel(o, clock);
  auto first = test::sample();
  auto second = test::sample(Event::resolved);
  second.alert.id = 43;
  second.alert.state = "resolved";
  second.alert.subject = "odd\"name]\\x";  // escaping must survive a real parser
  second.alert.resolved_at = test::at("2026-11-25T15:00:01Z");
  ASSERT_TRUE(channel.send(first).ok);
  ASSERT_TRUE(channel.send(second).ok);

  std::string text;
  for (int i = 0; i < 1000; ++i) {  // up to 10 s
    text = read_file(out);
    if (std::count(text.begin(), text.end(), '\n') >= 2) break;
    std::this_thread::sleep_for(10ms);
  }
  rsyslogd.stop();
  std::istringstream lines(text);
  std::string l1, l2;
  std::getline(lines, l1);
  std::getline(lines, l2);
  EXPECT_EQ(l1,
            "131 collector.demo-univ.edu.cn edusight-collector firing [edusight@32473 id=\"42\" "
            "event=\"firing\" rule=\"ipv6-web-unreachable\" subject=\"www.demo-univ.edu.cn\" "
            "severity=\"high\" state=\"firing\" repeats=\"3\" first_fired=\"2026-11-25T13:53:17Z\" "
            "last_fired=\"2026-11-25T15:00:00Z\" tags=\"第14条,第15条\" finding_id=\"f-0123abcd\" "
            "agent=\"campus-a\" link=\"https://collector.demo-univ.edu.cn/api/v1/alerts/42\"]")
      << text;
  EXPECT_EQ(l2.rfind("133 collector.demo-univ.edu.cn edusight-collector resolved [edusight@32473 "
                     "id=\"43\" event=\"resolved\" rule=\"ipv6-web-unreachable\" "
                     "subject=\"odd\\\"name\\]\\\\x\" severity=\"high\" state=\"resolved\"",
                     0),
            0u)
      << text;
  EXPECT_NE(l2.find("resolved_at=\"2026-11-25T15:00:01Z\""), std::string::npos) << text;
}

}  // namespace
}  // namespace edusight::collector::notify
