// One `nscope collect` run: attach, poll, write, stop on Ctrl-C/SIGTERM, --cmd exit,
// --duration or --count, then detach, drain what was captured, and report losses.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "collect/nft_tracer.h"
#include "collect/plan.h"
#include "collect/probes.h"
#include "events/format.h"
#include "util/result.h"

namespace nscope {

struct SessionOptions {
  CollectorConfig collector;   // .readers 0: one reader per 4 rings
  // The CPUs nscope's threads run on (--cpus); empty: anywhere it may, away from the CPUs
  // the traced traffic runs on (collect/placement.h).
  std::vector<int> cpus;
  bool print = true;            // text on stdout
  std::string out_path;         // JSON lines, empty for none
  TextOptions text;
  std::string cmd;              // run with /bin/sh -c, stop when it exits
  double duration_s = 0;        // 0: no limit
  uint64_t count = 0;           // 0: no limit
  std::string cmdline;          // recorded in the startup event
  uint32_t initial_netns = 0;   // the host's netns inode, recorded for sort
  const DropReasons* drop_reasons = nullptr;  // drop reason names; none: values only
  // -c ovs: enum ovs_action_attr value -> action name (see Plan::ovs_actions)
  const std::vector<std::string>* ovs_actions = nullptr;
  // Events name probed functions by address, or carry stack frames: kallsyms must be
  // readable (checked at the start, read at the first event).
  bool names_by_address = false;
  uint64_t tracking_max_age_ns = 10'000'000'000ull;         // age-out for skb-tracking
  // Called about once a second while the ring buffer loses events, with the total lost so
  // far. Without it, a diagnostic says so.
  std::function<void(uint64_t lost)> on_lost;
  // -c nft: the namespaces to trace with nf_tables' own tracing (empty: no nft). With
  // nft_joined_only (a -f or -m filter), traces joined to no packet event are left out.
  std::vector<NftTarget> nft_targets;
  bool nft_joined_only = false;
  // -c nft by its kprobe (a probe slot): only the table that turns tracing on is added, in
  // nscope's own namespace. nft_netlink_why: why not, said at the start of the other way.
  bool nft_kprobe = false;
  std::string nft_netlink_why;
  std::string ovs_kprobes_why;  // -c ovs by kprobes: why (said at the start)
  // Every JSON line (the startup record, events, the closing stats) also goes here, from the
  // writer thread; it must not block (see WriterOptions::json_sink and json_thin).
  std::function<void(std::string_view lines, uint64_t unformatted)> json_sink;
  const std::atomic<bool>* json_thin = nullptr;
  size_t max_queued_batches = 512;  // WriterOptions::max_queued
  // Run inside a process that owns its signals (`nscope serve`): SIGINT and SIGTERM are left
  // alone, and the run stops (reason "stopped") once stop_fd, an eventfd, is readable.
  bool own_signals = true;
  int stop_fd = -1;
  // Once the probes are attached and the readers run.
  std::function<void()> on_started;
};

// What a plan decides for a run: collectors, probes, filters, names, drop reasons. The
// caller adds its outputs and limits.
SessionOptions session_options_from(const Plan& plan);

struct SessionSummary {
  uint64_t events = 0;
  uint64_t lost = 0;
  uint64_t tracking_aged = 0;     // skb-tracking entries dropped by age-out
  uint64_t tracking_refused = 0;  // packets not followed: the tracking map was full
  std::string stop_reason;      // "signal", "command exited", "duration", "count", "write error", "stopped"
  std::string write_error;
  // With --cmd, when collect stopped because it exited: its status as a shell reports it (its
  // exit code, or 128 + the signal that ended it). -1 otherwise.
  int command_status = -1;
  bool nft = false;  // nft ran: its counts follow
  NftStats nft_stats;
};

// Errors are setup failures (load, attach, open file); once running it always detaches and
// flushes before returning.
Result<SessionSummary> run_collect(const SessionOptions& opts);

}  // namespace nscope
