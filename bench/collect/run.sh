#!/usr/bin/env bash
# collect's cost on the traffic it traces. A 64-byte UDP flood (iperf3 -u -b 0 -l 64)
# between two test namespaces joined by a veth pair, measured in one run, interleaved:
#   (a) untraced
#   (b) nscope collect -c skb,ns,dev -o FILE
#   (c) bpftrace on the same two tracepoints printing the same fields
# Reports the median received packet rate of each, the ratios b/a and b/c, and lost events.
# Usage: bench/collect/run.sh NSCOPE_BIN [--runs N] [--seconds S]
set -euo pipefail

usage() { echo "usage: $0 NSCOPE_BIN [--runs N] [--seconds S]" >&2; exit 2; }
[ $# -ge 1 ] || usage
NSCOPE=$(readlink -f "$1"); shift
RUNS=5 SECS=4
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    *) usage ;;
  esac
done
for t in iperf3 bpftrace jq ip; do
  command -v $t >/dev/null || { echo "$0: needs $t (scripts/install-deps.sh bench)" >&2; exit 1; }
done

P=ncb$$                       # every object this script makes starts with this
A=$P-a B=$P-b
OUT=$(mktemp -d /tmp/$P.XXXX)
MOUNTED_TRACEFS=0
cleanup() {
  pkill -f "iperf3 -s -p 5299" 2>/dev/null || true
  [ "$MOUNTED_TRACEFS" = 1 ] && umount /sys/kernel/tracing 2>/dev/null || true
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
  rm -rf "$OUT"
}
trap cleanup EXIT INT TERM

# bpftrace 0.17 attaches tracepoints through tracefs (its rawtracepoint probes do not parse):
# mount it for the run when it is not mounted, and unmount it afterwards.
if ! mountpoint -q /sys/kernel/tracing; then
  mount -t tracefs tracefs /sys/kernel/tracing && MOUNTED_TRACEFS=1
fi

ip netns add $A
ip netns add $B
ip link add ${P}a netns $A type veth peer name ${P}b netns $B
ip -n $A addr add 10.214.0.1/24 dev ${P}a
ip -n $B addr add 10.214.0.2/24 dev ${P}b
ip -n $A link set ${P}a up
ip -n $B link set ${P}b up
ip -n $A link set lo up
ip -n $B link set lo up
ip netns exec $B iperf3 -s -p 5299 -D >/dev/null 2>&1
sleep 0.5

# Received packets per second of one flood (sent minus lost, as the server counted).
flood() {
  ip netns exec $A iperf3 -c 10.214.0.2 -p 5299 -u -b 0 -l 64 -t "$SECS" --json |
    jq -r '((.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds) | floor'
}

cat > "$OUT/trace.bt" <<'BT'
tracepoint:net:netif_receive_skb, tracepoint:net:net_dev_start_xmit {
  $skb = (struct sk_buff *)args->skbaddr;
  printf("%llu %s %d %s if %d (%s) netns %u cookie %llu len %u proto %u mark %u\n",
         nsecs, comm, pid, probe, $skb->dev->ifindex, $skb->dev->name,
         $skb->dev->nd_net.net->ns.inum, $skb->dev->nd_net.net->net_cookie,
         $skb->len, $skb->protocol, $skb->mark);
}
BT

declare -a RA RB RC LOSTB LOSTC
for i in $(seq 1 "$RUNS"); do
  RA+=("$(flood)")

  "$NSCOPE" collect -c skb,ns,dev -o "$OUT/ev.json" --duration $((SECS + 3)) 2>"$OUT/nscope.err" &
  np=$!
  until grep -q attached "$OUT/nscope.err" 2>/dev/null; do sleep 0.1; done
  RB+=("$(flood)")
  wait $np
  LOSTB+=("$(tail -1 "$OUT/ev.json" | jq '.stats.lost')")

  bpftrace -o "$OUT/bt.out" "$OUT/trace.bt" >"$OUT/bt.err" 2>&1 &
  bp=$!
  until grep -q "Attaching" "$OUT/bt.out" "$OUT/bt.err" 2>/dev/null; do sleep 0.1; done
  sleep 1
  RC+=("$(flood)")
  kill -INT $bp; wait $bp || true
  LOSTC+=("$(cat "$OUT/bt.out" "$OUT/bt.err" | grep -o 'Lost [0-9]* events' | grep -o '[0-9]*' | paste -sd+ | bc 2>/dev/null || echo 0)")
  echo "run $i: untraced ${RA[-1]} pps, nscope ${RB[-1]} pps (lost ${LOSTB[-1]}), bpftrace ${RC[-1]} pps (lost ${LOSTC[-1]:-0})" >&2
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }
ma=$(median "${RA[@]}") mb=$(median "${RB[@]}") mc=$(median "${RC[@]}")
echo
echo "| 64-byte UDP flood over veth, $RUNS runs x ${SECS}s | median received pps | vs untraced |"
echo "|---|---|---|"
echo "| (a) untraced | $ma | 1.00 |"
echo "| (b) nscope collect -c skb,ns,dev -o FILE | $mb | $(echo "scale=2; $mb/$ma" | bc) |"
echo "| (c) bpftrace, same tracepoints and fields | $mc | $(echo "scale=2; $mc/$ma" | bc) |"
echo
echo "nscope/bpftrace: $(echo "scale=2; $mb/$mc" | bc)x; lost events: nscope ${LOSTB[*]}; bpftrace ${LOSTC[*]:-0}"
