#!/usr/bin/env bash
# Configures and builds nscope into ./build (or $NSCOPE_BUILD_DIR): every target, or only
# those named (./scripts/build.sh nscope builds the tool without its tests and benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NSCOPE_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
