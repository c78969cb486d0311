#!/usr/bin/python3
"""Writes the passive-monitoring test captures (scapy) into OUT_DIR:

  campus.pcap / campus.pcapng   a campus link over two one-minute intervals: DNS answers,
                                TLS ClientHellos, HTTP requests, Router Advertisements,
                                DHCPv6 replies, tunnels, VLAN tags, IPv6 extension headers
                                and fragments (the expected findings are in captures_test.py)
  sll.pcap, sll2.pcap, raw.pcap  one DNS answer each over Linux cooked (v1, v2) and raw IP
  malformed.pcap                one frame per malformation reason, each exactly once
  flood.pcap                    DNS answers for 5,000 distinct names under the own domain

Only documentation prefixes (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)
and link-local addresses appear. Output is deterministic.

    make_captures.py OUT_DIR
"""
import os
import struct
import sys

from scapy.all import (DNS, DNSQR, DNSRR, GRE, IP, IPOption_Router_Alert, IPv6, TCP, UDP,
                       Dot1AD, Dot1Q, Ether, ICMPv6EchoRequest, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, Raw, wrpcap)
from scapy.layers.dhcp6 import (DHCP6_Advertise, DHCP6_Reply, DHCP6OptClientId,
                                DHCP6OptServerId, DUID_LL)
from scapy.layers.dns import dns_compress
from scapy.layers.inet6 import ICMPv6ND_RA, ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr
from scapy.layers.l2 import CookedLinux, CookedLinuxV2
from scapy.layers.tls.all import TLS, TLSClientHello
from scapy.layers.tls.extensions import ServerName, TLS_Ext_ServerName
from scapy.utils import PcapNgWriter

T0 = 1767225600  # 2026-01-01T00:00:00Z, a multiple of 60 s
CLIENT_MAC = "02:00:00:00:01:00"
GW_MAC = "02:00:00:00:00:01"
ROGUE_MAC = "02:00:00:00:0b:ad"
RESOLVER4 = "192.0.2.53"
CLIENT4 = "192.0.2.100"
CLIENT6 = "2001:db8:a::100"


def eth(src=GW_MAC, dst=CLIENT_MAC):
    return Ether(src=src, dst=dst)


def dns_answer(name, records, rcode=0, src=RESOLVER4, dst=CLIENT4, compress=True):
    """A DNS response for `name` with (type, rrname, rdata) records over IPv4 or IPv6."""
    an = None
    for rtype, rrname, rdata in records:
        rr = DNSRR(rrname=rrname, type=rtype, rdata=rdata, ttl=300)
        an = rr if an is None else an / rr
    msg = DNS(id=0x1234, qr=1, aa=1, rd=1, ra=1, rcode=rcode, qd=DNSQR(qname=name), an=an)
    if compress:
        msg = dns_compress(msg)
    ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
    return ip / UDP(sport=53, dport=33333) / msg


def client_hello(sni):
    return TLS(msg=[TLSClientHello(
        gmt_unix_time=0, random_bytes=b"\x11" * 28, ciphers=[0x1301, 0x1302, 0xC02F],
        ext=[TLS_Ext_ServerName(servernames=[ServerName(servername=sni.encode())])])])


def http_get(host, path="/"):
    return f"GET {path} HTTP/1.1\r\nUser-Agent: test\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode()


def router_advert(src, prefix, mac):
    return (Ether(src=mac, dst="33:33:00:00:00:01") /
            IPv6(src=src, dst="ff02::1", hlim=255) /
            ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=mac) /
            ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64))


def dhcpv6(cls, server, server_mac):
    return (Ether(src=server_mac, dst=CLIENT_MAC) /
            IPv6(src=server, dst="fe80::100") / UDP(sport=547, dport=546) /
            cls(trid=0x42) / DHCP6OptServerId(duid=DUID_LL(lladdr=server_mac)) /
            DHCP6OptClientId(duid=DUID_LL(lladdr=CLIENT_MAC)))


