#!/usr/bin/env bash
# bench/reliability/run.sh — nscope under load and faults, in one table (issue 18).
#
#   run.sh BUILD_DIR [--scans N] [--fuzz-seconds S] [--out DIR]
#
# BUILD_DIR holds nscope and tests/system_tests (./scripts/build.sh). Steps:
#   1. Load: Reliability.ChurnWhileEveryCommandRunsInLoops with N scans (default 2000): the
#      churn (namespaces of every holder kind, veths, moves, runc containers, 200+ operations a
#      second) while list, list -t all, topo, show and serve's API run in loops and collect,
#      watch and serve run throughout; its JSON summary (scans, failures, fds and RSS at the
#      start and the end of each long-running command).
#   2. Faults: the system tests that kill, cut and fill (kill -9 of collect, watch and serve, a
#      namespace deleted during topo and during collect, no kernel BTF, host names in -f, a
#      closed stdout, a full device, a read-only directory, a terminal gone, | head, a full
#      disk, SIGTERM, a pipe closed under collect, private event files), each passed or failed.
#   3. Bad inputs: every fuzzer in fuzz/ for S seconds (default 30): inputs tried, crashes.
#   4. summary.md: one table, and what was lost (target: nothing).
# Exit status: 0 when nothing failed, 1 otherwise, 2 on bad usage.
set -euo pipefail

usage() {
  echo "usage: ${0##*/} BUILD_DIR [--scans N] [--fuzz-seconds S] [--out DIR]" >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
BUILD=$(realpath "$1"); shift
SCANS=2000 FUZZ_S=30 OUT=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --scans) SCANS=${2:?}; shift 2 ;;
    --fuzz-seconds) FUZZ_S=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "${0##*/}: needs root" >&2; exit 2; }
[[ -x $BUILD/tests/system_tests ]] || { echo "${0##*/}: no $BUILD/tests/system_tests; run ./scripts/build.sh" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$(realpath -m "${OUT:-$HERE/results/$(date +%Y%m%d-%H%M%S)}")
mkdir -p "$OUT"
TESTS=$BUILD/tests/system_tests
rc=0

echo "reliability: churn until $SCANS scans" >&2
NSCOPE_RELIABILITY_SCANS=$SCANS NSCOPE_RELIABILITY_SECONDS=$((SCANS / 3 + 120)) \
  NSCOPE_RELIABILITY_REPORT=$OUT/churn.json \
  "$TESTS" --gtest_filter='Reliability.ChurnWhileEveryCommandRunsInLoops' >"$OUT/churn.log" 2>&1 || rc=1

FAULTS='Reliability.CollectKilled*:Reliability.WatchKilled*:Reliability.ServeKilled*:Reliability.WithoutKernelBtf*:Reliability.HostNames*:Reliability.OutputThatCannot*:Reliability.NamespaceDeleted*:Reliability.EventFilesArePrivate:Collect.FullDiskKeepsTheFileValid:Collect.SigtermDetachesFlushesAndExitsZero:Collect.JsonToAPipe:Collect.BadInputExitsTwoNamingTheChoices:Watch.BadInput:Exec.BadInput'
echo "reliability: faults" >&2
"$TESTS" --gtest_filter="$FAULTS" --gtest_output="json:$OUT/faults.json" >"$OUT/faults.log" 2>&1 || rc=1

echo "reliability: fuzzers, ${FUZZ_S}s each" >&2
: >"$OUT/fuzz.tsv"
"$ROOT/fuzz/run.sh" --target all --build-only --build-dir "$BUILD/fuzz" --bpf-dir "$BUILD/bpf" >"$OUT/fuzz-build.log" 2>&1 || rc=1
for target in $(sed -n 's/^ALL=(\(.*\))$/\1/p' "$ROOT/fuzz/run.sh"); do
  if "$ROOT/fuzz/run.sh" --target "$target" --seconds "$FUZZ_S" --build-dir "$BUILD/fuzz" --bpf-dir "$BUILD/bpf" \
      >"$OUT/fuzz-$target.log" 2>&1; then
    ok=0
  else
    ok=1 rc=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/fuzz-$target.log" | tail -1)
  printf '%s\t%s\t%s\n' "$target" "${execs:-0}" "$ok" >>"$OUT/fuzz.tsv"
done

python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, sys, os
out = sys.argv[1]
churn = json.load(open(f"{out}/churn.json")) if os.path.exists(f"{out}/churn.json") else {}
faults = json.load(open(f"{out}/faults.json")) if os.path.exists(f"{out}/faults.json") else {}
print("| | figure |\n|---|---|")
if churn:
    s = churn["seconds"]
    print(f"| load held | {churn['churn_ops']} churn operations in {s:.0f} s ({churn['churn_ops']/s:.0f}/s) |")
    print(f"| scans | {sum(churn['scans'].values())}: " + ", ".join(f"{k} {v}" for k, v in sorted(churn['scans'].items())) + " |")
    print(f"| scans failed | {churn['failures']} (show of a namespace already gone, exit 2 as documented: {churn['gone']}) |")
    print(f"| collect / watch events written | {churn['collect_events']} / {churn['watch_events']}, every line JSON |")
    for name, g in sorted(churn.get("growth", {}).items()):
        print(f"| {name}: fds first third → at rest, RSS first → last third | {g['fds'][0]} → {g['fds'][1]}, {g['rss_kb'][0]//1024} → {g['rss_kb'][1]//1024} MiB |")
else:
    print("| load held | the churn run failed: churn.log |")
tests = [t for s in faults.get("testsuites", []) for t in s.get("testsuite", [])]
bad = [f"{t['classname']}.{t['name']}" for t in tests if t.get("failures")]
print(f"| faults survived | {len(tests) - len(bad)} of {len(tests)}: " + ", ".join(f"{t['classname']}.{t['name']}" for t in tests if not t.get("failures")) + " |")
total = 0
for line in open(f"{out}/fuzz.tsv"):
    target, execs, failed = line.split()
    total += int(execs)
    print(f"| bad inputs tried: fuzz {target} | {int(execs):,} inputs, {'a crash (fuzz-' + target + '.log)' if failed == '1' else 'no crash'} |")
print(f"| bad inputs tried, all | {total:,} |")
lost = (churn.get("failures", 1) if churn else 1) + len(bad)
print(f"| lost | {'nothing' if lost == 0 else str(lost) + ' failures: see churn.log, faults.log'} |")
PY
exit $rc
