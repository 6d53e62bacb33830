#!/usr/bin/env bash
# Builds a fuzzer with clang++ (-fsanitize=fuzzer,address,undefined) and runs it for a bounded
# time on a copy of its seed corpus. Exits non-zero when it finds a crash, a sanitizer report
# or a disagreement; the input that did it is kept (and named) under the build dir.
# Targets (fuzz/fuzz_TARGET.cpp; seeds):
#   events    the event-file readers, sort, pcapng (tests/fixtures/events, fuzz/corpus)
#   meta      the `collect -m` parser and compiler (fuzz/corpus-meta)
#   rtnl      rtnetlink replies: links, addresses, routes, rules, neighbours (tests/fixtures/netlink)
#   sockdiag  sock_diag replies and /proc/net/sockstat (tests/fixtures/netlink, fuzz/corpus-sockdiag)
#   nfnl      nf_tables trace messages and table/chain/rule dumps (fuzz/corpus-nfnl)
#   proc      mountinfo, ns links, cgroup files, cmdlines (tests/fixtures/proc, fuzz/corpus-proc)
#   nsref     NSREF and --netns lists (fuzz/corpus-nsref)
#   pcap      `collect -f` against libpcap, differential, in the kernel: needs root and
#             filter_test.skel.h (--bpf-dir; built by cmake into BUILD/bpf) (fuzz/corpus-pcap)
# Usage: fuzz/run.sh [--target T] [--seconds N] [--build-dir DIR] [--binary PREBUILT]
#                    [--bpf-dir DIR] [--build-only] [-- LIBFUZZER_FLAGS...]
# --target all --build-only builds every target in one go (the fuzz tests' first step).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=20 BUILD=build/fuzz BIN= TARGET=events BPFDIR=build/bpf BUILD_ONLY=0
EXTRA=() built=()
usage() {
  echo "usage: $0 [--target events|meta|rtnl|sockdiag|nfnl|proc|nsref|pcap|all] [--seconds N]" \
       "[--build-dir DIR] [--binary PREBUILT] [--bpf-dir DIR] [--build-only] [-- LIBFUZZER_FLAGS]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --target) TARGET=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --binary) BIN=$2; shift 2 ;;
    --bpf-dir) BPFDIR=$2; shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    *) usage ;;
  esac
