#!/usr/bin/env python3
"""Federation with the real binaries on loopback (docs/federation.md): a provincial collector
and two campus collectors, each campus fed by its own agent (`edusight-agent send`). The
provincial collector must hold every finding exactly once, tagged with its campus and its
original agent; a stopped provincial collector gets what was spooled meanwhile; a campus
collector killed with SIGKILL in the middle of forwarding loses and duplicates nothing; a
plain agent cannot claim a campus."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_harness import AGENT, Collector, wait_for  # noqa: E402

CAMPUS_A = "示范大学"
CAMPUS_B = "demo-poly"
WAIT = 90  # seconds: the bound of every wait below


def write_findings(path, scan, subjects, extra=None):
    with open(path, "w") as f:
        for s in subjects:
            record = {
                "kind": "ipv6.no_aaaa", "severity": "medium", "subject": s,
                "title": "No AAAA record", "title_zh": "无 AAAA 记录",
                "evidence": {"ipv4": ["192.0.2.10"]},
                "observed_at": "2026-11-25T12:00:00Z", "scan": scan}
            record.update(extra or {})
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


class Federation(unittest.TestCase):
    def setUp(self):
        self.passed = False
        self.work = tempfile.mkdtemp(prefix="es-fed-work-")
        self.collectors = []
        self.agents = []
        self.p = self.collector("province")
        self.p.start()  # makes its certificate, which the campuses verify
        _, key_a = self.p.add_agent("campus-a", campus=CAMPUS_A)
        _, key_b = self.p.add_agent("campus-b", campus=CAMPUS_B)
        self.a = self.collector("campus-a", self.upstream("campus-a", key_a, CAMPUS_A))
        self.b = self.collector("campus-b", self.upstream("campus-b", key_b, CAMPUS_B))
        self.a.start()
        self.b.start()
        self.agent_a = self.a.add_agent("agent-1")[1]
        self.agent_b = self.b.add_agent("agent-1")[1]  # same name on both campuses

    def tearDown(self):
        for p in self.agents:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        if not self.passed:
            for c in self.collectors:
                print(f"--- {c.dir} ---\n{c.log()[-4000:]}", file=sys.stderr)
        for c in self.collectors:
            c.cleanup()
        subprocess.run(["rm", "-rf", self.work], check=False)

    def collector(self, name, extra=""):
        c = Collector(name, extra)
        self.collectors.append(c)
        return c

    def upstream(self, agent_id, key_file, campus):
        return f"""upstream:
  address: "127.0.0.1:{self.p.forward_port}"
  ca_file: {self.p.cert}
  server_name: localhost
  agent_id: {agent_id}
  key_file: {key_file}
  campus: "{campus}"
  connect_timeout: 2s
  ack_timeout: 5s
  heartbeat_interval: 1s
  backoff_max: 500ms
