#!/usr/bin/env bash
# bench/exec/run.sh — `nscope exec` against the commands people run today, on a host with
# many named network namespaces.
#
#   run.sh NSCOPE_BIN [--runs K] [--all-runs A] [--netns N] [--out DIR]
#
# Steps (the scenario is always torn down on exit, error or interrupt):
#   1. bench/list/scenario.sh up --netns N --procs 0 --idle 0 --hidden 0: N named netns
#      PFX-nI, each with eth0 <-> PFXvI on a bridge.
#   2. Correctness first: `nscope exec --all --json -- ip -j addr` answers once for every
#      PFX-nI, with its eth0; `nscope exec PFX-nM -- ip -j addr` prints what `ip netns exec`
#      prints.
#   3. One hyperfine run (output to /dev/null, no shell between):
#        NSCOPE_BIN exec PFX-nM -- true                vs  ip netns exec PFX-nM true        (K runs)
#        NSCOPE_BIN exec --all -- ip -j addr           vs  ip -all netns exec ip -j addr    (A runs)
#   4. Medians, ratios and the targets (exec ≤ 1.0, --all ≤ 1/4), as summary.md.
# Exit status: 0 when both targets are met and the output was right, 1 otherwise, 2 on bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
# shellcheck source=../lib/scenario_bench.sh
. "$HERE/../lib/scenario_bench.sh"

usage() {
  cat >&2 <<USAGE
usage: $PROG NSCOPE_BIN [--runs K] [--all-runs A] [--netns N] [--out DIR]
  --runs K      hyperfine runs of the one-namespace commands, at least 3   [40]
  --all-runs A  hyperfine runs of the every-namespace commands, at least 3 [5]
  --netns N     network namespaces                                         [400]
  --out DIR     results dir [bench/exec/results/<date>-<time>] (gitignored)
USAGE
  exit 2
}

[[ $# -ge 1 ]] || usage
case $1 in -h|--help|-*) usage ;; esac
NSCOPE=$1; shift
RUNS=40 ARUNS=5 N=400 OUT=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs)     [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; RUNS=$((10#$2)); shift 2 ;;
    --all-runs) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; ARUNS=$((10#$2)); shift 2 ;;
    --netns)    [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; N=$((10#$2)); shift 2 ;;
    --out)      [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    -h|--help) usage ;;
    *) log "unknown option '$1'"; usage ;;
  esac
done
(( RUNS >= 3 && ARUNS >= 3 && N >= 1 )) || usage
bench_require hyperfine jq ip

bench_out

PFX=neb$$
bench_traps

log "scenario up: $N namespaces (prefix $PFX) ..."
run_child "$SCENARIO" up --prefix "$PFX" --netns "$N" --procs 0 --idle 0 --hidden 0 > "$OUT/scenario.txt"
M=$(( N / 2 ))
NS=$PFX-n$M

# ------------------------------------------------------------ correctness
log "checking the output ..."
ok=yes
"$NSCOPE" exec --all --json -- ip -j addr > "$OUT/all.jsonl" 2> "$OUT/all.stderr" || true
ANSWERED=$(jq -r --arg p "$PFX-n" 'select(any(.netns.names[]; startswith($p)))
  | select(.exit == 0 and (.stdout | fromjson | any(.[]; .ifname == "eth0"))) | .netns.names[0]' \
  "$OUT/all.jsonl" | sort -u | wc -l)
[[ $ANSWERED == "$N" ]] || { log "exec --all: $ANSWERED/$N namespaces answered with their eth0"; ok=no; }
diff <("$NSCOPE" exec "$NS" -- ip -j addr) <(ip netns exec "$NS" ip -j addr) > /dev/null ||
  { log "exec $NS -- ip -j addr differs from ip netns exec"; ok=no; }

# -------------------------------------------------------------- hyperfine
log "hyperfine ($RUNS and $ARUNS runs; ip -all netns exec takes seconds a run) ..."
run_child hyperfine -N --warmup 3 --runs "$RUNS" --output null --style basic \
  --export-json "$OUT/one.json" "$NSCOPE exec $NS -- true" "ip netns exec $NS true" >&2
run_child hyperfine -N --warmup 1 --runs "$ARUNS" --output null --style basic \
  --export-json "$OUT/all.json" "$NSCOPE exec --all -- ip -j addr" "ip -all netns exec ip -j addr" >&2

ms() { jq -r --argjson i "$2" ".results[\$i].$3 * 1000 | . * 100 | round / 100" "$OUT/$1.json"; }
ratio() { jq -r '(.results[0].median / .results[1].median) | . * 1000 | round / 1000' "$OUT/$1.json"; }
R_ONE=$(ratio one)
R_ALL=$(ratio all)
T_ONE=$(awk -v r="$R_ONE" 'BEGIN { print (r <= 1.0) ? "met" : "MISSED" }')
T_ALL=$(awk -v r="$R_ALL" 'BEGIN { print (r <= 0.25) ? "met" : "MISSED" }')

{
  echo "## nscope exec benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "host: kernel $(uname -r), $(nproc) cores; $(hyperfine --version); $(ip -V)"
  echo "scenario: $N named network namespaces, each eth0 <-> ${PFX}vI on a bridge; one namespace: $NS"
  echo
  echo "| command | median ms | mean ± σ ms | min ms | max ms |"
  echo "|---|---:|---:|---:|---:|"
  for f in one all; do
    for i in 0 1; do
      printf '| `%s` | %s | %s ± %s | %s | %s |\n' "$(jq -r --argjson i $i '.results[$i].command' "$OUT/$f.json" | sed "s|$NSCOPE|nscope|")" \
        "$(ms $f $i median)" "$(ms $f $i mean)" "$(ms $f $i stddev)" "$(ms $f $i min)" "$(ms $f $i max)"
    done
  done
  echo
  echo "- exec NAME -- true / ip netns exec NAME true: **$R_ONE** (target ≤ 1.0: $T_ONE)"
  echo "- exec --all -- ip -j addr / ip -all netns exec ip -j addr: **$R_ALL** (target ≤ 0.25: $T_ALL)"
  echo "- output: --all answered for $ANSWERED/$N namespaces with their eth0"
  echo
  echo "raw: $OUT"
} > "$OUT/summary.md"
cat "$OUT/summary.md"
[[ $ok == yes && $T_ONE == met && $T_ALL == met ]]
