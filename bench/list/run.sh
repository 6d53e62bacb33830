#!/usr/bin/env bash
# bench/list/run.sh — benchmark `nscope list` against `lsns` on a host made busy
# by scenario.sh, and check that nscope finds every net namespace the scenario made.
#
#   run.sh NSCOPE_BIN [--baseline BIN] [--runs K] [--out DIR] [--netns N] [--procs M] [--idle P] [--hidden H]
#
# Steps (the scenario is always torn down on exit, error or interrupt):
#   1. scenario.sh up with a prefix of our own (nsb<pid>).
#   2. hyperfine (warmup 2, K >= 10 runs, output to /dev/null, no shell):
#        NSCOPE_BIN list          vs  lsns -t net
#        NSCOPE_BIN list -t all   vs  lsns
#      (with --baseline BIN, `BIN list` and `BIN list -t all` too: before/after in one run).
#      JSON exports go to the results dir.
#   3. Medians and nscope/lsns ratios (jq), peak RSS of each command
#      (/usr/bin/time -f %M, max of 3 runs).
#   4. Completeness: every inode in the scenario's expected_netns_inodes must be
#      a {"type":"net"} entry of `NSCOPE_BIN list --json`; found/expected per
#      kind, and what `lsns -t net -n -o NS` sees for comparison.
#   5. A markdown summary, printed and written to the results dir as summary.md.
# Extra arguments for every nscope call can be given in $NSCOPE_ARGS (e.g. --no-bpf).
# Exit status: 0 if every expected netns was found, 1 if not or on error, 2 on bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
SCENARIO=$HERE/scenario.sh

