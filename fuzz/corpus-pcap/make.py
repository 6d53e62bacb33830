#!/usr/bin/env python3
"""Writes the pcap fuzzer's seed packets (run from this folder): Ethernet frames of the shapes
the expressions in expressions.txt tell apart. run.sh pairs each with every expression."""
import struct

MAC_A, MAC_B, BCAST = bytes([2, 0, 0, 0, 0, 1]), bytes([2, 0, 0, 0, 0, 2]), b"\xff" * 6


def eth(proto, payload, dst=MAC_B, vlan=None):
    h = dst + MAC_A
    if vlan is not None:
        h += struct.pack(">HH", 0x8100, vlan)
    return h + struct.pack(">H", proto) + payload


def ip4(proto, l4, src="10.1.2.3", dst="192.168.0.1", frag=0x4000, opts=b"", ttl=64):
    ihl = 5 + len(opts) // 4
    a = bytes(int(x) for x in src.split(".")) + bytes(int(x) for x in dst.split("."))
    return struct.pack(">BBHHHBBH", 0x40 | ihl, 0, 4 * ihl + len(l4), 1, frag, ttl, proto, 0) + a + opts + l4


def ip6(nh, l4, src=b"\xfe\x80" + b"\0" * 13 + b"\x01", dst=b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\x02"):
    return struct.pack(">IHBB", 0x60000000, len(l4), nh, 64) + src + dst + l4


def tcp(sport, dport, flags, payload=b"", doff=5):
    return struct.pack(">HHIIBBHHH", sport, dport, 1, 0, doff << 4, flags, 512, 0, 0) + \
        b"\x01" * (4 * doff - 20) + payload


def udp(sport, dport, payload=b""):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(t, code=0):
    return struct.pack(">BBHHH", t, code, 0, 1, 1) + b"abcdefgh"


arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + MAC_A + bytes([10, 1, 2, 3]) + b"\0" * 6 + bytes([10, 1, 2, 4])
frames = {
    "tcp-syn-80": eth(0x0800, ip4(6, tcp(40000, 80, 0x02))),
    "tcp-get": eth(0x0800, ip4(6, tcp(40000, 80, 0x18, b"GET / HTTP/1.1\r\n", doff=8))),
    "tcp-rst-22": eth(0x0800, ip4(6, tcp(22, 51000, 0x14), src="10.9.9.9", dst="10.1.2.3")),
    "udp-5353": eth(0x0800, ip4(17, udp(5353, 5353, b"\x01\x02\x03\x04" * 4), dst="224.0.0.251"),
                    dst=bytes([1, 0, 0x5e, 0, 0, 0xfb])),
    "udp-big": eth(0x0800, ip4(17, udp(1500, 1999, bytes(range(256)) + bytes(100)))),
    "icmp-echo": eth(0x0800, ip4(1, icmp(8))),
    "icmp-unreach": eth(0x0800, ip4(1, icmp(3, 3), opts=b"\x01\x01\x01\x00")),
    "ip-frag": eth(0x0800, ip4(17, udp(53, 53), frag=0x2010)),
    "gre": eth(0x0800, ip4(47, b"\0\0\x08\x00" + ip4(1, icmp(0)))),
    "tcp6-443": eth(0x86DD, ip6(6, tcp(443, 40001, 0x12))),
    "icmp6-echo": eth(0x86DD, ip6(58, icmp(128))),
    "udp6-frag": eth(0x86DD, ip6(44, struct.pack(">BBHI", 17, 0, 0, 7) + udp(546, 547))),
    "arp-bcast": eth(0x0806, arp, dst=BCAST),
    "vlan20-udp": eth(0x0800, ip4(17, udp(40000, 5353)), vlan=20),
    "vlan10-tcp6": eth(0x86DD, ip6(6, tcp(22, 22, 0x10)), vlan=10),
    "cut": eth(0x0800, ip4(6, tcp(40000, 80, 0x02)))[:30],
    "runt": MAC_B + MAC_A,
}
for name, data in frames.items():
    with open(f"packets/{name}.bin", "wb") as f:
        f.write(data)
