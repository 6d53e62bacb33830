// `nscope watch`'s loop: a snapshot, then the kernel's records turned into events, with walks
// and scans where a record cannot say enough. Idle, it sleeps in epoll_wait: no timer runs
// unless something happened in the last few seconds.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "discover/model.h"
#include "util/result.h"
#include "watch/event.h"
#include "watch/state.h"

namespace nscope {

struct WatcherOptions {
  WatchOptions state;
  bool snapshot = true;      // print the inventory first (and again after a loss)
  double duration_s = 0;     // stop after this long; 0: until a signal
  int stop_fd = -1;          // readable: stop (a signalfd for SIGINT/SIGTERM)
  std::function<void(const ScanResult&, uint64_t seq, int64_t time_ns)> on_snapshot;
  // Returns false to stop (the output is gone).
  std::function<bool(const WatchEvent&)> on_event;
  // Once the programs are attached and the snapshot taken: the hooks in use.
  std::function<void(const std::vector<std::string>& hooks)> on_ready;
};

struct WatcherStats {
  uint64_t events = 0;
  uint64_t lost = 0;
  uint64_t walks = 0;
  uint64_t scans = 0;
};

Result<WatcherStats> run_watcher(const WatcherOptions& opts);

}  // namespace nscope
