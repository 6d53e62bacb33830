// What one `collect` run will do, decided before anything is loaded: the collectors, the
// probes (with the free tracepoints that following a packet needs), the filters compiled
// for the kernel, and the network namespaces resolved and named. Built from a request in
// collect's own words, without the CLI, so it can be tested on its own; the CLI parses
// flags, builds the plan, runs it and prints.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "collect/nft_tracer.h"
#include "collect/probes.h"
#include "discover/model.h"
#include "filter/filter.h"
#include "util/result.h"

struct btf;

namespace nscope {

struct PlanRequest {
  std::vector<std::string> collectors;  // "skb", "ct" or lists "skb,ct"; none: all
  std::vector<std::string> probes;      // probe specs or lists of them; none: the defaults
  bool stack = false;                   // the kernel stack of each event
  std::vector<std::string> netns;       // NSREF or !NSREF, or lists of them
  filter::FilterExpressions filters;    // pcap-filter and sk_buff field expressions
  bool allow_system_changes = false;    // --allow-system-changes: nft may add its tables
};

// The collectors that are not BPF programs' work: they change the host (nft: a table in
// each traced namespace) or need a module (ovs).
struct HostCollectors {
  bool nft = false;
  bool ovs = false;
};

struct Plan {
  uint32_t collectors = 0;  // NSCOPE_COLLECT_*
  std::vector<ProbeSpec> probes;  // slot i is probes[i]
  filter::FilterSet filters;
  // Network namespaces by inode: `ip netns` name or container, as events name them.
  std::unordered_map<uint32_t, std::string> netns_names;
  uint32_t initial_netns = 0;  // the host's netns inode
  DropReasons drop_reasons{nullptr};  // from the running kernel's BTF
  // Events name things by address (--stack frames, a glob's functions): kallsyms is needed.
  bool names_by_address = false;
  HostCollectors host;
  std::vector<NftTarget> nft_targets;  // -c nft: the namespaces its table goes into
  // -c nft by a kprobe on __nft_trace_packet (a probe slot; nft_targets is then empty), else
  // by nf_tables' tracing, with why the kprobe could not be used.
  bool nft_kprobe = false;
  std::string nft_kprobe_why_not;
  // -c ovs: enum ovs_action_attr value -> Retis's action name, from the module's BTF.
  std::vector<std::string> ovs_actions;
  // -c ovs by kprobes (the tracepoints missing): why; empty with the tracepoints.
  std::string ovs_kprobes_why;
};

// Which part of the request a failed plan is about, so the caller can say it in its user's
// words: the CLI puts its flag in front ("--netns: at most 16 namespaces") and adds the fix
// that names a flag. The messages themselves name none.
enum class PlanInput {
  other,            // not one input: root, BTF
  collectors,       // an unknown collector
  probes,           // a probe spec the kernel has nothing for
  no_probes,        // probe lists given, none in them
  too_many_probes,  // more probes than program slots
  probe_kind,       // a probe kind this kernel will not load
  netns,            // a namespace reference
  packet_filter,    // the pcap-filter expression (the message starts with it, quoted)
  meta_filter,      // the sk_buff field expression
  system_changes,   // a collector that changes the host, without the permission to
  ovs,              // the ovs collector on a host that cannot have it
};

// The whole plan, from the running kernel (BTF, tracefs, /proc). Errors: usage errors that
// name the problem and the fix, a permission error without root, or what the kernel lacks;
// *failed (when given) says which input it is about.
Result<Plan> build_plan(const PlanRequest& req, PlanInput* failed = nullptr);

// The steps of build_plan that need no root, for tests and for each other.

inline constexpr std::string_view kCollectorNames =
    "skb, ns, dev, skb-tracking, skb-drop, ct, nft, ovs";
// The BPF collectors' bitmask; all of them when `list` is empty (nft and ovs are never
// implied). nft and ovs go into *host, and are unknown without it.
Result<uint32_t> parse_collectors(const std::vector<std::string>& list,
                                  HostCollectors* host = nullptr);
// nft without the permission to change the host, ovs without its module loaded: usage errors, with
// `in` set to the input they are about.
Result<void> check_host_collectors(const HostCollectors& host, bool allow_system_changes,
                                   PlanInput& in);
// The network namespaces nft traces: every one the scan found, or those --netns keeps.
std::vector<NftTarget> nft_targets(const ScanResult& scan, const filter::FilterSet& f);
// The probe specs of comma-separated lists, trimmed; the defaults when `list` is empty.
Result<std::vector<std::string>> probe_specs(const std::vector<std::string>& list);
// Following a packet needs to see where it ends: skb-tracking adds the free tracepoints
// (reporting only packets it followed), skb-drop adds skb:kfree_skb. A free tracepoint the
// user named is marked as one and reports every packet.
void add_free_probes(std::vector<ProbeSpec>& probes, uint32_t collectors, const btf* vmlinux);
// The ovs collector's tracepoints: appended, or their argument layout given to the same
// tracepoints already named with -p.
void add_ovs_probes(std::vector<ProbeSpec>& probes, const std::vector<ProbeSpec>& ovs);
// NSREF[,NSREF] or !NSREF[,!NSREF]: the namespaces' inodes and cookies, into f.netns.
Result<void> netns_filter(const std::vector<std::string>& refs, const ScanResult& scan,
                          filter::FilterSet& f);
// Each namespace's name (its first `ip netns` name, else its container), and the host's.
std::unordered_map<uint32_t, std::string> namespace_names(const ScanResult& scan,
                                                          uint32_t* initial);

}  // namespace nscope
