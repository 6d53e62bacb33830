#include "collect/placement.h"

#include <sched.h>

namespace nscope {
namespace {
constexpr uint64_t kMinEventsPerInterval = 20000;
}

std::vector<int> cpus_away_from_events(const std::vector<uint64_t>& events_per_cpu,
                                       const std::vector<int>& allowed, uint64_t min_events) {
  uint64_t total = 0;
  for (uint64_t n : events_per_cpu) total += n;
  if (total < min_events || events_per_cpu.empty()) return allowed;
  std::vector<int> out;
  for (int cpu : allowed) {
    uint64_t n = static_cast<size_t>(cpu) < events_per_cpu.size() ? events_per_cpu[static_cast<size_t>(cpu)] : 0;
    // Above an even share over all CPUs: n > total / ncpus.
    if (n * events_per_cpu.size() <= total) out.push_back(cpu);
  }
  return out.empty() ? allowed : out;
}

Placement::Placement() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) allowed_.push_back(c);
  current_ = allowed_;
}

void Placement::add_thread(pthread_t t) { threads_.push_back(t); }

void Placement::update(const std::vector<uint64_t>& events_per_cpu) {
  if (allowed_.size() < 2) return;
  std::vector<int> want = cpus_away_from_events(events_per_cpu, allowed_, kMinEventsPerInterval);
  if (want == current_) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : want) CPU_SET(c, &set);
  for (pthread_t t : threads_) pthread_setaffinity_np(t, sizeof set, &set);
  current_ = std::move(want);
}

}  // namespace nscope
