#include "collect/placement.h"

#include <sched.h>

#include "util/cpus.h"

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

Placement::Placement(std::vector<int> fixed)
    : allowed_(fixed.empty() ? allowed_cpus() : std::move(fixed)), current_(allowed_), fixed_(!fixed.empty()) {}

void Placement::apply(pthread_t t) const {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : current_) CPU_SET(c, &set);
  pthread_setaffinity_np(t, sizeof set, &set);
}

void Placement::add_thread(pthread_t t) {
  threads_.push_back(t);
  apply(t);
}

void Placement::update(const std::vector<uint64_t>& events_per_cpu) {
  if (fixed_ || allowed_.size() < 2) return;
  std::vector<int> want = cpus_away_from_events(events_per_cpu, allowed_, kMinEventsPerInterval);
  if (want == current_) return;
  current_ = std::move(want);
  for (pthread_t t : threads_) apply(t);
}

}  // namespace nscope
