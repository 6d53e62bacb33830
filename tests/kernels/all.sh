#!/usr/bin/env bash
# Runs the system tests under several of Debian's kernels at once, one qemu each
# (tests/kernels/run.sh). Each guest runs its two vCPUs on one host thread, so two guests
# share a two-core machine about as one guest with a thread per vCPU did, in half the
# wall time of running them one after the other.
#
#   tests/kernels/all.sh --build DIR SERIES...      e.g. --build build 6.1 6.12
#
# While they run, each one's output goes to DIR/kernels/logs/run-SERIES.out; when all have
# ended, those outputs are printed whole, one after the other (the ones that failed last, so
# that the end of this output shows a failure), then one line per kernel.
# Exit status: 0 when every run passed, 1 otherwise, 2 on bad usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage() { echo "usage: $0 --build DIR SERIES..." >&2; exit 2; }
[ "${1:-}" = --build ] && [ $# -ge 3 ] || usage
build=$(cd "$2" && pwd) || usage
shift 2

logs=$build/kernels/logs
mkdir -p "$logs"
declare -A pid rc took started
for s in "$@"; do
  started[$s]=$SECONDS
  "$here/run.sh" "$s" --build "$build" >"$logs/run-$s.out" 2>&1 &
  pid[$s]=$!
done
# A signal stops every guest (run.sh kills its qemu on TERM).
trap 'kill -TERM "${pid[@]}" 2>/dev/null; wait; exit 130' INT TERM
for s in "$@"; do
  wait "${pid[$s]}"; rc[$s]=$?
  took[$s]=$((SECONDS - started[$s]))
done

for pass in ok failed; do
  for s in "$@"; do
    if { [ $pass = ok ] && [ "${rc[$s]}" -eq 0 ]; } || { [ $pass = failed ] && [ "${rc[$s]}" -ne 0 ]; }; then
      echo "===== kernel $s: output of tests/kernels/run.sh $s ====="
      cat "$logs/run-$s.out"
    fi
  done
done
status=0
for s in "$@"; do
  if [ "${rc[$s]}" -eq 0 ]; then
    echo "kernels: $s passed in ${took[$s]} s"
  else
    echo "kernels: $s FAILED (exit ${rc[$s]}) in ${took[$s]} s; its output is above and in $logs/run-$s.out"
    status=1
  fi
done
exit $status
