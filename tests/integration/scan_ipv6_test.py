#!/usr/bin/env python3
"""Runs the real edusight-agent scan inside the namespace campus and checks exactly which
findings come out (and which do not). The campus is brought up by the ctest fixture."""
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CAMPUS = os.path.join(ROOT, "tests", "testbed", "campus.sh")
CONFIG = os.path.join(ROOT, "tests", "testbed", "demo-campus.yaml")
AGENT = os.environ.get("EDUSIGHT_AGENT", "edusight-agent")
ENV = dict(os.environ, EDUSIGHT_TESTBED_NAME=os.environ.get("EDUSIGHT_TESTBED_NAME", "esdtest"))


def campus_env():
    """Facts the bed wrote (e.g. whether netem delay works here)."""
    out = subprocess.run([CAMPUS, "status"], env=ENV, capture_output=True, text=True, timeout=30)
    facts = {}
    for line in out.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            facts[k.strip()] = v.strip()
    return facts


def scan(*extra):
    # The IPv6 checks of the targets alone; discovery has its own test.
    cmd = [CAMPUS, "exec-agent", AGENT, "scan", "--config", CONFIG, "--agent-id", "itest",
           "--format", "jsonl", "--no-progress", "--no-discovery", *extra]
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    return p


class Ipv6ScanOfCampus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        p = scan()
        if p.returncode != 0:
            raise AssertionError(f"scan exited {p.returncode}\nstderr:\n{p.stderr}")
        cls.stderr = p.stderr
        cls.findings = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        cls.by = {}
        for f in cls.findings:
            cls.by.setdefault((f["kind"], f["subject"]), []).append(f)
        cls.facts = campus_env()

    def problems(self):
        return {(f["kind"], f["subject"]) for f in self.findings
                if f["kind"] not in ("ipv6.readiness", "agent.selfcheck")}

    def test_every_expected_finding_and_no_other(self):
        expected = {
            ("ipv6.dns.no_aaaa", "oa.demo-univ.edu.cn"),
            ("ipv6.dns.no_aaaa", "mapped.demo-univ.edu.cn"),
            ("ipv6.dns.no_aaaa", "old.demo-univ.edu.cn"),
            ("ipv6.web.unreachable", "jwc.demo-univ.edu.cn"),
            ("ipv6.web.content_mismatch", "news.demo-univ.edu.cn"),
            ("ipv6.links.low_support", "www.demo-univ.edu.cn"),
            ("ipv6.dns.ns_no_ipv6", "demo-univ.cn"),
            ("ipv6.mail.mx_no_aaaa", "demo-univ.edu.cn"),
        }
        if self.facts.get("SLOW_V6") == "1":
            expected.add(("ipv6.web.slow", "slow.demo-univ.edu.cn"))
        got = self.problems()
        if self.facts.get("SLOW_V6") != "1":
            got.discard(("ipv6.web.slow", "slow.demo-univ.edu.cn"))
        self.assertEqual(sorted(got), sorted(expected), self.stderr[-3000:])

    def test_record_fields_follow_the_catalog(self):
        for f in self.findings:
            for k in ("id", "kind", "severity", "subject", "title", "evidence", "observed_at", "agent", "scan"):
                self.assertIn(k, f)
            self.assertIn(f["severity"], ("info", "low", "medium", "high", "critical"))
            self.assertEqual(f["agent"], "itest")
            self.assertRegex(f["observed_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(f["subject"], f["subject"].lower())

    def test_selfcheck_trusts_the_vantage(self):
        sc = [f for f in self.findings if f["kind"] == "agent.selfcheck"]
        self.assertEqual(len(sc), 1)
        self.assertEqual(sc[0]["severity"], "info")
        self.assertTrue(sc[0]["evidence"]["ipv6_trustworthy"])

    def test_readiness_for_every_web_host(self):
        hosts = {s for (k, s) in self.by if k == "ipv6.readiness"}
        for h in ("www", "oa", "jwc", "news", "mapped", "lib", "old"):
            self.assertIn(f"{h}.demo-univ.edu.cn", hosts)
        www = self.by[("ipv6.readiness", "www.demo-univ.edu.cn")][0]["evidence"]
        lib = self.by[("ipv6.readiness", "lib.demo-univ.edu.cn")][0]["evidence"]
        self.assertTrue(lib["same_content"], lib)  # a per-request nonce must not break it
        self.assertEqual(lib["score"], 100)
        self.assertLess(www["score"], 100)
        oa = self.by[("ipv6.readiness", "oa.demo-univ.edu.cn")][0]["evidence"]
        self.assertEqual(oa["score"], 0)

    def test_evidence_explains(self):
        jwc = self.by[("ipv6.web.unreachable", "jwc.demo-univ.edu.cn")][0]["evidence"]
        self.assertEqual({x["address"] for x in jwc["failures"]}, {"2001:db8:10::12"})
        mapped = self.by[("ipv6.dns.no_aaaa", "mapped.demo-univ.edu.cn")][0]["evidence"]
        self.assertEqual(mapped["ipv4_mapped_aaaa"], ["::ffff:192.0.2.14"])
        mx = self.by[("ipv6.mail.mx_no_aaaa", "demo-univ.edu.cn")][0]["evidence"]
        self.assertEqual([m["host"] for m in mx["mx_without_aaaa"]], ["mx2.demo-univ.edu.cn"])
        ns = self.by[("ipv6.dns.ns_no_ipv6", "demo-univ.cn")][0]["evidence"]
        self.assertEqual(ns["answering_over_ipv6"], 1)
        links = self.by[("ipv6.links.low_support", "www.demo-univ.edu.cn")][0]["evidence"]
        self.assertEqual({x["url"].split("/")[2] for x in links["failing"]},
                         {"oa.demo-univ.edu.cn", "old.demo-univ.edu.cn"}, links)
        self.assertEqual((links["level2"]["total"], links["level2"]["ipv6"]), (5, 4))
        self.assertEqual((links["level3"]["total"], links["level3"]["ipv6"]), (14, 11))
        self.assertLess(links["share"], 0.95)

    def test_ids_are_stable_across_scans(self):
        again = scan()
        ids2 = {json.loads(l)["id"] for l in again.stdout.splitlines() if l.strip()}
        ids1 = {f["id"] for f in self.findings}
        self.assertEqual(ids1, ids2)


class ScanUsage(unittest.TestCase):
    def test_out_of_scope_target_is_refused(self):
        p = scan("--target", "www.elsewhere.example")
        self.assertEqual(p.returncode, 0)
        self.assertIn("outside the configured scope", p.stderr)
        subjects = {json.loads(l)["subject"] for l in p.stdout.splitlines() if l.strip()}
        self.assertNotIn("www.elsewhere.example", subjects)

    def test_bad_config_exits_2_with_location(self):
        bad = os.path.join(os.environ.get("TMPDIR", "/tmp"), "edusight-bad.yaml")
        with open(bad, "w") as fh:
            fh.write("institution:\n  own_prefixes: [192.0.2.1/24]\n")
        p = subprocess.run([AGENT, "scan", "--config", bad], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{bad}:2:", p.stderr)
        self.assertIn("host bits", p.stderr)

    def test_bad_flag_exits_2(self):
        p = subprocess.run([AGENT, "scan", "--ports", "80,notaport", "--own-domain", "demo-univ.edu.cn",
                            "--resolver", "192.0.2.53", "--target", "www.demo-univ.edu.cn"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--ports", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
