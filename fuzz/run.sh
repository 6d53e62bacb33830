#!/usr/bin/env bash
# Builds a fuzzer with clang++ (-fsanitize=fuzzer,address,undefined) and runs
# it for a bounded time on a copy of the recorded event files as seed corpus. Exits non-zero
# when it finds a crash, a sanitizer report or a disagreement between the two parsers; the
# input that did it is kept (and named) under the build dir.
# Targets: events (the event-file readers, sort, pcapng; seeds: tests/fixtures/events) and
# meta (the `collect -m` parser and compiler; seeds: fuzz/corpus-meta).
# Usage: fuzz/run.sh [--target events|meta] [--seconds N] [--build-dir DIR] [--binary PREBUILT]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=20 BUILD=build/fuzz BIN= TARGET=events
while [ $# -gt 0 ]; do
  case "$1" in
    --target) TARGET=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --binary) BIN=$2; shift 2 ;;
    *) echo "usage: $0 [--target events|meta] [--seconds N] [--build-dir DIR] [--binary PREBUILT]" >&2; exit 2 ;;
  esac
done
mkdir -p "$BUILD"
case "$TARGET" in
  # The whole event model folder, as nscope_core takes it.
  events) SRCS=(fuzz/fuzz_events.cpp src/events/*.cpp src/util/fd.cpp src/util/result.cpp src/util/strings.cpp)
          HDRS=(src/events/*.h src/util/*.h) LIBS=(-lfmt -lpthread) MAXLEN=8192 ;;
  meta) SRCS=(fuzz/fuzz_meta.cpp src/filter/meta.cpp src/util/strings.cpp src/util/fd.cpp src/util/result.cpp)
        HDRS=(src/filter/*.h src/util/*.h) LIBS=(-lbpf -lfmt) MAXLEN=512 ;;
  *) echo "$0: unknown target '$TARGET' (events, meta)" >&2; exit 2 ;;
esac

if [ -z "$BIN" ]; then
  CXX=${FUZZ_CXX:-clang++}
  command -v "$CXX" >/dev/null ||
    { echo "$0: needs $CXX and libclang-rt-14-dev (scripts/install-deps.sh build)" >&2; exit 1; }
  BIN=$BUILD/fuzz_$TARGET
  # Rebuild only when a source or header changed.
  stale=0
  [ -x "$BIN" ] || stale=1
  if [ $stale = 0 ]; then
    for f in "${SRCS[@]}" "${HDRS[@]}" "$0" fuzz/ubsan.supp; do
      [ "$f" -nt "$BIN" ] && { stale=1; break; }
    done
  fi
  if [ $stale = 1 ]; then
    echo "fuzz: building $BIN" >&2
    # Every UBSan report stops the run (halt_on_error) except the known ones suppressed in
    # ubsan.supp, which needs their check recoverable.
    "$CXX" -std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
      -fno-sanitize-recover=undefined -fsanitize-recover=signed-integer-overflow \
      -Isrc -Ibpf -o "$BIN.tmp" "${SRCS[@]}" "${LIBS[@]}"
    mv "$BIN.tmp" "$BIN"
  fi
fi

CORPUS=$(mktemp -d "${TMPDIR:-/tmp}/nscope-fuzz.XXXXXX")
trap 'rm -rf "$CORPUS"' EXIT
if [ "$TARGET" = events ]; then
  # Seeds: every recorded file whole, and each of its lines alone.
  n=0
  for f in tests/fixtures/events/*.json; do
    cp "$f" "$CORPUS/whole-$(basename "$f")"
    while IFS= read -r line; do
      n=$((n + 1))
      printf '%s\n' "$line" > "$CORPUS/line-$n"
    done < "$f"
  done
  [ -d fuzz/corpus ] && cp fuzz/corpus/* "$CORPUS/" 2>/dev/null || true
else
  cp fuzz/corpus-meta/* "$CORPUS/"
fi

mkdir -p "$BUILD/artifacts"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/fuzz/ubsan.supp"
echo "fuzz: running for ${SECS}s" >&2
"$BIN" -max_total_time="$SECS" -max_len="$MAXLEN" -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/" "$CORPUS"
