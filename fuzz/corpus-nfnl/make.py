#!/usr/bin/env python3
"""Writes the nfnl fuzzer's seeds (run from this folder): nf_tables trace datagrams as the
kernel sends them on NFNLGRP_NFTRACE (nf_tables_trace.c: big-endian numbers, the verdict
nested), and replies to the table, chain and rule dumps `show` asks for. Constants from
<linux/netfilter/nf_tables.h> (Linux 6.18 headers)."""
import struct

NFT = 10 << 8  # NFNL_SUBSYS_NFTABLES
TRACE, NEWTABLE, NEWCHAIN, NEWRULE = 17, 0, 3, 6
INET, IPV4, IPV6 = 1, 2, 10
NLMSG_DONE = 3


def attr(t, payload, nested=False):
    n = 4 + len(payload)
    return struct.pack("<HH", n, t | (0x8000 if nested else 0)) + payload + b"\0" * (-n % 4)


def be32(t, v):
    return attr(t, struct.pack(">I", v & 0xFFFFFFFF))


def be64(t, v):
    return attr(t, struct.pack(">Q", v))


def strz(t, s):
    return attr(t, s.encode() + b"\0")


def msg(typ, family, attrs, seq=0):
    body = struct.pack("<BBH", family, 0, 0) + b"".join(attrs)
    return struct.pack("<IHHII", 16 + len(body), typ, 0, seq, 0) + body


ICMP4 = bytes.fromhex("4500005475894000400112340a5b00010a5b0002") + bytes.fromhex("0800f7ff00010001")
UDP6 = bytes.fromhex("6000000000100a40") + bytes(range(32)) + bytes.fromhex("d43114e90010abcd")
ETH = bytes.fromhex("020000000002020000000001") + b"\x08\x00"


def trace(family, table, chain, typ, verdict=None, handle=None, policy=None, nh=ICMP4, th=b"",
          vchain=None, ll=b"", nfproto=IPV4):
    a = [be32(6, 0xABCD), be32(4, typ), strz(1, table), strz(2, chain)]
    if handle is not None:
        a.append(be64(3, handle))
    if policy is not None:
        a.append(be32(16, policy))
    if verdict is not None:
        v = [be32(1, verdict)] + ([strz(2, vchain)] if vchain else [])
        a.append(attr(5, b"".join(v), nested=True))
    a += [be32(10, 7), be32(14, 0x10), be32(15, nfproto)]
    if ll:
        a.append(attr(7, ll))
    a.append(attr(8, nh))
    if th:
        a.append(attr(9, th))
    return msg(NFT | TRACE, family, a)


seeds = {
    "trace-rule-accept.bin": trace(INET, "filter", "input", 3, verdict=1, handle=4, ll=ETH),
    "trace-jump.bin": trace(INET, "filter", "input", 3, verdict=-3, handle=5, vchain="web"),
    "trace-return.bin": trace(INET, "filter", "web", 2),
    "trace-policy-drop.bin": trace(IPV4, "nat", "postrouting", 1, policy=0),
    "trace-ip6.bin": trace(IPV6, "f6", "output", 3, verdict=-1, handle=2, nh=UDP6[:40], th=UDP6[40:],
                           nfproto=IPV6),
    # One datagram holding several, and one cut short.
    "trace-batch.bin": trace(INET, "a", "b", 3, verdict=1, handle=1) + trace(INET, "a", "b", 1, policy=1),
    "trace-cut.bin": trace(INET, "filter", "input", 3, verdict=1, handle=4)[:60],
}
tables = msg(NFT | NEWTABLE, INET, [strz(1, "filter"), be32(2, 0), be64(4, 1)]) + \
    msg(NFT | NEWTABLE, IPV4, [strz(1, "nat"), be64(4, 2)])
hook = attr(4, be32(1, 1) + be32(2, 0), nested=True)
chains = msg(NFT | NEWCHAIN, INET, [strz(1, "filter"), be64(2, 1), strz(3, "input"), hook, be32(5, 0),
                                    strz(7, "filter")]) + \
    msg(NFT | NEWCHAIN, INET, [strz(1, "filter"), be64(2, 2), strz(3, "web")])
rules = b"".join(msg(NFT | NEWRULE, INET, [strz(1, "filter"), strz(2, c)]) for c in ("input", "input", "web"))
done = struct.pack("<IHHIIi", 20, NLMSG_DONE, 2, 0, 0, 0)
seeds["dump-tables.bin"] = tables + done
seeds["dump-chains.bin"] = chains + done
seeds["dump-rules.bin"] = rules + done
# The three dumps back to back: the fuzzer reads one buffer as each of them.
seeds["dump-all.bin"] = tables + chains + rules + done

for name, data in seeds.items():
    with open(name, "wb") as f:
        f.write(data)
