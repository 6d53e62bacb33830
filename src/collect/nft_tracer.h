// collect's `nft` collector where the kernel has no kprobes: nf_tables' own
// tracing. In each traced network namespace nscope adds a table of its own
// (netlink/nft_trace.h) whose chains, first at prerouting and output, set `meta
// nftrace`; nf_tables then reports every rule, return and policy such a packet
// meets to the NFNLGRP_NFTRACE group, which one thread reads in every
// namespace. Each trace becomes an event with Retis's `nft` section, joined to
// the packet events the rings gave by what identifies the packet (NftJoiner):
// its addresses, IP id and first transport bytes, its namespace and the time.
// The tables are removed on every exit; a table that a killed run left is
// removed by the next run in that namespace, and reported.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "discover/model.h"
#include "events/event.h"
#include "events/format.h"
#include "events/symbols.h"
#include "netlink/nft_trace.h"
#include "util/fd.h"
#include "util/result.h"

namespace nscope {

class EventWriter;

// What identifies a packet across its hops: addresses, protocol, IP id (IPv4)
// or flow label and length (IPv6), and the first 8 bytes of its transport
// header. Neither TTL nor checksums, which forwarding changes. `l3` starts at
// the IP header; `l4` may be empty (taken from l3 then). 0 when it is not IP.
uint64_t nft_packet_key(std::string_view l3, std::string_view l4);

// Joins traces to the packet events seen around them. Packet events are noted
// from the reader threads as they are formatted; traces wait `delay_ns` (the
// longest a packet event can wait in a ring and its reader's poll) and are then
// resolved against what was noted.
class NftJoiner {
public:
  struct Seen {
    uint64_t first_ts = 0, ts = 0; // first and last sighting in this namespace
    uint32_t netns = 0;
    bool tracked = false;
    uint64_t track_ts = 0, orig_head = 0, skb = 0;
    uint32_t traces =
        0; // traces joined to it so far (this one included, once matched)
  };
  struct Trace {
    uint64_t ts = 0; // when it was read (CLOCK_MONOTONIC)
    uint32_t netns = 0;
    uint64_t netns_cookie = 0;
    uint64_t key = 0;
    uint8_t family = 0, nfproto = 0;
    uint32_t type = 0;
    std::string table, chain, verdict_chain;
    std::string_view verdict; // static names
    bool policy = false;
    std::optional<uint64_t> rule_handle;
    std::string
        headers; // link (14 bytes, made up when absent), network, transport
  };
  explicit NftJoiner(uint64_t delay_ns = 300'000'000,
                     uint64_t keep_ns = 2'000'000'000)
      : delay_(delay_ns), keep_(keep_ns) {}

  // Any thread: a packet event (with packet bytes and a namespace).
  void note(const Event &e);
  // The trace thread: one trace, read at `now`.
  void add(Trace t);
  // The trace thread: traces read at least delay_ns before `now` (all of them
  // with `all`), each with the packet event it joins (nullptr when none
  // matched), oldest first.
  template <class Fn> void resolve(uint64_t now, bool all, Fn &&fn) {
    while (!pending_.empty() && (all || pending_.front().ts + delay_ <= now)) {
      std::optional<Seen> m = match(pending_.front());
      fn(pending_.front(), m ? &*m : nullptr);
      pending_.pop_front();
    }
  }
  size_t pending() const { return pending_.size(); }

private:
  std::optional<Seen> match(const Trace &t);
  void expire(uint64_t now);

  uint64_t delay_, keep_;
  std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<Seen>> seen_; // by key, oldest first
  std::deque<std::pair<uint64_t, uint64_t>> order_; // (ts, key) in noted order
  std::deque<Trace> pending_;
};

// A namespace nscope traces with nft.
struct NftTarget {
  uint32_t inode = 0;
  uint64_t cookie = 0;
  std::string label; // for messages: "4026532281 (web)"
  Namespace ns;      // to open it
};

struct NftStats {
  uint64_t traces = 0;   // trace messages read (nscope's own table's left out)
  uint64_t joined = 0;   // of which joined to a packet event
  uint64_t written = 0;  // events written
  // Trace messages the kernel dropped because a trace socket's buffer was full:
  // its own count (SO_MEMINFO's drops), nscope's own marking traces included.
  uint64_t lost = 0;
  uint64_t overruns = 0; // ENOBUFS reports (none with NETLINK_NO_ENOBUFS)
  uint64_t bad = 0;      // messages that did not parse
};

class NftTracer {
public:
  // Installs the table in every target (removing stale ones first, reported
  // with `diag`), subscribes to its traces. Namespaces that cannot be entered
  // are reported and left out; an error when none could be traced, or the table
  // cannot be added.
  static Result<std::unique_ptr<NftTracer>>
  start(const std::vector<NftTarget> &targets);
  // The nft kprobe's way: only the table that turns nf_tables' tracing on (a
  // chain with no hook, nft_trace_switch_batch), in nscope's own namespace
  // (the static key is the kernel's, not a namespace's); stale ones removed
  // there. No socket is read: run() starts nothing.
  static Result<std::unique_ptr<NftTracer>> start_switch();
  ~NftTracer(); // removes every table still installed
  NftTracer(const NftTracer &) = delete;
  NftTracer &operator=(const NftTracer &) = delete;

  NftJoiner &joiner() { return joiner_; }
  // Starts the thread that reads traces and writes their events to `out`. With
  // `joined_only`, traces that join no packet event are not written (a -f or -m
  // filter said which packets to show).
  void run(EventWriter &out, TextOptions text, bool joined_only);
  // Stops the thread once every trace read is written; removes the tables.
  void stop();
  NftStats stats() const;
  size_t namespaces() const { return ns_.size(); }

private:
  struct Ns;
  NftTracer() = default;
  void loop(EventWriter &out, TextOptions text, bool joined_only);
  void read_ns(Ns &n, uint64_t now);
  void read_drops();
  void remove_tables();

  std::vector<std::unique_ptr<Ns>> ns_;
  std::string table_;
  Fd epoll_;
  NftJoiner joiner_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex stats_mu_;
  NftStats stats_;
  bool removed_ = false;
  bool switch_only_ = false;
};

} // namespace nscope
