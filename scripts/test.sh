#!/usr/bin/env bash
# Fresh Debian 12, as root: install what the tests need, build, and run every test:
# unit tests (no root) and system tests (real namespaces, veth pairs, runc, BPF).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh test
./scripts/build.sh
build=${NSCOPE_BUILD_DIR:-build}
ctest --test-dir "$build" --output-on-failure --timeout 300 "$@"