def campus():
    """(offset seconds, frame) for the campus link."""
    f = []
    add = lambda t, p: f.append((t, p))  # noqa: E731

    # Interval 1 (T0 .. T0+60).
    www = dns_answer("www.demo-univ.edu.cn", [("A", "www.demo-univ.edu.cn", "192.0.2.10"),
                                              ("AAAA", "www.demo-univ.edu.cn", "2001:db8:a::10")])
    for i in range(5):  # the same fact five times: one finding
        add(1 + i, eth() / www)
    add(7, eth() / dns_answer("cloud.demo-univ.edu.cn",
                              [("CNAME", "cloud.demo-univ.edu.cn", "demo.cdn.example.net"),
                               ("A", "demo.cdn.example.net", "203.0.113.80")]))
    add(8, eth() / dns_answer("portal.partner-example.com",
                              [("A", "portal.partner-example.com", "192.0.2.77")]))
    add(9, eth() / dns_answer("www.example.org", [("A", "www.example.org", "203.0.113.5")]))
    add(10, eth() / dns_answer("random-x1.demo-univ.edu.cn", [], rcode=3))  # NXDOMAIN
    # 802.1Q and QinQ.
    add(11, eth() / Dot1Q(vlan=10) / dns_answer("vpn.demo-univ.edu.cn",
                                                [("A", "vpn.demo-univ.edu.cn", "192.0.2.30")]))
    add(12, Ether(src=GW_MAC, dst=CLIENT_MAC, type=0x88A8) / Dot1AD(vlan=100) / Dot1Q(vlan=20) /
        dns_answer("qinq.demo-univ.edu.cn", [("A", "qinq.demo-univ.edu.cn", "192.0.2.32")]))
    # IPv4 with options; IPv6 with hop-by-hop and destination options.
    opt = dns_answer("opt.demo-univ.edu.cn", [("A", "opt.demo-univ.edu.cn", "192.0.2.31")])
    opt[IP].options = [IPOption_Router_Alert()]
    add(13, eth() / opt)
    add(14, eth() / IPv6(src="2001:db8:a::53", dst=CLIENT6) / IPv6ExtHdrHopByHop() /
        IPv6ExtHdrDestOpt() / UDP(sport=53, dport=33334) /
        dns_compress(DNS(id=7, qr=1, qd=DNSQR(qname="ns.demo-univ.edu.cn", qtype="AAAA"),
                         an=DNSRR(rrname="ns.demo-univ.edu.cn", type="AAAA",
                                  rdata="2001:db8:a::53"))))
    # A fragmented DNS answer over IPv6: no reassembly, so its name is not reported; the
    # second fragment is counted.
    big = (IPv6(src="2001:db8:a::53", dst=CLIENT6) / IPv6ExtHdrFragment(id=99) /
           UDP(sport=53, dport=33335) /
           DNS(id=8, qr=1, qd=DNSQR(qname="big.demo-univ.edu.cn"),
               an=DNSRR(rrname="big.demo-univ.edu.cn", type="TXT", rdata="x" * 200) /
               DNSRR(rrname="big.demo-univ.edu.cn", rdata="192.0.2.40")))
    from scapy.all import fragment6
    for i, frag in enumerate(fragment6(big, 200)):
        add(15 + i * 0.1, eth() / frag)
    # TLS and HTTP: names clients ask servers for.
    add(16, eth(CLIENT_MAC, GW_MAC) / IP(src=CLIENT4, dst="192.0.2.25") /
        TCP(sport=40001, dport=443, flags="PA", seq=1, ack=1) / client_hello("mail.demo-univ.edu.cn"))
    add(17, eth(CLIENT_MAC, GW_MAC) / IPv6(src=CLIENT6, dst="2001:db8:ff00::443") /
        TCP(sport=40002, dport=443, flags="PA") / client_hello("sso.demo-univ.edu.cn"))
    add(18, eth(CLIENT_MAC, GW_MAC) / IPv6(src=CLIENT6, dst="2001:db8:a::80") /
        TCP(sport=40003, dport=8080, flags="PA") / Raw(http_get("Lib.Demo-Univ.edu.cn:8080")))
    add(19, eth(CLIENT_MAC, GW_MAC) / IP(src=CLIENT4, dst="203.0.113.5") /
        TCP(sport=40004, dport=80, flags="PA") / Raw(http_get("www.example.org")))
    add(20, eth(CLIENT_MAC, GW_MAC) / IP(src=CLIENT4, dst="198.51.100.20") /
        TCP(sport=40005, dport=443, flags="PA") / client_hello("elsewhere.example.com"))
    # Router Advertisements: the allowed router, and twice an unlisted one.
    add(21, router_advert("fe80::1", "2001:db8:a:1::", GW_MAC))
    add(22, router_advert("fe80::bad", "2001:db8:bad::", ROGUE_MAC))
    add(23, router_advert("fe80::bad", "2001:db8:bad::", ROGUE_MAC))
    # DHCPv6: the allowed server advertises, an unlisted one replies.
    add(24, dhcpv6(DHCP6_Advertise, "fe80::53", GW_MAC))
    add(25, dhcpv6(DHCP6_Reply, "fe80::dead", "02:00:00:00:de:ad"))
    # Tunnels.
    inner = lambda s, d: IPv6(src=s, dst=d) / ICMPv6EchoRequest()  # noqa: E731
    add(26, eth(CLIENT_MAC, GW_MAC) / IP(src="192.0.2.100", dst="198.51.100.1", proto=41) /
        inner("2001:db8:ff00::100", "2001:db8:ff01::1"))
    add(27, eth(GW_MAC, CLIENT_MAC) / IP(src="198.51.100.1", dst="192.0.2.100", proto=41) /
        inner("2001:db8:ff01::1", "2001:db8:ff00::100"))  # the reverse direction: same tunnel
    add(28, eth(CLIENT_MAC, GW_MAC) / IP(src="192.0.2.101", dst="198.51.100.99", proto=41) /
        inner("2002:c000:265::1", "2001:db8:ff02::1"))
    add(29, eth(CLIENT_MAC, GW_MAC) / IP(src="192.0.2.102", dst="198.51.100.35") /
        UDP(sport=50000, dport=3544) / inner("2001:db8:ff03::1", "2001:db8:ff04::1"))
    add(30, eth(CLIENT_MAC, GW_MAC) / IP(src="192.0.2.103", dst="203.0.113.9") /
        GRE(proto=0x86DD) / inner("2001:db8:ff05::1", "2001:db8:ff06::1"))
    add(31, eth(CLIENT_MAC, GW_MAC) / IP(src="192.0.2.104", dst="203.0.113.10") /
        GRE(proto=0x0800) / IP(src="198.51.100.7", dst="198.51.100.8") / UDP(sport=1, dport=2))
    # Plain traffic for the share: two native IPv6 packets, one ARP.
    add(32, eth(CLIENT_MAC, GW_MAC) / IPv6(src=CLIENT6, dst="2001:db8:a::10") /
        TCP(sport=40010, dport=443, flags="S"))
    add(33, eth(GW_MAC, CLIENT_MAC) / IPv6(src="2001:db8:a::10", dst=CLIENT6) /
        TCP(sport=443, dport=40010, flags="SA"))
    from scapy.all import ARP
    add(34, Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=CLIENT4, pdst="192.0.2.1"))

    # Interval 2 (T0+60 .. T0+120): the same facts again are found again.
    add(61, eth() / www)
    add(62, router_advert("fe80::bad", "2001:db8:bad::", ROGUE_MAC))
    add(63, eth(CLIENT_MAC, GW_MAC) / IPv6(src=CLIENT6, dst="2001:db8:a::10") /
        TCP(sport=40011, dport=443, flags="S"))
    return f


