#!/usr/bin/env python3
"""The full scan (discovery, 双非 classification, registry diff, DNS hygiene, exposure, TLS)
of the namespace campus: every expected finding, no false one, and no packet outside the
scope. The campus is brought up by the ctest fixture."""
import json
import os
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CAMPUS = os.path.join(ROOT, "tests", "testbed", "campus.sh")
CONFIG = os.path.join(ROOT, "tests", "testbed", "demo-campus.yaml")
AGENT = os.environ.get("EDUSIGHT_AGENT", "edusight-agent")
ENV = dict(os.environ, EDUSIGHT_TESTBED_NAME=os.environ.get("EDUSIGHT_TESTBED_NAME", "esdtest"))
AGENT_NS = ENV["EDUSIGHT_TESTBED_NAME"] + "-agent"

OWN_V4 = "192.0.2."
OFF_CAMPUS = ("198.51.100.", "203.0.113.", "2001:db8:cafe:")


def scan(*extra):
    cmd = [CAMPUS, "exec-agent", AGENT, "scan", "--config", CONFIG, "--agent-id", "itest",
           "--format", "jsonl", "--no-progress", *extra]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)


class Capture:
    """tcpdump on the agent's link, for the length of a with-block."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="edusight-cap-")
        self.pcap = os.path.join(self.dir, "agent.pcap")
        self.proc = subprocess.Popen(["ip", "netns", "exec", AGENT_NS, "tcpdump", "-i", "any", "-n", "-U",
                                      "-w", self.pcap, "ip or ip6"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # tcpdump says "listening on" once the capture runs.
        deadline = time.time() + 10
        while time.time() < deadline:
            line = self.proc.stderr.readline().decode(errors="replace")
            if "listening on" in line or not line:
                break
        return self

    def __exit__(self, *exc):
        time.sleep(0.5)
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def packets(self):
        out = subprocess.run(["tcpdump", "-nr", self.pcap, "-tt"], capture_output=True, text=True, timeout=60)
        return out.stdout.splitlines()


def destination(line):
    # "1700000000.1 IP 192.0.2.241.40000 > 203.0.113.40.80: Flags [S], ..."
    parts = line.split(" > ")
    if len(parts) < 2:
        return None, None
    dst = parts[1].split(":")[0] if " IP6 " not in line else parts[1].split(": ")[0]
    addr, _, port = dst.rpartition(".")
    return addr, port


class FullScanOfCampus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with Capture() as cap:
            p = scan()
        if p.returncode != 0:
            raise AssertionError(f"scan exited {p.returncode}\nstderr:\n{p.stderr}")
        cls.stderr = p.stderr
        cls.findings = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        cls.keys = {(f["kind"], f["subject"]) for f in cls.findings}
        cls.packets = cap.packets()

    def of_kind(self, prefix):
        return {(k, s) for (k, s) in self.keys if k.startswith(prefix)}

    def evidence(self, kind, subject):
        for f in self.findings:
            if f["kind"] == kind and f["subject"] == subject:
                return f["evidence"]
        self.fail(f"no {kind} for {subject}")

    def test_asset_findings_exactly(self):
        expected = {
            ("asset.non_own_ip", "cloud.demo-univ.edu.cn"),
            ("asset.non_own_domain", "portal.partner-corp.com"),
            ("asset.dual_non_own", "www.shifan-alumni.org"),
            ("asset.unregistered", "lab.demo-univ.edu.cn"),
            ("asset.unregistered", "cache.demo-univ.edu.cn"),
            ("asset.unregistered", "intra.demo-univ.cn"),
            ("asset.unregistered", "portal.partner-corp.com"),
            ("asset.zombie", "survey.demo-univ.edu.cn"),
            ("asset.zombie", "library-old.demo-univ.edu.cn"),
        }
        got = self.of_kind("asset.") - {k for k in self.keys if k[0] == "asset.discovered"}
        self.assertEqual(sorted(got), sorted(expected), self.stderr[-3000:])

    def test_dns_exposure_tls_findings_exactly(self):
        expected = {
            ("dns.axfr_allowed", "demo-univ.cn"),
            ("dns.dangling_cname", "events.demo-univ.edu.cn"),
            ("dns.open_resolver", "192.0.2.54"),
            ("exposure.ipv6_only_open_port", "git.demo-univ.edu.cn:8443"),
            ("exposure.risky_service", "cache.demo-univ.edu.cn:6379"),
            ("tls.cert_expired", "expired.demo-univ.edu.cn:443"),
            ("tls.cert_expiring", "soon.demo-univ.edu.cn:443"),
            ("tls.hostname_mismatch", "mismatch.demo-univ.edu.cn:443"),
            ("tls.weak_protocol", "legacy.demo-univ.edu.cn:443"),
        }
        got = self.of_kind("dns.") | self.of_kind("exposure.") | self.of_kind("tls.")
        self.assertEqual(sorted(got), sorted(expected))

    def test_no_false_dual_non_own(self):
        self.assertNotIn(("asset.dual_non_own", "www.example-news.com"), self.keys)
        self.assertIn(("asset.discovered", "www.example-news.com"), self.keys)
        ev = self.evidence("asset.dual_non_own", "www.shifan-alumni.org")
        self.assertTrue(ev["ties"]["unit_name_in_title"])
        self.assertTrue(ev["ties"]["linked_from_own_site"])
        self.assertNotIn(("asset.dual_non_own", "cloud.demo-univ.edu.cn"), self.keys)

    def test_sources_are_recorded(self):
        self.assertIn("zone_transfer", self.evidence("asset.discovered", "intra.demo-univ.cn")["sources"])
        self.assertIn("ptr", self.evidence("asset.discovered", "portal.partner-corp.com")["sources"])
        self.assertIn("link", self.evidence("asset.discovered", "www.shifan-alumni.org")["sources"])
        self.assertIn("wordlist", self.evidence("asset.discovered", "lab.demo-univ.edu.cn")["sources"])
        cloud = self.evidence("asset.non_own_ip", "cloud.demo-univ.edu.cn")
        self.assertEqual(cloud["cname_chain"], ["demo-univ.cdn.example-cloud.net"])
        self.assertEqual(cloud["hosted_by"], "example-cloud.net")

    def test_wildcard_does_not_flood(self):
        wild = [s for (k, s) in self.keys if k == "asset.discovered" and s.endswith(".demo-univ.cn")]
        self.assertLessEqual(set(wild), {"www.demo-univ.cn", "intra.demo-univ.cn"}, wild)

    def test_evidence_of_posture(self):
        git = self.evidence("exposure.ipv6_only_open_port", "git.demo-univ.edu.cn:8443")
        self.assertEqual(git["open_over_ipv6"], ["2001:db8:10::36"])
        cache = self.evidence("exposure.risky_service", "cache.demo-univ.edu.cn:6379")
        self.assertEqual(cache["service"], "redis")
        legacy = self.evidence("tls.weak_protocol", "legacy.demo-univ.edu.cn:443")
        self.assertIn("TLSv1", legacy["accepted"])
        zombie = self.evidence("asset.zombie", "survey.demo-univ.edu.cn")
        self.assertTrue(any("default server page" in r for r in zombie["reasons"]), zombie)

    def test_active_scanning_stays_in_scope(self):
        # Off-campus systems get what a browser would send them: web ports only, no sweep.
        bad = []
        for line in self.packets:
            addr, port = destination(line)
            if not addr or not addr.startswith(OFF_CAMPUS):
                continue
            if port not in ("80", "443", "http", "https"):
                bad.append(line)
        self.assertEqual(bad, [], "\n".join(bad[:20]))
        self.assertGreater(len(self.packets), 100)


class OutOfScope(unittest.TestCase):
    def test_out_of_scope_targets_get_no_packet(self):
        with Capture() as cap:
            p = scan("--no-discovery", "--target", "203.0.113.0/24", "--target", "www.example-news.com",
                     "--target", "198.51.100.20")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("outside", p.stderr)
        to_them = [l for l in cap.packets() if (destination(l)[0] or "").startswith(OFF_CAMPUS)]
        self.assertEqual(to_them, [], "\n".join(to_them[:20]))
        subjects = {json.loads(l)["subject"] for l in p.stdout.splitlines() if l.strip()}
        self.assertNotIn("www.example-news.com", subjects)


if __name__ == "__main__":
    unittest.main(verbosity=2)
