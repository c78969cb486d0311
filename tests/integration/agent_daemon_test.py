#!/usr/bin/env python3
"""The agent daemon against the real collector, both inside the campus's agent namespace:
a scheduled job scans the campus at start, its findings stream to the collector, the scan is
marked complete, heartbeats arrive, and SIGTERM stops both cleanly. The campus is brought up
by the ctest fixture."""
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_harness import AGENT, COLLECTOR, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CAMPUS = os.path.join(ROOT, "tests", "testbed", "campus.sh")
SCAN_CONFIG = os.path.join(ROOT, "tests", "testbed", "demo-campus.yaml")
ENV = dict(os.environ, EDUSIGHT_TESTBED_NAME=os.environ.get("EDUSIGHT_TESTBED_NAME", "esdtest"))


def in_agent_ns(*cmd, **kw):
    return subprocess.Popen([CAMPUS, "exec-agent", *cmd], env=ENV, **kw)


class DaemonToCollector(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="es-daemon-")
        self.data = os.path.join(self.dir, "collector")
        self.config = os.path.join(self.dir, "collector.yaml")
        with open(self.config, "w") as f:
            f.write("forward:\n  listen: [\"127.0.0.1:24224\"]\napi:\n  listen: [\"127.0.0.1:18080\"]\n"
                    "enroll:\n  listen: []\n")
        key_file = os.path.join(self.dir, "agent.key")
        subprocess.run([COLLECTOR, "--config", self.config, "--data-dir", self.data, "agent",
                        "add", "itest-daemon", "--key-file", key_file],
                       check=True, capture_output=True, timeout=60)
        self.agent_config = os.path.join(self.dir, "agent.yaml")
        with open(self.agent_config, "w") as f:
            f.write(f"""agent:
  id: itest-daemon
  key_file: {key_file}
  spool_dir: {self.dir}/spool
  heartbeat_interval: 1s
collector:
  address: 127.0.0.1:24224
  ca_file: {self.data}/tls/collector.crt
  server_name: localhost
jobs:
  - name: campus
    scan_config: {SCAN_CONFIG}
    schedule: "@daily"
    run_at_start: true
""")
        self.collector_log = open(os.path.join(self.dir, "collector.log"), "w")
        self.agent_log = open(os.path.join(self.dir, "agent.log"), "w")
        self.collector = in_agent_ns(COLLECTOR, "--config", self.config, "--data-dir", self.data,
                                     stdout=self.collector_log, stderr=subprocess.STDOUT)
        self.assertTrue(wait_for(lambda: os.path.exists(f"{self.data}/tls/collector.crt"), 20))
        time.sleep(0.5)
        self.agent = in_agent_ns(AGENT, "run", "--config", self.agent_config,
                                 stdout=self.agent_log, stderr=subprocess.STDOUT)

    def tearDown(self):
        for p in (self.agent, self.collector):
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        subprocess.run(["rm", "-rf", self.dir])

    def db(self, sql):
        con = sqlite3.connect(f"file:{self.data}/edusight.db?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def complete_scans(self):
        try:
            return self.db("SELECT scan, finding_count FROM scans "
                           "WHERE agent = 'itest-daemon' AND complete = 1")
        except sqlite3.Error:
            return []

    def test_scheduled_scan_streams_to_collector(self):
        scans = wait_for(self.complete_scans, 300, 0.5)
        with open(os.path.join(self.dir, "agent.log")) as f:
            log = f.read()
        self.assertTrue(scans, "no completed scan reached the collector:\n" + log[-3000:])
        ((scan, counted),) = scans
        stored = self.db("SELECT count(*) FROM findings WHERE agent = 'itest-daemon' "
                         "AND job = 'campus' AND state = 'open'")[0][0]
        self.assertEqual(stored, counted)
        kinds = {k for (k,) in self.db("SELECT DISTINCT kind FROM findings")}
        for kind in ("asset.discovered", "asset.dual_non_own", "ipv6.dns.no_aaaa",
                     "ipv6.readiness", "exposure.risky_service", "tls.cert_expired"):
            self.assertIn(kind, kinds)
        # Heartbeats carry the daemon's status, including the scan just delivered.
        beat = wait_for(lambda: self.db(
            "SELECT status FROM agents WHERE id = 'itest-daemon' AND status LIKE '%" + scan +
            "%' AND status LIKE '%\"spool_chunks\":0%'"), 30, 0.5)
        self.assertTrue(beat, "no heartbeat with the delivered scan")

        for p in (self.agent, self.collector):
            p.send_signal(signal.SIGTERM)
        self.assertEqual(self.agent.wait(timeout=30), 0)
        self.assertEqual(self.collector.wait(timeout=30), 0)
        self.assertEqual(os.listdir(os.path.join(self.dir, "spool")).count("corrupt"), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
