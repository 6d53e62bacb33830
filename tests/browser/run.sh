#!/usr/bin/env bash
# The browser tests of `nscope serve` (ctest: serve_browser): two test namespaces joined by a
# veth pair, `nscope serve --allow-collect` on a free loopback port, and serve_browser.mjs
# driving Debian's headless Chromium through puppeteer-core (installed by the build's `npm ci`
# from web/package-lock.json). Screenshots go to BUILD_DIR/test-artifacts/. Everything the
# test makes carries the prefix "nsb<pid>" and is removed on every exit.
#
#   run.sh NSCOPE_BIN BUILD_DIR
# Exit status: 0 passed, 1 failed, 77 skipped (no chromium on this machine).
set -euo pipefail
NSCOPE=$1 BUILD=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
  echo "SKIPPED: no Chromium at $CHROMIUM (./scripts/install-deps.sh test installs Debian's chromium)"
  exit 77
fi
[[ $(id -u) -eq 0 ]] || { echo "SKIPPED: needs root"; exit 77; }
MODULES=$BUILD/web/node_modules
[[ -d $MODULES/puppeteer-core ]] || { echo "no $MODULES/puppeteer-core: the build's npm ci did not run" >&2; exit 1; }

P=nsb$$
SERVE_PID=
cleanup() {
  local rc=$?
  [[ -n $SERVE_PID ]] && { kill -TERM "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; }
  ip netns del "$P-a" 2>/dev/null || true
  ip netns del "$P-b" 2>/dev/null || true
  rm -f "$OUTF"
  exit "$rc"
}
OUTF=$(mktemp /tmp/$P.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$P-a"
ip netns add "$P-b"
ip link add "${P}a" netns "$P-a" type veth peer name "${P}b" netns "$P-b"
ip -n "$P-a" addr add 10.216.0.1/24 dev "${P}a"
ip -n "$P-b" addr add 10.216.0.2/24 dev "${P}b"
for s in a b; do ip -n "$P-$s" link set "$P$s" up; ip -n "$P-$s" link set lo up; done
INO_A=$(stat -L -c %i "/run/netns/$P-a")
INO_B=$(stat -L -c %i "/run/netns/$P-b")

"$NSCOPE" serve --listen 127.0.0.1:0 --allow-collect >"$OUTF" 2>&1 &
SERVE_PID=$!
URL=
for _ in $(seq 100); do
  URL=$(sed -n 's/^nscope serve: open //p' "$OUTF")
  [[ -n $URL ]] && break
  sleep 0.1
done
[[ -n $URL ]] || { echo "serve did not start:" >&2; cat "$OUTF" >&2; exit 1; }

mkdir -p "$BUILD/test-artifacts"
rc=0
NODE_PATH=$MODULES node "$HERE/serve_browser.mjs" --url "$URL" --chromium "$CHROMIUM" \
  --artifacts "$BUILD/test-artifacts" --ns-a "$P-a" --ns-b "$P-b" --ino-a "$INO_A" --ino-b "$INO_B" \
  --veth-a "${P}a" --veth-b "${P}b" --ping-to 10.216.0.2 || rc=$?
if [[ $rc -ne 0 ]]; then echo "--- serve's output:"; cat "$OUTF"; fi
exit $rc
