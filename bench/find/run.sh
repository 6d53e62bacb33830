#!/usr/bin/env bash
# bench/find/run.sh — benchmark `nscope find --addr X` against the shell loop people run
# today to find an address, on a host with many named network namespaces.
#
#   run.sh NSCOPE_BIN [--runs K] [--netns N] [--out DIR]
#
# Steps (the scenario is always torn down on exit, error or interrupt):
#   1. bench/list/scenario.sh up --netns N --procs 0 --idle 0 --hidden 0: N named netns
#      PFX-nI, each with eth0 <-> PFXvI, every PFXvI a port of bridge PFXbr on the host;
#      then every eth0 gets an address of its own, 100.64.(I/250).(I%250+1)/16 (4 at a time).
#   2. Correctness first: `nscope find --json --addr X` (X: PFX-nM's address, M = N/2) must
#      answer exactly one interface, eth0 in PFX-nM; the ip loop must print X.
#   3. One hyperfine run (warmup 2, K runs each, output to /dev/null, no shell but the loop's):
#        NSCOPE_BIN find --addr X   vs   sh -c 'ip -all netns exec ip -o addr show | grep -F X'
#   4. Medians, the ratio and the target (nscope <= 1/20 of the loop), as summary.md.
# Exit status: 0 when the target is met and the output was right, 1 otherwise, 2 on bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
# shellcheck source=../lib/scenario_bench.sh
. "$HERE/../lib/scenario_bench.sh"

usage() {
  cat >&2 <<USAGE
usage: $PROG NSCOPE_BIN [--runs K] [--netns N] [--out DIR]
  --runs K   hyperfine runs per command, at least 3             [10]
  --netns N  named network namespaces, each with an address     [400]
  --out DIR  results dir [bench/find/results/<date>-<time>] (gitignored)
USAGE
  exit 2
}

[[ $# -ge 1 ]] || usage
case $1 in -h|--help|-*) usage ;; esac
NSCOPE=$1; shift
RUNS=10 N=400 OUT=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs)  [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; RUNS=$((10#$2)); shift 2 ;;
    --netns) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; N=$((10#$2)); shift 2 ;;
    --out)   [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    -h|--help) usage ;;
    *) log "unknown option '$1'"; usage ;;
  esac
done
(( RUNS >= 3 )) || usage
(( N >= 1 && N <= 60000 )) || usage
bench_require hyperfine jq ip xargs

bench_out

PFX=nfb$$
bench_traps

addr_of() { echo "100.64.$(( $1 / 250 )).$(( $1 % 250 + 1 ))"; }

log "scenario up: $N namespaces (prefix $PFX) ..."
run_child "$SCENARIO" up --prefix "$PFX" --netns "$N" --procs 0 --idle 0 --hidden 0 > "$OUT/scenario.txt"
cat "$OUT/scenario.txt" >&2
log "an address on every eth0 ..."
for (( i = 0; i < N; i++ )); do echo "$PFX-n$i $(addr_of "$i")/16"; done |
  run_child xargs -P 4 -L 1 sh -c 'ip -n "$0" addr add "$1" dev eth0'
M=$(( N / 2 ))
NS=$PFX-n$M
X=$(addr_of "$M")

# ------------------------------------------------------------ correctness
log "checking the output ..."
ok=yes
"$NSCOPE" find --json --addr "$X" > "$OUT/find.json" 2> "$OUT/find.stderr" || { log "find --addr $X failed"; ok=no; }
GOT=$(jq -r '[.[] | "\(.type) \(.netns.names | join(",")) \(.interface.name)"] | join("; ")' "$OUT/find.json" 2>/dev/null || true)
[[ $GOT == "interface $NS eth0" ]] || { log "find: '$GOT', want 'interface $NS eth0'"; ok=no; }
LOOP="ip -all netns exec ip -o addr show | grep -F ' $X/'"
sh -c "$LOOP" > "$OUT/loop.txt" 2>&1 || { log "the ip loop found nothing"; ok=no; }
grep -q "eth0 *inet $X/16" "$OUT/loop.txt" || { log "the ip loop did not print $X on eth0"; ok=no; }

# -------------------------------------------------------------- hyperfine
log "hyperfine ($RUNS runs each; ip -all netns exec takes seconds a run) ..."
run_child hyperfine -N --warmup 2 --runs "$RUNS" --output null --style basic \
  --export-json "$OUT/bench.json" --export-markdown "$OUT/bench.md" \
  "$NSCOPE find --addr $X" \
  "sh -c \"$LOOP\"" >&2

ms() { jq -r --argjson i "$1" ".results[\$i].$2 * 1000 | . * 100 | round / 100" "$OUT/bench.json"; }
RATIO=$(jq -r '(.results[0].median / .results[1].median) | . * 1000 | round / 1000' "$OUT/bench.json")
TARGET=$(awk -v r="$RATIO" 'BEGIN { print (r <= 0.05) ? "met" : "MISSED" }')

{
  echo "## nscope find benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "host: kernel $(uname -r), $(nproc) cores; $(hyperfine --version); $(ip -V); runs=$RUNS warmup=2"
  echo "scenario: $N named network namespaces, each eth0 (100.64.x.y/16) <-> ${PFX}vI on bridge ${PFX}br; X = $X in $NS"
  echo
  echo "| command | median ms | mean ± σ ms | min ms | max ms |"
  echo "|---|---:|---:|---:|---:|"
  for i in 0 1; do
    printf '| `%s` | %s | %s ± %s | %s | %s |\n' "$(jq -r --argjson i $i '.results[$i].command' "$OUT/bench.json" | sed "s|$NSCOPE|nscope|")" \
      "$(ms $i median)" "$(ms $i mean)" "$(ms $i stddev)" "$(ms $i min)" "$(ms $i max)"
  done
  echo
  echo "- find --addr / ip -all netns exec ... | grep: **$RATIO** (target ≤ 0.05: $TARGET)"
  echo "- output: find answered '$GOT'"
  echo
  echo "raw: $OUT"
} > "$OUT/summary.md"
echo
cat "$OUT/summary.md"
[[ $ok == yes && $TARGET == met ]]
