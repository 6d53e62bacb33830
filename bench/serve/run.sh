#!/usr/bin/env bash
# bench/serve/run.sh — nscope serve in headless Chromium (Debian's), on a host with many
# network namespaces on one bridge.
#
#   run.sh NSCOPE_BIN [--netns N] [--runs K] [--seconds S] [--out DIR]
#
#   1. bench/list/scenario.sh up --netns N: N named netns, each with eth0 <-> a port of one
#      bridge on the host.
#   2. Layout: `nscope serve`, then K fresh page loads (browser.mjs layout): time from
#      navigation start to the wiring laid out by ELK; the median (target: under 2 s at 400).
#   3. Streaming: a 64-byte UDP flood (bench/lib/veth_flood.sh) between two more namespaces,
#      K runs, each run back to back:
#        (a) nscope collect -c skb,ns,dev --netns A,B -o FILE: events in FILE per second
#        (b) serve: the page starts the same collection; the events the collection traced
#            per second while it streamed to the page, the events the browser received per
#            second (the stream is paced: 256 KiB/s, and past serve's capture a sample),
#            what it was not sent (counted), and the page's own time: parsing the stream,
#            drawing
#        (c) serve to curl (no browser): the same, through the API
#      The median of each run's ratio to (a) (target for serve's traced rate while it streams
#      to the browser: at least 0.95).
#   4. summary.md in the results folder, also on stdout.
# Needs: root, node, chromium, iperf3, jq, and the build's web/node_modules (puppeteer-core).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
# shellcheck source=../lib/scenario_bench.sh
. "$HERE/../lib/scenario_bench.sh"
# shellcheck source=../lib/veth_flood.sh
. "$HERE/../lib/veth_flood.sh"

usage() {
  echo "usage: $PROG NSCOPE_BIN [--netns N] [--runs K] [--seconds S] [--out DIR]" >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
case $1 in -h|--help|-*) usage ;; esac
NSCOPE=$1; shift
N=400 RUNS=5 SECS=4 OUT=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --netns)   [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; N=$2; shift 2 ;;
    --runs)    [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; RUNS=$2; shift 2 ;;
    --seconds) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; SECS=$2; shift 2 ;;
    --out)     [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    *) usage ;;
  esac
done
bench_require jq ip iperf3 node bc curl
[[ -x /usr/bin/chromium ]] || die "no /usr/bin/chromium (scripts/install-deps.sh test)"
export NODE_PATH=$(dirname "$NSCOPE")/web/node_modules
[[ -d $NODE_PATH/puppeteer-core ]] || die "no $NODE_PATH/puppeteer-core: build nscope first (its npm ci)"
bench_out

PFX=nsv$$
SERVE_PID= CURL_PID=
bench_extra_cleanup() {
  if [[ -n $CURL_PID ]]; then kill -TERM "$CURL_PID" 2>/dev/null || true; wait "$CURL_PID" 2>/dev/null || true; fi
  if [[ -n $SERVE_PID ]]; then kill -TERM "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  flood_cleanup
}
bench_traps

log "scenario up: $N namespaces on one bridge (prefix $PFX) ..."
run_child "$SCENARIO" up --prefix "$PFX" --netns "$N" --procs 0 --idle 0 --hidden 0 > "$OUT/scenario.txt"
flood_setup "${PFX}f"

"$NSCOPE" serve --listen 127.0.0.1:0 --allow-collect > "$OUT/serve.out" 2> "$OUT/serve.err" &
SERVE_PID=$!
URL=
for _ in $(seq 100); do
  URL=$(sed -n 's/^nscope serve: open //p' "$OUT/serve.out")
  [[ -n $URL ]] && break
  sleep 0.1
