#!/bin/dash
# PID 1 of the test VM after switch_root: the host's root (read-only, with a tmpfs overlay),
# this kernel's modules at /lib/modules, fresh /run and /tmp. Runs the script the host left in
# the results share (/.results/cmd), which writes its output and exit status there, and powers
# the VM off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
# The host's /proc, /sys and /dev show through 9p as plain files: mount the guest's own.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 run /run
# A fresh /tmp; the repository and its build may live under the host's (a CI clone can): the
# host said where in /.results/paths, and those come back at the same paths.
mkdir -p /.host-tmp
mount --bind /tmp /.host-tmp
mount -t tmpfs -o mode=1777 tmp /tmp
while read -r p; do
  case $p in
    /tmp/*) mkdir -p "$p" && mount --bind "/.host-tmp${p#/tmp}" "$p" ;;
  esac
done </.results/paths
# What udev would add: the /proc/self/fd links (a fresh devtmpfs has none, and a program
# opening /dev/stdout with O_CREAT would make a plain file there).
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
rel=$(uname -r)
mkdir -p "/lib/modules/$rel"
mount --bind "$nscope_modules" "/lib/modules/$rel"
echo /sbin/modprobe >/proc/sys/kernel/modprobe
# Device nodes appear with their module: load the ones tests open by path (/dev/net/tun).
modprobe -q tun
hostname nscope-vm
ip link set lo up
echo "guest: Linux $(uname -r), $(nproc) CPUs"
dash /.results/cmd
sync
echo o >/proc/sysrq-trigger
sleep 10
