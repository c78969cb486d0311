#!/usr/bin/env python3
"""The web dashboard in headless Chromium against a collector that holds a real scan of the
namespace campus.

Everything runs inside the campus's agent namespace, on its loopback: the collector (serving
the built dashboard from dashboards/web/dist), a one-shot `edusight-agent scan --collector`
of the test bed, and the browser tests (node's test runner, playwright-core driving Debian's
chromium). Screenshots go to EDUSIGHT_ARTIFACTS (default: a temporary directory) and their
paths are printed. The campus is brought up by the ctest fixture. Exit 77 (skipped) when not
root, as the namespaces need it."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
from collector_harness import wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CAMPUS = os.path.join(ROOT, "tests", "testbed", "campus.sh")
SCAN_CONFIG = os.path.join(ROOT, "tests", "testbed", "demo-campus.yaml")
DIST = os.environ.get("EDUSIGHT_DASHBOARD_DIST", os.path.join(ROOT, "dashboards", "web", "dist"))
COLLECTOR = os.environ.get("EDUSIGHT_COLLECTOR", "edusight-collector")
AGENT = os.environ.get("EDUSIGHT_AGENT", "edusight-agent")
CHROMIUM = os.environ.get("EDUSIGHT_CHROMIUM", "/usr/bin/chromium")
ENV = dict(os.environ, EDUSIGHT_TESTBED_NAME=os.environ.get("EDUSIGHT_TESTBED_NAME", "esdtest"))

# Inside the agent namespace: its loopback is ours alone (tests that use it take turns).
FORWARD_PORT = 24380
API_PORT = 18380
AGENT_ID = "itest-web"


def log(msg):
    print(f"dashboard_test: {msg}", flush=True)


def in_agent_ns(*cmd, **kw):
    return subprocess.Popen([CAMPUS, "exec-agent", *cmd], env=kw.pop("env", ENV), **kw)


def main():
    if os.geteuid() != 0:
        log("skipped: the campus namespaces need root")
        return 77
    for path, what in ((os.path.join(DIST, "index.html"), "the built dashboard (npm run build in dashboards/web)"),
                       (os.path.join(HERE, "node_modules", "playwright-core"), "playwright-core (npm ci in tests/browser)"),
                       (CHROMIUM, "Debian's chromium")):
        if not os.path.exists(path):
            log(f"missing {what}: {path} (scripts/setup.sh installs it)")
            return 1

    work = tempfile.mkdtemp(prefix="es-dashboard-")
    # Kept after the run (the work directory is not): screenshots and the downloaded CSV.
    artifacts = os.environ.get("EDUSIGHT_ARTIFACTS") or tempfile.mkdtemp(prefix="es-dashboard-shots-")
    os.makedirs(artifacts, exist_ok=True)
    for old in os.listdir(artifacts):  # the last run's screenshots and download
        if old.endswith((".png", ".csv")):
            os.unlink(os.path.join(artifacts, old))
    data = os.path.join(work, "data")
    config = os.path.join(work, "collector.yaml")
    with open(config, "w") as f:
        f.write(f"""forward:
  listen: ["127.0.0.1:{FORWARD_PORT}"]
api:
  listen: ["127.0.0.1:{API_PORT}"]
  dashboard_dir: {DIST}
enroll:
  listen: []
alerts:
  poll_interval: 200ms
""")

    def cli(*args):
        p = subprocess.run([COLLECTOR, "--config", config, "--data-dir", data, *args],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"edusight-collector {' '.join(args)}: {p.stderr}")
        return p.stdout.strip()

    procs = []
    try:
        admin = cli("token", "create", "--name", "itest-web-admin", "--role", "admin")
        viewer = cli("token", "create", "--name", "itest-web-viewer", "--role", "viewer")
        key_file = os.path.join(work, "agent.key")
        cli("agent", "add", AGENT_ID, "--key-file", key_file)

        collector_log = open(os.path.join(work, "collector.log"), "w")
        collector = in_agent_ns(COLLECTOR, "--config", config, "--data-dir", data,
                                stdout=collector_log, stderr=subprocess.STDOUT)
        procs.append(collector)
        cert = os.path.join(data, "tls", "collector.crt")
        if not wait_for(lambda: os.path.exists(cert), 30, 0.2):
            log("the collector did not start")
            return 1
        time.sleep(0.5)

        # A real scan of the test bed, delivered by the agent as it would be in production.
        log("scanning the campus")
        started = time.monotonic()
        with open(os.path.join(work, "scan.jsonl"), "w") as out, \
                open(os.path.join(work, "scan.log"), "w") as err:
            scan = in_agent_ns(AGENT, "scan", "--config", SCAN_CONFIG, "--agent-id", AGENT_ID,
                               "--collector", f"127.0.0.1:{FORWARD_PORT}",
                               "--agent-key-file", key_file, "--collector-ca", cert,
                               "--collector-server-name", "localhost",
                               "--spool-dir", os.path.join(work, "spool"),
                               stdout=out, stderr=err)
            rc = scan.wait(timeout=900)
        if rc != 0:
            with open(os.path.join(work, "scan.log")) as f:
                log(f"the scan failed ({rc}):\n{f.read()[-3000:]}")
            return 1
        with open(os.path.join(work, "scan.jsonl")) as f:
            scanned = sum(1 for _ in f)
        log(f"scanned: {scanned} findings in {time.monotonic() - started:.0f} s")

        def complete():
            try:
                con = sqlite3.connect(f"file:{data}/edusight.db?mode=ro", uri=True, timeout=10)
                try:
                    return con.execute("SELECT count(*) FROM scans WHERE agent = ? AND complete = 1",
                                       (AGENT_ID,)).fetchone()[0]
                finally:
                    con.close()
            except sqlite3.Error:
                return 0
        if not wait_for(complete, 60):
            log("the collector has no completed scan")
            return 1

        env = dict(ENV,
                   EDUSIGHT_URL=f"http://127.0.0.1:{API_PORT}/",
                   EDUSIGHT_ADMIN_TOKEN=admin, EDUSIGHT_ADMIN_NAME="itest-web-admin",
                   EDUSIGHT_VIEWER_TOKEN=viewer, EDUSIGHT_VIEWER_NAME="itest-web-viewer",
                   EDUSIGHT_AGENT_ID=AGENT_ID, EDUSIGHT_ARTIFACTS=artifacts,
                   EDUSIGHT_CHROMIUM=CHROMIUM)
        node = in_agent_ns("node", "--test", "--test-reporter=spec",
                           os.path.join(HERE, "dashboard.test.mjs"), env=env, cwd=HERE)
        procs.append(node)
        rc = node.wait(timeout=600)
        shots = sorted(p for p in os.listdir(artifacts) if p.endswith(".png"))
        log(f"{len(shots)} screenshots in {artifacts}")
        if rc != 0:
            with open(os.path.join(work, "collector.log")) as f:
                log("collector log (end):\n" + f.read()[-3000:])
        return rc
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        if os.environ.get("EDUSIGHT_KEEP"):
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
