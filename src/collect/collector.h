// Owns the collect BPF programs: loads them configured for the chosen probes, attaches
// them, hands ring-buffer records to a sink, and detaches on destruction (always).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collect/probes.h"
#include "filter/filter.h"
#include "nscope.h"
#include "util/result.h"

struct collect;
struct bpf_link;
struct bpf_program;
struct ring_buffer;

namespace nscope {

struct CollectorConfig {
  uint32_t collectors = NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS | NSCOPE_COLLECT_DEV;
  std::vector<ProbeSpec> probes;          // slot i is probes[i]
  uint64_t buffer_size = 32ull << 20;     // ring buffer bytes, a power of two
  uint32_t tracking_entries = 65536;      // skb-tracking map size (two entries a packet)
  filter::FilterSet filters;              // --netns, -f, -m: decided in the kernel
};

class Collector {
 public:
  // Returns false to stop consuming (the record stays unconsumed).
  using Sink = std::function<bool(const void* record, size_t size)>;

  static Result<std::unique_ptr<Collector>> start(const CollectorConfig& cfg, Sink sink);
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  ~Collector();

  int epoll_fd() const;               // becomes readable when a batch is waiting
  Result<int> consume();              // hands every waiting record to the sink
  void detach();                      // programs off the tracepoints; idempotent
  // Events the ring buffer could not take: [slot][cpu].
  std::vector<std::vector<uint64_t>> lost() const;
  // skb-tracking housekeeping: drops entries not seen for `max_age_ns` (packets whose free
  // no probe saw), returns how many; and the inserts a full map refused.
  uint64_t age_out_tracking(uint64_t max_age_ns);
  uint64_t tracking_refused() const;
  // Functions of a glob the kernel would not probe ("kprobe:FUNC: reason"), left out.
  const std::vector<std::string>& skipped() const { return skipped_; }
  // Whether kprobes went through kprobe-multi links.
  bool kprobe_multi() const { return multi_; }

 private:
  Collector() = default;
  static int on_record(void* ctx, void* data, size_t size);
  Result<void> attach(size_t slot, const ProbeSpec& ps);
  // A kprobe (kretprobe with ret) on `functions`: one kprobe-multi link for all with multi_,
  // else a plain kprobe on the one function given.
  bpf_link* attach_kprobe(bpf_program* prog, const std::vector<const char*>& functions, bool ret) const;
  std::vector<std::vector<uint64_t>> read_percpu(int map_fd) const;

  collect* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<std::string> skipped_;
  bool multi_ = false;  // kprobes load and attach as kprobe-multi
  ring_buffer* rb_ = nullptr;
  Sink sink_;
  size_t nslots_ = 0;
  int ncpus_ = 0;
};

// Rounds a user's --buffer-size to what the ring buffer takes (a power of two >= 4 KiB).
uint64_t ring_size_for(uint64_t requested);

}  // namespace nscope
