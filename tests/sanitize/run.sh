#!/usr/bin/env bash
# The tests again under the sanitizers, as root:
#   asan: nscope and the unit tests built with AddressSanitizer, LeakSanitizer and
#         UndefinedBehaviorSanitizer; the unit tests, then the system suite (all but two volume
#         tests of sort) run against that nscope (NSCOPE_TEST_BIN).
#   tsan: nscope built with ThreadSanitizer; the system tests of its threaded parts (collect's
#         readers and writer, the parallel scans of list/show/topo, serve, watch) run against it.
# Both builds are Debug (libstdc++'s assertions on) at -O0. Every report the sanitizers write
# (one file per process, under BUILD/reports) fails the run and is printed.
# Usage: tests/sanitize/run.sh asan|tsan --tests SYSTEM_TESTS_BIN [--build-dir DIR] [--filter F]
set -euo pipefail
cd "$(dirname "$0")/../.."
usage() {
  echo "usage: $0 asan|tsan --tests SYSTEM_TESTS_BIN [--build-dir DIR] [--filter GTEST_FILTER]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
kind=$1; shift
tests= build= filter=
while [ $# -gt 0 ]; do
  case "$1" in
    --tests) tests=${2:?}; shift 2 ;;
    --build-dir) build=${2:?}; shift 2 ;;
    --filter) filter=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$tests" ] || usage
case "$kind" in
  # All but the two volume tests of sort (hundreds of thousands of recorded packets, minutes
  # at -O0 under ASan): the fuzzers run sort and its reader under ASan.
  asan) sanitize=address,undefined targets=(nscope unit_tests)
        filter=${filter:-'-SortPcapMore.TwoHundredThousand*:SortPcapMore.LargeSeries*'} ;;
  # The threaded parts: collect's readers and writer (Collect, CollectPerCpu), serve's server,
  # hub and watcher (Serve), watch's loop (Watch), and all of them at once under the churn
  # (Reliability), where list, topo and show (the parallel scans) run in loops. Not the test
  # that every thread of collect is pinned (TSan runs a thread of its own), nor watch's exact
  # account of a churn (a veth made and moved between two of its walks, which TSan slows
  # several times, is told as made where it arrived, as the README says).
  tsan) sanitize=thread targets=(nscope)
        filter=${filter:-'Collect.*:CollectPerCpu.*:Serve.*:Watch.*:Reliability.*:-CollectPerCpu.CpusPins*:Watch.ChurnEveryNamespaceOnce'} ;;
  *) usage ;;
esac
build=$(realpath -m "${build:-build/$kind}")
[ "$(id -u)" = 0 ] || { echo "$0: the system tests need root" >&2; exit 1; }

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
# -O0 -g1: these trees are built in CI beside the main one, and -O0 compiles fastest; -g1
# keeps function names and lines in the reports.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DCMAKE_C_FLAGS_DEBUG="-O0 -g1" -DNSCOPE_SANITIZE="$sanitize" "${launcher[@]}" >/dev/null
args=()
for t in "${targets[@]}"; do args+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${args[@]}"

# One report file per process that found something (log_path.PID); a test that runs nscope as
# nobody needs to write there too.
reports=$build/reports
rm -rf "$reports"
mkdir -p "$reports"
chmod 1777 "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1"
export TSAN_OPTIONS="log_path=$reports/tsan:second_deadlock_stack=1"
export NSCOPE_TEST_BIN=$build/nscope
# The churn test's scans, fewer: every command is several times slower under a sanitizer.
export NSCOPE_RELIABILITY_SCANS=${NSCOPE_RELIABILITY_SCANS:-150}

rc=0
if [ "$kind" = asan ]; then
  echo "sanitize: unit tests ($sanitize)" >&2
  "$build/tests/unit_tests" --gtest_brief=1 || rc=1
fi
echo "sanitize: system tests against $NSCOPE_TEST_BIN ($sanitize)" >&2
"$tests" --gtest_brief=1 ${filter:+--gtest_filter="$filter"} || rc=1

shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  echo "sanitize: ${#found[@]} report(s) from $kind:" >&2
  for f in "${found[@]}"; do
    echo "--- $f" >&2
    cat "$f" >&2
  done
  rc=1
fi
[ $rc = 0 ] && echo "sanitize: $kind clean" >&2
exit $rc
