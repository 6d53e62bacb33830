// Reading a reader's BPF ring buffers (one per CPU) in time order. libbpf's ring_buffer (1.1,
// as Debian 12 ships it) hands over each ring's records until that ring is empty, then the
// next ring's: a file then jumps back in time at every switch, and a CPU producing as fast as
// its reader formats holds the reader on its ring while the others fill. This reads what each
// ring holds when the round starts and hands the records over merged by timestamp (the first
// 8 bytes of every record: struct nscope_event's ts), in place, with no copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace nscope {

class MergedRings {
 public:
  // Returns false to stop the round; that record counts as read.
  using Sink = std::function<bool(const void* record, size_t size)>;

  // Maps the rings `fds` (BPF_MAP_TYPE_RINGBUF maps of `bytes` each) for reading; the fds
  // stay the caller's and must outlive this.
  static Result<std::unique_ptr<MergedRings>> open(const std::vector<int>& fds, uint64_t bytes);
  ~MergedRings();
  MergedRings(const MergedRings&) = delete;
  MergedRings& operator=(const MergedRings&) = delete;

  // Readable when a ring's producer asked to wake its reader.
  int epoll_fd() const { return epoll_.get(); }
  // One round: every record committed in any ring when it starts, oldest first. Returns how
  // many were handed over.
  size_t consume(const Sink& sink);

 private:
  struct Ring {
    uint64_t* consumer_pos = nullptr;  // the page user space writes
    const uint64_t* producer_pos = nullptr;
    const uint8_t* data = nullptr;  // mapped twice over, so a record never wraps
    void* cons_map = nullptr;
    void* prod_map = nullptr;
    size_t prod_len = 0;
  };
  // Where a ring stands in a round.
  struct Cursor {
    Ring* ring;
    uint64_t pos, end;         // next record; producer position at the start of the round
    const uint8_t* rec = nullptr;  // the next record ready to hand over, when there is one
    uint32_t len = 0;
    uint64_t ts = 0;
    unsigned unreleased = 0;  // records read since consumer_pos was last moved
  };
  MergedRings() = default;
  bool advance_to_ready(Cursor& c) const;

  std::vector<Ring> rings_;
  uint64_t mask_ = 0;
  Fd epoll_;
};

}  // namespace nscope
