# Shared by the flood benchmarks (bench/collect, bench/filter): two test namespaces joined by
# a veth pair, an iperf3 server in the second, and a 64-byte UDP flood between them.
# Source it, then: flood_setup PREFIX; flood SECONDS (prints received packets per second);
# flood_cleanup (also from a trap). Every object it makes starts with PREFIX.

# NSCOPE_BIN [--runs N] [--seconds S] [--baseline BIN] into NSCOPE, RUNS (default $1),
# SECS (default 4) and BASELINE (another nscope build, or empty); then checks that the tools
# named in NEED are installed.
flood_args() {
  local usage="usage: $0 NSCOPE_BIN [--runs N] [--seconds S] [--baseline BIN]"
  RUNS=$1; shift
  SECS=4
  BASELINE=
  [ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
  NSCOPE=$(readlink -f "$1"); shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --runs) RUNS=$2; shift 2 ;;
      --seconds) SECS=$2; shift 2 ;;
      --baseline) BASELINE=$(readlink -f "$2"); shift 2 ;;
      *) echo "$usage" >&2; exit 2 ;;
    esac
  done
  for t in iperf3 jq ip ${NEED:-}; do
    command -v $t >/dev/null || { echo "$0: needs $t (scripts/install-deps.sh bench)" >&2; exit 1; }
  done
}

flood_setup() {
  FLOOD_P=$1
  FLOOD_A=$FLOOD_P-a FLOOD_B=$FLOOD_P-b
  ip netns add $FLOOD_A
  ip netns add $FLOOD_B
  ip link add ${FLOOD_P}a netns $FLOOD_A type veth peer name ${FLOOD_P}b netns $FLOOD_B
  ip -n $FLOOD_A addr add 10.214.0.1/24 dev ${FLOOD_P}a
  ip -n $FLOOD_B addr add 10.214.0.2/24 dev ${FLOOD_P}b
  ip -n $FLOOD_A link set ${FLOOD_P}a up
  ip -n $FLOOD_B link set ${FLOOD_P}b up
  ip -n $FLOOD_A link set lo up
  ip -n $FLOOD_B link set lo up
  ip netns exec $FLOOD_B iperf3 -s -p 5299 -D >/dev/null 2>&1
  sleep 0.5
}

# Received packets per second of one flood (sent minus lost, as the server counted).
flood() {
  ip netns exec $FLOOD_A iperf3 -c 10.214.0.2 -p 5299 -u -b 0 -l 64 -t "$1" --json |
    jq -r '((.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds) | floor'
}

flood_cleanup() {
  [ -n "${FLOOD_B:-}" ] && ip netns pids $FLOOD_B 2>/dev/null | xargs -r kill 2>/dev/null || true
  [ -n "${FLOOD_A:-}" ] && ip netns del $FLOOD_A 2>/dev/null || true
  [ -n "${FLOOD_B:-}" ] && ip netns del $FLOOD_B 2>/dev/null || true
}

# Before each measurement: the previous run's event file gone and its dirty pages written,
# so writeback from one run does not slow the next.
settle() {
  rm -f "$@"
  sync
  sleep 0.5
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

# Each run's ratio NUM[i]/DEN[i] (two array names), one a line, in run order.
run_ratio_lines() {
  local -n num=$1 den=$2
  local i
  for i in "${!num[@]}"; do echo "scale=4; ${num[$i]}/${den[$i]}" | bc; done
}

# Median of the runs' own ratios NUM[i]/DEN[i] (two array names): each run's variants ran
# back to back, so this follows the machine's drift better than a ratio of medians.
paired_ratio() {
  run_ratio_lines "$1" "$2" |
    sort -n | awk '{a[NR]=$1} END {printf "%.3f\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

# Each run's ratio, in run order: "0.917, 1.114, ...".
run_ratios() {
  run_ratio_lines "$1" "$2" | awk '{printf "%s%.3f", (NR > 1 ? ", " : ""), $1} END {print ""}'
}

# Starts `nscope collect ARGS...` in the background until it has attached; COLLECT_PID.
collect_start() {
  local err=$1; shift
  "$@" 2>"$err" &
  COLLECT_PID=$!
  until grep -q attached "$err" 2>/dev/null; do
    kill -0 $COLLECT_PID 2>/dev/null || { cat "$err" >&2; return 1; }
    sleep 0.1
  done
}
