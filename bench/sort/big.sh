#!/usr/bin/env bash
# bench/sort/big.sh — `nscope sort` and `nscope print` on event files of 1 GiB and of G GiB
# (issue 18: 10 GB files in bounded memory). Each file is written by gen_events.py (nscope's
# layout, ~610 bytes an event, skb-tracking ids, 16 packets in flight), read once by each
# command under GNU time: events, seconds, events/s, peak RSS. Bounded means the peak at
# G GiB stays that of 1 GiB.
#
#   big.sh NSCOPE_BIN [--gib G] [--dir DIR]      (G: 10; DIR: /var/tmp; files removed at exit)
#
# Exit status: 0 when every command exited 0 and sort's peak at G GiB is within 1.5x of its
# peak at 1 GiB, 1 otherwise, 2 on bad usage.
set -euo pipefail

usage() { echo "usage: $0 NSCOPE_BIN [--gib G] [--dir DIR]" >&2; exit 2; }
[ $# -ge 1 ] || usage
NSCOPE=$(readlink -f "$1"); shift
GIB=10 DIR=/var/tmp
while [ $# -gt 0 ]; do
  case "$1" in
    --gib) [[ ${2:-} =~ ^[0-9]+$ ]] || usage; GIB=$2; shift 2 ;;
    --dir) DIR=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[ -x "$NSCOPE" ] || usage
for t in python3 /usr/bin/time; do
  command -v $t >/dev/null || { echo "$0: needs $t (scripts/install-deps.sh bench)" >&2; exit 1; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
free_gib=$(df -P --block-size=1G "$DIR" | awk 'NR == 2 { print $4 }')
(( free_gib > GIB + 2 )) || { echo "$0: $DIR has $free_gib GiB free; $((GIB + 2)) needed (--dir)" >&2; exit 1; }
WORK=$(mktemp -d "$DIR/nscope-bigsort.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Bytes an event takes in gen_events.py's layout, from a sample.
python3 "$HERE/gen_events.py" "$WORK/sample.json" 20000
per_event=$(( $(stat -c %s "$WORK/sample.json") / 20000 ))

printf '%-6s %-6s %12s %10s %12s %12s %5s\n' size what events seconds events/s peak_MiB exit
declare -A peak
ok=yes
for g in 1 "$GIB"; do
  events=$(( g * 1024 * 1024 * 1024 / per_event ))
  file=$WORK/events-$g.json
  python3 "$HERE/gen_events.py" "$file" "$events"
  for what in sort print; do
    if [ $what = sort ]; then cmd=("$NSCOPE" sort "$file" -o /dev/null); else cmd=("$NSCOPE" print "$file"); fi
    rc=0
    /usr/bin/time -f '%e %M' -o "$WORK/time" "${cmd[@]}" >/dev/null 2>"$WORK/stderr" || rc=$?
    read -r secs kib < <(tail -1 "$WORK/time")
    peak[$g-$what]=$kib
    [ "$rc" -eq 0 ] || { ok=no; echo "$what of $g GiB exited $rc: $(tail -3 "$WORK/stderr")" >&2; }
    awk -v g="$g GiB" -v w="$what" -v e="$events" -v s="$secs" -v k="$kib" -v rc="$rc" \
      'BEGIN { printf "%-6s %-6s %12d %10.1f %12.0f %12.1f %5d\n", g, w, e, s, e / s, k / 1024, rc }'
  done
  rm -f "$file"
done
awk -v a="${peak[1-sort]}" -v b="${peak[$GIB-sort]}" -v c="${peak[1-print]}" -v d="${peak[$GIB-print]}" -v g="$GIB" 'BEGIN {
  printf "peak RSS at %d GiB / at 1 GiB: sort %.2fx, print %.2fx\n", g, b / a, d / c
  exit !(b <= a * 1.5) }' || ok=no
[ $ok = yes ]