done
[[ -n $URL ]] || die "serve did not start: $(cat "$OUT/serve.err")"
BASE=${URL%%/\?*}
TOKEN=${URL##*token=}
api() { curl -sS -H "Authorization: Token $TOKEN" "$@"; }

if [[ ${NO_LAYOUT:-} ]]; then
  echo '{"median_ms": null, "namespaces": null, "runs_ms": []}' > "$OUT/layout.json"
else
  log "layout: $RUNS page loads ..."
  SHOT=$OUT/layout.png node "$HERE/browser.mjs" layout --url "$URL" --runs "$RUNS" | tee "$OUT/layout.json" >&2
fi
LAYOUT_MED=$(jq -r .median_ms "$OUT/layout.json")
NODES=$(jq -r .namespaces "$OUT/layout.json")

FLOOD="$(declare -f flood); FLOOD_A=$FLOOD_A; flood $SECS"
RC=() RS=() PC=() PS=() RU=() PU=() DROPS=() JS=() TS=() TU=()
for i in $(seq "$RUNS"); do
  log "streaming run $i/$RUNS: collect -o FILE ..."
  settle "$OUT/events.json"
  collect_start "$OUT/collect.err" "$NSCOPE" collect -c skb,ns,dev --netns "$FLOOD_A,$FLOOD_B" -o "$OUT/events.json"
  PC+=("$(flood "$SECS")")
  kill -INT "$COLLECT_PID"; wait "$COLLECT_PID" || true
  EV=$(( $(wc -l < "$OUT/events.json") - 2 ))
  RC+=("$(( EV / SECS ))")
  log "streaming run $i/$RUNS: serve to the browser ..."
  node "$HERE/browser.mjs" stream --url "$URL" --netns "$FLOOD_A,$FLOOD_B" --during "$FLOOD" > "$OUT/stream.json"
  cat "$OUT/stream.json" >&2
  PS+=("$(jq -r .during "$OUT/stream.json")")
  RS+=("$(( $(jq -r .received "$OUT/stream.json") / SECS ))")
  TS+=("$(( $(jq -r .collected "$OUT/stream.json") / SECS ))")
  DROPS+=("$(jq -r '"\(.dropped) not sent to the page (counted), \(.lost) lost in the kernel, \(.collected) traced by the session"' "$OUT/stream.json")")
  JS+=("$(jq -r '"\(.js_parse_ms) ms parsing \(.bytes) bytes, \(.js_draw_ms) ms drawing"' "$OUT/stream.json")")
  log "streaming run $i/$RUNS: serve to curl ..."
  curl -sS -N -H "Authorization: Token $TOKEN" "$BASE/api/events" > "$OUT/curl.sse" &
  CURL_PID=$!
  api -X POST -H 'Content-Type: application/json' -d "{\"collectors\":\"skb,ns,dev\",\"netns\":\"$FLOOD_A,$FLOOD_B\"}" "$BASE/api/collect" > /dev/null
  for _ in $(seq 300); do [[ $(api "$BASE/api/collect" | jq -r .state) == running ]] && break; sleep 0.1; done
  PU+=("$(flood "$SECS")")
  api -X POST "$BASE/api/collect/stop" > "$OUT/curl-stop.json"
  sleep 1.5
  kill -TERM "$CURL_PID"; wait "$CURL_PID" || true; CURL_PID=
  RU+=("$(( $(grep -c '^data: {"common"' "$OUT/curl.sse" || true) / SECS ))")
  TU+=("$(( $(jq -r .last.events "$OUT/curl-stop.json") / SECS ))")
  DROPS[-1]+="; curl: not sent $({ grep -A1 '^event: dropped' "$OUT/curl.sse" || true; } | sed -n 's/^data: //p' | tail -1 | jq -r '.dropped // 0'), $(jq -r .last.lost "$OUT/curl-stop.json") lost in the kernel"
done
RSS=$(awk '/VmHWM/ {print $2, $3}' "/proc/$SERVE_PID/status")

{
  echo "# nscope serve, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
  echo
  echo "| layout: $NODES namespaces ($N on one bridge), $RUNS page loads | median ms | runs ms |"
  echo "|---|---|---|"
  echo "| navigation start to layout done | $LAYOUT_MED | $(jq -r '.runs_ms | join(", ")' "$OUT/layout.json") |"
  echo
  echo "| 64-byte UDP flood, $RUNS runs x ${SECS}s | median events/s traced | median events/s received | median flood pps |"
  echo "|---|---|---|---|"
  echo "| collect -o FILE | $(median "${RC[@]}") | (the file) | $(median "${PC[@]}") |"
  echo "| serve, streaming to one browser | $(median "${TS[@]}") | $(median "${RS[@]}") | $(median "${PS[@]}") |"
  echo "| serve, streaming to curl | $(median "${TU[@]}") | $(median "${RU[@]}") | $(median "${PU[@]}") |"
  echo
  echo "serve's traced rate while streaming to the browser / collect (median of each run's ratio; target ≥ 0.95): $(paired_ratio TS RC) (runs: $(run_ratios TS RC))"
  echo "serve's traced rate while streaming to curl / collect: $(paired_ratio TU RC) (runs: $(run_ratios TU RC))"
  echo "events the browser received / collect: $(paired_ratio RS RC); curl: $(paired_ratio RU RC) (the stream's pace: 256 KiB/s)"
  echo
  echo "the page's own time, per run: $(printf '%s; ' "${JS[@]}")"
  echo
  echo "losses, per serve run: $(printf '%s; ' "${DROPS[@]}")"
  echo "serve's peak resident memory: $RSS"
} | tee "$OUT/summary.md"
