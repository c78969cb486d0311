#!/usr/bin/env python3
"""`edusight-agent passive --read` on the captures written by make_captures.py (the ctest
fixture passive.captures.make): asserts exactly which findings come out, per interval, with
the evidence that matters, and the stats line.

Environment: EDUSIGHT_AGENT (the binary), PASSIVE_CAPTURES (the directory of captures).
"""
import json
import os
import re
import subprocess
import unittest

AGENT = os.environ.get("EDUSIGHT_AGENT", "build/agent/edusight-agent")
CAPTURES = os.environ.get("PASSIVE_CAPTURES", "build/tests/probes/passive/captures")
I1 = "2026-01-01T00:00:00Z"
I2 = "2026-01-01T00:01:00Z"
CAMPUS_FLAGS = ["--own-domain", "demo-univ.edu.cn", "--own-prefix", "192.0.2.0/24",
                "--own-prefix", "2001:db8:a::/48", "--allowed-router", "fe80::1",
                "--allowed-dhcpv6-server", "fe80::53", "--interval", "1m"]


def passive(*args, check=True):
    p = subprocess.run([AGENT, "passive", "--format", "jsonl", "--agent-id", "test", *args],
                       capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}: {p.stderr}")
    findings = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return p, findings


def stats(stderr):
    m = re.search(r"edusight-agent passive: (.*)$", stderr, re.M)
    assert m, stderr
    line = m.group(1)
    out = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    reasons = re.search(r"reasons=\{([^}]*)\}", line).group(1)
    out["reasons"] = dict((k, int(v)) for k, v in
                          (r.split(":") for r in reasons.split(",") if r))
    return out


def keyed(findings):
    return sorted((f["evidence"].get("interval_start"), f["kind"], f["subject"]) for f in findings)


