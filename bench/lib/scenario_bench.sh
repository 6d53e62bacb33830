# Shared by the benchmarks that build a host with many namespaces with bench/list/scenario.sh
# (bench/topo, bench/find, bench/exec, bench/pids): checking NSCOPE_BIN and the tools, the
# results folder, a child that a signal stops, and the scenario torn down on every exit.
# Source it after setting HERE (the script's folder) and PROG (its name).

SCENARIO=$HERE/../list/scenario.sh
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# NSCOPE (as given) made absolute and checked; root, and the tools named, are there.
bench_require() {
  [[ $NSCOPE == */* ]] || NSCOPE=$(command -v "$NSCOPE" || true)
  [[ -n $NSCOPE && -x $NSCOPE ]] || die "NSCOPE_BIN is not an executable file"
  NSCOPE=$(realpath "$NSCOPE")
  [[ $NSCOPE != *[[:space:]]* ]] || die "NSCOPE_BIN path must not contain spaces"
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  local c
  for c in "$@"; do command -v "$c" >/dev/null || die "missing: $c (scripts/install-deps.sh bench)"; done
}

# OUT: as given, or $HERE/results/<date>-<time> (gitignored); made, and absolute.
bench_out() {
  OUT=${OUT:-$HERE/results/$(date +%Y%m%d-%H%M%S)}
  mkdir -p "$OUT"
  OUT=$(realpath "$OUT")
}

# Runs a command in the background and waits, so that a signal reaches the script at once.
CHILD=''
run_child() {
  local rc=0
  "$@" & CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=''
  return "$rc"
}

# From here on, every exit stops the child, runs bench_extra_cleanup when the script has one,
# and tears the scenario with prefix $PFX down.
bench_traps() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $CHILD ]]; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  if declare -F bench_extra_cleanup >/dev/null; then bench_extra_cleanup; fi
  "$SCENARIO" down --prefix "$PFX" >&2 || { log "scenario down reported leftovers"; rc=1; }
  exit "$rc"
}

# topo_counts TOPO_JSON PFX: "FOUND PEERED" for a scenario of prefix PFX: the namespaces PFX-nI
# among topo's nodes, and the host's veths PFXvI whose far end topo resolved to eth0 in PFX-nI.
topo_counts() {
  local host
  host=$(stat -L -c %i /proc/self/ns/net)
  jq -r --arg p "$2" --argjson host "$host" '
    ([.nodes[] | select(any(.names[]; startswith($p + "-n")))] | length) as $found
    | ([.nodes[] | select(any(.names[]; startswith($p + "-n"))) | {key: (.inode | tostring), value: .names[0]}] | from_entries) as $name
    | ([.edges[] | select(.kind == "veth")
        | (if .from.netns == $host then [.from, .to] else [.to, .from] end) as [$h, $c]
        | select(($h.ifname // "") | startswith($p + "v"))
        | select($c.ifname == "eth0" and $name[($c.netns | tostring)] == ($p + "-n" + ($h.ifname | ltrimstr($p + "v"))))
      ] | length) as $peered
    | "\($found) \($peered)"' "$1" 2>/dev/null || echo "0 0"
}
