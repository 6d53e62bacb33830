#!/usr/bin/env bash
# shellcheck disable=SC2317  # helpers are also called indirectly, via wait_until
# bench/list/scenario.sh — build (and tear down) a host with many namespaces and
# many processes, so `nscope list` can be benchmarked and checked for
# completeness against `lsns`.
#
#   scenario.sh up   [--netns N] [--procs M] [--idle P] [--hidden H] [--prefix PFX]
#   scenario.sh down [--prefix PFX]
#
# `up` creates, every resource named with the prefix PFX (default nsb<pid>):
#   named     N netns `ip netns add PFX-nI`, each with a veth pair: host end PFXvI
#             (up, enslaved to bridge PFXbr in the host netns; past 1,000 ports, the
#             next thousand to PFXbr1, and so on), peer eth0 (up) inside.
#   proc      M processes `unshare --net sleep infinity` (netns held by a process).
#   idle      P sleeping processes in total: the M above plus P-M plain
#             `sleep infinity` in the host netns.
#   H netns of each "hidden" kind, which `lsns` (process-based) does not report:
#   bindmount netns held only by a bind mount outside /run/netns
#             (/tmp/PFX-mnt/netJ, made with `unshare --net=FILE true`).
#   privmnt   netns held only by a bind mount that exists only inside a private
#             mount namespace; that namespace's one process (in the host netns)
#             sleeps. Its mount is on a tmpfs over /tmp/PFX-priv, invisible on the host.
#   fd        netns held only by an open fd (fd 9 of a sleeper in the host netns,
#             opened on /proc/X/ns/net of a temporary process that then exited).
#   socket    netns held only by a socket (python3: unshare, socket(), setns back).
#   thread    netns held only by a non-leader thread (python3: a thread unshares;
#             the thread group leader stays in the host netns).
#   (socket and thread need python3; without it they are skipped with a warning.)
#
# State lives in /tmp/nscope-bench/PFX/ (pids with start times, netns names,
# links, mounts, dirs); /tmp/nscope-bench/last holds the prefix of the latest
# `up`. `down` removes exactly what that state lists (checking each pid's start
# time, so a reused pid is never killed), is idempotent, and verifies nothing is
# left. A failed or interrupted `up` runs `down` itself.
#
# Outputs of `up` (in the state dir):
#   expected_netns_inodes   one net namespace inode per line (all kinds)
#   expected_netns          "KIND<TAB>INODE<TAB>WHERE" per line
#   summary                 the one-line summary printed on stdout
set -euo pipefail

