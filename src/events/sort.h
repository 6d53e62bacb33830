// `nscope sort`: the events of a file grouped into one series per packet.
//
// A series is every event with the same skb-tracking id (Event::same_packet); an event
// without tracking is a series by itself. Series come out ordered by their first event's
// time, the events of a series by timestamp.
//
// Memory stays bounded however long the file is: events are streamed through a window.
//   - A series is complete once the file's clock (the largest timestamp read so far) is more
//     than `window_ns` past its last event.
//   - At most `max_buffered` events, and `max_text_bytes` of their lines, are held; past
//     either, the oldest series is written out even though it might not be complete.
// Series are written in order as soon as every earlier series is complete.
//
// When an event arrives for a series already written (a packet that went quiet for longer
// than the window, or a limit forced its series out), a new series starts with `continued`
// set, its positions counting on from the part already written; Sorter::stats().continued
// counts them. The ids of the last `remember_closed` series written are remembered exactly,
// with their next position. An id not remembered, not buffered, is still taken for a
// continuation when
//   - its first-seen timestamp (the id's first half) is no later than that of an id already
//     forgotten: only then can it be a forgotten one, and
//   - the clock is more than a window past that first-seen timestamp: the packet's first
//     sighting, had it been in the file, was complete and went out already;
// its series is marked continued, positions counted from 0 again (stats
// continued_forgotten). This holds whatever remember_closed is, for series that went out
// because their window passed; a series forced out early (max_buffered, max_text_bytes) and
// forgotten within one window can come back unmarked. The price: a packet whose first
// sighting is not in the file at all (a filter, lost events, a file begun mid-way) and that
// shows up only after more than remember_closed series were written is marked continued.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/event.h"
#include "events/format.h"
#include "events/reader.h"

