#!/usr/bin/env bash
# collect's cost on the traffic it traces. A 64-byte UDP flood (iperf3 -u -b 0 -l 64)
# between two test namespaces joined by a veth pair, measured in one run, interleaved:
#   (a) untraced
#   (b) nscope collect -c skb,ns,dev -o FILE
#   (c) bpftrace on the same two tracepoints printing the same fields
#   (d) with --baseline BIN: BIN collect -c skb,ns,dev -o FILE, right before or after (b)
#       (the order alternates), to compare two builds under the same drift
# Reports the median received packet rate of each, the ratios b/a and b/c, and lost events.
# Usage: bench/collect/run.sh NSCOPE_BIN [--runs N] [--seconds S] [--baseline BIN]
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

# One flood under `BIN collect -c skb,ns,dev -o FILE`: its rate into the array named $2,
# its lost events into the one named $3.
traced() {
  local -n rates=$2 losts=$3
  settle "$OUT/ev.json"
  collect_start "$OUT/nscope.err" "$1" collect -c skb,ns,dev -o "$OUT/ev.json" --duration $((SECS + 3))
  local np=$COLLECT_PID
  rates+=("$(flood $SECS)")
  wait $np
  losts+=("$(tail -1 "$OUT/ev.json" | jq '.stats.lost')")
}

declare -a RA RB RC RD LOSTB LOSTC LOSTD
for i in $(seq 1 "$RUNS"); do
  settle "$OUT/ev.json"
  RA+=("$(flood $SECS)")

  if [ -n "$BASELINE" ] && [ $((i % 2)) -eq 0 ]; then traced "$BASELINE" RD LOSTD; fi
  traced "$NSCOPE" RB LOSTB
  if [ -n "$BASELINE" ] && [ $((i % 2)) -eq 1 ]; then traced "$BASELINE" RD LOSTD; fi

  settle "$OUT/ev.json" "$OUT/bt.out"
  bpftrace -o "$OUT/bt.out" "$OUT/trace.bt" >"$OUT/bt.err" 2>&1 &
  bp=$!
  until grep -q "Attaching" "$OUT/bt.out" "$OUT/bt.err" 2>/dev/null; do sleep 0.1; done
  sleep 1
  RC+=("$(flood $SECS)")
  kill -INT $bp; wait $bp || true
  LOSTC+=("$(cat "$OUT/bt.out" "$OUT/bt.err" | grep -o 'Lost [0-9]* events' | grep -o '[0-9]*' | paste -sd+ | bc 2>/dev/null || echo 0)")
  echo "run $i: untraced ${RA[-1]} pps, nscope ${RB[-1]} pps (lost ${LOSTB[-1]}), bpftrace ${RC[-1]} pps (lost ${LOSTC[-1]:-0})${BASELINE:+, baseline ${RD[-1]} pps (lost ${LOSTD[-1]})}" >&2
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
if [ -n "$BASELINE" ]; then
  md=$(median "${RD[@]}")
  echo "(d) baseline $BASELINE: $md pps, $(echo "scale=2; $md/$ma" | bc) of untraced; lost ${LOSTD[*]}"
  echo "nscope/baseline: $(echo "scale=3; $mb/$md" | bc) (median of the runs' own ratios $(paired_ratio RB RD))"
fi
