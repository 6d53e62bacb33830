#!/usr/bin/env bash
# What collect's filters cost on the traffic they look at. A 64-byte UDP flood (iperf3 -u -b 0
# -l 64) between two test namespaces over veth, measured in one run, interleaved (each pair
# a target compares runs back to back, in an order that alternates):
#   (a) untraced
#   (b) nscope collect -c skb,ns,dev -o FILE                  (no filter)
#   (c) the same with -f 'udp port 9'                          (matches nothing)
#   (d) the same with -f 'ip'                                  (matches every packet)
#   (e) the same with --netns of a namespace the flood is not in
# Reports median received packet rates and the ratios c/a (target >= 0.95) and d/b (target
# within 5%), and the events each wrote.
# Usage: bench/filter/run.sh NSCOPE_BIN [--runs N] [--seconds S]
set -euo pipefail

. "$(dirname "$0")/../lib/veth_flood.sh"
flood_args 15 "$@"

P=nfb$$
OUT=$(mktemp -d /tmp/$P.XXXX)
cleanup() {
  flood_cleanup
  ip netns del $P-x 2>/dev/null || true
  rm -rf "$OUT"
}
trap cleanup EXIT INT TERM
flood_setup $P
ip netns add $P-x   # a namespace with no traffic, for --netns

# One traced flood: prints "pps events". nscope is stopped (SIGINT) as soon as the flood
# ends; --duration only guards against a hung run.
traced() {
  collect_start "$OUT/err" "$NSCOPE" collect -c skb,ns,dev -o "$OUT/ev.json" --duration $((SECS + 30)) "$@"
  local pps
  pps=$(flood $SECS)
  kill -INT $COLLECT_PID
  wait $COLLECT_PID
  echo "$pps $(($(wc -l < "$OUT/ev.json") - 2))"
}

# The host's packet rate drifts by more than the effects measured here, so the runs each
# target compares are made back to back, in pairs whose order alternates by round: untraced
# and -f 'udp port 9', then no filter and -f ip, then --netns.
declare -a RA RB RC RD RE NB NC ND NE
for i in $(seq 1 "$RUNS"); do
  if (( i % 2 )); then ORDER=(a c b d e); else ORDER=(c a d b e); fi
  for v in "${ORDER[@]}"; do
    settle "$OUT/ev.json"
    case $v in
      a) RA+=("$(flood $SECS)") ;;
      b) read -r pps n < <(traced); RB+=("$pps"); NB+=("$n") ;;
      c) read -r pps n < <(traced -f 'udp port 9'); RC+=("$pps"); NC+=("$n") ;;
      d) read -r pps n < <(traced -f 'ip'); RD+=("$pps"); ND+=("$n") ;;
      e) read -r pps n < <(traced --netns $P-x); RE+=("$pps"); NE+=("$n") ;;
    esac
  done
  echo "run $i: untraced ${RA[-1]}, no filter ${RB[-1]} (${NB[-1]} events), -f 'udp port 9' ${RC[-1]} (${NC[-1]}), -f ip ${RD[-1]} (${ND[-1]}), --netns other ${RE[-1]} (${NE[-1]})" >&2
done
settle "$OUT/ev.json"

ma=$(median "${RA[@]}") mb=$(median "${RB[@]}") mc=$(median "${RC[@]}") md=$(median "${RD[@]}") me=$(median "${RE[@]}")
r() { echo "scale=3; $1/$2" | bc; }
echo
echo "| 64-byte UDP flood over veth, $RUNS runs x ${SECS}s | median received pps | vs untraced | vs no filter | median events |"
echo "|---|---|---|---|---|"
echo "| (a) untraced | $ma | 1.000 | | |"
echo "| (b) collect -c skb,ns,dev -o FILE | $mb | $(r $mb $ma) | 1.000 | $(median "${NB[@]}") |"
echo "| (c) + -f 'udp port 9' (matches nothing) | $mc | $(r $mc $ma) | $(r $mc $mb) | $(median "${NC[@]}") |"
echo "| (d) + -f 'ip' (matches every packet) | $md | $(r $md $ma) | $(r $md $mb) | $(median "${ND[@]}") |"
echo "| (e) + --netns (a namespace without traffic) | $me | $(r $me $ma) | $(r $me $mb) | $(median "${NE[@]}") |"
echo
echo "median of the runs' own ratios: -f 'udp port 9'/untraced $(paired_ratio RC RA), -f ip/no filter $(paired_ratio RD RB), --netns/untraced $(paired_ratio RE RA)"