STATE_ROOT=/tmp/nscope-bench
PROG=${0##*/}

usage() {
  cat >&2 <<EOF
usage: $PROG up   [--netns N] [--procs M] [--idle P] [--hidden H] [--prefix PFX]
       $PROG down [--prefix PFX]

  --netns N    named netns (ip netns add) with a veth into bridge PFXbr   [300]
  --procs M    netns held only by an 'unshare --net sleep infinity' process [100]
  --idle P     sleeping processes in total, including the M above        [2000]
  --hidden H   netns of each hidden kind (bindmount privmnt fd socket thread) [1]
  --prefix PFX name prefix, [a-z][a-z0-9]*, short enough that PFXv<N-1> fits in
               15 chars [up: nsb<pid>; down: the prefix of the last 'up']
State: $STATE_ROOT/PFX/  (expected_netns_inodes, expected_netns, summary, ...)
EOF
  exit 2
}

log()  { printf '%s: %s\n' "$PROG" "$*" >&2; }
die()  { log "error: $*"; exit 1; }
now()  { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# wait_until SECONDS CMD...: poll CMD every 20 ms until it succeeds; 1 on timeout.
wait_until() {
  local deadline=$(( EPOCHSECONDS + $1 )); shift
  until "$@"; do
    (( EPOCHSECONDS < deadline )) || return 1
    sleep 0.02
  done
}

# proc_stat PID: read /proc/PID/stat without forking; sets PSTATE (R, S, Z, ...)
# and PSTART (field 22, start time in clock ticks since boot). The pair
# (pid, start time) names a process for good, so `down` never kills a reused pid.
PSTATE='' PSTART=''
proc_stat() {
  local st rest fields
  PSTATE='' PSTART=''
  { read -r st < "/proc/$1/stat"; } 2>/dev/null || return 1
  rest=${st##*) }             # drop "pid (comm) ": comm may hold spaces or ')'
  read -ra fields <<< "$rest" # fields[0] is field 3
  PSTATE=${fields[0]} PSTART=${fields[19]}
}

# same PID START: that process still exists (possibly as a zombie).
same()  { proc_stat "$1" && [[ $PSTART == "$2" ]]; }
# alive PID START: that process still exists and is not a zombie.
alive() { same "$1" "$2" && [[ $PSTATE != Z ]]; }

netns_ino() { stat -L -c %i "$1"; }

# ---------------------------------------------------------------- arguments
[[ $# -ge 1 ]] || usage
CMD=$1; shift
case $CMD in up|down) ;; -h|--help) usage ;; *) log "unknown command '$CMD'"; usage ;; esac

N=300 M=100 P=2000 H=1 PFX=
# num OPT VALUE...: print VALUE if it is a non-negative integer, else usage.
num() { if [[ $# -ge 2 && $2 =~ ^[0-9]{1,6}$ ]]; then echo $((10#$2)); else log "$1 needs a number"; usage; fi; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --netns)  N=$(num "$@"); shift 2 ;;
    --procs)  M=$(num "$@"); shift 2 ;;
    --idle)   P=$(num "$@"); shift 2 ;;
    --hidden) H=$(num "$@"); shift 2 ;;
    --prefix) [[ $# -ge 2 ]] || usage; PFX=$2; shift 2 ;;
    -h|--help) usage ;;
    *) log "unknown option '$1'"; usage ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "must run as root"

# ===================================================================== down
# do_down PFX: undo everything listed in $STATE_ROOT/PFX. Safe to repeat.
do_down() {
  local pfx=$1 st=$STATE_ROOT/$1 t0 pid start kind name m left=0
  t0=$(now)
  if [[ ! -d $st ]]; then
    log "down: no state for prefix '$pfx' ($st): nothing to do"
    return 0
  fi

  # 1. Processes: SIGKILL each recorded pid whose start time still matches.
  #    Killing the privmnt holders also drops their mount namespaces and the
  #    netns their mounts pinned; the fd/socket/thread holders likewise.
  local -a pids=() starts=()
  if [[ -f $st/pids ]]; then
    while read -r pid start kind; do
      if alive "$pid" "$start"; then pids+=("$pid"); starts+=("$start"); fi
    done < "$st/pids"
  fi
  if (( ${#pids[@]} )); then kill -KILL "${pids[@]}" 2>/dev/null || true; fi

  # 2. Named netns: delete those we recorded that still exist. Their eth0
  #    peers die with them (asynchronously), taking the host veth ends along.
  if [[ -f $st/netns ]]; then
    while read -r name; do
      [[ -e /run/netns/$name ]] && printf 'netns del %s\n' "$name"
    done < "$st/netns" | ip -force -batch - 2>/dev/null || true
  fi

  # 3. Mounts we made on the host (bind mounts of netns files, then the
  #    private self-bind of their directory), innermost first.
  if [[ -f $st/mounts ]]; then
    tac "$st/mounts" | while read -r m; do
      if mountpoint -q "$m" 2>/dev/null; then umount "$m" 2>/dev/null || umount -l "$m" || true; fi
    done
  fi

  # 4. Links: wait (bounded) for the kernel's async netns cleanup to drop the
  #    host veth ends, delete any that remain, then the bridge.
  link_exists() { [[ -e /sys/class/net/$1 ]]; }
  veths_gone() {
    local l
    [[ -f $st/links ]] || return 0
    while read -r l; do [[ $l =~ ^${pfx}br[0-9]*$ ]] && continue; link_exists "$l" && return 1; done < "$st/links"
    return 0
  }
  wait_until 20 veths_gone || true
  if [[ -f $st/links ]]; then
    { grep -vxE "${pfx}br[0-9]*" "$st/links" || true; grep -xE "${pfx}br[0-9]*" "$st/links" || true; } |
      while read -r name; do link_exists "$name" && printf 'link del %s\n' "$name"; done |
      ip -force -batch - 2>/dev/null || true
  fi

  # 5. Files and directories we created (never recursive: only listed paths,
  #    and only when nothing is mounted there any more).
  if [[ -f $st/files ]]; then
    while read -r m; do mountpoint -q "$m" 2>/dev/null || rm -f -- "$m"; done < "$st/files"
  fi
  if [[ -f $st/dirs ]]; then
    tac "$st/dirs" | while read -r m; do
      if [[ -d $m ]] && ! mountpoint -q "$m"; then rmdir -- "$m" 2>/dev/null || true; fi
    done
  fi

  # 6. Wait (bounded) for the killed processes to go away. They are orphans
  #    reaped by pid 1, so a zombie may linger briefly; zombies hold nothing.
  procs_gone() {
    local i
    for i in "${!pids[@]}"; do alive "${pids[$i]}" "${starts[$i]}" && return 1; done
    return 0
  }
  wait_until 20 procs_gone || true
  # Then give pid 1 a moment to reap them, so none shows up even as a zombie.
  procs_reaped() {
    local i
    for i in "${!pids[@]}"; do
      same "${pids[$i]}" "${starts[$i]}" && return 1
    done
    return 0
  }
  wait_until 10 procs_reaped || true

  # 7. Verify that nothing we made is left.
  local n_proc=0 n_zomb=0 n_ns=0 n_link=0 n_mnt=0 n_dir=0 i
  for i in "${!pids[@]}"; do
    if alive "${pids[$i]}" "${starts[$i]}"; then n_proc=$((n_proc + 1))
    elif same "${pids[$i]}" "${starts[$i]}"; then n_zomb=$((n_zomb + 1)); fi
  done
  if [[ -f $st/netns ]]; then
    while read -r name; do if [[ -e /run/netns/$name ]]; then n_ns=$((n_ns + 1)); fi; done < "$st/netns"
  fi
  if [[ -f $st/links ]]; then
    while read -r name; do if link_exists "$name"; then n_link=$((n_link + 1)); fi; done < "$st/links"
  fi
  n_mnt=$(findmnt -rn -o TARGET | grep -c "^/tmp/${pfx}-" || true)
  if [[ -f $st/dirs ]]; then
    while read -r m; do if [[ -e $m ]]; then n_dir=$((n_dir + 1)); fi; done < "$st/dirs"
  fi
  left=$((n_proc + n_ns + n_link + n_mnt + n_dir))
  if (( left )); then
    log "down: prefix=$pfx LEFT OVER: processes=$n_proc netns=$n_ns links=$n_link mounts=$n_mnt dirs=$n_dir; state kept in $st"
    return 1
  fi
  (( n_zomb == 0 )) || log "down: note: $n_zomb killed processes are still zombies awaiting pid 1"
  rm -rf -- "$st"
  if [[ -f $STATE_ROOT/last && "$(cat "$STATE_ROOT/last")" == "$pfx" ]]; then rm -f "$STATE_ROOT/last"; fi
  rmdir "$STATE_ROOT" 2>/dev/null || true
  echo "nscope-bench down: prefix=$pfx removed processes=${#pids[@]} (all gone), netns, links, mounts, dirs; took $(elapsed "$t0")s"
}

if [[ $CMD == down ]]; then
  if [[ -z $PFX ]]; then
    if [[ -f $STATE_ROOT/last ]]; then PFX=$(cat "$STATE_ROOT/last")
    else log "down: no $STATE_ROOT/last and no --prefix: nothing to do"; exit 0; fi
  fi
  [[ $PFX =~ ^[a-z][a-z0-9]*$ ]] || { log "bad prefix '$PFX'"; usage; }
  # errexit is off inside do_down here: cleanup goes on past any one failure,
  # and its final check decides the exit status.
  if do_down "$PFX"; then exit 0; else exit 1; fi
fi

# ======================================================================= up
: "${PFX:=nsb$$}"
[[ $PFX =~ ^[a-z][a-z0-9]*$ ]] || { log "bad prefix '$PFX': want [a-z][a-z0-9]*"; usage; }
LASTV=${PFX}v$(( N > 0 ? N - 1 : 0 ))   # the longest interface name we make
(( ${#LASTV} <= 15 && ${#PFX} <= 13 )) || { log "prefix '$PFX' too long: interface $LASTV would exceed 15 chars"; usage; }
(( M <= P )) || { log "--procs ($M) must be <= --idle ($P)"; usage; }
for c in ip unshare stat findmnt mountpoint xargs tac; do command -v "$c" >/dev/null || die "missing command: $c"; done
PY=
for c in /usr/bin/python3 python3; do if command -v "$c" >/dev/null; then PY=$(command -v "$c"); break; fi; done

ST=$STATE_ROOT/$PFX
MNTDIR=/tmp/$PFX-mnt     # bindmount kind: private self-bind holding netns files
PRIVDIR=/tmp/$PFX-priv   # privmnt kind: mount point used only inside private mount namespaces
BR=${PFX}br

# Refuse to start over anything that already exists under our names.
[[ ! -e $ST ]] || die "state $ST exists: run '$PROG down --prefix $PFX' first"
compgen -G "/run/netns/$PFX-*" >/dev/null && die "netns named $PFX-* already exist"
compgen -G "/sys/class/net/$PFX*" >/dev/null && die "links named $PFX* already exist"
compgen -G "/tmp/$PFX-*" >/dev/null && die "paths /tmp/$PFX-* already exist"

T0=$(now)
mkdir -p "$STATE_ROOT"
mkdir "$ST"
echo "$PFX" > "$ST/prefix"
echo "$PFX" > "$STATE_ROOT/last"
echo "netns=$N procs=$M idle=$P hidden=$H" > "$ST/params"
: > "$ST/pids"; : > "$ST/netns"; : > "$ST/links"; : > "$ST/mounts"; : > "$ST/files"; : > "$ST/dirs"
: > "$ST/expected_netns"

# Any failure or interrupt before the end of `up` undoes what was made.
UP_DONE=0
on_up_exit() {
  local rc=$?
  if (( ! UP_DONE )); then
    trap - EXIT INT TERM
    log "up failed (rc=$rc): cleaning up prefix $PFX"
    do_down "$PFX" >&2 || true
    exit $(( rc ? rc : 1 ))
  fi
}
trap on_up_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# spawn KIND CMD...: start CMD in the background, fully detached from our
# stdio (so `$(scenario.sh up)` or a pipe never waits on it), and record
# "pid starttime kind" at once. Sets SPAWNED to the pid.
SPAWNED=
spawn() {
  local kind=$1; shift
  "$@" </dev/null >/dev/null 2>&1 &
  SPAWNED=$!
  disown "$SPAWNED"           # keeps bash's job table small: spawning stays O(1)
  proc_stat "$SPAWNED" || true
  echo "$SPAWNED ${PSTART:-?} $kind" >> "$ST/pids"
}

# record KIND INODE WHERE
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$ST/expected_netns"; }

HOST_INO=$(netns_ino /proc/self/ns/net)

# ------------------------------------------------ 1. named netns + veth + bridge
# One `ip -batch` creates all netns, the bridge and every veth pair (the peer
# created directly inside its netns as eth0: moving links between netns costs
# ~25 ms each, creating them in place does not). The peer cannot be set up in
# the same request, so `ip -n NS link set eth0 up` runs per netns, 4 at a time.
t=$(now)
for ((i = 0; i < N; i++)); do echo "$PFX-n$i"; done > "$ST/netns"
if (( N > 0 )); then
  # A bridge takes at most 1,024 ports (BR_MAX_PORTS): 1,000 veths per bridge, PFXbr, PFXbr1, ...
  bridge_of() { local k=$(( $1 / 1000 )); (( k )) && echo "$BR$k" || echo "$BR"; }
  bridges=$(( (N + 999) / 1000 ))
  { for ((k = 0; k < bridges; k++)); do bridge_of $((k * 1000)); done
    for ((i = 0; i < N; i++)); do echo "${PFX}v$i"; done; } > "$ST/links"
  {
    for ((i = 0; i < N; i++)); do echo "netns add $PFX-n$i"; done
    for ((k = 0; k < bridges; k++)); do
      echo "link add $(bridge_of $((k * 1000))) type bridge"
      echo "link set $(bridge_of $((k * 1000))) up"
    done
    for ((i = 0; i < N; i++)); do
      k=$(( i / 1000 )); br=$BR; (( k )) && br=$BR$k
      echo "link add ${PFX}v$i up master $br type veth peer name eth0 netns $PFX-n$i"
    done
  } > "$ST/up.batch"
  ip -batch "$ST/up.batch"
  xargs -P 4 -I{} ip -n {} link set eth0 up < "$ST/netns"
  i=0
  while read -r ino; do
    record named "$ino" "/run/netns/$PFX-n$i"; i=$((i + 1))
  done < <(for ((j = 0; j < N; j++)); do echo "/run/netns/$PFX-n$j"; done | xargs stat -L -c %i)
fi
T_NAMED=$(elapsed "$t")

# ----------------------------------------------- 2. processes: proc + idle
t=$(now)
PROC_PIDS=()
for ((i = 0; i < M; i++)); do
  spawn proc unshare --net sleep infinity
  PROC_PIDS+=("$SPAWNED")
done
for ((i = M; i < P; i++)); do
  spawn idle sleep infinity
done
# Wait until every proc sleeper has left the host netns, then take inodes.
procs_unshared() {
  local inos
  inos=$(printf '/proc/%s/ns/net\n' "${PROC_PIDS[@]}" | xargs stat -L -c %i) || return 1
  ! grep -qx "$HOST_INO" <<< "$inos"
}
if (( M > 0 )); then
  wait_until 30 procs_unshared || die "the unshare --net sleepers did not all start"
  for p in "${PROC_PIDS[@]}"; do echo "/proc/$p/ns/net"; done | xargs stat -L -c '%i %n' |
    while read -r ino path; do record proc "$ino" "$path"; done
fi
T_PROCS=$(elapsed "$t")

# ------------------------------------------------------------ 3. hidden kinds
t=$(now)
is_sleep() { [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == sleep ]]; }

if (( H > 0 )); then
  # bindmount: /tmp/PFX-mnt is bind-mounted on itself and made private, since
  # a netns can only be bind-mounted where the parent mount is not shared.
  mkdir "$MNTDIR"; echo "$MNTDIR" >> "$ST/dirs"
  mount --bind "$MNTDIR" "$MNTDIR"; echo "$MNTDIR" >> "$ST/mounts"
  mount --make-private "$MNTDIR"
  for ((j = 0; j < H; j++)); do
    f=$MNTDIR/net$j
    : > "$f"; echo "$f" >> "$ST/files"
    echo "$f" >> "$ST/mounts"
    unshare --net="$f" true
    record bindmount "$(netns_ino "$f")" "$f"
  done

  # privmnt: each holder unshares a mount namespace, mounts a tmpfs on
  # /tmp/PFX-priv (seen only inside), bind-mounts a fresh netns on a file there,
  # and becomes `sleep`. The inode is read through /proc/PID/root, which walks
  # the holder's own mount tree.
  mkdir "$PRIVDIR"; echo "$PRIVDIR" >> "$ST/dirs"
  for ((j = 0; j < H; j++)); do
    spawn privmnt unshare --mount --propagation private sh -ec \
      "mount -t tmpfs -o size=64k,mode=0700 $PFX-priv $PRIVDIR; : > $PRIVDIR/net; unshare --net=$PRIVDIR/net true; exec sleep infinity"
    pid=$SPAWNED
    wait_until 10 is_sleep "$pid" || die "privmnt holder $pid did not start"
    record privmnt "$(netns_ino "/proc/$pid/root$PRIVDIR/net")" "pid $pid mntns:$PRIVDIR/net"
  done

  # fd: a bash in the host netns starts a temporary `unshare --net sleep`, opens
  # its /proc/X/ns/net on fd 9, kills it and becomes `sleep` (fd 9 inherited).
  for ((j = 0; j < H; j++)); do
    # shellcheck disable=SC2016  # the script is for the inner bash
    spawn fd bash -c '
      unshare --net sleep infinity </dev/null >/dev/null 2>&1 & t=$!
      host=$(readlink /proc/$$/ns/net)
      for i in $(seq 1000); do
        n=$(readlink /proc/$t/ns/net 2>/dev/null || true)
        [[ -n $n && $n != "$host" ]] && break
        sleep 0.01
      done
      [[ -n $n && $n != "$host" ]] || exit 1
      exec 9</proc/$t/ns/net
      kill -KILL $t; wait $t 2>/dev/null || true
      exec sleep infinity'
    pid=$SPAWNED
    wait_until 10 is_sleep "$pid" || die "fd holder $pid did not start"
    [[ "$(readlink "/proc/$pid/fd/9")" == net:* ]] || die "fd holder $pid has no netns fd"
    record fd "$(netns_ino "/proc/$pid/fd/9")" "pid $pid fd 9"
  done

  # socket and thread: python3 with ctypes (Debian 12 has 3.11, no os.setns).
  if [[ -n $PY ]]; then
    cat > "$ST/holder.py" <<'EOF'
# holder.py MODE OUT: pin a fresh netns by a socket or by a thread; write its inode to OUT.
import ctypes, os, signal, socket, sys, threading
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
def check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")
def publish(ino):
    with open(OUT + ".tmp", "w") as f:
        f.write(f"{ino}\n")
    os.rename(OUT + ".tmp", OUT)
MODE, OUT = sys.argv[1], sys.argv[2]
host_ino = os.stat("/proc/self/ns/net").st_ino
if MODE == "socket":
    # unshare into a new netns, open a socket there, setns back: only the socket holds it.
    host = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    check(libc.unshare(CLONE_NEWNET), "unshare")
    ino = os.stat("/proc/self/ns/net").st_ino
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    check(libc.setns(host, CLONE_NEWNET), "setns")
    os.close(host)
    assert os.stat("/proc/self/ns/net").st_ino == host_ino
    publish(ino)
elif MODE == "thread":
    # a second thread unshares its own netns; the leader stays in the host netns.
    box, ready = {}, threading.Event()
    def body():
        try:
            check(libc.unshare(CLONE_NEWNET), "unshare")
            box["ino"] = os.stat("/proc/thread-self/ns/net").st_ino
        except BaseException as e:
            box["err"] = e
        ready.set()
        threading.Event().wait()
    threading.Thread(target=body, daemon=True, name="netns-holder").start()
    ready.wait()
    if "err" in box:
        raise box["err"]
    assert os.stat("/proc/self/ns/net").st_ino == host_ino
    publish(box["ino"])
else:
    sys.exit(f"bad mode {MODE}")
while True:
    signal.pause()
EOF
    for kind in socket thread; do
      for ((j = 0; j < H; j++)); do
        out=$ST/$kind-$j.ino
        spawn "$kind" "$PY" "$ST/holder.py" "$kind" "$out"
        pid=$SPAWNED
        wait_until 10 test -s "$out" || die "$kind holder $pid did not start (see: $PY $ST/holder.py $kind /dev/stdout)"
        record "$kind" "$(cat "$out")" "pid $pid"
      done
    done
  else
    log "warning: no python3: socket and thread kinds skipped"
  fi
fi
T_HIDDEN=$(elapsed "$t")

# -------------------------------------------------------------- 4. check, report
cut -f2 "$ST/expected_netns" > "$ST/expected_netns_inodes"
total=$(wc -l < "$ST/expected_netns_inodes")
uniq_n=$(sort -u "$ST/expected_netns_inodes" | wc -l)
(( uniq_n == total )) || die "expected netns inodes are not unique ($uniq_n of $total)"
! grep -qx "$HOST_INO" "$ST/expected_netns_inodes" || die "a scenario netns is the host netns"
# every recorded process must still be running
while read -r pid start kind; do alive "$pid" "$start" || die "$kind process $pid died"; done < "$ST/pids"
nprocs=$(wc -l < "$ST/pids")

kinds=""
for k in named proc bindmount privmnt fd socket thread; do
  c=$(awk -F'\t' -v k="$k" '$1 == k' "$ST/expected_netns" | wc -l)
  if [[ $k == named || $k == proc ]]; then kinds+=" $k=$c"
  else kinds+=" $k=${c}[$(awk -F'\t' -v k="$k" '$1 == k { printf "%s%s", s, $2; s = "," }' "$ST/expected_netns")]"; fi
done
UP_DONE=1
trap - EXIT INT TERM
summary="nscope-bench up: prefix=$PFX netns:$kinds total=$total; processes=$nprocs (idle=$P incl. proc=$M, holders=$((nprocs - P))); host_netns=$HOST_INO; state=$ST; took $(elapsed "$T0")s (named ${T_NAMED}s, procs ${T_PROCS}s, hidden ${T_HIDDEN}s)"
echo "$summary" > "$ST/summary"
echo "$summary"
