// Owns the collect BPF programs: loads them configured for the chosen probes, attaches
// them, hands ring-buffer records to a sink, and detaches on destruction (always).
//
// Each online CPU has a ring buffer of its own, so CPUs never contend for one. The rings are
// split among `readers`, each a contiguous set of CPUs read by one thread; a reader merges
// its rings by time (collect/rings.h), so its events reach the sink in time order. Readers
// run at once, so across readers they do not.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collect/probes.h"
#include "collect/rings.h"
#include "filter/filter.h"
#include "nscope.h"
#include "util/fd.h"
#include "util/result.h"

struct collect;
struct bpf_link;
struct bpf_program;

namespace nscope {

struct CollectorConfig {
  uint32_t collectors = NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS | NSCOPE_COLLECT_DEV;
  std::vector<ProbeSpec> probes;          // slot i is probes[i]
  // All the rings' bytes together, split evenly among the online CPUs (each ring a power
  // of two, at least 64 KiB); 0: default_buffer_size().
  uint64_t buffer_size = 0;
  bool shared_ring = false;               // one ring for every CPU (for comparison)
  size_t readers = 1;                     // at most one per ring
  uint32_t tracking_entries = 65536;      // skb-tracking map size (two entries a packet)
  filter::FilterSet filters;              // --netns, -f, -m: decided in the kernel
};

class Collector {
 public:
  // Called on reader `reader`'s thread for each record; returns false to stop that read
  // (the record is dropped: used once --count is reached).
  using Sink = std::function<bool(size_t reader, const void* record, size_t size)>;

  static Result<std::unique_ptr<Collector>> start(const CollectorConfig& cfg, Sink sink);
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  ~Collector();

  size_t readers() const { return readers_.size(); }
  const std::vector<int>& reader_cpus(size_t reader) const { return readers_[reader].cpus; }
  uint64_t ring_bytes() const { return ring_bytes_; }  // each ring's size
  size_t rings() const { return rings_.size(); }
  // Reader `reader`'s rings: becomes readable when a batch is waiting in one of them.
  int epoll_fd(size_t reader) const;
  // Hands every record waiting in reader `reader`'s rings to the sink. Each reader is used by
  // one thread at a time; different readers may be read at once.
  Result<int> consume(size_t reader);
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
  struct Reader {
    std::vector<int> cpus;
    std::unique_ptr<MergedRings> rings;
  };
  Result<void> make_rings(const CollectorConfig& cfg, size_t ncpus);
  Result<void> give_rings(const CollectorConfig& cfg);
  Result<void> attach(size_t slot, const ProbeSpec& ps);
  // A kprobe (kretprobe with ret) on `functions`: one kprobe-multi link for all with multi_,
  // else a plain kprobe on the one function given.
  bpf_link* attach_kprobe(bpf_program* prog, const std::vector<const char*>& functions, bool ret) const;
  std::vector<std::vector<uint64_t>> read_percpu(int map_fd) const;

  collect* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<std::string> skipped_;
  bool multi_ = false;  // kprobes load and attach as kprobe-multi
  std::vector<Fd> rings_;        // one per online CPU (one in all with shared_ring)
  std::vector<Reader> readers_;
  uint64_t ring_bytes_ = 0;
  Sink sink_;
  size_t nslots_ = 0;
  int ncpus_ = 0;
};

// Rounds a user's --buffer-size to what the ring buffer takes (a power of two >= 4 KiB).
uint64_t ring_size_for(uint64_t requested);
// All rings together when --buffer-size is not given: 4 MiB a CPU, 32 to 256 MiB.
uint64_t default_buffer_size(size_t cpus);
// Readers when --readers is not given: one per 4 rings, no more than the CPUs nscope's threads
// may run on.
size_t default_readers(size_t rings, size_t run_cpus);

}  // namespace nscope
