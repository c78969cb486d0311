#!/usr/bin/env python3
"""Crash tests with the real binaries: the collector killed with SIGKILL in the middle of an
agent's stream and restarted, and the agent killed in the middle and restarted. Every finding
the agent produced must be stored, and none twice (each chunk counted once)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_harness import AGENT, Collector, wait_for  # noqa: E402

FINDINGS = 40000
BATCH = 200  # findings per chunk: many chunks, so the kill lands mid-stream


def write_findings(path, scan, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({
                "kind": "asset.discovered", "severity": "info",
                "subject": f"h{i}.{scan}.demo-univ.edu.cn",
                "title": "System discovered", "title_zh": "发现系统",
                "evidence": {"ipv4": [f"192.0.2.{i % 250 + 1}"], "sources": ["crash-test"]},
                "observed_at": "2026-11-25T12:00:00Z", "scan": scan}) + "\n")


class Crashes(unittest.TestCase):
    def setUp(self):
        self.c = Collector("crash")
        self.key, self.key_file = self.c.add_agent("crash-agent")
        self.work = tempfile.mkdtemp(prefix="es-crash-work-")
        self.spool = os.path.join(self.work, "spool")
        # The agent's send path: batches of BATCH findings, 1 ms batching delay.
        self.config = os.path.join(self.work, "unused")

    def tearDown(self):
        self.c.cleanup()
        subprocess.run(["rm", "-rf", self.work])

    def send(self, *files):
        return subprocess.Popen(
            [AGENT, "send", *files, "--agent-id", "crash-agent", "--agent-key-file", self.key_file,
             "--collector", f"127.0.0.1:{self.c.forward_port}", "--collector-ca", self.c.cert,
             "--collector-server-name", "localhost", "--spool-dir", self.spool,
             "--batch-max-findings", str(BATCH), "--scan-complete"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stored(self, scan):
        rows = self.c.db("SELECT count(*) FROM findings WHERE scan = ?", scan)
        return rows[0][0]

    def check_exactly_once(self, scan):
        self.assertEqual(self.stored(scan), FINDINGS)
        # Chunks are counted into the scan once each: a re-sent chunk would count twice.
        ((counted, complete),) = self.c.db(
            "SELECT finding_count, complete FROM scans WHERE agent = 'crash-agent' AND scan = ?",
            scan)
        self.assertEqual(counted, FINDINGS)
        self.assertEqual(complete, 1)
        ((chunks,),) = self.c.db("SELECT count(*) FROM chunks WHERE agent = 'crash-agent'")
        self.assertEqual(chunks, FINDINGS // BATCH + 1)  # + the scan-completed chunk

    def test_collector_killed_mid_stream(self):
        data = os.path.join(self.work, "scan.jsonl")
        write_findings(data, "collector-crash", FINDINGS)
        self.c.start()
        agent = self.send(data)
        # Kill once a part has arrived, well before the end.
        self.assertTrue(wait_for(lambda: self.stored("collector-crash") >= FINDINGS // 5, 60, 0.02),
                        "nothing arrived")
        self.c.kill9()
        at_kill = self.stored("collector-crash")
        self.assertLess(at_kill, FINDINGS, "the stream ended before the kill; raise FINDINGS")
        time.sleep(1.0)
        self.c.start()
        out, _ = agent.communicate(timeout=180)
        self.assertEqual(agent.returncode, 0, out)
        self.check_exactly_once("collector-crash")
        print(f"killed the collector with {at_kill} of {FINDINGS} stored", file=sys.stderr)

    def test_agent_killed_mid_stream(self):
        data = os.path.join(self.work, "scan.jsonl")
        write_findings(data, "agent-crash", FINDINGS)
        self.c.start()
        agent = self.send(data)
        self.assertTrue(wait_for(lambda: self.stored("agent-crash") >= FINDINGS // 5, 60, 0.02),
                        "nothing arrived")
        agent.send_signal(signal.SIGKILL)
        agent.communicate(timeout=30)
        at_kill = self.stored("agent-crash")
        self.assertLess(at_kill, FINDINGS, "the stream ended before the kill; raise FINDINGS")
        left = [n for n in os.listdir(self.spool) if n[0].isdigit()]
        self.assertTrue(left, "the spool is empty after the kill")
        # Restarted, the agent delivers what its spool kept (no files this time).
        again = subprocess.run(
            [AGENT, "send", "--agent-id", "crash-agent", "--agent-key-file", self.key_file,
             "--collector", f"127.0.0.1:{self.c.forward_port}", "--collector-ca", self.c.cert,
             "--collector-server-name", "localhost", "--spool-dir", self.spool],
            capture_output=True, text=True, timeout=180)
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        self.check_exactly_once("agent-crash")
        print(f"killed the agent with {at_kill} of {FINDINGS} stored, {len(left)} chunk(s) "
              "in its spool", file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
