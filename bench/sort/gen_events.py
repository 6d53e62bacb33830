#!/usr/bin/env python3
"""Writes a synthetic nscope event file: N events (default 1,000,000) as `nscope collect -o`
writes them, with skb-tracking ids. Packets go web-1 -> host bridge -> db-1, about four
events each (xmit in web-1, receive and xmit in the host, receive in db-1); one in ten is
dropped in db-1 (a fifth event, skb:kfree_skb with NO_SOCKET). Sixteen packets are in flight
at once, so their events interleave as a busy host's would. A mix of ICMP, UDP and TCP
frames, 10 us of monotonic time between events.

usage: gen_events.py OUT [N]
"""
import base64
import random
import struct
import sys

A, HOST, C = 4026532301, 4026531840, 4026532302
COOKIE = {A: 4097, HOST: 1, C: 4098}


def frame(proto, ident):
    payload = {1: b"\x08\x00\x00\x00\x10\x92\x00\x01" + bytes(56),
               17: struct.pack("!HHHH", 40000, 53, 8 + 32, 0) + bytes(32),
               6: struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 0x50, 0x18, 64240, 0, 0) + bytes(40)}[proto]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0,
                     bytes([10, 213, 0, 1]), bytes([10, 213, 0, 2]))
    eth = bytes.fromhex("02000ad50002" "02000ad50001" "0800")
    f = eth + ip + payload
    return f, base64.b64encode(f[:128]).decode()


FRAMES = [frame(p, 0x3000 + i) for i, p in enumerate([1, 17, 6, 1, 17, 6, 1, 1])]

HOPS = [("net:net_dev_start_xmit", A, 2, "eth0", 0),
        ("net:netif_receive_skb", HOST, 10, "veth-web1", 14),
        ("net:net_dev_start_xmit", HOST, 11, "veth-db1", 0),
        ("net:netif_receive_skb", C, 2, "eth0", 14)]
DROP = ("skb:kfree_skb", C, 0, None, 34)

STARTUP = ('{"startup":{"nscope_version":"0.1.0","cmdline":"nscope collect (synthetic: '
           'bench/sort/gen_events.py)","kernel":"6.1.0-18-amd64","clock_monotonic_offset":'
           '{"sec":1718000000,"nsec":250000000},"probes":["net:netif_receive_skb",'
           '"net:net_dev_start_xmit","skb:kfree_skb"],"netns_names":{"%d":"web-1","%d":"db-1"},'
           '"initial_netns":%d}}\n' % (A, C, HOST))


def event(ts, hop, pkt_no, track_ts, head, skb, f):
    sym, ns, ifindex, ifname, strip = hop
    fr, data = f
    length = len(fr) - strip
    parts = ['{"common":{"timestamp":%d,"smp_id":%d,"task":{"pid":7001,"tgid":7001,'
             '"comm":"iperf3"}},"kernel":{"probe_type":"raw_tracepoint","symbol":"%s"},'
             '"netns":{"inum":%d,"cookie":%d}' % (ts, pkt_no & 1, sym, ns, COOKIE[ns])]
    if ifname:
        parts.append(',"dev":{"name":"%s","ifindex":%d}' % (ifname, ifindex))
    parts.append(',"skb":{"addr":"0x%x","len":%d,"data_len":0,"mark":0,"protocol":2048}'
                 ',"skb-tracking":{"orig_head":"%d","timestamp":%d,"skb":"%d"}'
                 % (skb, length, head, track_ts, skb))
    if sym == "skb:kfree_skb":
        parts.append(',"skb-drop":{"drop_reason":"NO_SOCKET"}')
    parts.append(',"packet":{"len":%d,"capture_len":%d,"data":"%s"}}\n'
                 % (length, min(len(fr), 128), data))
    return "".join(parts)


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rnd = random.Random(5)
    ts = 5_000_000_000_000
    pkt_no = 0
    inflight = []  # [hops left, track_ts, head, skb, frame]
    written = 0
    with open(out, "w", buffering=1 << 20) as f:
        f.write(STARTUP)
        while written < n:
            while len(inflight) < 16:
                hops = list(HOPS) + ([DROP] if pkt_no % 10 == 9 else [])
                head = 0xFFFF888004000000 + (pkt_no % 65536) * 0x1000
                skb = 0xFFFF888003E00000 + (pkt_no % 4096) * 0x100
                inflight.append([hops, ts, head, skb, FRAMES[pkt_no % len(FRAMES)], pkt_no])
                pkt_no += 1
            p = inflight[rnd.randrange(len(inflight))]
            hop = p[0].pop(0)
            f.write(event(ts, hop, p[5], p[1], p[2], p[3], p[4]))
            written += 1
            ts += 10_000
            if not p[0]:
                inflight.remove(p)
        f.write('{"stats":{"events":%d,"lost":0,"lost_by_probe":{}}}\n' % written)


main()