"""

    def send(self, collector, key_file, agent_id, files, spool, batch=50, wait=True):
        args = [AGENT, "send", *files, "--agent-id", agent_id, "--agent-key-file", key_file,
                "--collector", f"127.0.0.1:{collector.forward_port}",
                "--collector-ca", collector.cert, "--collector-server-name", "localhost",
                "--spool-dir", spool, "--batch-max-findings", str(batch), "--job", "nightly",
                "--scan-complete"]
        log_path = os.path.join(self.work, f"agent-{len(self.agents)}.log")
        with open(log_path, "w") as log:  # a file, not a pipe nobody reads while it runs
            p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self.agents.append(p)
        if wait:
            p.wait(timeout=WAIT)
            with open(log_path) as log:
                self.assertEqual(p.returncode, 0, log.read())
        return p

    def send_file(self, collector, key_file, scan, subjects, name, agent_id="agent-1"):
        path = os.path.join(self.work, f"{name}.jsonl")
        write_findings(path, scan, subjects)
        self.send(collector, key_file, agent_id, [path], os.path.join(self.work, name + "-spool"))

    def upstream_rows(self, where="1", *params):
        return self.p.db(f"SELECT id, agent, campus, scan, state FROM findings WHERE {where}",
                         *params)

    def count(self, c, scan):
        return c.db("SELECT count(*) FROM findings WHERE scan = ?", scan)[0][0]

    def wait_upstream(self, scan, n):
        got = wait_for(lambda: self.count(self.p, scan) >= n, WAIT, 0.2)
        self.assertTrue(got, f"provincial collector has {self.count(self.p, scan)} of {n} "
                             f"findings of {scan}")

    def check_scan_once(self, agent, scan, n):
        """Every chunk of the scan counted once upstream: a re-delivered one would count twice."""
        ((counted, complete),) = self.p.db(
            "SELECT finding_count, complete FROM scans WHERE agent = ? AND scan = ?", agent, scan)
        self.assertEqual(counted, n)
        self.assertEqual(complete, 1)
        self.assertEqual(self.count(self.p, scan), n)

    def test_federation(self):
        subjects = [f"h{i}.demo-univ.edu.cn" for i in range(50)]
        # 1. Both campuses, the same subjects: two findings each upstream, one per campus.
        self.send_file(self.a, self.agent_a, "a-scan-1", subjects, "a1")
        self.send_file(self.b, self.agent_b, "b-scan-1", subjects, "b1")
        self.wait_upstream("a-scan-1", 50)
        self.wait_upstream("b-scan-1", 50)
        self.assertTrue(wait_for(lambda: self.p.db(
            "SELECT count(*) FROM scans WHERE complete = 1")[0][0] == 2, WAIT, 0.2))
        self.check_scan_once("campus-a/agent-1", "a-scan-1", 50)
        self.check_scan_once("campus-b/agent-1", "b-scan-1", 50)
        rows = self.upstream_rows()
        self.assertEqual(len(rows), 100)
        self.assertEqual(len({r[0] for r in rows}), 100)  # ids do not collide across campuses
        by_campus = {}
        for _, agent, campus, _, _ in rows:
            by_campus.setdefault(campus, set()).add(agent)
        self.assertEqual(by_campus, {CAMPUS_A: {"campus-a/agent-1"},
                                     CAMPUS_B: {"campus-b/agent-1"}})
        # The API filters by campus and shows it.
        status, body = self.p.api("/api/v1/findings?limit=500&campus=" +
                                  urllib.parse.quote(CAMPUS_A), token="viewer")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["total"], 50)
        self.assertEqual(len(body["items"]), 50)
        self.assertTrue(all(f["campus"] == CAMPUS_A and f["agent"] == "campus-a/agent-1"
                            for f in body["items"]))
        status, body = self.p.api("/api/v1/agents", token="viewer")
        self.assertEqual(status, 200, body)
        agents = {a["id"]: a for a in body["items"]}
        self.assertEqual(agents["campus-a"].get("campus"), CAMPUS_A)
        # The campus's own database has no campus tag: they are its own agents' findings.
        self.assertEqual(self.a.db("SELECT DISTINCT campus, agent FROM findings"),
                         [("", "agent-1")])

        # 2. The provincial collector is down: campus A spools, then delivers on its return.
        self.p.stop()
        later = subjects[:30] + [f"n{i}.demo-univ.edu.cn" for i in range(10)]
        self.send_file(self.a, self.agent_a, "a-scan-2", later, "a2")
        self.assertEqual(self.count(self.a, "a-scan-2"), 40)  # stored locally all the same
        spooled = wait_for(lambda: (self.a.metric("edusight_upstream_spool_chunks") or 0) > 0,
                           WAIT, 0.2)
        self.assertTrue(spooled, "nothing waits in campus A's upstream spool")
        self.assertTrue(wait_for(lambda: self.a.metric("edusight_upstream_connected") == 0,
                                 WAIT, 0.2))
        self.p.start()
        self.wait_upstream("a-scan-2", 40)
        self.assertTrue(wait_for(
            lambda: self.a.metric("edusight_upstream_spool_chunks") == 0, WAIT, 0.2))
        self.check_scan_once("campus-a/agent-1", "a-scan-2", 40)
        self.assertGreater(self.a.metric("edusight_upstream_chunks_acked_total"), 0)
        # The lifecycle ran upstream per (campus agent, job): campus A's subjects that the
        # second scan did not report are resolved there, campus B's copies stay open.
        self.assertTrue(wait_for(lambda: self.p.db(
            "SELECT count(*) FROM findings WHERE campus = ? AND state = 'resolved'",
            CAMPUS_A)[0][0] == 20, WAIT, 0.2))
        self.assertEqual(self.p.db(
            "SELECT count(*) FROM findings WHERE campus = ? AND state = 'open'", CAMPUS_B)[0][0],
            50)

        # 3. Campus A killed with SIGKILL while forwarding a big scan, then restarted.
        many = [f"m{i}.demo-univ.edu.cn" for i in range(6000)]
        path = os.path.join(self.work, "a3.jsonl")
        write_findings(path, "a-scan-3", many)
        spool = os.path.join(self.work, "a3-spool")
        agent = self.send(self.a, self.agent_a, "agent-1", [path], spool, batch=20, wait=False)
        self.assertTrue(wait_for(lambda: self.count(self.p, "a-scan-3") >= 600, WAIT, 0.02),
                        "nothing was forwarded")
        self.a.kill9()
        self.assertLess(self.count(self.p, "a-scan-3"), 6000,
                        "everything was forwarded before the kill; make the scan bigger")
        self.a.start()
        # The agent re-sends what was not acknowledged (some of it was stored before the kill,
        # some even forwarded); if it gave up meanwhile, a second send finishes the spool.
        agent.wait(timeout=WAIT)
        self.send(self.a, self.agent_a, "agent-1", [], spool)
        self.assertEqual(self.count(self.a, "a-scan-3"), 6000)
        self.wait_upstream("a-scan-3", 6000)
        self.assertTrue(wait_for(lambda: self.p.db(
            "SELECT complete FROM scans WHERE scan = 'a-scan-3'") == [(1,)], WAIT, 0.2))
        self.check_scan_once("campus-a/agent-1", "a-scan-3", 6000)

        # 4. A plain agent naming a campus and another agent is not believed.
        _, plain_key = self.p.add_agent("plain-agent")
        path = os.path.join(self.work, "plain.jsonl")
        write_findings(path, "plain-scan", ["x.demo-univ.edu.cn"],
                       {"campus": CAMPUS_A, "agent": "campus-a/agent-1"})
        self.send(self.p, plain_key, "plain-agent", [path], os.path.join(self.work, "p-spool"))
        self.assertEqual(self.p.db("SELECT agent, campus FROM findings WHERE scan = 'plain-scan'"),
                         [("plain-agent", "")])
        status, body = self.p.api("/api/v1/findings?limit=1000&campus=" +
                                  urllib.parse.quote(CAMPUS_A), token="viewer")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["total"], 50 + 10 + 6000)
        self.passed = True


if __name__ == "__main__":
    unittest.main(verbosity=2)