namespace nscope {

// Whether the file traces skb:consume_skb (or the consume_skb function), the end of a packet
// that was delivered or used up. It decides how a series last seen at netif_receive_skb ends:
// being received is the last thing that can be seen of a delivered packet when consume_skb
// is not traced (delivered); when it is, the packet is still on its way (in flight). A
// file that does not say is read as if it traced it: nothing is called delivered without
// the event that shows it, and SortStats::receive_unsure counts the series concerned.
// skb:kfree_skb does not enter into it: a dropped packet ends at its drop either way.
enum class ConsumeTraced { yes, no, unknown };

// From the file's startup line, once for the whole file, before any series:
//   - nscope: its `probes` (`skb:consume_skb`, `kprobe:consume_skb`, `tp:skb:*`...);
//     unknown when the line has none (files written before collect recorded them);
//   - Retis: the probes of its `cmdline` (`retis collect ... -p/--probe P`): P as Retis
//     reads it ("[TYPE:]TARGET[/OPTIONS]", a bare TARGET with one ':' a tracepoint, else a
//     kprobe); with no -p at all, collect's defaults (netif_receive_skb, net_dev_start_xmit)
//     and the collectors' own probes, none of which is consume_skb (skb-drop traces
//     skb:kfree_skb); `--probe-stack` without -p starts from skb:kfree_skb and
//     skb:consume_skb. A profile (-P/--profile), whose probes the line does not show, or no
//     cmdline (older Retis, such as 1.5): unknown;
//   - no startup line: unknown.
ConsumeTraced consume_traced(const StartupInfo& startup);
// The probes a Retis command line gives with -p/--probe, in nscope's forms (Retis's bare
// "consume_skb" is "kprobe:consume_skb"); nullopt when the line is not one `retis collect` it
// can read whole (no "collect", or a profile).
std::optional<std::vector<std::string>> retis_cmdline_probes(std::string_view cmdline);

struct SortOptions {
  uint64_t window_ns = 5'000'000'000;  // idle time after which a series is complete
  size_t max_buffered = 100'000;       // events held in memory at most (about 600 B each)
  // Bytes of event lines held at most (Sorter::add keeps them for `sort -o`, which writes
  // events as they were read): `sort --max-text`.
  size_t max_text_bytes = size_t{512} << 20;
  // Ids of written series remembered exactly: the last remember_closed written (a series
  // written again, continued, counts again). 40 bytes an id once that many were written,
  // 20 MiB for the default 2^19; see the top of this file for older ones.
  size_t remember_closed = size_t{1} << 19;
  ConsumeTraced consume = ConsumeTraced::unknown;
};

// One stop on a packet's path: a (namespace, interface) pair. Consecutive events at the
// same pair are one hop; an event without a device stays in the hop before it when that is
// in the same namespace; events without a namespace add no hop.
struct Hop {
  uint32_t netns = 0;
  uint32_t ifindex = 0;  // 0: no device seen
  std::array<char, 16> ifname{};
};

// Where a series ended, from its last event (kernel function names count as the
// tracepoints of the same name: consume_skb, kfree_skb, netif_receive_skb):
enum class SeriesEnd {
  dropped,    // the last event carries skb-drop, or is skb:kfree_skb; or an nft verdict
              // dropped it (text: "dropped by inet filter input handle 7")
  delivered,  // the last event is skb:consume_skb; or net:netif_receive_skb in a file that
              // does not trace consume_skb (ConsumeTraced::no), where being received is the
              // last thing that can be seen
  in_flight,  // anything else: the packet's fate is not in the file
  unknown,    // an event without tracking, not dropped: one sighting tells no fate
};

struct Series {
  bool tracked = false;
  uint64_t track_ts = 0, orig_head = 0;  // the id, when tracked
  bool continued = false;                // an earlier part of this packet was written already
  uint32_t first_n = 0;                  // position of events[0] in the whole packet's life
  std::vector<const Event*> events;      // in time order; valid during the callback only
  std::vector<std::string_view> lines;   // each event's line as read, when add() had it
  std::vector<Hop> path;
  SeriesEnd end = SeriesEnd::in_flight;
  std::string_view drop_reason;  // when dropped
};

struct SortStats {
  uint64_t events = 0, series = 0;
  uint64_t continued = 0;     // series that continue one written earlier
  uint64_t continued_forgotten = 0;  // of those, continuing an id no longer remembered
  uint64_t forced = 0;        // series written early because max_buffered was reached
  uint64_t forced_text = 0;   // series written early because max_text_bytes was reached
  uint64_t peak_buffered = 0; // most events held at once
  // Tracked series last seen at netif_receive_skb that read in flight only because the file
  // does not say whether consume_skb was traced (ConsumeTraced::unknown).
  uint64_t receive_unsure = 0;
};

// Computes a series' path and end from its events.
void series_path(const Series& s, std::vector<Hop>& path);
SeriesEnd series_end(const Series& s, ConsumeTraced consume, std::string_view* drop_reason);
// The nft rule or policy that dropped the packet: the last event whose nft verdict ends
// the packet's way through a chain (accept, drop, queue, stolen), when that verdict is drop.
const Event* nft_decision(const Series& s);

// How namespaces are named in paths: the startup netns_names, "host" for the initial netns.
struct PathNames {
  const std::unordered_map<uint32_t, std::string>* names = nullptr;
  uint32_t initial_netns = 0;
};

// Text as Retis's sort prints it, then the path line, then an empty line:
//   <first event> n 0
//     + <follower> n 1
//     path: ns web-1 (eth0) -> host (veth1a2b) -> ns db-1 (eth0); delivered
void format_series_text(const Series& s, const TextOptions& opt, const PathNames& names,
                        std::string& out);
// One JSON object on one line (no newline). Events are written as they were read (their
// `lines`, so sections nscope does not model survive), else as format_event_json writes them:
//   {"id": "#..." | null, "continued": bool, "first_n": N, "events": [...],
//    "path": [{"netns", "name", "ifindex", "ifname"}],
//    "end": {"state": "delivered"|"dropped"|"in_flight"|"unknown", "by"? (the nft rule:
//            {"family", "table", "chain", "handle", "policy"}), "reason"?, "netns"?,
//            "symbol"}}
void format_series_json(const Series& s, const PathNames& names, std::string& out);

// Open vSwitch's upcalls as one packet, as `retis sort` links them: the kernel's upcall, its
// enqueue (which gives the packet a queue_id), ovs-vswitchd's handling of it (recv_upcall,
// flow_operation: no skb of their own) and the execution of its actions (a new skb, whose
// later events belong to the packet too) all take the upcalled packet's tracking id. nscope's
// own upcalls (collect -c ovs, tracepoints only: no enqueue event) carry the queue_id
// themselves. Fed the
// events in file order, before the Sorter; an event it cannot link keeps its own id.
class OvsLinker {
 public:
  // Rewrites e's tracking id when it belongs to an upcalled packet. Returns whether it did.
  bool link(Event& e);
  // Whether events without an ovs section may be linked (a packet came back from ovs-vswitchd).
  bool aliasing() const { return !aliases_.empty(); }

 private:
  struct Id {
    uint64_t ts = 0, head = 0;
  };
  static uint64_t key(uint64_t a, uint64_t b) { return a * 0x9e3779b97f4a7c15ull ^ b; }
  std::unordered_map<uint64_t, Id> upcalls_;  // (upcall time, cpu) -> packet
  std::unordered_map<uint32_t, Id> queues_;   // queue_id -> packet
  std::unordered_map<uint64_t, Id> aliases_;  // an executed packet's own id -> the upcalled one
};

class Sorter {
 public:
  using Emit = std::function<void(const Series&)>;
  Sorter(SortOptions opts, Emit emit);
  ~Sorter();
  Sorter(const Sorter&) = delete;
  Sorter& operator=(const Sorter&) = delete;

  // `line`: the event's JSON line, kept to be written out as it was (may be empty).
  void add(const Event& e, std::string_view line = {});
  void finish();  // writes out everything still held
  const SortStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nscope
