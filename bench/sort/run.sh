#!/usr/bin/env bash
# sort and print throughput on a large event file, and the same grouping done with jq.
#   nscope sort FILE -o /dev/null      (1,000,000 events by default; target >= 500,000/s,
#                                       peak RSS < 256 MiB)
#   nscope print FILE > /dev/null      (target >= 1,000,000 events/s)
#   jq -c -s 'group_by(."skb-tracking".orig_head)' SMALL   (jq holds the whole file in memory
#   nscope sort SMALL -o /dev/null      and takes minutes on a million events: it runs on a
#                                       smaller file, 100,000 events by default, beside
#                                       nscope on the same file)
# With --baseline BIN, BIN sort and BIN print run on the same big file in the same hyperfine
# run (interleaved by hyperfine's order, under the same drift), and the ratios new/baseline
# of the medians are printed: a change measured before and after in one run. With --cpus
# LIST every command runs under `taskset -c LIST` (--cpus 0: one core, as the targets say).
# The files come from gen_events.py (nscope's layout: ~4 events per packet across three
# namespaces, skb-tracking ids, 16 packets in flight at a time). Times are hyperfine
# medians; peak RSS from /usr/bin/time -f %M.
# Usage: bench/sort/run.sh NSCOPE_BIN [--events N] [--jq-events M] [--runs R]
#                         [--baseline BIN] [--cpus LIST]
set -euo pipefail

usage() {
  echo "usage: $0 NSCOPE_BIN [--events N] [--jq-events M] [--runs R] [--baseline BIN] [--cpus LIST]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
NSCOPE=$(readlink -f "$1"); shift
EVENTS=1000000 JQ_EVENTS=100000 RUNS=5 BASELINE="" CPUS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --events) EVENTS=$2; shift 2 ;;
    --jq-events) JQ_EVENTS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --baseline) BASELINE=$(readlink -f "$2"); shift 2 ;;
    --cpus) CPUS=$2; shift 2 ;;
    *) usage ;;
  esac
done
for t in hyperfine jq python3 /usr/bin/time; do
  command -v $t >/dev/null || { echo "$0: needs $t (scripts/install-deps.sh bench)" >&2; exit 1; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d /tmp/nscope-sortbench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

echo "generating $EVENTS and $JQ_EVENTS events..." >&2
python3 "$HERE/gen_events.py" "$OUT/big.json" "$EVENTS"
python3 "$HERE/gen_events.py" "$OUT/small.json" "$JQ_EVENTS"
echo "big: $(du -m "$OUT/big.json" | cut -f1) MiB, small: $(du -m "$OUT/small.json" | cut -f1) MiB" >&2

JQ_FILTER='group_by(."skb-tracking".orig_head)'
PIN=""
[ -n "$CPUS" ] && PIN="taskset -c $CPUS "
names=(sort print sort-small jq-small)
cmds=("${PIN}$NSCOPE sort $OUT/big.json -o /dev/null"
      "${PIN}$NSCOPE print $OUT/big.json > /dev/null"
      "${PIN}$NSCOPE sort $OUT/small.json -o /dev/null"
      "${PIN}jq -c -s '$JQ_FILTER' $OUT/small.json > /dev/null")
counts=("$EVENTS" "$EVENTS" "$JQ_EVENTS" "$JQ_EVENTS")
if [ -n "$BASELINE" ]; then
  names+=(base-sort base-print)
  cmds+=("${PIN}$BASELINE sort $OUT/big.json -o /dev/null"
         "${PIN}$BASELINE print $OUT/big.json > /dev/null")
  counts+=("$EVENTS" "$EVENTS")
fi

args=()
for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine --warmup 1 --runs "$RUNS" --export-json "$OUT/h.json" "${args[@]}" >&2

declare -A median rss
for i in "${!names[@]}"; do
  median[${names[$i]}]=$(jq -r ".results[$i].median" "$OUT/h.json")
  rss[${names[$i]}]=$( { /usr/bin/time -f %M sh -c "${cmds[$i]}" 2>&1 >/dev/null; } | tail -1)
done

echo
printf '%-11s %10s %10s %14s %12s\n' what events median_s events/s peak_RSS_MiB
for i in "${!names[@]}"; do
  n=${names[$i]}
  awk -v n="$n" -v e="${counts[$i]}" -v m="${median[$n]}" -v r="${rss[$n]}" \
    'BEGIN { printf "%-11s %10d %10.3f %14.0f %12.1f\n", n, e, m, e / m, r / 1024 }'
done
echo
awk -v a="${median[jq-small]}" -v b="${median[sort-small]}" -v c="${median[sort]}" \
    -v d="${median[print]}" -v e="$EVENTS" -v s="$JQ_EVENTS" -v r="${rss[sort]}" 'BEGIN {
  sort_rate = e / c; print_rate = e / d; mib = r / 1024
  sort_ok = "missed"; if (sort_rate >= 500000) sort_ok = "met"
  print_ok = "missed"; if (print_rate >= 1000000) print_ok = "met"
  rss_ok = "missed"; if (mib < 256) rss_ok = "met"
  printf "jq / nscope sort on %d events: %.1fx the time\n", s, a / b
  printf "nscope sort: %.0f events/s (target 500000: %s)\n", sort_rate, sort_ok
  printf "nscope print: %.0f events/s (target 1000000: %s)\n", print_rate, print_ok
  printf "nscope sort peak RSS: %.1f MiB (target < 256: %s)\n", mib, rss_ok
}'
if [ -n "$BASELINE" ]; then
  awk -v s="${median[sort]}" -v bs="${median[base-sort]}" -v p="${median[print]}" \
      -v bp="${median[base-print]}" -v e="$EVENTS" 'BEGIN {
    printf "baseline sort: %.0f events/s; this build / baseline: %.3fx the time (%+.1f%% events/s)\n", e / bs, s / bs, (bs / s - 1) * 100
    printf "baseline print: %.0f events/s; this build / baseline: %.3fx the time (%+.1f%% events/s)\n", e / bp, p / bp, (bp / p - 1) * 100
  }'
fi
