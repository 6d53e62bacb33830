#!/usr/bin/env bash
# -c nft against the tool users have for the same question, `nft monitor trace`. The 64-byte
# UDP flood of bench/collect (iperf3 between two test namespaces) goes through a 10-rule input
# chain in the receiving namespace (9 rules that match nothing, then `udp dport 5299 counter
# accept`), measured in one run, interleaved:
#   (a) untraced (the chain only)
#   (b) `nft monitor trace` in that namespace, with the `meta nftrace set 1` rule a user adds
#       (the anchor)
#   (c) nscope collect -c skb,ns,nft --allow-system-changes --netns B -o FILE
# Every packet sent meets the accept rule once: the accept traces each tool wrote, against
# the packets sent, say what each lost. Reports median packet rates,
# the ratios, and those counts. Usage: bench/nft/run.sh NSCOPE_BIN [--runs N] [--seconds S]
set -euo pipefail

. "$(dirname "$0")/../lib/veth_flood.sh"
NEED=nft flood_args 3 "$@"

P=nfb$$
OUT=$(mktemp -d /tmp/$P.XXXX)
cleanup() {
  [ -n "${MON:-}" ] && kill $MON 2>/dev/null || true
  [ -n "${COLLECT_PID:-}" ] && kill $COLLECT_PID 2>/dev/null && wait $COLLECT_PID 2>/dev/null || true
  flood_cleanup
  rm -rf "$OUT"
}
trap cleanup EXIT INT TERM

flood_setup $P
{
  echo "add table inet bench"
  echo "add chain inet bench input { type filter hook input priority 0; policy accept; }"
  for i in $(seq 1 9); do echo "add rule inet bench input udp dport $((6000 + i)) counter drop"; done
  echo "add rule inet bench input udp dport 5299 counter accept"
} | ip netns exec $FLOOD_B nft -f -

# One flood: "pps packets": the rate the server received, and the packets sent. Every packet
# sent reaches the input chain (the server's socket, after it, is where a flood loses some).
flood2() {
  ip netns exec $FLOOD_A iperf3 -c 10.214.0.2 -p 5299 -u -b 0 -l 64 -t "$1" --json |
    jq -r '"\((.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds | floor) \(.end.sum.packets)"'
}

declare -a RA RB RC SEENB SEENC PKB PKC OVC
for i in $(seq 1 "$RUNS"); do
  settle "$OUT/ev.json" "$OUT/mon.out"
  read -r pps pk < <(flood2 $SECS); RA+=("$pps")

  # (b) the anchor: the user's trace rule and nft monitor trace.
  ip netns exec $FLOOD_B nft add chain inet bench pre '{ type filter hook prerouting priority -300; }'
  ip netns exec $FLOOD_B nft add rule inet bench pre udp dport 5299 meta nftrace set 1
  ip netns exec $FLOOD_B nft monitor trace >"$OUT/mon.out" 2>"$OUT/mon.err" &
  MON=$!
  sleep 1
  read -r pps pk < <(flood2 $SECS); RB+=("$pps"); PKB+=("$pk")
  sleep 1
  kill $MON; wait $MON 2>/dev/null || true; MON=
  ip netns exec $FLOOD_B nft delete chain inet bench pre
  SEENB+=("$(grep -c 'inet bench input rule udp dport 5299 .*accept' "$OUT/mon.out" || true)")

  # (c) nscope.
  settle "$OUT/ev.json"
  collect_start "$OUT/nscope.err" "$NSCOPE" collect -c skb,ns,nft --allow-system-changes \
    --netns $FLOOD_B -o "$OUT/ev.json" --duration $((SECS + 3))
  read -r pps pk < <(flood2 $SECS); RC+=("$pps"); PKC+=("$pk")
  wait $COLLECT_PID; COLLECT_PID=
  SEENC+=("$(grep -c '"table_name":"bench","chain_name":"input","verdict":"accept"' "$OUT/ev.json" || true)")
  OVC+=("$(tail -1 "$OUT/ev.json" | jq -c '{lost: .stats.lost, nft: .stats.nft}')")
  echo "run $i: untraced ${RA[-1]} pps; nft monitor ${RB[-1]} pps, ${SEENB[-1]} of ${PKB[-1]} sent packets traced; nscope ${RC[-1]} pps, ${SEENC[-1]} of ${PKC[-1]} sent traced ${OVC[-1]}" >&2
done

ma=$(median "${RA[@]}") mb=$(median "${RB[@]}") mc=$(median "${RC[@]}")
echo
echo "| 64-byte UDP flood, 10-rule chain, $RUNS runs x ${SECS}s | median received pps | vs untraced |"
echo "|---|---|---|"
echo "| (a) untraced | $ma | 1.00 |"
echo "| (b) nft monitor trace (anchor) | $mb | $(echo "scale=2; $mb/$ma" | bc) |"
echo "| (c) nscope collect -c skb,ns,nft | $mc | $(echo "scale=2; $mc/$ma" | bc) |"
echo
echo "nscope/nft monitor: $(echo "scale=2; $mc/$mb" | bc)x (median of the runs' own ratios $(paired_ratio RC RB))"
for i in "${!RA[@]}"; do
  echo "run $((i + 1)): accept traces written / packets sent: nft monitor ${SEENB[$i]}/${PKB[$i]}, nscope ${SEENC[$i]}/${PKC[$i]}; nscope stats ${OVC[$i]}"
done
# Traces per packet sent, each run's, as medians; and whether nscope lost any trace
# (every packet sent meets the accept rule once) in any run.
frac() { local -n n=$1 d=$2; local i; for i in "${!n[@]}"; do echo "scale=4; ${n[$i]}/${d[$i]}" | bc; done; }
short=0
for i in "${!RA[@]}"; do [ "${SEENC[$i]}" -lt "${PKC[$i]}" ] && short=$((short + 1)); done
echo "accept traces per packet sent, median: nft monitor $(median $(frac SEENB PKB)), nscope $(median $(frac SEENC PKC))"
echo "runs where nscope wrote fewer accept traces than packets sent: $short of $RUNS"
echo "median accept traces written: nft monitor $(median "${SEENB[@]}"), nscope $(median "${SEENC[@]}")"

