#!/usr/bin/python3
"""Writes the seed corpus of the passive decoder fuzz target (fuzz/corpus/passive_decoder/).

Each file is one byte for the link type (0 Ethernet, 1 Linux SLL, 2 Linux SLL2, 3 raw IP)
followed by a frame. The frames are the test captures' (tests/probes/passive/make_captures.py:
every protocol the decoder reads, and one frame per malformation) plus a few shapes those do
not have: DNS over TCP, Teredo with an origin indication, GRE with every optional field, an
IPv6 authentication header, a long compression-pointer chain.

    /usr/bin/python3 fuzz/make_passive_corpus.py [OUT_DIR]     (needs python3-scapy)

Output is deterministic, so re-running it leaves the checked-in files as they are.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "probes", "passive"))

import make_captures as mc  # noqa: E402
from scapy.all import (DNS, DNSQR, DNSRR, GRE, IP, IPv6, TCP, UDP,  # noqa: E402
                       ICMPv6EchoRequest, IPv6ExtHdrDestOpt)
from scapy.layers.ipsec import AH  # noqa: E402
from scapy.layers.l2 import CookedLinux, CookedLinuxV2  # noqa: E402


def extras():
    e = mc.eth()
    inner = IPv6(src="2001:db8:ff03::1", dst="2001:db8:ff04::1") / ICMPv6EchoRequest()
    out = {}
    dns = DNS(id=3, qr=1, qd=DNSQR(qname="tcp.demo-univ.edu.cn"),
              an=DNSRR(rrname="tcp.demo-univ.edu.cn", rdata="192.0.2.70"))
    raw = bytes(dns)
    out["dns_over_tcp"] = e / IP(src="192.0.2.53", dst=mc.CLIENT4) / \
        TCP(sport=53, dport=40100, flags="PA") / (struct.pack(">H", len(raw)) + raw)
    origin = b"\x00\x00" + b"\xff\xff" + bytes([0xff ^ 198, 0xff ^ 51, 0xff ^ 100, 0xff ^ 1])
    out["teredo_origin"] = e / IP(src="198.51.100.1", dst="192.0.2.102") / \
        UDP(sport=3544, dport=50000) / (origin + bytes(inner))
    auth = b"\x00\x01\x02\x03" + b"ab" + b"xyz" + b"\x00" * 8 + b"\x00"
    out["teredo_auth"] = e / IP(src="198.51.100.1", dst="192.0.2.102") / \
        UDP(sport=3544, dport=50000) / (auth + bytes(inner))
    out["gre_all_fields"] = e / IP(src="192.0.2.103", dst="203.0.113.9") / \
        GRE(chksum_present=1, key_present=1, seqnum_present=1, key=7, seqence_number=9,
            proto=0x86DD) / inner
    out["gre_over_ipv6"] = e / IPv6(src="2001:db8:a::1", dst="2001:db8:ff00::1") / \
        GRE(proto=0x86DD) / inner
    out["ipv6_ah"] = e / IPv6(src="2001:db8:a::1", dst="2001:db8:a::2") / \
        AH(spi=1, seq=1, icv=b"\x00" * 12) / IPv6ExtHdrDestOpt() / UDP(sport=53, dport=9) / dns
    # A name that is a chain of pointers, each to the previous, all backwards.
    msg = bytearray(struct.pack(">HHHHHH", 9, 0x8180, 1, 1, 0, 0))
    msg += b"\x01a\x00" + b"\x00\x01\x00\x01"
    prev = 12
    for i in range(40):
        here = len(msg)
        msg += b"\x01b" + struct.pack(">H", 0xC000 | prev)
        prev = here
    msg += struct.pack(">H", 0xC000 | prev) + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 71])
    out["dns_pointer_chain"] = e / IP(src="192.0.2.53", dst=mc.CLIENT4) / \
        UDP(sport=53, dport=9) / bytes(msg)
    out["ipv4_in_ipv4"] = e / IP(src="192.0.2.1", dst="198.51.100.1", proto=4) / \
        IP(src="198.51.100.2", dst="198.51.100.3") / UDP(sport=53, dport=9) / dns
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "passive_decoder")
    os.makedirs(out, exist_ok=True)
    files = {}
    for i, (_, p) in enumerate(mc.campus()):
        files[f"campus_{i:02d}.bin"] = b"\x00" + bytes(p)
    for i, p in enumerate(mc.malformed()):
        files[f"malformed_{i:02d}.bin"] = b"\x00" + bytes(p)
    for name, p in extras().items():
        files[f"extra_{name}.bin"] = b"\x00" + bytes(p)
    dns = mc.dns_answer("sll.demo-univ.edu.cn", [("A", "sll.demo-univ.edu.cn", "192.0.2.60")])
    files["link_sll.bin"] = b"\x01" + bytes(CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6,
                                                        proto=0x0800) / dns)
    files["link_sll2.bin"] = b"\x02" + bytes(CookedLinuxV2(proto=0x0800, ifindex=2) / dns)
    files["link_raw4.bin"] = b"\x03" + bytes(dns)
    files["link_raw6.bin"] = b"\x03" + bytes(mc.dns_answer(
        "raw6.demo-univ.edu.cn", [("AAAA", "raw6.demo-univ.edu.cn", "2001:db8:a::62")],
        src="2001:db8:a::53", dst=mc.CLIENT6))
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(files)} seeds in {out}")


if __name__ == "__main__":
    main()
