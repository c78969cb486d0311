"""integration.packages: the Debian packages built from this build tree (cpack), installed
with dpkg into a clean Debian 12 root (debootstrap minbase, made once by
scripts/chroot-cache.sh: this test downloads nothing), then used there:

- users, conffiles, file modes and the systemd enablement the maintainer scripts made;
- the installed binaries: the collector as its own user with the shipped configuration
  (health, an API token, the dashboard, SIGHUP reload, SIGTERM), a one-shot agent scan of
  loopback delivered to it, and the agent daemon with the filled-in template configuration;
- an upgrade to a later revision keeps the database and the administrator's conffile edits,
  `dpkg -r` keeps them too, a reinstallation finds them, `dpkg -P` removes configuration and
  logs but keeps the data directories and users (packaging/README.md);
- lintian: no errors (warnings are printed).

Everything runs in a mount and network namespace of its own (unshare): the root's /proc and
/dev mounts vanish with it, and the collector's default ports (24224, 8080) on its own
loopback collide with nothing. Needs root (exit 77 otherwise)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("EDUSIGHT_BUILD_DIR", os.path.join(SOURCE, "build"))
CPACK = os.environ.get("EDUSIGHT_CPACK", "cpack")
CACHE = os.environ.get("EDUSIGHT_CHROOT_CACHE", "/var/cache/edusight/bookworm-minbase.tar.zst")
NS_FLAG = "EDUSIGHT_PACKAGES_TEST_NS"
PACKAGES = ["edusight-rules", "edusight-collector", "edusight-agent"]
API = "http://127.0.0.1:8080"

failures = []
timings = {}


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


class Root:
    """The extracted Debian root and commands inside it (chroot, optionally as a user)."""

    def __init__(self, path):
        self.path = path
        self.procs = []

    def p(self, path):
        return os.path.join(self.path, path.lstrip("/"))

    def ids(self, user):
        with open(self.p("/etc/passwd")) as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if fields[0] == user:
                    return int(fields[2]), int(fields[3]), fields[5], fields[6]
        return None

    def gid(self, group):
        with open(self.p("/etc/group")) as f:
            for line in f:
                fields = line.split(":")
                if fields[0] == group:
                    return int(fields[2])
        return None

    def argv(self, cmd, user=None, caps=None):
        prefix = ["chroot", self.path]
        if user:
            uid, gid, _, _ = self.ids(user)
            # As the units run them: their user, no new privileges, only their capability.
            prefix += ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups",
                       "--no-new-privs", "--bounding-set=-all" + (f",+{caps}" if caps else "")]
            if caps:
                prefix += [f"--inh-caps=+{caps}", f"--ambient-caps=+{caps}"]
        return prefix + cmd

    def env(self):
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
                "DEBIAN_FRONTEND": "noninteractive"}

    def run(self, cmd, user=None, caps=None, timeout=300):
        return run(self.argv(cmd, user, caps), timeout=timeout, env=self.env())

    def start(self, cmd, log, user=None, caps=None):
        out = open(log, "w")
        proc = subprocess.Popen(self.argv(cmd, user, caps), stdout=out, stderr=subprocess.STDOUT,
                                env=self.env())
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path + "/")]


def mount_pseudo(root):
    subprocess.run(["mount", "-t", "proc", "proc", root.p("/proc")], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,nosuid", "tmpfs", root.p("/dev")],
                   check=True)
    for name, minor in (("null", 3), ("zero", 5), ("full", 7), ("random", 8), ("urandom", 9)):
        path = root.p("/dev/" + name)
        os.mknod(path, 0o666 | 0o020000, os.makedev(1, minor))
        os.chmod(path, 0o666)


def unmount_all(tmp):
    for m in sorted(mounts_under(tmp), reverse=True):
        subprocess.run(["umount", "-l", m], check=False)


def http(path, token=None, timeout=10):
    req = urllib.request.Request(API + path)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def wait_for(predicate, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def build_packages(out_dir, release=None):
    os.makedirs(out_dir)
    cmd = [CPACK, "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", out_dir]
    if release:
        cmd += ["-D", f"CPACK_DEBIAN_PACKAGE_RELEASE={release}"]
    t = time.monotonic()
    p = run(cmd, timeout=600)
    timings[f"cpack{' release ' + release if release else ''}"] = time.monotonic() - t
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        raise SystemExit(f"FAIL: cpack exited {p.returncode}")
    debs = {}
    for name in os.listdir(out_dir):
        if name.endswith(".deb"):
            debs[name.split("_")[0]] = os.path.join(out_dir, name)
    return debs


def deb_field(deb, field):
    return run(["dpkg-deb", "-f", deb, field]).stdout.strip()


def split_depends(text):
    """Depends as lists of alternatives, without versions or architectures."""
    groups = []
    for group in text.split(","):
        alts = [re.sub(r"[\s(:].*", "", a.strip()) for a in group.split("|") if a.strip()]
        if alts:
            groups.append(alts)
    return groups


def check_root_has_dependencies(root, debs):
    """Every Depends of the packages must be in the cached root: the test cannot download."""
    p = run(["dpkg-query", "--admindir=" + root.p("/var/lib/dpkg"), "-W",
             "-f=${Package} ${db:Status-Status} ${Provides}\n"])
    have = set(PACKAGES)
    for line in p.stdout.splitlines():
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[1] == "installed":
            have.add(parts[0])
            for prov in split_depends(parts[2] if len(parts) > 2 else ""):
                have.update(prov)
    missing = []
    for name, deb in debs.items():
        for alts in split_depends(deb_field(deb, "Depends")):
            if not any(a in have for a in alts):
                missing.append(f"{' | '.join(alts)} (needed by {name})")
    if missing:
        print("FAIL: the cached Debian root (" + CACHE + ") lacks " + ", ".join(missing) +
              ": packaging/chroot-packages.txt is stale. Add the package(s) there and run "
              "scripts/setup.sh (scripts/chroot-cache.sh) to remake the root.")
        return False
    return True


def dpkg(root, *args):
    p = root.run(["dpkg", *args], timeout=300)
    out = (p.stdout + p.stderr).strip()
    print(f"$ dpkg {' '.join(args)} -> {p.returncode}" + ("\n  " + out.replace("\n", "\n  ") if out else ""))
    return p


def status(root, package):
    p = root.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}${Version}", package])
    return p.stdout.strip() if p.returncode == 0 else "not known"


def mode_of(root, path):
    st = os.lstat(root.p(path))
    return st.st_mode & 0o7777, st.st_uid, st.st_gid


def check_installed(root, version):
    for pkg in PACKAGES:
        check(status(root, pkg) == "ii " + version, f"{pkg} installed at {version} ({status(root, pkg)})")


def check_users_and_files(root):
    for pkg in ("edusight-collector", "edusight-agent"):
        ids = root.ids(pkg)
        if not check(ids is not None, f"system user {pkg} exists"):
            continue
        uid, gid, home, shell = ids
        check(uid < 1000 and root.gid(pkg) == gid, f"{pkg}: system uid {uid}, own group")
        check(home == "/var/lib/" + pkg and shell == "/usr/sbin/nologin",
              f"{pkg}: home {home}, shell {shell}")
        check(mode_of(root, "/var/lib/" + pkg) == (0o700, uid, gid), f"/var/lib/{pkg} 0700 {pkg}")
        check(mode_of(root, "/var/log/" + pkg) == (0o750, uid, gid), f"/var/log/{pkg} 0750 {pkg}")
    for path, group in (("/etc/edusight/collector.yaml", "edusight-collector"),
                        ("/etc/edusight/agent.yaml", "edusight-agent")):
        got = mode_of(root, path)
        check(got == (0o640, 0, root.gid(group)), f"{path} 0640 root:{group} (got {oct(got[0])} {got[1]}:{got[2]})")
    check(mode_of(root, "/etc/edusight/scan.yaml")[:2] == (0o644, 0), "/etc/edusight/scan.yaml 0644 root")
    p = root.run(["dpkg-query", "-W", "-f=${Conffiles}\n", "edusight-collector", "edusight-agent"])
    conffiles = re.findall(r"^\s*(/\S+) [0-9a-f]{32}", p.stdout, re.M)
    check(sorted(conffiles) == ["/etc/edusight/agent.yaml", "/etc/edusight/collector.yaml",
                                "/etc/edusight/scan.yaml"], f"conffiles recorded: {conffiles}")
    overrides = root.run(["dpkg-statoverride", "--list"]).stdout
    check(re.search(r"^root edusight-collector 0?640 /etc/edusight/collector.yaml$", overrides, re.M) and
          re.search(r"^root edusight-agent 0?640 /etc/edusight/agent.yaml$", overrides, re.M),
          "dpkg-statoverride keeps the configuration's group and mode: " + overrides.strip().replace("\n", "; "))
    wants = root.p("/etc/systemd/system/multi-user.target.wants/")
    check(os.path.islink(wants + "edusight-collector.service"), "edusight-collector.service enabled")
    check(not os.path.lexists(wants + "edusight-agent.service"),
          "edusight-agent.service not enabled before it is configured")
    for unit in ("edusight-collector.service", "edusight-agent.service"):
        check(os.path.isfile(root.p("/lib/systemd/system/" + unit)), f"/lib/systemd/system/{unit}")
    for exe in ("/usr/bin/edusight-collector", "/usr/bin/edusight-agent"):
        desc = run(["file", "-b", root.p(exe)]).stdout
        check("ELF" in desc and ", stripped" in desc, f"{exe} is a stripped ELF executable")
    check(os.path.isfile(root.p("/usr/share/edusight/dashboard/index.html")), "dashboard installed")
    rules = [f for f in os.listdir(root.p("/usr/share/edusight/rules")) if f.endswith(".yaml")]
    check(len(rules) >= 3, f"shipped rules installed ({len(rules)} files)")
    for pkg in PACKAGES:
        doc = root.p(f"/usr/share/doc/{pkg}/")
        check(os.path.isfile(doc + "copyright") and os.path.isfile(doc + "changelog.Debian.gz"),
              f"/usr/share/doc/{pkg}: copyright and changelog.Debian.gz")


def collector_cli(root, *args):
    return root.run(["edusight-collector", "--config", "/etc/edusight/collector.yaml", *args],
                    user="edusight-collector", timeout=60)


def exercise_collector_and_agent(root, tmp, version):
    p = root.run(["edusight-collector", "--version"])
    check(p.returncode == 0 and version in p.stdout, f"edusight-collector --version: {p.stdout.strip()}")
    p = root.run(["edusight-agent", "--version"])
    check(p.returncode == 0 and version in p.stdout, f"edusight-agent --version: {p.stdout.strip()}")
    p = collector_cli(root, "--check-config")
    check(p.returncode == 0 and "configuration OK" in p.stdout,
          "collector --check-config on the shipped configuration: " + (p.stdout + p.stderr).strip())

    p = collector_cli(root, "token", "create", "--name", "pkg-test", "--role", "admin")
    token = p.stdout.strip()
    check(p.returncode == 0 and token, "token create as edusight-collector")
    p = collector_cli(root, "agent", "add", "pkg-agent", "--key-file", "/tmp/pkg-agent.key")
    check(p.returncode == 0, "agent add pkg-agent")
    a_uid, a_gid, _, _ = root.ids("edusight-agent")
    shutil.copy(root.p("/tmp/pkg-agent.key"), root.p("/var/lib/edusight-agent/agent.key"))
    os.chown(root.p("/var/lib/edusight-agent/agent.key"), a_uid, a_gid)
    os.chmod(root.p("/var/lib/edusight-agent/agent.key"), 0o600)

    log = os.path.join(tmp, "collector.log")
    collector = root.start(["edusight-collector", "--config", "/etc/edusight/collector.yaml"], log,
                           user="edusight-collector")
    healthy = wait_for(lambda: collector.poll() is not None or http("/healthz")[0] == 200, 60)
    if not check(healthy and collector.poll() is None, "collector up as edusight-collector: /healthz 200"):
        print(open(log).read())
        return None
    code, body = http("/api/v1/whoami", token)
    check(code == 200 and '"admin"' in body, f"GET /api/v1/whoami: {code} {body[:80]}")
    code, body = http("/")
    check(code == 200 and "<html" in body.lower(), f"GET / serves the dashboard: {code}")
    text = open(log).read()
    check("/usr/share/edusight/rules" in text, "collector loaded the rules from /usr/share/edusight/rules")
    check("(from /usr/share/edusight/dashboard)" in text, "dashboard served from /usr/share/edusight/dashboard")

    shutil.copy(root.p("/var/lib/edusight-collector/tls/collector.crt"),
                root.p("/var/lib/edusight-agent/collector.crt"))
    os.chown(root.p("/var/lib/edusight-agent/collector.crt"), a_uid, a_gid)
    scan = root.run(["edusight-agent", "scan", "--own-prefix", "127.0.0.0/8", "--resolver",
                     "127.0.0.1", "--target", "127.0.0.1", "--no-discovery", "--ports", "8080,24224",
                     "--format", "jsonl", "--no-progress", "--agent-id", "pkg-agent",
                     "--collector", "127.0.0.1:24224", "--agent-key-file",
                     "/var/lib/edusight-agent/agent.key", "--collector-ca",
                     "/var/lib/edusight-agent/collector.crt", "--spool-dir",
                     "/var/lib/edusight-agent/scan-spool"],
                    user="edusight-agent", caps="net_raw", timeout=300)
    found = [line for line in scan.stdout.splitlines() if line.startswith("{")]
    check(scan.returncode == 0 and found,
          f"agent scan of loopback as edusight-agent, delivered: exit {scan.returncode}, "
          f"{len(found)} finding(s)" + ("" if scan.returncode == 0 else "\n" + scan.stderr[-2000:]))

    def stored():
        code, body = http("/api/v1/findings?limit=5", token)
        return code == 200 and json.loads(body).get("total", 0) > 0 and json.loads(body)["total"]
    total = wait_for(stored, 30)
    check(bool(total), f"the collector stored the scan's findings ({total})")

    # The daemon with the shipped configuration, its identity from enrollment as
    # packaging/README.md tells an administrator: a token on the collector, `enroll` as root.
    p = collector_cli(root, "enrollment", "create", "--name", "pkg-enrolled", "--ttl", "1h")
    lines = p.stdout.splitlines()
    check(p.returncode == 0 and len(lines) >= 2 and "--pin" in lines[1],
          "enrollment create prints a token and the agent's command")
    pin = re.search(r"--pin\s+([0-9a-fA-F:]+)", lines[1] if len(lines) > 1 else "")
    p = root.run(["edusight-agent", "enroll", "--collector", "127.0.0.1:24225", "--token",
                  lines[0].strip() if lines else "", "--pin", pin.group(1) if pin else "",
                  "--agent-id", "pkg-enrolled"], timeout=60)
    check(p.returncode == 0, "edusight-agent enroll as root: " + (p.stdout + p.stderr).strip()[-400:])
    ident = root.p("/var/lib/edusight-agent/identity.yaml")
    st = os.stat(ident) if os.path.exists(ident) else None
    check(st is not None and st.st_uid == a_uid and (st.st_mode & 0o777) == 0o600,
          "identity.yaml written 0600 and owned by edusight-agent")
    path = root.p("/etc/edusight/agent.yaml")
    with open(path, "a") as f:
        f.write("# pkg-test: filled in by the administrator\n")
    daemon_log = os.path.join(tmp, "agent.log")
    daemon = root.start(["edusight-agent", "run", "--config", "/etc/edusight/agent.yaml"], daemon_log,
                        user="edusight-agent", caps="net_raw")

    def heartbeat():
        code, body = http("/api/v1/agents", token)
        if code != 200:
            return False
        items = json.loads(body)
        items = items.get("items", items) if isinstance(items, dict) else items
        return any(a.get("id") == "pkg-enrolled" and a.get("online") for a in items)
    check(wait_for(lambda: daemon.poll() is not None or heartbeat(), 60) and daemon.poll() is None,
          "agent daemon with the shipped agent.yaml and the enrolled identity: heartbeat, online")
    daemon.send_signal(signal.SIGTERM)
    try:
        rc = daemon.wait(timeout=60)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, f"agent daemon stops on SIGTERM (exit {rc})")
    if rc != 0:
        print(open(daemon_log).read()[-3000:])

    collector.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "SIGHUP, reloading rules" in open(log).read(), 30), "collector reloads its rules on SIGHUP")
    collector.send_signal(signal.SIGTERM)
    try:
        rc = collector.wait(timeout=90)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, f"collector stops on SIGTERM (exit {rc})")
    return token


def lint(debs):
    return subprocess.Popen(["lintian", "--tag-display-limit", "0", *sorted(debs.values())],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def report_lintian(proc):
    out, _ = proc.communicate(timeout=600)
    lines = out.splitlines()
    errors = [l for l in lines if l.startswith("E:")]
    warnings = [l for l in lines if l.startswith("W:")]
    for l in warnings:
        print("  " + l)
    for l in errors:
        print("  " + l)
    other = [l for l in lines if not l[:2] in ("E:", "W:", "I:", "N:", "P:", "X:", "O:", "C:", "M:")]
    for l in other:
        print("  lintian: " + l)
    check(not errors, f"lintian: {len(errors)} error(s), {len(warnings)} warning(s)")


def in_namespace():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    version = None
    with open(os.path.join(BUILD, "CPackConfig.cmake")) as f:
        m = re.search(r'set\(CPACK_PACKAGE_VERSION "([^"]+)"\)', f.read())
        version = m.group(1)
    v1, v2 = version + "-1", version + "-2"
    tmp = tempfile.mkdtemp(prefix="es-packages-", dir="/var/tmp")
    root = Root(os.path.join(tmp, "root"))
    linter = None
    try:
        debs1 = build_packages(os.path.join(tmp, "debs1"))
        if not check(sorted(debs1) == sorted(PACKAGES), f"cpack made {sorted(debs1)}"):
            return 1
        linter = lint(debs1)
        debs2 = build_packages(os.path.join(tmp, "debs2"), release="2")
        for name, deb in sorted(debs1.items()):
            print(f"{os.path.basename(deb)}: {os.path.getsize(deb)} bytes; Depends: "
                  f"{deb_field(deb, 'Depends')}")
        for name in ("edusight-collector", "edusight-agent"):
            deb = debs1[name]
            check(deb_field(deb, "Section") == "net" and deb_field(deb, "Architecture") == "amd64",
                  f"{name}: Section net, Architecture amd64")
            check(f"edusight-rules (= {v1})" in deb_field(deb, "Depends") and
                  "adduser" in deb_field(deb, "Depends") and "libc6" in deb_field(deb, "Depends"),
                  f"{name}: Depends on edusight-rules (= {v1}), adduser and (shlibdeps) libc6")
        check(deb_field(debs1["edusight-rules"], "Architecture") == "all", "edusight-rules: Architecture all")

        t = time.monotonic()
        os.makedirs(root.path)
        if not os.path.isfile(CACHE):
            print(f"FAIL: no Debian root at {CACHE}: run scripts/setup.sh (scripts/chroot-cache.sh) first")
            return 1
        subprocess.run(["tar", "--zstd", "-xpf", CACHE, "-C", root.path, "--numeric-owner"], check=True)
        timings["root extraction"] = time.monotonic() - t
        if not check_root_has_dependencies(root, debs1):
            return 1
        mount_pseudo(root)
        for d, debs in (("debs1", debs1), ("debs2", debs2)):
            os.makedirs(root.p("/tmp/" + d))
            for deb in debs.values():
                shutil.copy(deb, root.p("/tmp/" + d))

        t = time.monotonic()
        p = dpkg(root, "-i", *sorted("/tmp/debs1/" + os.path.basename(d) for d in debs1.values()))
        timings["dpkg -i"] = time.monotonic() - t
        if not check(p.returncode == 0, "dpkg -i of the three packages into clean Debian 12"):
            return 1
        check_installed(root, v1)
        check_users_and_files(root)

        t = time.monotonic()
        token = exercise_collector_and_agent(root, tmp, version)
        timings["collector and agent"] = time.monotonic() - t
        if token is None:
            return 1
        db = root.p("/var/lib/edusight-collector/edusight.db")
        check(os.path.isfile(db), "the collector's database exists")

        # The administrator's edit of a conffile must survive upgrades and reinstallation.
        path = root.p("/etc/edusight/collector.yaml")
        text = open(path).read().replace("log_level: info", "log_level: debug")
        with open(path, "w") as f:
            f.write(text + "# pkg-test: edited by the administrator\n")

        def edits_kept(when):
            check("edited by the administrator" in open(root.p("/etc/edusight/collector.yaml")).read() and
                  "filled in by the administrator" in open(root.p("/etc/edusight/agent.yaml")).read(),
                  f"{when}: the edited conffiles are kept")
            p = collector_cli(root, "token", "list")
            check(p.returncode == 0 and "pkg-test" in p.stdout,
                  f"{when}: the database is kept (token list has pkg-test)")

        p = dpkg(root, "-i", *sorted("/tmp/debs2/" + os.path.basename(d) for d in debs2.values()))
        check(p.returncode == 0, f"upgrade to {v2} with dpkg -i")
        check_installed(root, v2)
        edits_kept("after the upgrade")
        leftovers = [f for f in os.listdir(root.p("/etc/edusight")) if ".dpkg-" in f]
        check(not leftovers, f"no .dpkg-* files beside the conffiles ({leftovers})")
        got = mode_of(root, "/etc/edusight/collector.yaml")
        check(got[0] == 0o640 and got[2] == root.gid("edusight-collector"),
              "after the upgrade collector.yaml is still 0640 root:edusight-collector")

        p = dpkg(root, "-r", *PACKAGES)
        check(p.returncode == 0, "dpkg -r")
        for pkg in ("edusight-collector", "edusight-agent"):
            check(status(root, pkg).startswith("rc"), f"{pkg} removed, configuration kept ({status(root, pkg)})")
        check(status(root, "edusight-rules").startswith("un"), "edusight-rules (no conffiles) removed")
        check(os.path.isfile(db), "after dpkg -r the database is kept")
        check(os.path.isfile(root.p("/var/lib/edusight-agent/agent.key")), "after dpkg -r the agent's key is kept")
        check(root.ids("edusight-collector") and root.ids("edusight-agent"), "after dpkg -r the users are kept")
        check(os.path.islink(root.p("/etc/systemd/system/edusight-collector.service")),
              "after dpkg -r the collector unit is masked")

        p = dpkg(root, "-i", *sorted("/tmp/debs2/" + os.path.basename(d) for d in debs2.values()))
        check(p.returncode == 0, "reinstallation after dpkg -r")
        check_installed(root, v2)
        edits_kept("after the reinstallation")
        check(not os.path.lexists(root.p("/etc/systemd/system/edusight-collector.service")) and
              os.path.islink(root.p("/etc/systemd/system/multi-user.target.wants/edusight-collector.service")),
              "after the reinstallation the collector unit is unmasked and enabled again")

        p = dpkg(root, "-P", *PACKAGES)
        check(p.returncode == 0, "dpkg -P")
        for pkg in PACKAGES:
            check(status(root, pkg) in ("not known", "un "), f"{pkg} purged ({status(root, pkg)})")
        check(not os.path.exists(root.p("/etc/edusight")), "after dpkg -P /etc/edusight is gone")
        check(not os.path.exists(root.p("/var/log/edusight-collector")) and
              not os.path.exists(root.p("/var/log/edusight-agent")), "after dpkg -P the log directories are gone")
        check(os.path.isfile(db) and os.path.isfile(root.p("/var/lib/edusight-agent/agent.key")),
              "after dpkg -P the data directories are kept (database, agent key)")
        check(root.ids("edusight-collector") and root.ids("edusight-agent"), "after dpkg -P the users are kept")
        check("edusight" not in root.run(["dpkg-statoverride", "--list"]).stdout,
              "after dpkg -P the stat overrides are gone")
        check(not [f for f in os.listdir(root.p("/etc/systemd/system")) if "edusight" in f] and
              not os.path.lexists(root.p("/etc/systemd/system/multi-user.target.wants/edusight-collector.service")),
              "after dpkg -P no unit links are left")

        t = time.monotonic()
        report_lintian(linter)
        timings["lintian (after the rest)"] = time.monotonic() - t
        linter = None
        return 1 if failures else 0
    finally:
        root.stop_all()
        if linter and linter.poll() is None:
            linter.kill()
        unmount_all(tmp)
        if mounts_under(tmp):
            print(f"left {tmp} in place: mounts remain {mounts_under(tmp)}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        if failures:
            print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root (chroot, mount and network namespaces)")
        return 77
    for tool in ("unshare", "chroot", "lintian", "dpkg-deb", "zstd", "ip", "file"):
        if not shutil.which(tool):
            print(f"FAIL: {tool} is missing: run scripts/setup.sh")
            return 1
    if os.environ.get(NS_FLAG) == "1":
        return in_namespace()
    start = time.monotonic()
    env = dict(os.environ, **{NS_FLAG: "1"})
    rc = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private", "--",
                         sys.executable, "-u", os.path.abspath(__file__)], env=env).returncode
    print(f"integration.packages: {time.monotonic() - start:.1f} s, exit {rc}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