done
mkdir -p "$BUILD"
ALL=(events meta rtnl sockdiag nfnl proc nsref pcap)
UTIL=(src/util/fd.cpp src/util/result.cpp src/util/strings.cpp)
NETLINK=(src/netlink/socket.cpp src/netlink/rtnl_parse.cpp)
# What target $1 is built from and run with: SRCS, LIBS, MAXLEN (-max_len), DICT.
config() {
  DICT=
  case "$1" in
    # The whole event model folder, as nscope_core takes it.
    events) SRCS=(src/events/*.cpp "${UTIL[@]}") LIBS="-lfmt -lpthread" MAXLEN=8192 ;;
    meta) SRCS=(src/filter/meta.cpp "${UTIL[@]}") LIBS="-lbpf -lfmt" MAXLEN=512 ;;
    rtnl) SRCS=("${NETLINK[@]}" "${UTIL[@]}") LIBS="-lfmt" MAXLEN=4096 ;;
    sockdiag) SRCS=(src/netlink/sockdiag.cpp "${NETLINK[@]}" "${UTIL[@]}") LIBS="-lfmt" MAXLEN=4096 ;;
    nfnl) SRCS=(src/netlink/nft_trace.cpp src/netlink/firewall.cpp src/netlink/socket.cpp "${UTIL[@]}")
          LIBS="-lfmt" MAXLEN=4096 ;;
    proc) SRCS=(src/discover/mountinfo.cpp src/discover/nstypes.cpp src/discover/container.cpp "${UTIL[@]}")
          LIBS="-lfmt" MAXLEN=2048 ;;
    nsref) SRCS=(src/discover/nsref_parse.cpp "${UTIL[@]}") LIBS="-lfmt" MAXLEN=256 DICT=fuzz/nsref.dict ;;
    pcap) SRCS=(src/filter/filter.cpp src/filter/pcap_filter.cpp src/filter/cbpf.cpp src/filter/meta.cpp
                src/filter/patch.cpp src/bpfload/libbpf_log.cpp "${UTIL[@]}")
          LIBS="-lpcap -lbpf -lfmt" MAXLEN=600 DICT=fuzz/pcap.dict ;;
    *) echo "$0: unknown target '$1'" >&2; usage ;;
  esac
  SRCS=("fuzz/fuzz_$1.cpp" "${SRCS[@]}")
}
if [ "$TARGET" = all ]; then
  [ "$BUILD_ONLY" = 1 ] || { echo "$0: --target all only with --build-only" >&2; usage; }
  TARGETS=("${ALL[@]}")
else
  TARGETS=("$TARGET")
fi

if [ -z "$BIN" ]; then
  # Through ccache where there is one: CI's runs after the first compile nothing new.
  CXX=${FUZZ_CXX:-$(command -v ccache >/dev/null && echo "ccache clang++" || echo clang++)}
  command -v "${CXX##* }" >/dev/null ||
    { echo "$0: needs $CXX and libclang-rt-14-dev (scripts/install-deps.sh build)" >&2; exit 1; }
  vars=()
  for t in "${TARGETS[@]}"; do
    if [ "$t" = pcap ] && [ ! -f "$BPFDIR/filter_test.skel.h" ]; then
      [ "$TARGET" = all ] && { echo "fuzz: no $BPFDIR/filter_test.skel.h: pcap not built" >&2; continue; }
      echo "$0: no $BPFDIR/filter_test.skel.h: build the project first (cmake --build build)" >&2
      exit 1
    fi
    config "$t"
    vars+=("SRCS_$t=${SRCS[*]}" "LIBS_$t=$LIBS")
    built+=("$t")
  done
  echo "fuzz: building ${built[*]}" >&2
  # Every source of every target, two compilers at once; only what changed.
  make -s -f fuzz/fuzz.mk -j"${FUZZ_JOBS:-2}" CXX="$CXX" OUT="$BUILD" OBJDIR="$BUILD/obj" \
    TARGETS="${built[*]}" INCS="-I$(realpath -m "$BPFDIR")" "${vars[@]}" >&2
  BIN=$BUILD/fuzz_$TARGET
fi
[ "$BUILD_ONLY" = 1 ] && exit 0
config "$TARGET"
if [ "$TARGET" = pcap ] && [ "$(id -u)" != 0 ]; then
  echo "$0: the pcap target loads BPF programs: needs root" >&2
  exit 111
fi

CORPUS=$(mktemp -d "${TMPDIR:-/tmp}/nscope-fuzz.XXXXXX")
trap 'rm -rf "$CORPUS"' EXIT
seeds() { for d in "$@"; do [ -d "$d" ] && cp "$d"/* "$CORPUS/" 2>/dev/null; done; true; }
case "$TARGET" in
  events)
    # Every recorded file whole, and each of its lines alone.
    n=0
    for f in tests/fixtures/events/*.json; do
      cp "$f" "$CORPUS/whole-$(basename "$f")"
      while IFS= read -r line; do
        n=$((n + 1))
        printf '%s\n' "$line" > "$CORPUS/line-$n"
      done < "$f"
    done
    seeds fuzz/corpus ;;
  meta) seeds fuzz/corpus-meta ;;
  rtnl) seeds tests/fixtures/netlink; rm -f "$CORPUS"/*.md ;;
  sockdiag) cp tests/fixtures/netlink/{tcp,unix}_host.bin "$CORPUS/"; seeds fuzz/corpus-sockdiag ;;
  nfnl) seeds fuzz/corpus-nfnl; rm -f "$CORPUS"/*.py ;;
  proc) seeds tests/fixtures/proc fuzz/corpus-proc ;;
  nsref) seeds fuzz/corpus-nsref ;;
  pcap)
    # Every expression of the list with four of the packets, in turn: "EXPR\nPACKET" (the
    # mutator's cross-overs pair them further; every pair would be 1,000 seeds and 10 s).
    n=0 pk=(fuzz/corpus-pcap/packets/*.bin)
    while IFS= read -r e; do
      case "$e" in ''|'#'*) continue ;; esac
      for i in 0 1 2 3; do
        p=${pk[$(((4 * n + i) % ${#pk[@]}))]}
        { printf '%s\n' "$e"; cat "$p"; } > "$CORPUS/e$n-$(basename "$p")"
      done
      n=$((n + 1))
    done < fuzz/corpus-pcap/expressions.txt ;;
esac

mkdir -p "$BUILD/artifacts"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/fuzz/ubsan.supp"
FLAGS=(-max_total_time="$SECS" -max_len="$MAXLEN" -rss_limit_mb=2048 -timeout=10
       -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$TARGET-")
[ -n "$DICT" ] && FLAGS+=(-dict="$DICT")
echo "fuzz: running $TARGET for ${SECS}s" >&2
"$BIN" "${FLAGS[@]}" "${EXTRA[@]}" "$CORPUS"