class CampusCapture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.findings = passive("--read", os.path.join(CAPTURES, "campus.pcap"),
                                         *CAMPUS_FLAGS)
        cls.by = {(f["evidence"]["interval_start"], f["kind"], f["subject"]): f
                  for f in cls.findings}

    def test_exactly_the_expected_findings(self):
        names1 = ["cloud.demo-univ.edu.cn", "lib.demo-univ.edu.cn", "mail.demo-univ.edu.cn",
                  "ns.demo-univ.edu.cn", "opt.demo-univ.edu.cn", "portal.partner-example.com",
                  "qinq.demo-univ.edu.cn", "sso.demo-univ.edu.cn", "vpn.demo-univ.edu.cn",
                  "www.demo-univ.edu.cn"]
        expected = [(I1, "asset.discovered", n) for n in names1] + [
            (I1, "net.rogue_ra", "fe80::bad"),
            (I1, "net.rogue_dhcpv6", "fe80::dead"),
            (I1, "net.tunnel", "192.0.2.100<->198.51.100.1"),
            (I1, "net.tunnel", "192.0.2.101<->198.51.100.99"),
            (I1, "net.tunnel", "192.0.2.102<->198.51.100.35"),
            (I1, "net.tunnel", "192.0.2.103<->203.0.113.9"),
            (I1, "net.ipv6_share", "campus.pcap"),
            (I2, "asset.discovered", "www.demo-univ.edu.cn"),
            (I2, "net.rogue_ra", "fe80::bad"),
            (I2, "net.ipv6_share", "campus.pcap"),
        ]
        self.assertEqual(keyed(self.findings), sorted(expected))

    def test_asset_evidence_matches_discovery_fields(self):
        www = self.by[(I1, "asset.discovered", "www.demo-univ.edu.cn")]
        ev = www["evidence"]
        self.assertEqual(www["severity"], "info")
        self.assertEqual(ev["sources"], ["passive"])
        self.assertEqual(ev["ipv4"], ["192.0.2.10"])
        self.assertEqual(ev["ipv6"], ["2001:db8:a::10"])
        self.assertEqual((ev["own_domain"], ev["own_address"]), (True, True))
        self.assertEqual(ev["own_zone"], "demo-univ.edu.cn")
        self.assertEqual(ev["own_prefix"], "192.0.2.0/24")
        self.assertEqual(ev["seen_in"], ["dns"])
        self.assertEqual(ev["packets"], 5)  # five answers, one finding
        self.assertEqual(www["observed_at"], "2026-01-01T00:00:05Z")
        cloud = self.by[(I1, "asset.discovered", "cloud.demo-univ.edu.cn")]["evidence"]
        self.assertEqual((cloud["own_domain"], cloud["own_address"]), (True, False))
        self.assertEqual(cloud["cname_chain"], ["demo.cdn.example.net"])
        self.assertEqual(cloud["ipv4"], ["203.0.113.80"])
        portal = self.by[(I1, "asset.discovered", "portal.partner-example.com")]["evidence"]
        self.assertEqual((portal["own_domain"], portal["own_address"]), (False, True))
        self.assertEqual(portal["registrable_domain"], "partner-example.com")
        mail = self.by[(I1, "asset.discovered", "mail.demo-univ.edu.cn")]["evidence"]
        self.assertEqual((mail["seen_in"], mail["ipv4"]), (["tls_sni"], ["192.0.2.25"]))
        lib = self.by[(I1, "asset.discovered", "lib.demo-univ.edu.cn")]["evidence"]
        self.assertEqual((lib["seen_in"], lib["ipv6"]), (["http_host"], ["2001:db8:a::80"]))
        sso = self.by[(I1, "asset.discovered", "sso.demo-univ.edu.cn")]["evidence"]
        self.assertEqual((sso["own_domain"], sso["own_address"]), (True, False))

    def test_rogue_router_and_server(self):
        ra = self.by[(I1, "net.rogue_ra", "fe80::bad")]
        self.assertEqual(ra["severity"], "high")
        self.assertEqual(ra["evidence"]["packets"], 2)
        self.assertEqual(ra["evidence"]["prefixes"], ["2001:db8:bad::/64"])
        self.assertEqual(ra["evidence"]["mac"], "02:00:00:00:0b:ad")
        dhcp = self.by[(I1, "net.rogue_dhcpv6", "fe80::dead")]["evidence"]
        self.assertEqual((dhcp["reply"], dhcp["advertise"]), (1, 0))
        self.assertEqual(dhcp["server_duid"], "0003000102000000dead")
        # Same fact, two intervals: the same id.
        self.assertEqual(ra["id"], self.by[(I2, "net.rogue_ra", "fe80::bad")]["id"])

    def test_tunnels(self):
        kinds = {f["subject"]: (f["evidence"]["tunnel"], f["evidence"]["packets"])
                 for f in self.findings if f["kind"] == "net.tunnel"}
        self.assertEqual(kinds, {
            "192.0.2.100<->198.51.100.1": ("6in4", 2),  # both directions, one finding
            "192.0.2.101<->198.51.100.99": ("6to4", 1),
            "192.0.2.102<->198.51.100.35": ("teredo", 1),
            "192.0.2.103<->203.0.113.9": ("gre", 1),
        })
        t = self.by[(I1, "net.tunnel", "192.0.2.100<->198.51.100.1")]["evidence"]
        self.assertEqual(t["inner_ipv6"], ["2001:db8:ff00::100", "2001:db8:ff01::1"])

    def test_ipv6_share_per_interval(self):
        s1 = self.by[(I1, "net.ipv6_share", "campus.pcap")]["evidence"]
        self.assertEqual((s1["packets"], s1["ip_packets"], s1["ipv4_packets"], s1["ipv6_packets"]),
                         (35, 34, 21, 13))
        self.assertEqual(s1["tunneled_ipv6_packets"], 5)
        self.assertEqual(s1["active_ipv6_addresses"], 8)
        self.assertEqual(s1["ipv6_packet_share"], round(13 / 34, 4))
        s2 = self.by[(I2, "net.ipv6_share", "campus.pcap")]["evidence"]
        self.assertEqual((s2["packets"], s2["ipv4_packets"], s2["ipv6_packets"]), (3, 1, 2))

    def test_stats_line(self):
        s = stats(self.proc.stderr)
        self.assertEqual(s["packets"], 38)
        self.assertEqual(s["malformed"], 0)
        self.assertEqual(s["not_ip"], 1)
        self.assertEqual(s["fragments"], 2)
        self.assertEqual(s["intervals"], 2)
        self.assertEqual(s["findings"], len(self.findings))
        if os.geteuid() == 0:
            self.assertIn("dropped to user nobody", self.proc.stderr)

    def test_pcapng_gives_the_same_findings(self):
        _, ng = passive("--read", os.path.join(CAPTURES, "campus.pcapng"), *CAMPUS_FLAGS)
        norm = lambda fs: [(i, k, "campus" if k == "net.ipv6_share" else s)  # noqa: E731
                           for i, k, s in keyed(fs)]
        self.assertEqual(norm(ng), norm(self.findings))

    def test_bpf_filter(self):
        _, f = passive("--read", os.path.join(CAPTURES, "campus.pcap"), "--filter",
                       "udp src port 53", *CAMPUS_FLAGS)
        kinds = sorted({x["kind"] for x in f})
        self.assertEqual(kinds, ["asset.discovered", "net.ipv6_share"])
        self.assertNotIn("mail.demo-univ.edu.cn", {x["subject"] for x in f})


