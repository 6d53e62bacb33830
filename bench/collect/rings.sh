#!/usr/bin/env bash
# What per-CPU ring buffers save on the BPF side: two producers at once, each CPU running a
# 64-byte UDP flood of its own (iperf3 pinned with taskset) between two test namespaces,
# under `nscope collect -c skb,ns,dev -o FILE` with
#   (p) a ring buffer per CPU (the default)
#   (s) one ring shared by every CPU (NSCOPE_SHARED_RING=1: same programs, same lookup, the
#       same ring at every CPU's index)
# alternating which goes first. The programs' own time per event comes from the kernel's
# BPF statistics (kernel.bpf_stats_enabled, on for the run and put back after): run_time_ns
# / run_cnt over collect's probe programs, read while they are attached.
# Reports medians of ns per event, received packets per second (both floods) and lost events.
# Usage: bench/collect/rings.sh NSCOPE_BIN [--runs N] [--seconds S]
set -euo pipefail

. "$(dirname "$0")/../lib/veth_flood.sh"
NEED=bpftool flood_args 5 "$@"

P=ncr$$
OUT=$(mktemp -d /tmp/$P.XXXX)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
  sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true
  flood_cleanup
  rm -rf "$OUT"
}
trap cleanup EXIT INT TERM

flood_setup $P
ip netns exec $FLOOD_B iperf3 -s -p 5300 -D >/dev/null 2>&1
sleep 0.3
sysctl -qw kernel.bpf_stats_enabled=1
CPUS=$(nproc)
[ "$CPUS" -ge 2 ] || { echo "$0: needs two CPUs" >&2; exit 1; }

# One flood from CPU $1 to port $2 for $3 seconds: received packets per second.
flood_on() {
  taskset -c "$1" ip netns exec $FLOOD_A iperf3 -c 10.214.0.2 -p "$2" -u -b 0 -l 64 -t "$3" --json |
    jq -r '((.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds) | floor'
}

# Sum of run_time_ns and of run_cnt over the loaded probe_<slot> programs.
bpf_time() {
  bpftool prog show -j | jq -r '[.[] | select(.name | test("^probe_[0-9]+$"))] |
    "\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}

# One measurement with the ring mode $1 (per-cpu or shared): appends to NS_<mode>,
# PPS_<mode>, LOST_<mode>.
measure() {
  local mode=$1
  local -n ns=NS_${mode/-/_} pps=PPS_${mode/-/_} lost=LOST_${mode/-/_}
  settle "$OUT/ev.json"
  if [ "$mode" = shared ]; then export NSCOPE_SHARED_RING=1; else unset NSCOPE_SHARED_RING; fi
  collect_start "$OUT/err" "$NSCOPE" collect -c skb,ns,dev -o "$OUT/ev.json"
  local np=$COLLECT_PID
  unset NSCOPE_SHARED_RING
  flood_on 0 5299 "$SECS" >"$OUT/f0" &
  local f0=$!
  flood_on 1 5300 "$SECS" >"$OUT/f1" &
  local f1=$!
  wait $f0 $f1
  read -r t c < <(bpf_time)
  kill -TERM $np
  wait $np || true
  ns+=("$(echo "scale=1; $t/$c" | bc)")
  pps+=("$(($(cat "$OUT/f0") + $(cat "$OUT/f1")))")
  lost+=("$(tail -1 "$OUT/ev.json" | jq '.stats.lost')")
}

declare -a NS_per_cpu PPS_per_cpu LOST_per_cpu NS_shared PPS_shared LOST_shared
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) -eq 1 ]; then measure per-cpu; measure shared; else measure shared; measure per-cpu; fi
  echo "run $i: per-cpu ${NS_per_cpu[-1]} ns/event ${PPS_per_cpu[-1]} pps (lost ${LOST_per_cpu[-1]}), shared ${NS_shared[-1]} ns/event ${PPS_shared[-1]} pps (lost ${LOST_shared[-1]})" >&2
done

fmedian() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
np=$(fmedian "${NS_per_cpu[@]}") ns=$(fmedian "${NS_shared[@]}")
pp=$(median "${PPS_per_cpu[@]}") ps=$(median "${PPS_shared[@]}")
echo
echo "| two floods, one per CPU, $RUNS runs x ${SECS}s | BPF ns per event (median) | received pps (median) | lost |"
echo "|---|---|---|---|"
echo "| (p) a ring per CPU | $np | $pp | ${LOST_per_cpu[*]} |"
echo "| (s) one shared ring | $ns | $ps | ${LOST_shared[*]} |"
echo
echo "shared/per-cpu: BPF time per event $(echo "scale=3; $ns/$np" | bc)x, received pps $(echo "scale=3; $ps/$pp" | bc)x"
