#include "collect/rings.h"

#include <linux/bpf.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nscope {
namespace {

template <class T>
T load_acquire(const T* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

// A record's whole length in the ring: header and data, rounded up to 8 bytes.
uint64_t span(uint32_t len) {
  uint64_t n = (len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) + BPF_RINGBUF_HDR_SZ;
  return (n + 7) & ~uint64_t{7};
}

// Consumer positions are moved every so many records, not after each one: producers read
// that cache line to find room, and every write to it is a miss for them.
constexpr unsigned kReleaseEvery = 32;

}  // namespace

Result<std::unique_ptr<MergedRings>> MergedRings::open(const std::vector<int>& fds, uint64_t bytes) {
  std::unique_ptr<MergedRings> m(new MergedRings());
  m->mask_ = bytes - 1;
  m->epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!m->epoll_) return Error::sys(errno, "epoll_create1");
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (int fd : fds) {
    Ring& r = m->rings_.emplace_back();
    r.cons_map = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (r.cons_map == MAP_FAILED) {
      r.cons_map = nullptr;
      return Error::sys(errno, "cannot map a ring buffer's consumer page");
    }
    r.prod_len = page + 2 * bytes;
    r.prod_map = mmap(nullptr, r.prod_len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(page));
    if (r.prod_map == MAP_FAILED) {
      r.prod_map = nullptr;
      return Error::sys(errno, "cannot map a ring buffer's data");
    }
    r.consumer_pos = static_cast<uint64_t*>(r.cons_map);
    r.producer_pos = static_cast<const uint64_t*>(r.prod_map);
    r.data = static_cast<const uint8_t*>(r.prod_map) + page;
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (epoll_ctl(m->epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
      return Error::sys(errno, "cannot watch a ring buffer");
  }
  return m;
}

MergedRings::~MergedRings() {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (Ring& r : rings_) {
    if (r.cons_map) munmap(r.cons_map, page);
    if (r.prod_map) munmap(r.prod_map, r.prod_len);
  }
}

// Moves c past discarded records to the next one committed; false when there is none yet
// (the ring is read up to where the round started, or its next record is still being
// written: later records wait behind it, so that each ring's order is kept).
bool MergedRings::advance_to_ready(Cursor& c) const {
  while (c.pos < c.end) {
    const uint8_t* hdr = c.ring->data + (c.pos & mask_);
    uint32_t len = load_acquire(reinterpret_cast<const uint32_t*>(hdr));
    if (len & BPF_RINGBUF_BUSY_BIT) break;
    if (len & BPF_RINGBUF_DISCARD_BIT) {
      c.pos += span(len);
      continue;
    }
    c.rec = hdr + BPF_RINGBUF_HDR_SZ;
    c.len = len;
    c.ts = len >= sizeof(uint64_t) ? *reinterpret_cast<const uint64_t*>(c.rec) : 0;
    return true;
  }
  c.rec = nullptr;
  return false;
}

size_t MergedRings::consume(const Sink& sink) {
  std::vector<Cursor> cur;
  cur.reserve(rings_.size());
  auto release = [](Cursor& c) {
    __atomic_store_n(c.ring->consumer_pos, c.pos, __ATOMIC_RELEASE);
    c.unreleased = 0;
  };
  for (Ring& r : rings_) {
    Cursor c{&r, load_acquire(r.consumer_pos), load_acquire(r.producer_pos)};
    uint64_t start = c.pos;
    if (advance_to_ready(c)) cur.push_back(c);
    else if (c.pos != start) release(c);  // only discarded records: their room is free again
  }
  size_t n = 0;
  bool go_on = true;
  while (go_on && !cur.empty()) {
    size_t at = 0;  // the oldest record at the head of a ring
    for (size_t i = 1; i < cur.size(); ++i)
      if (cur[i].ts < cur[at].ts) at = i;
    Cursor& c = cur[at];
    go_on = sink(c.rec, c.len);
    ++n;
    c.pos += span(c.len);
    if (++c.unreleased >= kReleaseEvery) release(c);
    if (!advance_to_ready(c)) {
      release(c);
      cur.erase(cur.begin() + static_cast<std::ptrdiff_t>(at));
    }
  }
  for (Cursor& c : cur)
    if (c.unreleased) release(c);
  return n;
}

}  // namespace nscope
