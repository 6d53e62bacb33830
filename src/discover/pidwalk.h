// The processes in one network namespace, found as `ip netns pids` finds them: every
// /proc/PID/ns/net that reads "net:[INODE]". Used by `show` (its process list) and by
// `pids` (its pid list, when the reference opens without a scan).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/fd.h"

namespace nscope {

// readlink of ns/net formats "net:[INODE]" without opening the namespace: the cheapest
// question /proc answers about it. Threads that call help() share the walk.
class PidWalk {
 public:
  explicit PidWalk(uint64_t inode);

  // Lists /proc; then the walk is open to helpers. Kernel threads all live in the initial
  // network namespace: when looking for another one (skip_kthreads), kthreadd (pid 2) and
  // its children (one read of /proc/2/task/2/children) are left out, which is most of a
  // quiet host's pids. `self`: a pid left out (0: none), e.g. our own while the main thread
  // visits the namespace and /proc/self/ns/net would name it.
  void list(bool skip_kthreads, int self);
  // Checks pids until none are left; a helper that comes before list() does nothing.
  void help();
  size_t size() const { return pids_.size(); }
  // After every helper is done: the pids found, ascending.
  std::vector<int> pids() const;
  // After every helper is done: how many processes refused the read (EACCES: another
  // user's, without CAP_SYS_PTRACE).
  size_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  std::string want_;
  Fd proc_;
  std::vector<int> pids_;
  std::unique_ptr<std::atomic<bool>[]> hit_;
  std::atomic<bool> listed_{false};
  std::atomic<size_t> next_{0};
  std::atomic<size_t> refused_{0};
};

}  // namespace nscope