def stamped(frames):
    out = []
    for t, p in frames:
        p.time = T0 + t
        out.append(p)
    return out


def malformed():
    """One frame per reason of the decoder's Malformed enum."""
    e = bytes(eth(CLIENT_MAC, GW_MAC))
    e4 = e[:12] + b"\x08\x00"
    e6 = e[:12] + b"\x86\xdd"
    ip4 = lambda proto, payload: bytes(IP(src=CLIENT4, dst="198.51.100.1", proto=proto)) + payload  # noqa: E731,E501

    def ip4_fixed(proto, payload):
        hdr = bytearray(bytes(IP(src=CLIENT4, dst="198.51.100.1", proto=proto, len=20 + len(payload))))
        return bytes(hdr) + payload

    def udp(sport, dport, payload):
        return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload

    frames = []
    frames.append(e[:10])                                       # link_truncated
    frames.append(e4 + bytes(IP(src=CLIENT4, dst="198.51.100.1"))[:10])  # ipv4_truncated
    bad_ihl = bytearray(bytes(IP(src=CLIENT4, dst="198.51.100.1")))
    bad_ihl[0] = 0x43
    frames.append(e4 + bytes(bad_ihl))                          # ipv4_bad_header
    frames.append(e6 + bytes(IPv6(src=CLIENT6, dst="2001:db8::1"))[:20])  # ipv6_truncated
    hbh = bytearray(bytes(IPv6(src=CLIENT6, dst="2001:db8::1", nh=0, plen=8)) + b"\x11\x05" + b"\x00" * 6)
    frames.append(e6 + bytes(hbh))                              # ipv6_bad_extension (48 bytes claimed)
    frames.append(e4 + ip4_fixed(17, b"\x00\x35\x00"))          # udp_truncated
    frames.append(e4 + ip4_fixed(6, b"\x01\xbb\x9c\x40" + b"\x00" * 8 + b"\xf0" + b"\x00" * 7))  # tcp_truncated
    ra = bytes(ICMPv6ND_RA()) + b"\x03\x00" + b"\x00" * 6      # option length 0
    frames.append(e6 + bytes(IPv6(src="fe80::99", dst="ff02::1", nh=58, plen=len(ra))) + ra)  # icmpv6_malformed
    # dns_malformed: a label that runs past the end of the message.
    dns_hdr = struct.pack(">HHHHHH", 1, 0x8180, 1, 0, 0, 0)
    frames.append(e4 + ip4_fixed(17, udp(53, 3333, dns_hdr + b"\x20abc")))
    # dns_bad_pointer: a question name that points at itself.
    frames.append(e4 + ip4_fixed(17, udp(53, 3333, dns_hdr + b"\xc0\x0c\x00\x01\x00\x01")))
    # tls_malformed: a complete record whose cipher suite length runs past it.
    hello = b"\x01\x00\x00\x30" + b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x7f\xff" + b"\x00" * 7
    rec = b"\x16\x03\x01" + struct.pack(">H", len(hello)) + hello
    tcp = struct.pack(">HHIIBBHHH", 40000, 443, 1, 1, 0x50, 0x18, 1024, 0, 0)
    frames.append(e4 + ip4_fixed(6, tcp + rec))
    # dhcpv6_malformed: an option longer than the message.
    d6 = b"\x07\x00\x00\x42" + b"\x00\x02\x00\x40" + b"\x00" * 4
    u6 = udp(547, 546, d6)
    frames.append(e6 + bytes(IPv6(src="fe80::98", dst="fe80::100", nh=17, plen=len(u6))) + u6)
    frames.append(e4 + ip4_fixed(47, b"\x80\x00"))             # gre_malformed
    frames.append(e[:12] + b"\x81\x00\x00\x01" * 5 + b"\x08\x00" + ip4(17, b""))  # vlan_too_deep
    # tunnel_too_deep: IPv4 proto 41 carrying IPv6-in-IPv6 four levels deep.
    inner = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2", nh=59, plen=0))
    for _ in range(3):
        inner = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2", nh=41, plen=len(inner))) + inner
    frames.append(e4 + ip4_fixed(41, inner))
    # ipv6_bad_header: the Ethernet type says IPv6, the version nibble says 4.
    frames.append(e6 + b"\x45" + b"\x00" * 39)
    out = []
    for i, fr in enumerate(frames):
        p = Ether(fr) if len(fr) >= 14 else Raw(fr)
        p.time = T0 + i
        out.append(p)
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    frames = stamped(campus())
    wrpcap(os.path.join(out, "campus.pcap"), frames)
    w = PcapNgWriter(os.path.join(out, "campus.pcapng"))
    for p in frames:
        w.write(p)
    w.close()

    # One DNS answer over each of the other link types.
    ans = dns_answer("sll.demo-univ.edu.cn", [("A", "sll.demo-univ.edu.cn", "192.0.2.60")])
    p = CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b"\x02\x00\x00\x00\x00\x01\x00\x00", proto=0x0800) / ans
    p.time = T0
    wrpcap(os.path.join(out, "sll.pcap"), [p], linktype=113)
    ans2 = dns_answer("sll2.demo-univ.edu.cn", [("AAAA", "sll2.demo-univ.edu.cn", "2001:db8:a::61")],
                      src="2001:db8:a::53", dst=CLIENT6)
    p = CookedLinuxV2(proto=0x86DD, ifindex=2, pkttype=0, lladdrtype=1, lladdrlen=6) / ans2
    p.time = T0
    wrpcap(os.path.join(out, "sll2.pcap"), [p], linktype=276)
    ans3 = dns_answer("raw.demo-univ.edu.cn", [("A", "raw.demo-univ.edu.cn", "192.0.2.62")])
    ans3.time = T0
    wrpcap(os.path.join(out, "raw.pcap"), [ans3], linktype=101)

    wrpcap(os.path.join(out, "malformed.pcap"), malformed())

    # A flood of distinct names under the own domain, all within one interval.
    flood = []
    for i in range(5000):
        name = f"h{i:05d}.flood.demo-univ.edu.cn"
        p = eth() / dns_answer(name, [("A", name, f"192.0.2.{i % 250 + 1}")], compress=False)
        p.time = T0 + i * 0.001
        flood.append(p)
    wrpcap(os.path.join(out, "flood.pcap"), flood)


if __name__ == "__main__":
    main()
