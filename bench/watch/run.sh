#!/usr/bin/env bash
# bench/watch/run.sh — `nscope watch` under the issue's churn, beside the iproute2 monitors.
#
#   run.sh NSCOPE_BIN CHURN_BIN [--count N] [--rate R] [--idle S] [--out DIR]
#
# CHURN_BIN is build/tests/nscope-churn. Steps (everything the run made is gone on exit):
#   1. `NSCOPE_BIN watch --json --no-snapshot`, `ip monitor all-nsid` and `ip netns monitor`
#      start; after S seconds of quiet, watch's CPU while idle is read from /proc/PID/stat.
#   2. The churn: N namespaces at R a second, every kind of holder, veth pairs made and
#      moved, a runc container; each action logged with its time.
#   3. From the log and watch's stream: every namespace made and ended exactly once (by
#      cookie), every veth and move; events a second; the share lost (`lost` events);
#      watch's CPU during the churn as a share of one core; latency from the action's log
#      time to its event (p50, p99) per kind; what the two monitors told of the same run.
#   4. summary.md in the results dir.
# Exit status: 0 when every namespace was told right, 1 otherwise, 2 on bad usage.
set -euo pipefail

usage() {
  echo "usage: ${0##*/} NSCOPE_BIN CHURN_BIN [--count N] [--rate R] [--idle S] [--out DIR]" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
NSCOPE=$1 CHURN=$2; shift 2
COUNT=1000 RATE=100 IDLE=10 OUT=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --count) COUNT=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --idle) IDLE=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "${0##*/}: needs root" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
PFX=nwb$$

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX" || true); do ip netns del "$n" || true; done
}
trap cleanup EXIT INT TERM

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# Each line is stamped with the time it reached the reader: latency is action -> delivery.
"$NSCOPE" watch --json --no-snapshot 2>"$OUT/watch.err" \
  > >(python3 -u -c 'import sys, time
for l in sys.stdin: sys.stdout.write(f"{time.time():.6f} {l}")' >"$OUT/watch.stamped") & wpid=$!; pids+=("$wpid")
ip monitor all-nsid >"$OUT/nsid.txt" 2>&1 & pids+=($!)
ip netns monitor >"$OUT/netns.txt" 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -q watching "$OUT/watch.err" && break; sleep 0.2; done
grep -q watching "$OUT/watch.err" || { cat "$OUT/watch.err" >&2; exit 1; }

t0=$(ticks "$wpid"); sleep "$IDLE"; t1=$(ticks "$wpid")
idle_ticks=$((t1 - t0))

c0=$(ticks "$wpid"); s0=$(date +%s.%N)
"$CHURN" --prefix "$PFX" --count "$COUNT" --rate "$RATE" --lifetime 300 --veth-every 5 --containers 1 \
  --log "$OUT/churn.log"
s1=$(date +%s.%N); c1=$(ticks "$wpid")
sleep 2  # the last deaths
kill "$wpid"; wait "$wpid" || true
sleep 0.5
cut -d' ' -f2- "$OUT/watch.stamped" >"$OUT/watch.json"

python3 - "$OUT" "$idle_ticks" "$IDLE" "$((c1 - c0))" "$s0" "$s1" "$HZ" "$COUNT" "$RATE" <<'PY'
import json, statistics, sys
out, idle_ticks, idle_s, churn_ticks, s0, s1, hz, count, rate = sys.argv[1:]
idle_ticks, idle_s, churn_ticks, hz = int(idle_ticks), float(idle_s), int(churn_ticks), int(hz)
s0, s1 = float(s0), float(s1)
ev = []
for l in open(f"{out}/watch.stamped"):
    if not l.strip(): continue
    at, doc = l.split(" ", 1)
    e = json.loads(doc)
    e["_at"] = float(at)
    ev.append(e)
log = [json.loads(l) for l in open(f"{out}/churn.log") if l.strip()]
t_ev = lambda e: e["_at"]  # when the reader got it
def day_s(ns):  # the log's realtime ns, in seconds like the stamps
    return ns / 1e9
made, told, first = {}, {}, {}
lat = {"created": [], "destroyed": [], "veth-created": [], "iface-moved": [], "container-started": []}
for a in log:
    if a["op"] in ("create", "destroy"):
        made.setdefault(a["cookie"], "")
        made[a["cookie"]] += a["op"][0]
for e in ev:
    if e["event"] in ("created", "destroyed") and e.get("cookie") in made:
        told[e["cookie"]] = told.get(e["cookie"], "") + e["event"][0]
        first.setdefault((e["cookie"], e["event"]), t_ev(e))
wrong = [c for c in made if made[c] != told.get(c)]
for a in log:
    if a["op"] == "create": lat["created"].append(first.get((a["cookie"], "created"), None) and first[(a["cookie"], "created")] - day_s(a["t"]))
    if a["op"] == "destroy": lat["destroyed"].append(first.get((a["cookie"], "destroyed"), None) and first[(a["cookie"], "destroyed")] - day_s(a["t"]))
bad_veth = bad_move = 0
for a in log:
    if a["op"] == "veth":
        f = [e for e in ev if e["event"] == "veth-created" and {e["ifname"], e["peer"]["ifname"]} == {a["a"], a["b"]}]
        bad_veth += not f
        if f: lat["veth-created"].append(t_ev(f[0]) - day_s(a["t"]))
    if a["op"] == "move":
        f = [e for e in ev if e["event"] == "iface-moved" and e["ifname"] == a["ifname"] and e["old_inode"] == a["from"] and e["inode"] == a["to"]]
        bad_move += len(f) != 1
        if f: lat["iface-moved"].append(t_ev(f[0]) - day_s(a["t"]))
    if a["op"] == "container-start":
        f = [e for e in ev if e["event"] == "container-started" and e["inode"] == a["inode"]]
        if f: lat["container-started"].append(t_ev(f[0]) - day_s(a["t"]))
lost = sum(e.get("count", 0) for e in ev if e["event"] == "lost")
nsid_made = sum("]nsid " in l for l in open(f"{out}/nsid.txt"))
nsid_ended = sum("]Deleted nsid " in l for l in open(f"{out}/nsid.txt"))
netns_made = sum(l.startswith("add ") for l in open(f"{out}/netns.txt"))
netns_ended = sum(l.startswith("delete ") for l in open(f"{out}/netns.txt"))
named = sum(1 for a in log if a["op"] == "create" and a["kind"] == "named")
wall = s1 - s0
in_churn = [e for e in ev if s0 <= t_ev(e) <= s1 + 2]
def pct(v, p):
    v = sorted(x for x in v if x is not None)
    return v[min(len(v) - 1, int(p * len(v)))] * 1000 if v else float("nan")
lines = [
    f"# nscope watch under churn: {count} namespaces at {rate}/s",
    "",
    f"- churn: {wall:.1f} s wall, {len(made)} namespaces made and ended, "
    f"{sum(a['op'] == 'veth' for a in log)} veth pairs, {sum(a['op'] == 'move' for a in log)} moves, "
    f"{sum(a['op'] == 'container-start' for a in log)} runc container",
    f"- told right: {len(made) - len(wrong)} of {len(made)} namespaces made and ended exactly once; "
    f"veth pairs missed {bad_veth}, moves wrong {bad_move}",
    f"- events: {len(ev)} in all, {len(in_churn) / wall:.0f} a second during the churn; lost by the kernel side: {lost}",
    "- latency: from the churn's log time (just after its action returned) to the line reaching a reader of watch's output",
    f"- watch's CPU: {100 * churn_ticks / hz / wall:.1f}% of one core during the churn; "
    f"{100 * idle_ticks / hz / idle_s:.2f}% idle ({idle_ticks} ticks in {idle_s:.0f} s)",
    "",
    "| event | n | p50 ms | p99 ms |",
    "|---|---|---|---|",
]
for k, v in lat.items():
    v2 = [x for x in v if x is not None]
    lines.append(f"| {k} | {len(v2)} | {pct(v2, 0.5):.1f} | {pct(v2, 0.99):.1f} |")
lines += [
    "",
    f"- ip monitor all-nsid over the same run: {nsid_made} namespaces got an nsid, {nsid_ended} ended "
    f"(of {len(made)} made and ended: it tells only namespaces with an nsid)",
    f"- ip netns monitor: {netns_made} add, {netns_ended} delete (of {named} named ones, {len(made)} in all)",
]
open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(1 if wrong or bad_veth or bad_move or lost else 0)
PY
