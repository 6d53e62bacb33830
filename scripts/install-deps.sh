#!/usr/bin/env bash
# Installs exactly what nscope needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone; `apt-get update` runs once.
set -euo pipefail

# serve: Boost.Beast (header-only) for its HTTP server; node and npm bundle its page from the
# npm registry at build time (web/package-lock.json).
build_pkgs=(cmake make g++ pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
            libcli11-dev libfmt-dev nlohmann-json3-dev libpcap-dev libdbus-1-dev graphviz
            libboost-dev)
test_pkgs=(nftables iputils-ping curl googletest libgtest-dev libgmock-dev iproute2 util-linux procps runc jq busybox-static
           tshark libclang-rt-14-dev
           qemu-system-x86 kmod cpio  # tests/kernels: Debian's own kernel in a VM
           chromium)                   # tests/browser: serve's page in headless Chromium
bench_pkgs=(hyperfine libbenchmark-dev time iperf3 bpftrace python3)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm: Debian's nodejs and npm, unless a node with its npm is already there (NodeSource's
# nodejs package carries npm and conflicts with Debian's).
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# tshark's wireshark-common would ask whether non-root users may capture: they may not.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