class OtherCaptures(unittest.TestCase):
    def test_link_types(self):
        for name, host in (("sll.pcap", "sll.demo-univ.edu.cn"),
                           ("sll2.pcap", "sll2.demo-univ.edu.cn"),
                           ("raw.pcap", "raw.demo-univ.edu.cn")):
            _, f = passive("--read", os.path.join(CAPTURES, name), *CAMPUS_FLAGS)
            self.assertEqual(sorted((x["kind"], x["subject"]) for x in f),
                             [("asset.discovered", host), ("net.ipv6_share", name)], name)

    def test_malformed_frames_are_counted_by_reason(self):
        p, f = passive("--read", os.path.join(CAPTURES, "malformed.pcap"), *CAMPUS_FLAGS)
        s = stats(p.stderr)
        reasons = ["link_truncated", "vlan_too_deep", "ipv4_truncated", "ipv4_bad_header",
                   "ipv6_truncated", "ipv6_bad_header", "ipv6_bad_extension", "udp_truncated",
                   "tcp_truncated", "icmpv6_malformed", "dns_malformed", "dns_bad_pointer",
                   "tls_malformed", "dhcpv6_malformed", "gre_malformed", "tunnel_too_deep"]
        self.assertEqual(s["packets"], 16)
        self.assertEqual(s["malformed"], 16)
        self.assertEqual(s["reasons"], {r: 1 for r in reasons})
        # The tunnel's outer header is sound, so it is still reported; nothing else is.
        self.assertEqual(sorted((x["kind"], x["subject"]) for x in f),
                         [("net.ipv6_share", "malformed.pcap"),
                          ("net.tunnel", "192.0.2.100<->198.51.100.1")])

    def test_flood_of_names_is_bounded(self):
        p, f = passive("--read", os.path.join(CAPTURES, "flood.pcap"), "--max-names", "1000",
                       *CAMPUS_FLAGS)
        s = stats(p.stderr)
        self.assertEqual(sum(1 for x in f if x["kind"] == "asset.discovered"), 1000)
        self.assertEqual(s["names"], 4000)
        self.assertEqual(s["evicted"], 4000)

    def test_usage_errors_exit_2(self):
        cases = [
            [],  # neither --interface nor --read
            ["--read", os.path.join(CAPTURES, "campus.pcap"), "--interface", "lo"],
            ["--read", os.path.join(CAPTURES, "campus.pcap"), "--own-prefix", "192.0.2.1/24"],
            ["--read", os.path.join(CAPTURES, "campus.pcap"), "--allowed-router", "router1"],
            ["--read", os.path.join(CAPTURES, "campus.pcap"), "--interval", "5x"],
            ["--read", os.path.join(CAPTURES, "campus.pcap"), "--filter", "no such filter"],
            ["--read", os.path.join(CAPTURES, "does-not-exist.pcap")],
            ["--read", os.path.join(CAPTURES, "campus.pcap"), "--user", "no-such-user-x"],
        ]
        for args in cases:
            p, _ = passive(*args, check=False)
            self.assertEqual(p.returncode, 2, f"{args}: {p.stderr}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