usage() {
  cat >&2 <<EOF
usage: $PROG NSCOPE_BIN [--baseline BIN] [--runs K] [--out DIR] [--netns N] [--procs M] [--idle P] [--hidden H]

  NSCOPE_BIN  the nscope binary to measure (e.g. build/nscope)
  --baseline BIN  another nscope binary (e.g. a build of main) measured in the same runs
  --runs K    hyperfine runs per command, at least 10                      [10]
  --out DIR   results dir [bench/list/results/<date>-<time>] (gitignored)
  --netns/--procs/--idle/--hidden   passed to scenario.sh up (its defaults: 300/100/2000/1)
  \$NSCOPE_ARGS  extra arguments for every nscope invocation (e.g. --no-bpf)
EOF
  exit 2
}
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- arguments
[[ $# -ge 1 ]] || usage
case $1 in -h|--help|-*) usage ;; esac
NSCOPE=$1; shift
RUNS=10 OUT='' BASE='' SCEN_ARGS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --baseline) [[ $# -ge 2 ]] || usage; BASE=$2; shift 2 ;;
    --runs)   [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; RUNS=$((10#$2)); shift 2 ;;
    --out)    [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    --netns|--procs|--idle|--hidden)
              [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; SCEN_ARGS+=("$1" "$2"); shift 2 ;;
    -h|--help) usage ;;
    *) log "unknown option '$1'"; usage ;;
  esac
done
(( RUNS >= 10 )) || { log "--runs must be at least 10"; usage; }
[[ $NSCOPE == */* ]] || NSCOPE=$(command -v "$NSCOPE" || true)
[[ -n $NSCOPE && -x $NSCOPE ]] || die "NSCOPE_BIN is not an executable file"
NSCOPE=$(realpath "$NSCOPE")
[[ $NSCOPE != *[[:space:]]* ]] || die "NSCOPE_BIN path must not contain spaces (hyperfine -N splits on them)"
if [[ -n $BASE ]]; then
  [[ $BASE == */* ]] || BASE=$(command -v "$BASE" || true)
  [[ -n $BASE && -x $BASE ]] || die "--baseline is not an executable file"
  BASE=$(realpath "$BASE")
  [[ $BASE != *[[:space:]]* ]] || die "--baseline path must not contain spaces"
fi
read -ra NARGS <<< "${NSCOPE_ARGS:-}"
[[ $(id -u) -eq 0 ]] || die "must run as root"
for c in hyperfine jq lsns /usr/bin/time; do command -v "$c" >/dev/null || die "missing: $c (scripts/install-deps.sh bench)"; done

OUT=${OUT:-$HERE/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")

# --------------------------------------------------------------- scenario
PFX=nsb$$
STATE=/tmp/nscope-bench/$PFX
# Long steps run as a background child we wait for, so a signal is handled at
# once (bash defers traps while a foreground command runs); cleanup stops it.
CHILD=''
run_child() {
  local rc=0
  "$@" & CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=''
  return "$rc"
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $CHILD ]]; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  "$SCENARIO" down --prefix "$PFX" >&2 || { log "scenario down reported leftovers"; rc=1; }
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "scenario up (prefix $PFX) ..."
run_child "$SCENARIO" up --prefix "$PFX" "${SCEN_ARGS[@]}" > "$OUT/scenario.txt"
cat "$OUT/scenario.txt"
EXPECTED=$STATE/expected_netns
cp "$EXPECTED" "$STATE/expected_netns_inodes" "$OUT/"

# -------------------------------------------------------------- hyperfine
# cmdline ARGS...: one shell-quoted string (hyperfine -N splits it on spaces).
cmdline() { local IFS=' '; printf '%s' "$*"; }
NL=$(cmdline "$NSCOPE" list "${NARGS[@]}")
NLA=$(cmdline "$NSCOPE" list -t all "${NARGS[@]}")
BL=() BLA=()  # the baseline's commands, third in each run (results[2])
if [[ -n $BASE ]]; then
  BL=("$(cmdline "$BASE" list "${NARGS[@]}")")
  BLA=("$(cmdline "$BASE" list -t all "${NARGS[@]}")")
fi
bench() {  # bench NAME CMD1 CMD2 [CMD3]: hyperfine into $OUT/NAME.json
  local name=$1; shift
  log "hyperfine: $*"
  run_child hyperfine -N --warmup 2 --runs "$RUNS" --output null --style basic \
    --export-json "$OUT/$name.json" --export-markdown "$OUT/$name.md" "$@" >&2
}
bench net "$NL" "lsns -t net" "${BL[@]}"
bench all "$NLA" "lsns" "${BLA[@]}"

# median NAME INDEX, mean/stddev: seconds -> ms with jq.
stat_ms() { jq -r --argjson i "$2" ".results[\$i].$3 * 1000 | . * 100 | round / 100" "$OUT/$1.json"; }
ratio() {  # ratio NAME [INDEX]: median of results[INDEX] (default 0) / median of lsns (results[1])
  jq -r --argjson i "${2:-0}" '(.results[$i].median / .results[1].median) | . * 100 | round / 100' "$OUT/$1.json"
}

# ---------------------------------------------------------------- peak RSS
# Max resident set (KB) over 3 runs of each command.
peak_rss() {
  local max=0 kb _
  for _ in 1 2 3; do
    /usr/bin/time -f %M -o "$OUT/.rss" "$@" >/dev/null 2>&1 || true
    kb=$(tail -n1 "$OUT/.rss")
    [[ $kb =~ ^[0-9]+$ ]] && (( kb > max )) && max=$kb
  done
  rm -f "$OUT/.rss"
  echo "$max"
}
log "peak RSS ..."
RSS_NL=$(peak_rss "$NSCOPE" list "${NARGS[@]}")
RSS_LN=$(peak_rss lsns -t net)
RSS_NLA=$(peak_rss "$NSCOPE" list -t all "${NARGS[@]}")
RSS_LA=$(peak_rss lsns)
if [[ -n $BASE ]]; then
  RSS_BL=$(peak_rss "$BASE" list "${NARGS[@]}")
  RSS_BLA=$(peak_rss "$BASE" list -t all "${NARGS[@]}")
fi

# ------------------------------------------------------------ completeness
log "completeness ..."
NS_JSON=$OUT/nscope-list.json
rc=0; "$NSCOPE" list --json "${NARGS[@]}" > "$NS_JSON" 2> "$OUT/nscope-list.stderr" || rc=$?
# valid_list FILE: FILE holds one JSON object with a "namespaces" array.
valid_list() { [[ -s $1 ]] && jq -e 'type == "object" and (.namespaces | type == "array")' "$1" >/dev/null 2>&1; }
if valid_list "$NS_JSON"; then
  jq -r '.namespaces[] | select(.type == "net") | .inode' "$NS_JSON" | sort -u > "$OUT/nscope_net_inodes"
  SKIPPED=$(jq -c '.skipped // {}' "$NS_JSON")
  JSON_OK=yes
else
  : > "$OUT/nscope_net_inodes"; SKIPPED="n/a"; JSON_OK="no (exit $rc, not the expected JSON)"
fi
lsns -t net -n -o NS | sort -u > "$OUT/lsns_net_inodes"
NS_TOTAL=$(wc -l < "$OUT/nscope_net_inodes")
LS_TOTAL=$(wc -l < "$OUT/lsns_net_inodes")
"$NSCOPE" list -t all --json "${NARGS[@]}" > "$OUT/nscope-list-all.json" 2>/dev/null || true
if valid_list "$OUT/nscope-list-all.json"; then ALL_NS=$(jq '.namespaces | length' "$OUT/nscope-list-all.json"); else ALL_NS=n/a; fi
ALL_LS=$(lsns -n -o NS | wc -l)

# Per kind: expected, found by nscope, seen by lsns -> completeness.tsv; the
# expected ones nscope did not report -> missing.tsv ("KIND<TAB>INODE<TAB>WHERE").
# (awk reads the two inode sets first, then the scenario's expected_netns.)
awk -F'\t' -v missing="$OUT/missing.tsv" '
  FILENAME == ARGV[1] { ns[$1] = 1; next }
  FILENAME == ARGV[2] { ls[$1] = 1; next }
  { k = $1; if (!(k in want)) order[n++] = k
    want[k]++
    if ($2 in ns) found[k]++; else print > missing
    if ($2 in ls) seen[k]++ }
  END { for (i = 0; i < n; i++) { k = order[i]; printf "%s\t%d\t%d\t%d\n", k, want[k], found[k], seen[k] } }
' "$OUT/nscope_net_inodes" "$OUT/lsns_net_inodes" "$EXPECTED" > "$OUT/completeness.tsv"
touch "$OUT/missing.tsv"
EXP_N=$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$OUT/completeness.tsv")
FND_N=$(awk -F'\t' '{ s += $3 } END { print s + 0 }' "$OUT/completeness.tsv")
LSN_N=$(awk -F'\t' '{ s += $4 } END { print s + 0 }' "$OUT/completeness.tsv")

# ----------------------------------------------------------------- summary
NAME=$(basename "$NSCOPE")
{
  echo "## nscope list benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "host: kernel $(uname -r), $(nproc) cores; $(lsns --version); $(hyperfine --version); runs=$RUNS warmup=2"
  echo "nscope: \`$NSCOPE\`${NSCOPE_ARGS:+ (NSCOPE_ARGS: \`$NSCOPE_ARGS\`)}${BASE:+; baseline: \`$BASE\`}"
  echo "scenario: $(sed 's/^nscope-bench up: //' "$OUT/scenario.txt")"
  echo
  echo "| command | median ms | mean ± σ ms | min ms | max ms | peak RSS KB | nscope/lsns (median) |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  row() {  # row FILE INDEX LABEL RSS RATIO
    # shellcheck disable=SC2016  # backquotes are markdown
    printf '| `%s` | %s | %s ± %s | %s | %s | %s | %s |\n' "$3" \
      "$(stat_ms "$1" "$2" median)" "$(stat_ms "$1" "$2" mean)" "$(stat_ms "$1" "$2" stddev)" \
      "$(stat_ms "$1" "$2" min)" "$(stat_ms "$1" "$2" max)" "$4" "$5"
  }
  row net 0 "$NAME list${NSCOPE_ARGS:+ $NSCOPE_ARGS}" "$RSS_NL" "$(ratio net)"
  [[ -z $BASE ]] || row net 2 "baseline: $(basename "$BASE") list${NSCOPE_ARGS:+ $NSCOPE_ARGS}" "$RSS_BL" "$(ratio net 2)"
  row net 1 "lsns -t net" "$RSS_LN" ""
  row all 0 "$NAME list -t all${NSCOPE_ARGS:+ $NSCOPE_ARGS}" "$RSS_NLA" "$(ratio all)"
  [[ -z $BASE ]] || row all 2 "baseline: $(basename "$BASE") list -t all${NSCOPE_ARGS:+ $NSCOPE_ARGS}" "$RSS_BLA" "$(ratio all 2)"
  row all 1 "lsns" "$RSS_LA" ""
  echo
  echo "**completeness: nscope found $FND_N/$EXP_N expected net namespaces** (lsns sees $LSN_N/$EXP_N)."
  echo "net namespaces listed: nscope $NS_TOTAL, lsns $LS_TOTAL; all types: nscope $ALL_NS, lsns $ALL_LS."
  echo "nscope --json valid: $JSON_OK; skipped: \`$SKIPPED\`"
  echo
  echo "| kind | expected | nscope found | lsns sees |"
  echo "|---|---:|---:|---:|"
  awk -F'\t' '{ printf "| %s | %d | %d | %d |\n", $1, $2, $3, $4 }' "$OUT/completeness.tsv"
  printf '| **total** | %d | %d | %d |\n' "$EXP_N" "$FND_N" "$LSN_N"
  if (( FND_N < EXP_N )); then
    echo
    echo "missing from nscope (first 10 per kind; all in missing.tsv):"
    awk -F'\t' '++c[$1] <= 10 { printf "- %s %s (%s)\n", $1, $2, $3 }' "$OUT/missing.tsv"
  fi
  echo
  echo "raw: $OUT"
} > "$OUT/summary.md"
echo
cat "$OUT/summary.md"
(( FND_N == EXP_N && EXP_N > 0 ))
