#!/usr/bin/env bash
# bench/scale/run.sh — how `nscope list` and `nscope topo` grow with the number of network
# namespaces (issue 18): a small host and a large one, in one run, and the ratio.
#
#   run.sh NSCOPE_BIN [--small N] [--large M] [--runs K] [--out DIR]
#
# For N, then M (defaults 2,000 and 10,000), each built and torn down in turn:
#   1. bench/list/scenario.sh up --netns N --procs 0 --idle 0 --hidden 0: N named netns PFX-nI,
#      each with eth0 <-> PFXvI, every PFXvI a port of a bridge on the host (a bridge takes
#      1,024 ports: PFXbr, PFXbr1, ... a thousand each).
#   2. Correctness first: `list --json` holds all N, `topo --json` holds all N and resolves
#      every PFXvI to eth0 in PFX-nI.
#   3. hyperfine (warmup 1, K runs, output to /dev/null): `list --json`, `topo --json`,
#      `list --json --no-bpf`, `show PFX-n(N/2) --json`, and as anchors the kernel's own
#      cost through netlink, `ip -o link show` (the host's link dump: for each veth the
#      kernel looks its peer's nsid up in the host's whole nsid table) and `ip netns list`
#      (an RTM_GETNSID per namespace, each the same lookup); peak RSS of `topo --json` and
#      `list --json` (GNU time, median of 3).
#   4. summary.md: per command the medians at N and M, their ratio next to M/N (linear), the
#      targets: at M=5N each command at most 6x its time at N, topo under 100 MB at M, show
#      near 3 ms at M.
# Exit status: 0 when the output was right and the targets met, 1 otherwise, 2 on bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
# shellcheck source=../lib/scenario_bench.sh
. "$HERE/../lib/scenario_bench.sh"

usage() {
  cat >&2 <<USAGE
usage: $PROG NSCOPE_BIN [--small N] [--large M] [--runs K] [--out DIR]
  --small N  namespaces in the small run             [2000]
  --large M  namespaces in the large run, above N    [10000]
  --runs K   hyperfine runs per command, at least 3  [5]
  --out DIR  results dir [bench/scale/results/<date>-<time>] (gitignored)
USAGE
  exit 2
}

