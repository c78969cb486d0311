#!/usr/bin/env python3
"""`edusight-agent passive --interface` on a live link: two network namespaces of its own joined
by a veth pair; the agent captures in one while scapy (Debian's python3-scapy, run with
/usr/bin/python3) sends from the other an RA from an unlisted router, a DHCPv6 Reply, DNS
answers, a 6in4 packet, a TLS ClientHello and an HTTP request. Asserts exactly what is found,
that the agent dropped to nobody with no capabilities, and that SIGTERM stops it gracefully
with the last interval reported. Documentation prefixes and link-local addresses only; the
namespaces are always removed. Needs root (exit 77, skipped, otherwise)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

AGENT = os.environ.get("EDUSIGHT_AGENT", "build/agent/edusight-agent")
SCAPY_PYTHON = os.environ.get("EDUSIGHT_SCAPY_PYTHON", "/usr/bin/python3")
TAG = f"{os.getpid() % 100000}"
NS_CAP = f"es-pcap-{TAG}"
NS_SEND = f"es-psend-{TAG}"
CAP_IF, SEND_IF = "pcap0", "send0"
SENDER_MAC = "02:00:00:00:77:02"
ROGUE_MAC = "02:00:00:00:0b:ad"
DHCP_MAC = "02:00:00:00:de:ad"
# Only the injected frames: not the kernels' own neighbour discovery and MLD.
FILTER = f"ether src {SENDER_MAC} or ether src {ROGUE_MAC} or ether src {DHCP_MAC}"
FLAGS = ["--own-domain", "demo-univ.edu.cn", "--own-prefix", "192.0.2.0/24",
         "--own-prefix", "2001:db8:77::/48", "--allowed-router", "fe80::1",
         "--allowed-dhcpv6-server", "fe80::53", "--interval", "1h", "--filter", FILTER,
         "--format", "jsonl", "--agent-id", "live-test"]

SENDER = r'''
import sys
from scapy.all import (DNS, DNSQR, DNSRR, IP, IPv6, TCP, UDP, Ether, ICMPv6EchoRequest, Raw,
                       sendp)
from scapy.layers.dhcp6 import DHCP6_Reply, DHCP6OptServerId, DUID_LL
from scapy.layers.inet6 import ICMPv6ND_RA, ICMPv6NDOptPrefixInfo
from scapy.layers.tls.all import TLS, TLSClientHello
from scapy.layers.tls.extensions import ServerName, TLS_Ext_ServerName
iface, sender, rogue, dhcp, which = sys.argv[1:6]
dst = "02:00:00:00:77:01"

def ra(src, mac):
    return (Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=src, dst="ff02::1", hlim=255) /
            ICMPv6ND_RA(routerlifetime=1800) /
            ICMPv6NDOptPrefixInfo(prefix="2001:db8:bad::", prefixlen=64))

def dns(name, records):
    an = None
    for t, rdata in records:
        rr = DNSRR(rrname=name, type=t, rdata=rdata)
        an = rr if an is None else an / rr
    return (Ether(src=sender, dst=dst) / IP(src="192.0.2.53", dst="192.0.2.1") /
            UDP(sport=53, dport=40000) / DNS(id=1, qr=1, qd=DNSQR(qname=name), an=an))

frames = [ra("fe80::bad", rogue), ra("fe80::bad", rogue)]
if which == "all":
    hello = TLS(msg=[TLSClientHello(gmt_unix_time=0, random_bytes=b"\x11" * 28,
        ext=[TLS_Ext_ServerName(servernames=[ServerName(servername=b"mail.demo-univ.edu.cn")])])])
    frames += [
        ra("fe80::1", sender),
        Ether(src=dhcp, dst=dst) / IPv6(src="fe80::dead", dst="fe80::100") /
        UDP(sport=547, dport=546) / DHCP6_Reply(trid=1) /
        DHCP6OptServerId(duid=DUID_LL(lladdr=dhcp)),
        dns("www.demo-univ.edu.cn", [("A", "192.0.2.10"), ("AAAA", "2001:db8:77::10")]),
        dns("www.example.org", [("A", "203.0.113.5")]),
        Ether(src=sender, dst=dst) / IP(src="192.0.2.2", dst="198.51.100.1", proto=41) /
        IPv6(src="2001:db8:ff00::2", dst="2001:db8:ff01::1") / ICMPv6EchoRequest(),
        Ether(src=sender, dst=dst) / IP(src="192.0.2.2", dst="192.0.2.25") /
        TCP(sport=40001, dport=443, flags="PA") / hello,
        Ether(src=sender, dst=dst) / IPv6(src="2001:db8:77::2", dst="2001:db8:77::80") /
        TCP(sport=40002, dport=80, flags="PA") /
        Raw(b"GET / HTTP/1.1\r\nHost: lib.demo-univ.edu.cn\r\n\r\n"),
    ]
sendp(frames, iface=iface, verbose=False, inter=0.05)
print(len(frames))
'''


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns, *cmd]


def stats(stderr):
    m = re.search(r"edusight-agent passive: (.*)$", stderr, re.M)
    if not m:
        raise AssertionError(f"no stats line in: {stderr}")
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


class PassiveLive(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="es-passive-live-")
        os.chmod(cls.dir, 0o755)
        try:
            for ns in (NS_CAP, NS_SEND):
                sh("ip", "netns", "add", ns)
                sh(*in_ns(ns, "ip", "link", "set", "lo", "up"))
            sh("ip", "link", "add", CAP_IF, "netns", NS_CAP, "type", "veth",
               "peer", "name", SEND_IF, "netns", NS_SEND)
            for ns, ifname, mac, v4, v6 in (
                    (NS_CAP, CAP_IF, "02:00:00:00:77:01", "192.0.2.1/24", "2001:db8:77::1/64"),
                    (NS_SEND, SEND_IF, "02:00:00:00:77:fe", "192.0.2.2/24", "2001:db8:77::2/64")):
                # No router advertisement may configure anything here.
                sh(*in_ns(ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_ra=0"))
                sh(*in_ns(ns, "sysctl", "-q", "-w", "net.ipv6.conf.default.accept_ra=0"))
                sh(*in_ns(ns, "ip", "link", "set", ifname, "address", mac))
                sh(*in_ns(ns, "ip", "addr", "add", v4, "dev", ifname))
                sh(*in_ns(ns, "ip", "-6", "addr", "add", v6, "dev", ifname, "nodad"))
                sh(*in_ns(ns, "ip", "link", "set", ifname, "up"))
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for ns in (NS_CAP, NS_SEND):
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def start_agent(self, name, *extra):
        out = open(os.path.join(self.dir, f"{name}.jsonl"), "w")
        err_path = os.path.join(self.dir, f"{name}.err")
        err = open(err_path, "w")
        proc = subprocess.Popen(in_ns(NS_CAP, AGENT, "passive", "--interface", CAP_IF,
                                      *FLAGS, *extra), stdout=out, stderr=err)
        # The capture is open once the privileges are dropped.
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(err_path) as f:
                if "passive: dropped to user" in f.read():
                    break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        return proc, out, err, err_path

    def send(self, which):
        p = sh(*in_ns(NS_SEND, SCAPY_PYTHON, "-c", SENDER, SEND_IF, SENDER_MAC, ROGUE_MAC,
                      DHCP_MAC, which))
        return int(p.stdout.strip())

    def finish(self, name, proc, out, err, err_path, timeout=30):
        proc.wait(timeout=timeout)
        out.close()
        err.close()
        with open(os.path.join(self.dir, f"{name}.jsonl")) as f:
            findings = [json.loads(line) for line in f if line.strip()]
        with open(err_path) as f:
            stderr = f.read()
        return proc.returncode, findings, stderr

    def test_live_capture_finds_exactly_what_was_sent(self):
        proc, out, err, err_path = self.start_agent("duration", "--duration", "8s")
        self.assertIsNone(proc.poll(), "the agent exited early")
        # While it captures: not root, no capabilities.
        with open(f"/proc/{proc.pid}/status") as f:
            status = f.read()
        self.assertRegex(status, r"Uid:\s+65534\s+65534\s+65534\s+65534")
        self.assertRegex(status, r"CapEff:\s+0+\n")
        self.assertRegex(status, r"CapPrm:\s+0+\n")
        sent = self.send("all")
        rc, findings, stderr = self.finish("duration", proc, out, err, err_path)
        self.assertEqual(rc, 0, stderr)
        got = sorted({(f["kind"], f["subject"]) for f in findings})
        self.assertEqual(got, sorted([
            ("asset.discovered", "www.demo-univ.edu.cn"),
            ("asset.discovered", "mail.demo-univ.edu.cn"),
            ("asset.discovered", "lib.demo-univ.edu.cn"),
            ("net.rogue_ra", "fe80::bad"),
            ("net.rogue_dhcpv6", "fe80::dead"),
            ("net.tunnel", "192.0.2.2<->198.51.100.1"),
            ("net.ipv6_share", CAP_IF),
        ]), stderr)
        intervals = {f["evidence"]["interval_start"] for f in findings}
        self.assertEqual(len(findings), len(got) * len(intervals))  # one per fact per interval
        by = {(f["kind"], f["subject"]): f for f in findings}
        www = by[("asset.discovered", "www.demo-univ.edu.cn")]["evidence"]
        self.assertEqual((www["ipv4"], www["ipv6"], www["sources"]),
                         (["192.0.2.10"], ["2001:db8:77::10"], ["passive"]))
        self.assertEqual(by[("asset.discovered", "mail.demo-univ.edu.cn")]["evidence"]["seen_in"],
                         ["tls_sni"])
        self.assertEqual(by[("asset.discovered", "lib.demo-univ.edu.cn")]["evidence"]["seen_in"],
                         ["http_host"])
        ra = by[("net.rogue_ra", "fe80::bad")]["evidence"]
        self.assertEqual((ra["packets"], ra["prefixes"], ra["mac"]),
                         (2, ["2001:db8:bad::/64"], ROGUE_MAC))
        self.assertEqual(by[("net.tunnel", "192.0.2.2<->198.51.100.1")]["evidence"]["tunnel"], "6in4")
        share = [f["evidence"] for f in findings if f["kind"] == "net.ipv6_share"]
        self.assertEqual(sum(s["ipv6_packets"] for s in share), 5)   # 3 RA, DHCPv6, HTTP
        self.assertEqual(sum(s["ipv4_packets"] for s in share), 4)   # 2 DNS, 6in4, TLS
        s = stats(stderr)
        self.assertEqual(s["packets"], sent)
        self.assertEqual((s["malformed"], s["kernel_dropped"]), (0, 0))

    def test_sigterm_stops_gracefully_and_reports_the_last_interval(self):
        proc, out, err, err_path = self.start_agent("signal", "--duration", "120s")
        self.assertIsNone(proc.poll(), "the agent exited early")
        self.send("ra")
        time.sleep(0.5)  # the kernel hands packets over within 100 ms
        started = time.time()
        proc.send_signal(signal.SIGTERM)
        rc, findings, stderr = self.finish("signal", proc, out, err, err_path, timeout=10)
        self.assertLess(time.time() - started, 5)
        self.assertEqual(rc, 0, stderr)
        self.assertIn("stopped by a signal", stderr)
        self.assertEqual(sorted({(f["kind"], f["subject"]) for f in findings}),
                         [("net.ipv6_share", CAP_IF), ("net.rogue_ra", "fe80::bad")])
        self.assertEqual(stats(stderr)["packets"], 2)


if __name__ == "__main__":
    if os.geteuid() != 0 or not shutil.which("ip"):
        print("skipped: needs root and iproute2 for network namespaces")
        sys.exit(77)
    if subprocess.run([SCAPY_PYTHON, "-c", "import scapy"], capture_output=True).returncode:
        print(f"skipped: {SCAPY_PYTHON} has no scapy (python3-scapy)")
        sys.exit(77)
    unittest.main(verbosity=2)
