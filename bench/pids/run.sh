#!/usr/bin/env bash
# bench/pids/run.sh — benchmark `nscope pids` and `nscope identify` against `ip netns pids`
# and `ip netns identify`, on a host with many network namespaces and processes.
#
#   run.sh NSCOPE_BIN [--runs K] [--netns N] [--procs M] [--idle P] [--out DIR]
#
# Steps (the scenario and our sleeper are always removed on exit, error or interrupt):
#   1. bench/list/scenario.sh up --netns N --procs M --idle P --hidden 1 (prefix nsp<pid>);
#      then `ip netns exec PFX-nK sleep` (K = N/2), so that namespace has a process.
#   2. Correctness first: `nscope pids PFX-nK` prints the same pids as `ip netns pids PFX-nK`;
#      the net row of `nscope identify PID` holds the name `ip netns identify PID` prints.
#   3. One hyperfine run (warmup 2, K runs each, output to /dev/null, no shell):
#        ip netns pids PFX-nK      vs  NSCOPE_BIN pids PFX-nK      (and pids -l)
#        ip netns identify PID     vs  NSCOPE_BIN identify PID
#   4. Medians and nscope/ip ratios, as summary.md. No target: the figures are reported.
# Exit status: 0 when the output was right, 1 otherwise, 2 on bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
# shellcheck source=../lib/scenario_bench.sh
. "$HERE/../lib/scenario_bench.sh"

usage() {
  cat >&2 <<USAGE
usage: $PROG NSCOPE_BIN [--runs K] [--netns N] [--procs M] [--idle P] [--out DIR]
  --runs K   hyperfine runs per command, at least 3                  [20]
  --netns N  named network namespaces, each with a veth to a bridge  [400]
  --procs M  namespaces held only by a process                       [100]
  --idle P   sleeping processes in all (the M above included)        [2000]
  --out DIR  results dir [bench/pids/results/<date>-<time>] (gitignored)
USAGE
  exit 2
}

[[ $# -ge 1 ]] || usage
case $1 in -h|--help|-*) usage ;; esac
NSCOPE=$1; shift
RUNS=20 N=400 PROCS=100 IDLE=2000 OUT=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs)  [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; RUNS=$((10#$2)); shift 2 ;;
    --netns) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; N=$((10#$2)); shift 2 ;;
    --procs) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; PROCS=$((10#$2)); shift 2 ;;
    --idle)  [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; IDLE=$((10#$2)); shift 2 ;;
    --out)   [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    -h|--help) usage ;;
    *) log "unknown option '$1'"; usage ;;
  esac
done
(( RUNS >= 3 && N >= 2 )) || usage
bench_require hyperfine jq ip

bench_out

PFX=nsp$$
SLEEPER=''
bench_extra_cleanup() {
  if [[ -n $SLEEPER ]]; then kill -KILL "$SLEEPER" 2>/dev/null || true; wait "$SLEEPER" 2>/dev/null || true; fi
}
bench_traps

log "scenario up: $N named namespaces, $PROCS process-held, $IDLE sleepers (prefix $PFX) ..."
run_child "$SCENARIO" up --prefix "$PFX" --netns "$N" --procs "$PROCS" --idle "$IDLE" --hidden 1 > "$OUT/scenario.txt"
cat "$OUT/scenario.txt" >&2
NS=$PFX-n$(( N / 2 ))
ip netns exec "$NS" sleep 100000 & SLEEPER=$!
for _ in $(seq 100); do
  [[ $(stat -L -c %i "/proc/$SLEEPER/ns/net" 2>/dev/null) == "$(stat -L -c %i "/run/netns/$NS")" ]] && break
  sleep 0.05
done
NPROC=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)

# ------------------------------------------------------------ correctness
log "checking the output ..."
ok=yes
IP_PIDS=$(ip netns pids "$NS" | sort -n | tr '\n' ' ')
NS_PIDS=$("$NSCOPE" pids "$NS" | sort -n | tr '\n' ' ')
[[ -n $IP_PIDS && $IP_PIDS == "$NS_PIDS" ]] || { log "pids: nscope '$NS_PIDS', ip '$IP_PIDS'"; ok=no; }
IP_NAME=$(ip netns identify "$SLEEPER")
NS_NAMES=$("$NSCOPE" identify --json "$SLEEPER" | jq -r '.namespaces[] | select(.link == "net") | .names[]')
grep -qx -- "$IP_NAME" <<< "$NS_NAMES" || { log "identify: ip says '$IP_NAME', nscope '$NS_NAMES'"; ok=no; }

# -------------------------------------------------------------- hyperfine
log "hyperfine ($RUNS runs each) ..."
run_child hyperfine -N --warmup 2 --runs "$RUNS" --output null --style basic \
  --export-json "$OUT/bench.json" --export-markdown "$OUT/bench.md" \
  "ip netns pids $NS" \
  "$NSCOPE pids $NS" \
  "$NSCOPE pids -l $NS" \
  "ip netns identify $SLEEPER" \
  "$NSCOPE identify $SLEEPER" >&2

ms() { jq -r --argjson i "$1" ".results[\$i].$2 * 1000 | . * 100 | round / 100" "$OUT/bench.json"; }
ratio() { jq -r --argjson a "$1" --argjson b "$2" '(.results[$a].median / .results[$b].median) | . * 100 | round / 100' "$OUT/bench.json"; }

{
  echo "## nscope pids/identify benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "host: kernel $(uname -r), $(nproc) cores; $(hyperfine --version); $(ip -V); runs=$RUNS warmup=2"
  echo "scenario: $N named network namespaces ($PFX-nI), $PROCS process-held, $NPROC processes in /proc; pids of $NS (pid $SLEEPER in it)"
  echo
  echo "| command | median ms | mean ± σ ms | min ms | max ms |"
  echo "|---|---:|---:|---:|---:|"
  for i in 0 1 2 3 4; do
    printf '| `%s` | %s | %s ± %s | %s | %s |\n' "$(jq -r --argjson i $i '.results[$i].command' "$OUT/bench.json" | sed "s|$NSCOPE|nscope|")" \
      "$(ms $i median)" "$(ms $i mean)" "$(ms $i stddev)" "$(ms $i min)" "$(ms $i max)"
  done
  echo
  echo "- nscope pids / ip netns pids: **$(ratio 1 0)**; pids -l / ip netns pids: **$(ratio 2 0)**"
  echo "- nscope identify / ip netns identify: **$(ratio 4 3)**"
  echo "- output: pids equal ($NS_PIDS); ip netns identify '$IP_NAME' is among nscope's names: $ok"
  echo
  echo "raw: $OUT"
} > "$OUT/summary.md"
echo
cat "$OUT/summary.md"
[[ $ok == yes ]]