[[ $# -ge 1 ]] || usage
case $1 in -h|--help|-*) usage ;; esac
NSCOPE=$1; shift
SMALL=2000 LARGE=10000 RUNS=5 OUT=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --small) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; SMALL=$((10#$2)); shift 2 ;;
    --large) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; LARGE=$((10#$2)); shift 2 ;;
    --runs)  [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; RUNS=$((10#$2)); shift 2 ;;
    --out)   [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    -h|--help) usage ;;
    *) log "unknown option '$1'"; usage ;;
  esac
done
(( RUNS >= 3 && SMALL >= 1 && LARGE > SMALL && LARGE <= 99999 )) || usage
bench_require hyperfine jq ip /usr/bin/time
bench_out

BASE=nsc$$
PFX=${BASE}a
bench_traps
ok=yes

# median_rss CMD...: the median of three peak resident sizes of CMD, in MiB.
median_rss() {
  local i
  for i in 1 2 3; do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; done |
    sort -n | sed -n 2p | awk '{ printf "%.1f", $1 / 1024 }'
}

# measure N TAG: build N namespaces, check, time, tear down; results in $OUT/TAG.*.
measure() {
  local n=$1 tag=$2 t0 found peered listed m ns
  log "scenario up: $n namespaces (prefix $PFX) ..."
  t0=$EPOCHREALTIME
  run_child "$SCENARIO" up --prefix "$PFX" --netns "$n" --procs 0 --idle 0 --hidden 0 > "$OUT/$tag.scenario.txt"
  log "up in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
  m=$(( n / 2 )); ns=$PFX-n$m

  "$NSCOPE" list --json > "$OUT/$tag.list.json" 2> "$OUT/$tag.list.stderr" || { log "list --json failed"; ok=no; }
  listed=$(jq --arg p "$PFX-n" '[.namespaces[] | select(.type == "net") | select(any(.names[]?; startswith($p)))] | length' \
    "$OUT/$tag.list.json" 2>/dev/null || echo 0)
  "$NSCOPE" topo --json > "$OUT/$tag.topo.json" 2> "$OUT/$tag.topo.stderr" || { log "topo --json failed"; ok=no; }
  read -r found peered < <(topo_counts "$OUT/$tag.topo.json" "$PFX")
  printf '%s %s %s\n' "$listed" "$found" "$peered" > "$OUT/$tag.found"
  [[ $listed == "$n" && $found == "$n" && $peered == "$n" ]] ||
    { log "at $n: list found $listed, topo $found namespaces and $peered veth peers"; ok=no; }

  log "hyperfine at $n ($RUNS runs each) ..."
  run_child hyperfine -N --warmup 1 --runs "$RUNS" --output null --style basic \
    --export-json "$OUT/$tag.bench.json" \
    "$NSCOPE list --json" "$NSCOPE topo --json" "$NSCOPE list --json --no-bpf" "$NSCOPE show $ns --json" \
    "ip -o link show" "ip netns list" >&2
  median_rss "$NSCOPE" topo --json > "$OUT/$tag.topo.rss"
  median_rss "$NSCOPE" list --json > "$OUT/$tag.list.rss"

  log "scenario down ..."
  t0=$EPOCHREALTIME
  run_child "$SCENARIO" down --prefix "$PFX" >&2
  log "down in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
}

measure "$SMALL" small
PFX=${BASE}b
measure "$LARGE" large

med() { jq -r --argjson i "$2" '.results[$i].median * 1000 | . * 10 | round / 10' "$OUT/$1.bench.json"; }
FACTOR=$(awk -v a="$SMALL" -v b="$LARGE" 'BEGIN { printf "%.2f", b / a }')
LIMIT=$(awk -v f="$FACTOR" 'BEGIN { printf "%.2f", f * 6 / 5 }')  # 6x at 5x the namespaces
met=yes
{
  echo "## nscope scale benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "host: kernel $(uname -r), $(nproc) cores; $(hyperfine --version); runs=$RUNS warmup=1"
  echo "scenario: N named network namespaces, each eth0 <-> veth on a bridge in the host namespace (1,000 ports a bridge)"
  echo
  echo "| command | median ms at $SMALL | median ms at $LARGE | ratio (linear: $FACTOR, target ≤ $LIMIT) |"
  echo "|---|---:|---:|---:|"
  names=("list --json" "topo --json" "list --json --no-bpf" "show NS --json" "ip -o link show" "ip netns list")
  for i in 0 1 2 3 4 5; do
    a=$(med small $i) b=$(med large $i)
    r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
    verdict=$(awk -v r="$r" -v l="$LIMIT" 'BEGIN { print (r <= l) ? "met" : "MISSED" }')
    [[ $i == 3 ]] && verdict="show: near constant"
    [[ $i -ge 4 ]] && verdict="anchor: the kernel's own cost"
    [[ $i -le 1 && $verdict == MISSED ]] && met=no
    printf '| `%s` | %s | %s | **%s** (%s) |\n' "${names[$i]}" "$a" "$b" "$r" "$verdict"
  done
  echo
  echo "| peak RSS, MiB | at $SMALL | at $LARGE |"
  echo "|---|---:|---:|"
  echo "| \`topo --json\` | $(cat "$OUT/small.topo.rss") | $(cat "$OUT/large.topo.rss") |"
  echo "| \`list --json\` | $(cat "$OUT/small.list.rss") | $(cat "$OUT/large.list.rss") |"
  rss=$(cat "$OUT/large.topo.rss")
  t=$(awk -v r="$rss" 'BEGIN { print (r < 100) ? "met" : "MISSED" }'); [[ $t == met ]] || met=no
  echo
  echo "- topo --json at $LARGE: $rss MiB (target < 100 MiB: $t)"
  echo "- found (list, topo namespaces, topo veth peers): at $SMALL $(cat "$OUT/small.found"); at $LARGE $(cat "$OUT/large.found")"
  echo
  echo "raw: $OUT"
} > "$OUT/summary.md"
echo
cat "$OUT/summary.md"
[[ $ok == yes && $met == yes ]]
