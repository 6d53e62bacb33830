#!/usr/bin/env bash
# bench/serve/memory.sh — serve's resident memory over a long 64-byte UDP flood streamed to
# one deliberately slow client.
#
#   memory.sh NSCOPE_BIN [--seconds S] [--rate BYTES_PER_S] [--out DIR]
#
#   1. Two namespaces joined by a veth pair (bench/lib/veth_flood.sh), `nscope serve
#      --allow-collect`, a collection started through the API (-c skb,ns,dev --netns A,B).
#   2. One slow client: curl reads /api/events at --rate bytes a second (default 64 KiB/s),
#      its stream kept in a file; the flood runs for --seconds (default 600).
#   3. serve's VmRSS from /proc/PID/status every second: the peak, the median, the last; the
#      client's last `dropped` count (its queue is bounded and drops the oldest, counted) and
#      what the collection counted.
#   4. summary.md in the results folder, also on stdout; rss.tsv (seconds, VmRSS KiB, and
#      its RssAnon, RssFile and RssShmem: the rings count as file pages).
# Needs: root, iperf3, jq, curl.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
# shellcheck source=../lib/scenario_bench.sh
. "$HERE/../lib/scenario_bench.sh"
# shellcheck source=../lib/veth_flood.sh
. "$HERE/../lib/veth_flood.sh"

usage() {
  echo "usage: $PROG NSCOPE_BIN [--seconds S] [--rate BYTES_PER_S] [--out DIR]" >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
case $1 in -h|--help|-*) usage ;; esac
NSCOPE=$1; shift
SECS=600 RATE=65536 OUT=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; SECS=$2; shift 2 ;;
    --rate)    [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; RATE=$2; shift 2 ;;
    --out)     [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    *) usage ;;
  esac
done
bench_require jq ip iperf3 curl
bench_out

PFX=nsm$$
SERVE_PID= CURL_PID= FLOOD_PID= SAMPLER_PID=
stop_pid() { if [[ -n $1 ]]; then kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi; }
bench_extra_cleanup() {
  stop_pid "$SAMPLER_PID"; stop_pid "$FLOOD_PID"; stop_pid "$CURL_PID"; stop_pid "$SERVE_PID"
  flood_cleanup
}
# No scenario of many namespaces here: scenario.sh down finds nothing with this prefix.
bench_traps

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

# The sampler first: serve's start counts too.
(
  t=0
  while kill -0 "$SERVE_PID" 2>/dev/null; do
    printf '%s\t%s\t%s\n' "$t" "$(awk '/^VmRSS/ {print $2}' "/proc/$SERVE_PID/status" 2>/dev/null)" \
      "$(awk '/^Rss(Anon|File|Shmem)/ {printf "%s%s ", $1, $2}' "/proc/$SERVE_PID/status" 2>/dev/null)"
    sleep 1
    t=$((t + 1))
  done
) > "$OUT/rss.tsv" &
SAMPLER_PID=$!

log "slow client at $RATE bytes/s; collection; flood for ${SECS}s ..."
curl -sS -N --limit-rate "$RATE" -H "Authorization: Token $TOKEN" "$BASE/api/events" > "$OUT/slow.sse" 2> "$OUT/slow.err" &
CURL_PID=$!
api -X POST -H 'Content-Type: application/json' \
  -d "{\"collectors\":\"skb,ns,dev\",\"netns\":\"$FLOOD_A,$FLOOD_B\"}" "$BASE/api/collect" > "$OUT/start.json"
for _ in $(seq 300); do
  [[ $(api "$BASE/api/collect" | jq -r .state) == running ]] && break
  sleep 0.1
done
ip netns exec "$FLOOD_A" iperf3 -c 10.214.0.2 -p 5299 -u -b 0 -l 64 -t "$SECS" --json > "$OUT/flood.json" &
FLOOD_PID=$!
wait "$FLOOD_PID" || true
FLOOD_PID=
api -X POST "$BASE/api/collect/stop" > "$OUT/stop.json"
sleep 3  # the slow client's last dropped count on its way
stop_pid "$CURL_PID"; CURL_PID=
HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVE_PID/status")
stop_pid "$SAMPLER_PID"; SAMPLER_PID=

PPS=$(jq -r '((.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds) | floor' "$OUT/flood.json")
PEAK=$(cut -f2 "$OUT/rss.tsv" | sort -n | tail -1)
MED=$(cut -f2 "$OUT/rss.tsv" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
LAST=$(tail -1 "$OUT/rss.tsv" | cut -f2)
DROPPED=$({ grep -A1 '^event: dropped' "$OUT/slow.sse" || true; } | sed -n 's/^data: //p' | tail -1 | jq -r .dropped)
RECEIVED=$(grep -c '^data: {"skb\|^data: {"common\|^data: {"kernel' "$OUT/slow.sse" || true)
{
  echo "# nscope serve memory, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
  echo
  echo "64-byte UDP flood for ${SECS}s ($PPS packets/s received), collection -c skb,ns,dev,"
  echo "one client reading the event stream at $RATE bytes/s"
  echo
  echo "| serve VmRSS, sampled each second | KiB | MiB |"
  echo "|---|---|---|"
  echo "| peak | $PEAK | $((PEAK / 1024)) |"
  echo "| median | $MED | $((MED / 1024)) |"
  echo "| last (collection stopped) | $LAST | $((LAST / 1024)) |"
  echo "| VmHWM at the end | $HWM | $((HWM / 1024)) |"
  echo
  echo "slow client: $RECEIVED packet lines received, last dropped count it was told: ${DROPPED:-none}"
  echo "collection: $(jq -c .last "$OUT/stop.json")"
} | tee "$OUT/summary.md"
