#!/usr/bin/env bash
# Runs a command (by default the system tests) under one of Debian's own kernels, booted in
# qemu. The kernel package is fetched with `apt-get download` and unpacked with `dpkg -x`:
# nothing is installed on the host and no bootloader or initramfs hook runs. The guest sees
# the host's root read-only over 9p with a tmpfs overlay, so it runs the binaries built here
# with the tools installed here, and writes nothing back but its results.
#
#   tests/kernels/run.sh 6.1|6.12 [--flavour cloud] [--build DIR] [--timeout SECONDS] [-- CMD...]
#
# Exit status: the command's. Its output is printed as it runs and kept in DIR/kernels/LOG.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

usage() { echo "usage: $0 VERSION [--flavour cloud] [--build DIR] [--timeout SECONDS] [-- CMD...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
series=$1; shift
flavour=amd64
build=${NSCOPE_BUILD_DIR:-build}
limit=1500
cmd=()
while [ $# -gt 0 ]; do
  case $1 in
    --flavour) flavour="${2:?}-amd64"; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --timeout) limit=${2:?}; shift 2 ;;
    --) shift; cmd=("$@"); break ;;
    *) usage ;;
  esac
done
build=$(cd "$build" && pwd)
# The whole system suite but its volume tests of file processing (hundreds of thousands of
# recorded packets sorted, a file through tshark), which read no kernel and take a minute of
# emulated CPU: the host's run has them.
if [ ${#cmd[@]} -eq 0 ]; then
  cmd=("$build/tests/system_tests" --gtest_color=no
       --gtest_filter='-SortPcapMore.TwoHundredThousand*:SortPcapMore.LargeSeries*:PrintSortPcap.PcapOfTheBridgeFileInTshark')
fi
for tool in qemu-system-x86_64 depmod cpio busybox apt-get dpkg; do
  command -v "$tool" >/dev/null || { echo "kernels: $tool is missing; run ./scripts/install-deps.sh test" >&2; exit 1; }
done

# The newest build of that series and flavour Debian has, e.g. linux-image-6.1.0-57-amd64-unsigned.
# Debian 12 names its kernels linux-image-6.1.0-57-amd64-unsigned (the release's own) and
# linux-image-6.12.107+deb12-amd64-unsigned (the newer one it also ships).
newest_package() {
  apt-cache search --names-only \
    "^linux-image-${series//./\\.}\\.[0-9]+(-[0-9]+|\\+deb[0-9]+)-${flavour}-unsigned\$" |
    awk '{print $1}' | sort -V | tail -n 1
}
# Two runs at once (tests/kernels/all.sh) share apt and the ovs download: one fetches, the other waits.
mkdir -p "$build/kernels"
exec 9>"$build/kernels/.download.lock"
flock 9
pkg=$(newest_package)
if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then  # package lists not fetched yet on this machine
  apt-get update -qq >/dev/null 2>&1 || true
  pkg=$(newest_package)
fi
if [ -z "$pkg" ]; then
  echo "kernels: Debian has no linux-image-$series.*-$flavour-unsigned package (apt-get update?)" >&2
  exit 1
fi
rel=${pkg#linux-image-}; rel=${rel%-unsigned}
cache=$build/kernels/$rel
if [ ! -f "$cache/ready" ]; then
  rm -rf "$cache"; mkdir -p "$cache/root"
  (cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
    { echo "kernels: apt-get download $pkg failed" >&2; exit 1; }
  dpkg -x "$cache"/*.deb "$cache/root"
  rm -f "$cache"/*.deb
  depmod -b "$cache/root" "$rel"
  touch "$cache/ready"
fi
modules=$cache/root/lib/modules/$rel

# Open vSwitch's userspace (ovsdb-server, ovs-vswitchd, ovs-vsctl) for the ovs collector's
# test: Debian's packages, unpacked like the kernel and never installed; the test finds them
# through NSCOPE_OVS_ROOT and skips without them. libxdp1 is the one library they need that
# the project's own dependencies do not bring.
ovs=$build/kernels/ovs-userspace
if [ ! -f "$ovs/ready" ]; then
  rm -rf "$ovs"; mkdir -p "$ovs/root"
  if (cd "$ovs" && apt-get download -q openvswitch-switch openvswitch-common libxdp1 >/dev/null 2>&1); then
    for deb in "$ovs"/*.deb; do dpkg -x "$deb" "$ovs/root"; done
    rm -f "$ovs"/*.deb
    touch "$ovs/ready"
  else
    echo "kernels: apt-get download openvswitch-switch failed: the ovs test will skip" >&2
  fi
fi
exec 9>&-

# The initramfs: busybox, the modules that reach the host's root, and the init script.
work=$(mktemp -d "${TMPDIR:-/tmp}/nscope-kernel.XXXXXX")
qemu_pid=
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/initramfs"/{bin,proc,sys,dev,modules} "$work/results"
cp "$(command -v busybox)" "$work/initramfs/bin/busybox"
cp tests/kernels/initramfs-init "$work/initramfs/init"
chmod +x "$work/initramfs/init"
: >"$work/initramfs/modules.list"
for m in virtio_pci 9pnet_virtio 9p overlay; do
  modprobe -d "$cache/root" -S "$rel" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$work/initramfs/modules/"
  basename "$ko" >>"$work/initramfs/modules.list"
done
(cd "$work/initramfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

# What the guest runs: in the repository, the command, its status written back.
{
  printf 'cd %q || exit 1\n' "$repo"
  [ -f "$ovs/ready" ] && printf 'export NSCOPE_OVS_ROOT=%q\n' "$ovs/root"
  printf '%q ' "${cmd[@]}"; printf '2>&1 | tee /.results/log; echo $? >/.results/rc\n'
} >"$work/results/cmd"
# dash has no pipefail and %q is bash's: let bash run the command line.
{
  printf '#!/bin/bash\nset -o pipefail\n'; cat "$work/results/cmd"
} >"$work/results/cmd.bash"
printf 'bash /.results/cmd.bash\n' >"$work/results/cmd"
printf '%s\n' "$repo" "$build" >"$work/results/paths"  # what the guest must see under /tmp

log_dir=$build/kernels/logs; mkdir -p "$log_dir"
console=$log_dir/$rel.console
: >"$console"
# One TCG thread for all vCPUs: with a thread per vCPU, a vCPU can run stale translated code
# across the kernel's text_poke_bp (a tracepoint's static key flipped as a BPF program attaches
# or detaches) and die on its int3 ("Oops: int3" in process_one_work, twice in CI on 6.12).
# Real CPUs serialize that patching; multi-threaded TCG does not always. NSCOPE_TCG_THREAD=multi
# puts it back, for speed where the race does not matter.
tcg_thread=${NSCOPE_TCG_THREAD:-single}
echo "kernels: booting $rel in qemu (software emulation, tcg thread=$tcg_thread), running: ${cmd[*]}"
timeout "$limit" qemu-system-x86_64 \
  -machine q35 -accel tcg,thread="$tcg_thread" -cpu max -smp "$(nproc)" -m 4G \
  -kernel "$cache/root/boot/vmlinuz-$rel" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 nscope_guest=$repo/tests/kernels/guest.sh nscope_modules=$modules nscope_9p_cache=${NSCOPE_9P_CACHE:-mmap}" \
  -fsdev local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -fsdev local,id=results,path="$work/results",security_model=none \
  -device virtio-9p-pci,fsdev=results,mount_tag=results \
  -nodefaults -display none -serial stdio -no-reboot \
  </dev/null >"$console" 2>&1 &
qemu_pid=$!
tail -n +1 --pid="$qemu_pid" -f "$console" 2>/dev/null &
tail_pid=$!
wait "$qemu_pid" && qemu_rc=0 || qemu_rc=$?
qemu_pid=
wait "$tail_pid" 2>/dev/null || true
cp "$work/results/log" "$log_dir/$rel.log" 2>/dev/null || true
if [ ! -s "$work/results/rc" ]; then
  echo "kernels: the VM ended without a result (qemu status $qemu_rc; console in $console)" >&2
  exit 1
fi
rc=$(cat "$work/results/rc")
echo "kernels: $rel: the command exited $rc (log in $log_dir/$rel.log)"
exit "$rc"
