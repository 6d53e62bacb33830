#!/usr/bin/env bash
# collect's cost on the traffic it traces. A 64-byte UDP flood (iperf3 -u -b 0 -l 64)
# between two test namespaces joined by a veth pair, measured in one run, interleaved:
#   (a) untraced
#   (b) nscope collect -c skb,ns,dev -o FILE
#   (c) bpftrace on the same two tracepoints printing the same fields
# Reports the median received packet rate of each, the ratios b/a and b/c, and lost events.
# Usage: bench/collect/run.sh NSCOPE_BIN [--runs N] [--seconds S]
set -euo pipefail

. "$(dirname "$0")/../lib/veth_flood.sh"
NEED=bpftrace flood_args 5 "$@"

P=ncb$$                       # every object this script makes starts with this
OUT=$(mktemp -d /tmp/$P.XXXX)
MOUNTED_TRACEFS=0
cleanup() {
  [ "$MOUNTED_TRACEFS" = 1 ] && umount /sys/kernel/tracing 2>/dev/null || true
  flood_cleanup
  rm -rf "$OUT"
}
trap cleanup EXIT INT TERM

# bpftrace 0.17 attaches tracepoints through tracefs (its rawtracepoint probes do not parse):
# mount it for the run when it is not mounted, and unmount it afterwards.
if ! mountpoint -q /sys/kernel/tracing; then
  mount -t tracefs tracefs /sys/kernel/tracing && MOUNTED_TRACEFS=1
fi

flood_setup $P

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
  settle "$OUT/ev.json"
  RA+=("$(flood $SECS)")

  settle "$OUT/ev.json"
  collect_start "$OUT/nscope.err" "$NSCOPE" collect -c skb,ns,dev -o "$OUT/ev.json" --duration $((SECS + 3))
  np=$COLLECT_PID
  RB+=("$(flood $SECS)")
  wait $np
  LOSTB+=("$(tail -1 "$OUT/ev.json" | jq '.stats.lost')")

  settle "$OUT/ev.json" "$OUT/bt.out"
  bpftrace -o "$OUT/bt.out" "$OUT/trace.bt" >"$OUT/bt.err" 2>&1 &
  bp=$!
  until grep -q "Attaching" "$OUT/bt.out" "$OUT/bt.err" 2>/dev/null; do sleep 0.1; done
  sleep 1
  RC+=("$(flood $SECS)")
  kill -INT $bp; wait $bp || true
  LOSTC+=("$(cat "$OUT/bt.out" "$OUT/bt.err" | grep -o 'Lost [0-9]* events' | grep -o '[0-9]*' | paste -sd+ | bc 2>/dev/null || echo 0)")
  echo "run $i: untraced ${RA[-1]} pps, nscope ${RB[-1]} pps (lost ${LOSTB[-1]}), bpftrace ${RC[-1]} pps (lost ${LOSTC[-1]:-0})" >&2
done

ma=$(median "${RA[@]}") mb=$(median "${RB[@]}") mc=$(median "${RC[@]}")
echo
echo "| 64-byte UDP flood over veth, $RUNS runs x ${SECS}s | median received pps | vs untraced |"
echo "|---|---|---|"
echo "| (a) untraced | $ma | 1.00 |"
echo "| (b) nscope collect -c skb,ns,dev -o FILE | $mb | $(echo "scale=2; $mb/$ma" | bc) |"
echo "| (c) bpftrace, same tracepoints and fields | $mc | $(echo "scale=2; $mc/$ma" | bc) |"
echo
echo "nscope/bpftrace: $(echo "scale=2; $mb/$mc" | bc)x; lost events: nscope ${LOSTB[*]}; bpftrace ${LOSTC[*]:-0}"
echo "median of the runs' own ratios: nscope/untraced $(paired_ratio RB RA), nscope/bpftrace $(paired_ratio RB RC)"
