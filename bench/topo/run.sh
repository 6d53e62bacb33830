#!/usr/bin/env bash
# bench/topo/run.sh — benchmark `nscope topo` and `nscope show` against the ip commands
# people run today, on a host with many network namespaces wired to one bridge.
#
#   run.sh NSCOPE_BIN [--runs K] [--netns N] [--out DIR]
#
# Steps (the scenario is always torn down on exit, error or interrupt):
#   1. bench/list/scenario.sh up --netns N --procs 0 --idle 0 --hidden 0: N named netns
#      PFX-nI, each with eth0 <-> PFXvI, every PFXvI a port of bridge PFXbr on the host.
#   2. Correctness first: `nscope topo --json` must hold every PFX-nI and resolve each PFXvI
#      to eth0 in PFX-nI; `nscope show PFX-nM` must name PFXvM on the host as eth0's peer.
#   3. One hyperfine run (warmup 2, K runs each, output to /dev/null, no shell between):
#        NSCOPE_BIN topo --json         vs  ip -all netns exec ip -d -o link show
#        NSCOPE_BIN show PFX-nM         vs  sh -c 'ip -n PFX-nM -d link; ip -n PFX-nM addr; ip -n PFX-nM route'
#   4. Medians, ratios and the targets (topo <= 1/20, show < 1/10), as summary.md.
# Exit status: 0 when both targets are met and the output was right, 1 otherwise, 2 on bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
# shellcheck source=../lib/scenario_bench.sh
. "$HERE/../lib/scenario_bench.sh"

usage() {
  cat >&2 <<USAGE
usage: $PROG NSCOPE_BIN [--runs K] [--netns N] [--out DIR]
  --runs K   hyperfine runs per command, at least 3          [10]
  --netns N  network namespaces, each with a veth to a bridge [400]
  --out DIR  results dir [bench/topo/results/<date>-<time>] (gitignored)
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
(( N >= 1 )) || usage
bench_require hyperfine jq ip

bench_out

PFX=ntb$$
bench_traps

log "scenario up: $N namespaces (prefix $PFX) ..."
run_child "$SCENARIO" up --prefix "$PFX" --netns "$N" --procs 0 --idle 0 --hidden 0 > "$OUT/scenario.txt"
cat "$OUT/scenario.txt" >&2
M=$(( N / 2 ))
NS=$PFX-n$M

# ------------------------------------------------------------ correctness
log "checking the output ..."
ok=yes
"$NSCOPE" topo --json > "$OUT/topo.json" 2> "$OUT/topo.stderr" || { log "topo --json failed"; ok=no; }
host=$(stat -L -c %i /proc/self/ns/net)
read -r FOUND PEERED < <(topo_counts "$OUT/topo.json" "$PFX")
[[ $FOUND == "$N" && $PEERED == "$N" ]] || { log "topo: $FOUND/$N namespaces, $PEERED/$N veth peers resolved"; ok=no; }
"$NSCOPE" show "$NS" --json > "$OUT/show.json" || { log "show failed"; ok=no; }
SHOWPEER=$(jq -r '.interfaces[] | select(.name == "eth0") | "\(.peer.ifname)@\(.peer.netns)"' "$OUT/show.json" 2>/dev/null || true)
[[ $SHOWPEER == "${PFX}v$M@$host" ]] || { log "show: eth0's peer is '$SHOWPEER', want ${PFX}v$M@$host"; ok=no; }

# -------------------------------------------------------------- hyperfine
log "hyperfine ($RUNS runs each; ip -all netns exec takes seconds a run) ..."
run_child hyperfine -N --warmup 2 --runs "$RUNS" --output null --style basic \
  --export-json "$OUT/bench.json" --export-markdown "$OUT/bench.md" \
  "$NSCOPE topo --json" \
  "ip -all netns exec ip -d -o link show" \
  "$NSCOPE show $NS" \
  "sh -c 'ip -n $NS -d link; ip -n $NS addr; ip -n $NS route'" >&2

ms() { jq -r --argjson i "$1" ".results[\$i].$2 * 1000 | . * 100 | round / 100" "$OUT/bench.json"; }
ratio() { jq -r --argjson a "$1" --argjson b "$2" '(.results[$a].median / .results[$b].median) | . * 1000 | round / 1000' "$OUT/bench.json"; }
R_TOPO=$(ratio 0 1)
R_SHOW=$(ratio 2 3)
T_TOPO=$(awk -v r="$R_TOPO" 'BEGIN { print (r <= 0.05) ? "met" : "MISSED" }')
T_SHOW=$(awk -v r="$R_SHOW" 'BEGIN { print (r < 0.1) ? "met" : "MISSED" }')

{
  echo "## nscope topo/show benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "host: kernel $(uname -r), $(nproc) cores; $(hyperfine --version); $(ip -V); runs=$RUNS warmup=2"
  echo "scenario: $N named network namespaces, each eth0 <-> ${PFX}vI on bridge ${PFX}br; show of $NS"
  echo
  echo "| command | median ms | mean ± σ ms | min ms | max ms |"
  echo "|---|---:|---:|---:|---:|"
  for i in 0 1 2 3; do
    printf '| `%s` | %s | %s ± %s | %s | %s |\n' "$(jq -r --argjson i $i '.results[$i].command' "$OUT/bench.json" | sed "s|$NSCOPE|nscope|")" \
      "$(ms $i median)" "$(ms $i mean)" "$(ms $i stddev)" "$(ms $i min)" "$(ms $i max)"
  done
  echo
  echo "- topo --json / ip -all netns exec: **$R_TOPO** (target ≤ 0.05: $T_TOPO)"
  echo "- show / three ip -n commands: **$R_SHOW** (target < 0.1: $T_SHOW)"
  echo "- output: topo found $FOUND/$N namespaces and resolved $PEERED/$N veth peers; show named eth0's peer $SHOWPEER"
  echo
  echo "raw: $OUT"
} > "$OUT/summary.md"
echo
cat "$OUT/summary.md"
[[ $ok == yes && $T_TOPO == met && $T_SHOW == met ]]
