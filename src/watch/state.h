// What `nscope watch` knows of the host's namespaces, and the events that each new piece of
// knowledge makes: a record from the kernel (bpf/watch.bpf.c), a walk of every network
// namespace and device, or a full scan (as `list`). Pure: tests feed it records, walks and
// scans and read the events back.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>
#include <string>
#include <utility>
#include <vector>

#include "bpfload/nsiter.h"
#include "discover/model.h"
#include "nscope.h"
#include "watch/event.h"

namespace nscope {

struct WatchOptions {
  std::vector<NsType> types{NsType::net};
  // Only events about these network namespaces (inodes); empty: all. A device move counts
  // for both of its namespaces.
  std::set<uint64_t> netns;
  // A device no walk finds is deleted only after this long: one moving to another namespace
  // is in neither for a while (the kernel waits for RCU grace periods in between).
  int64_t device_grace_ns = 250'000'000;
};

class WatchState {
 public:
  explicit WatchState(WatchOptions opts);

  // Starts over from a full scan and the walk it made: emits nothing.
  void reset(const ScanResult& scan, const KernelWalk& walk);

  // A record from the kernel. Returns the events it makes.
  std::vector<WatchEvent> on_record(const nscope_watch_rec& r);
  // A walk of every network namespace and its devices: deaths (only when the walk closed
  // its circle), births nobody recorded, and every device change. `who` names the task
  // behind the device changes when only one made them since the last walk.
  // `since`: what epoch() said when the walk began; a namespace a record made after that
  // is not dead for missing from it.
  std::vector<WatchEvent> on_walk(const KernelWalk& walk, const WatchEvent* who = nullptr,
                                  uint64_t since = UINT64_MAX, int64_t now_ns = 0);
  // A full scan: names, holders, containers; births and deaths of the types a walk does not
  // see (all but net).
  std::vector<WatchEvent> on_scan(const ScanResult& scan, uint64_t since = UINT64_MAX);
  // A counter that grows with every namespace born: taken before a walk or scan.
  uint64_t epoch() const { return epoch_; }

  // A device went missing: walk again at this time (CLOCK_MONOTONIC ns), to tell a move from
  // a delete; 0 when none is.
  int64_t settle_at() const;

  // How many namespaces it knows, for tests and the startup line.
  size_t known() const { return nses_.size(); }

 private:
  struct Ns {
    NsType type = NsType::net;
    uint64_t inode = 0;
    uint64_t cookie = 0;
    std::vector<std::string> names;
    std::map<std::string, uint64_t> mounts;  // nsfs bind mounts: path -> a mntns holding it
    uint32_t processes = 0;
    bool initial = false;
    bool scanned = false;
    uint64_t epoch = 0;  // epoch_ at its birth  // seen by a full scan since it was born
    std::optional<Container> container;
  };
  struct Dev {
    uint64_t key = 0;
    uint64_t net = 0;  // netns inode
    int ifindex = 0;
    std::string name;
    uint64_t peer_key = 0;
    int peer_ifindex = 0;
    uint64_t peer_net = 0;
    bool veth = false;
    bool told = true;          // its creation was told (a veth waits for its other end)
    int64_t first_seen = 0;    // when a walk first found it
    int64_t missing_since = 0;
  };
  using Key = std::pair<NsType, uint64_t>;

  bool wanted(NsType t) const;
  bool wanted_net(uint64_t inode) const;
  WatchEvent about(WatchEventKind kind, const Ns& ns) const;
  void who(WatchEvent& e, const nscope_watch_rec& r) const;
  // A namespace is born (or found); returns the event, or nothing when it was known.
  std::optional<WatchEvent> born(NsType t, uint64_t inode, uint64_t cookie, const char* how,
                                 const nscope_watch_rec* r);
  void died(const Key& k, std::vector<WatchEvent>& out);
  void take_devices(const KernelWalk& walk, std::map<uint64_t, Dev>& into) const;
  // Drops the events about network namespaces outside opts_.netns.
  std::vector<WatchEvent> filtered(std::vector<WatchEvent> events) const;

  WatchOptions opts_;
  std::map<Key, Ns> nses_;
  std::map<uint64_t, Dev> devs_;  // by key (the kernel's net_device)
  std::map<uint64_t, Dev> missing_;  // not found by the last walk: moving, or deleted
  uint64_t epoch_ = 0;
  // Cookies of network namespaces told dead (never reused, unlike inodes), the newest
  // kBuriedMax: a walk that began before a death cannot bring one back.
  static constexpr size_t kBuriedMax = 1 << 16;
  std::unordered_set<uint64_t> buried_;
  std::deque<uint64_t> burial_order_;
  std::vector<WatchEvent> pending_;  // deaths found by born() (an inode reused), told first
};

}  // namespace nscope
