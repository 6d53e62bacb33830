// The /proc walk: the same records the BPF iterators produce (nscope.h), read from procfs.
// Used when BPF is not available (not root, BPF refused, --no-bpf).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bpfload/nsiter.h"

namespace nscope {

struct ProcfsOptions {
  std::string proc = "/proc";
  bool threads = true;
  bool fds = true;      // nsfs fds, and sockets in another netns than their process
};

// Fills out.tasks and out.files. Processes that vanish or refuse are counted in `skipped`
// by kind and why ("processes' fds (permission denied)"); the walk itself never fails.
void procfs_walk(const ProcfsOptions& opts, KernelWalk& out,
                 std::map<std::string, uint64_t>& skipped);

// The namespace a socket lives in: pidfd_getfd + SIOCGSKNS. Needs ptrace rights over pid.
Result<uint64_t> socket_netns_inode(int pid, int fd);

}  // namespace nscope
