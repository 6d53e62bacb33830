#!/usr/bin/env bash
# Fresh Debian 12, as root: install what nscope needs, build it, and list every network
# namespace on this host with whoever keeps each alive.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh build
./scripts/build.sh nscope  # the tool only: the tests build in scripts/test.sh
exec ./build/nscope list "$@"
