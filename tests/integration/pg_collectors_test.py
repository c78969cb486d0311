#!/usr/bin/env python3
"""Two edusight-collectors on one PostgreSQL database (issue #8: scale-out), real binaries on
loopback: agents send to either collector at the same time and both answer the API alike;
exactly one of them announces alerts, and the other takes over when it dies; an agent
revoked through one is refused by the other."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_harness import AGENT, Collector, wait_for  # noqa: E402
from pg_harness import PgServer  # noqa: E402
from alerts_test import Receiver  # noqa: E402

SHARED = 1000     # subjects both agents report (one row each)
PER_AGENT = 4000  # findings each agent sends, the shared ones included


def asset(i):
    return {"kind": "asset.discovered", "severity": "info",
            "subject": f"host-{i}.demo-univ.edu.cn", "title": "System found",
            "title_zh": "发现系统", "evidence": {"source": "dns", "addresses": ["192.0.2.10"]}}


def open_resolver(address):
    return {"kind": "dns.open_resolver", "severity": "high", "subject": address,
            "title": "Open resolver", "title_zh": "开放递归解析器",
            "evidence": {"query": "www.example.com", "rcode": 3, "answers": 0,
                         "recursion_available": True, "vantage": "agent"}}


class TwoCollectorsOnePostgres(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="es-pgcol-")
        self.pg = PgServer("pgcol")
        uri = self.pg.create_database("edusight")
        self.receiver = Receiver()
        threading.Thread(target=self.receiver.serve_forever, daemon=True).start()
        hook = f"http://127.0.0.1:{self.receiver.server_address[1]}/hook"
        extra = f"""database: "{uri}"
alerts:
  poll_interval: 200ms
notifications:
  - name: security-center
    type: webhook
    url: {hook}
