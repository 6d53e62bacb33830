// Keeps collect's own threads off the CPUs the traced traffic runs on. A flood's events come
// from the CPUs its packets are handled on; the poll and writer threads that read and write
// them are better off anywhere else, where they do not take time from the traffic being
// watched. Once a second the busiest CPUs (more than an even share of the events) are left
// out of the threads' affinity, within the affinity nscope started with, and never all of
// them. The traffic's own processes are not touched. A user who names the CPUs (--cpus) gets
// exactly those, and nothing moves.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <vector>

namespace nscope {

// The CPUs to run on: `allowed` without those whose event count is above an even share of
// `events_per_cpu` (indexed by CPU); all of `allowed` when fewer than `min_events` came or
// when nothing would be left.
std::vector<int> cpus_away_from_events(const std::vector<uint64_t>& events_per_cpu,
                                       const std::vector<int>& allowed, uint64_t min_events);

class Placement {
 public:
  // `fixed` empty: the calling thread's affinity is the allowed set, and update() moves the
  // threads within it. Else the threads run on `fixed` and stay there.
  explicit Placement(std::vector<int> fixed = {});
  void add_thread(pthread_t t);  // also moves it onto current()
  // Events per CPU since the last call; moves the threads when the answer changes.
  void update(const std::vector<uint64_t>& events_per_cpu);
  const std::vector<int>& current() const { return current_; }

 private:
  void apply(pthread_t t) const;

  std::vector<pthread_t> threads_;
  std::vector<int> allowed_, current_;
  bool fixed_ = false;
};

}  // namespace nscope
