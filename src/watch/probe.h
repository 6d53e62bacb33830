// The kernel side of `nscope watch`: bpf/watch.bpf.c loaded, attached and read. Owns every
// program, link and map; closing it detaches them all.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nscope.h"
#include "util/result.h"

namespace nscope {

struct WatchProbeOptions {
  bool all_exits = false;  // report exits outside the initial namespace of any type
};

class WatchProbe {
 public:
  // Needs root (CAP_BPF, CAP_PERFMON, and CAP_SYS_ADMIN for the syscall tracepoints). An
  // Error names what the kernel refused.
  static Result<std::unique_ptr<WatchProbe>> open(const WatchProbeOptions& opts);
  ~WatchProbe();

  // The ring buffer's epoll fd: readable when records wait.
  int fd() const;
  // Hands every waiting record to `fn`, oldest first.
  Result<void> drain(const std::function<void(const nscope_watch_rec&)>& fn);
  // Records the kernel side could not keep (ring buffer full), since the start.
  uint64_t lost() const;
  // The hooks in use, for the startup line ("task_newtask, unshare, setns, ...").
  const std::vector<std::string>& hooks() const { return hooks_; }
  // No hook tells device changes on this kernel (no notifier_run tracepoint, no kprobes):
  // the watcher walks once a second instead.
  bool devices_polled() const { return devices_polled_; }

 private:
  struct Impl;
  WatchProbe() = default;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> hooks_;
  bool devices_polled_ = false;
};

}  // namespace nscope