"""
        self.c1 = Collector("pgcol-1", extra)
        self.c2 = Collector("pgcol-2", extra, tokens=(self.c1.admin, self.c1.viewer))
        self.collectors = [self.c1, self.c2]
        for c in self.collectors:  # snapshots rebuilt often, so both settle quickly
            with open(c.config) as f:
                text = f.read()
            with open(c.config, "w") as f:
                f.write(text.replace("api:\n", "api:\n  posture_refresh: 200ms\n", 1))
        # Identities live in the database: one made through each collector's command line.
        _, self.key_a = self.c1.add_agent("agent-a")
        _, self.key_b = self.c2.add_agent("agent-b")

    def tearDown(self):
        for c in self.collectors:
            c.cleanup()
        self.receiver.shutdown()
        self.pg.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    # ---- helpers ----

    def write(self, name, scan, records):
        path = os.path.join(self.work, f"{name}.jsonl")
        with open(path, "w") as f:
            for rec in records:
                f.write(json.dumps(dict(rec, scan=scan, observed_at="2026-11-25T12:00:00Z"),
                                   ensure_ascii=False) + "\n")
        return path

    def send(self, collector, agent, key_file, path, timeout=120):
        return subprocess.run(
            [AGENT, "send", path, "--agent-id", agent, "--agent-key-file", key_file,
             "--collector", f"127.0.0.1:{collector.forward_port}", "--collector-ca",
             collector.cert, "--collector-server-name", "localhost", "--spool-dir",
             os.path.join(self.work, f"spool-{agent}-{collector.forward_port}"),
             "--job", "nightly"],
            capture_output=True, text=True, timeout=timeout)

    def all_findings(self, c):
        ids, offset, total = set(), 0, None
        for _ in range(100):  # bounded: 100 pages of 1000
            status, body = c.api(f"/api/v1/findings?limit=1000&offset={offset}", token="viewer")
            self.assertEqual(status, 200, body)
            total = body["total"]
            ids.update((f["id"], f["agent"], f["state"]) for f in body["items"])
            offset += len(body["items"])
            if not body["items"] or offset >= total:
                break
        return ids, total

    def metric(self, c, name):
        with urllib.request.urlopen(f"http://127.0.0.1:{c.api_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
        return float(m.group(1)) if m else None

    def leaders(self, collectors):
        return [c for c in collectors if self.metric(c, "edusight_alert_notifier_leader") == 1]

    def firing(self):
        return [p["body"]["alert"]["id"] for p in self.receiver.bodies("/hook")
                if p["body"]["event"] == "firing"]

    def comparable(self, c, path):
        status, body = c.api(path, token="viewer")
        self.assertEqual(status, 200, body)
        return body

    # ---- the test ----

    def test_two_collectors_serve_agents_and_api_alike(self):
        for c in self.collectors:
            c.start()
        # Agent A reports subjects 0..3999, agent B 3000..6999 (1000 shared), each with two
        # open resolvers, one of them shared.
        a = [asset(i) for i in range(PER_AGENT)] + [open_resolver("192.0.2.53"),
                                                     open_resolver("192.0.2.54")]
        b = [asset(i) for i in range(PER_AGENT - SHARED, 2 * PER_AGENT - SHARED)] + [
            open_resolver("192.0.2.54"), open_resolver("198.51.100.53")]
        files = (self.write("a", "scan-a", a), self.write("b", "scan-b", b))
        results = {}

        def run(name, c, agent, key, path):
            results[name] = self.send(c, agent, key, path)

        threads = [threading.Thread(target=run, args=("a", self.c1, "agent-a", self.key_a,
                                                      files[0])),
                   threading.Thread(target=run, args=("b", self.c2, "agent-b", self.key_b,
                                                      files[1]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        for name, p in results.items():
            self.assertEqual(p.returncode, 0, f"agent {name}: {p.stdout}{p.stderr}")

        expected = 2 * PER_AGENT - SHARED + 3  # assets, and three resolver subjects
        f1, total1 = self.all_findings(self.c1)
        f2, total2 = self.all_findings(self.c2)
        self.assertEqual(total1, expected)
        self.assertEqual(len(f1), expected)
        self.assertEqual(f1, f2)
        self.assertEqual(total1, total2)
        self.assertEqual(self.pg.psql("edusight", "SELECT count(*) FROM findings"),
                         [[str(expected)]])

        # Agents, scans and alerts: the same answers from both.
        for path in ("/api/v1/agents", "/api/v1/scans?limit=100",
                     "/api/v1/alerts?limit=100", "/api/v1/findings?kind=dns.open_resolver"):
            self.assertEqual(self.comparable(self.c1, path), self.comparable(self.c2, path), path)
        alerts = self.comparable(self.c1, "/api/v1/alerts?state=firing&limit=100")
        self.assertEqual(alerts["total"], 3)
        agents = {x["id"] for x in self.comparable(self.c2, "/api/v1/agents")["items"]}
        self.assertEqual(agents, {"agent-a", "agent-b"})
        # The posture snapshots are built by each collector apart; they settle on one answer.
        def figures(c):
            o = self.comparable(c, "/api/v1/overview")
            return {k: o[k] for k in ("systems", "findings", "alerts", "agents")}

        self.assertTrue(wait_for(lambda: figures(self.c1) == figures(self.c2) and
                                 figures(self.c1)["findings"]["open"] == expected, 30),
                        (figures(self.c1), figures(self.c2)))
        self.assertGreater(figures(self.c1)["systems"]["total"], 0)

        # Exactly one collector announces: each alert once, though both poll.
        self.assertTrue(wait_for(lambda: len(self.firing()) >= 3, 30), self.firing())
        self.assertTrue(wait_for(lambda: len(self.leaders(self.collectors)) == 1, 10))
        threading.Event().wait(1.5)  # several more polls of both collectors
        self.assertEqual(sorted(self.firing()), sorted(x["id"] for x in alerts["items"]))
        leader = self.leaders(self.collectors)[0]
        other = self.c2 if leader is self.c1 else self.c1

        # The leader dies; the other takes the lease and announces the next alert, once.
        leader.kill9()
        self.assertTrue(wait_for(lambda: self.leaders([other]) == [other], 30), other.log())
        late = self.write("late", "scan-late", [open_resolver("203.0.113.53")])
        p = self.send(other, "agent-a", self.key_a, late)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(wait_for(lambda: len(self.firing()) >= 4, 30), self.firing())
        threading.Event().wait(1.0)
        self.assertEqual(len(self.firing()), 4)
        self.assertEqual(len(set(self.firing())), 4)

        # The dead one comes back and agrees; it does not take the lease back.
        leader.start()
        self.assertTrue(wait_for(
            lambda: self.all_findings(leader)[1] == expected + 1, 30))
        self.assertEqual(self.all_findings(leader), self.all_findings(other))
        self.assertEqual(self.leaders([leader]), [])

        # Revoked through one collector's API: refused by the other at the handshake.
        status, body = other.api("/api/v1/agents/agent-b", method="DELETE")
        self.assertIn(status, (200, 204), body)
        again = self.write("again", "scan-again", [asset(99999)])
        p = self.send(leader, "agent-b", self.key_b, again, timeout=120)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("agent revoked", leader.log())
        self.assertEqual(self.all_findings(leader)[1], expected + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
