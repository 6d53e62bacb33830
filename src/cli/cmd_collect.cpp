// `nscope collect`: packet events at kernel tracepoints, tagged with their network namespace.
#include <algorithm>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/event_files.h"
#include "cli/units.h"
#include "collect/plan.h"
#include "collect/session.h"
#include "util/cpus.h"
#include "util/diag.h"
#include "util/strings.h"

namespace nscope::cli {

namespace {

struct CollectArgs {
  std::vector<std::string> collectors;
  std::vector<std::string> probes;
  std::string out;
  bool print = false;
  std::string cmd;
  std::string duration;
  uint64_t count = 0;
  std::string buffer_size;         // empty: default_buffer_size()
  size_t readers = 0;              // 0: one per 4 CPUs
  std::string cpus;                // --cpus LIST
  bool ethernet = false;
  bool utc = false;
  std::string format = "nscope";
  std::vector<std::string> netns;  // --netns NSREF[,NSREF] or !NSREF
  std::string packet_filter;       // -f
  std::string meta_filter;         // -m
  bool stack = false;              // --stack
  bool allow_system_changes = false;  // -c nft may add its table to namespaces
};

// The options that shape the run, from the plan and the flags of the output.
SessionOptions session_options(const CollectArgs& a, const Plan& plan, const std::string& cmdline) {
  SessionOptions so = session_options_from(plan);
  if (!a.buffer_size.empty()) so.collector.buffer_size = *size_bytes(a.buffer_size);  // checked by CLI11
  so.collector.readers = a.readers;
  // One ring for every CPU instead of one each: for measuring what per-CPU rings save.
  so.collector.shared_ring = getenv("NSCOPE_SHARED_RING") != nullptr;
  if (!a.cpus.empty()) so.cpus = *parse_cpu_list(a.cpus);  // checked by CLI11
  so.duration_s = a.duration.empty() ? 0 : static_cast<double>(*time_ns(a.duration)) / 1e9;
  so.count = a.count;
  so.cmd = a.cmd;
  so.out_path = a.out;
  so.print = a.out.empty() || a.print;
  so.text.ethernet = a.ethernet;
  so.text.utc = a.utc;
  so.text.retis = a.format == "retis";
  so.cmdline = cmdline;
  so.nft_joined_only = !a.packet_filter.empty() || !a.meta_filter.empty();
  so.on_lost = [](uint64_t lost) {
    diag("{} events lost so far: the ring buffer was full (raise --buffer-size, or filter)", lost);
  };
  return so;
}

// The closing lines; the exit status.
int report(const SessionSummary& s, size_t nprobes) {
  fmt::print(stderr, "nscope: {} events from {} probe{}{}; {} lost{}\n", s.events, nprobes,
             nprobes == 1 ? "" : "s",
             s.stop_reason.empty() ? "" : " (stopped: " + s.stop_reason + ")", s.lost,
             s.lost ? " (the ring buffer was full: raise --buffer-size)" : "");
  if (s.tracking_aged || s.tracking_refused)
    fmt::print(stderr, "nscope: skb-tracking: {} entries aged out (their free was not seen), {} "
                       "packets not followed (the tracking map was full)\n",
               s.tracking_aged, s.tracking_refused);
  if (s.nft) {
    const NftStats& n = s.nft_stats;
    fmt::print(stderr, "nscope: nft: {} traces, {} joined to a packet, {} events written{}\n",
               n.traces, n.joined, n.written,
               n.lost ? fmt::format("; {} trace message{} lost (the netlink socket's buffer was "
                                    "full)",
                                    n.lost, n.lost == 1 ? "" : "s")
                      : "");
  }
  if (!s.write_error.empty()) {
    fmt::print(stderr, "nscope: {}\n", s.write_error);
    return 1;
  }
  // As `time` and `strace` do: the command's status is collect's.
  if (s.command_status > 0) return s.command_status;
  return 0;
}

// A plan's error as collect's user knows the inputs: by their flags, with the fix that
// names one.
Error in_flags(PlanInput in, Error e) {
  auto around = [&](const char* before, const char* after) {
    e.message = before + e.message + after;
    return e;
  };
  switch (in) {
    case PlanInput::no_probes:
      return around("-p: ", "; name probes (-p net:netif_receive_skb), or leave -p out for the "
                            "defaults");
    case PlanInput::too_many_probes: return around("-p: ", "");
    case PlanInput::probe_kind:
      return around("", " Use a tracepoint instead, e.g. -p net:netif_receive_skb (see `nscope "
                        "info`)");
    case PlanInput::netns: return around("--netns: ", "");
    case PlanInput::packet_filter: return around("-f ", "");
    case PlanInput::meta_filter: return around("-m: ", "");
    case PlanInput::system_changes:
      return around("-c nft: ", "; give --allow-system-changes to allow it");
    case PlanInput::ovs: return around("-c ovs: ", "");
    default: return e;
  }
}

// --cpus: a CPU list this process may run on.
CLI::Validator cpus_check() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        auto cpus = parse_cpu_list(v);
        if (!cpus) return cpus.error().message;
        std::vector<int> allowed = allowed_cpus();
        for (int c : *cpus)
          if (!std::binary_search(allowed.begin(), allowed.end(), c))
            return fmt::format("CPU {} is not one nscope may run on (it may use {})", c,
                               format_cpu_list(allowed));
        return {};
      },
      "LIST");
}

int run_collect_cmd(const CollectArgs& a, const std::string& cmdline) {
  PlanRequest req;
  req.collectors = a.collectors;
  req.probes = a.probes;
  req.stack = a.stack;
  req.netns = a.netns;
  req.filters = {a.packet_filter, a.meta_filter};
  req.allow_system_changes = a.allow_system_changes;
  PlanInput failed = PlanInput::other;
  auto plan = build_plan(req, &failed);
  if (!plan) fail(in_flags(failed, plan.error()));
  SessionOptions so = session_options(a, *plan, cmdline);
  auto r = run_collect(so);
  if (!r) fail(r.error());
  return report(*r, so.collector.probes.size());
}
}  // namespace

Runner register_collect(CLI::App& app, const std::string& cmdline) {
  auto a = std::make_shared<CollectArgs>();
  auto* c = app.add_subcommand("collect", "Packet events at kernel tracepoints, with their namespace");
  c->add_option("-c,--collectors", a->collectors,
                "Collectors: skb, ns, dev, skb-tracking, skb-drop, ct (default: these), nft "
                "(with --allow-system-changes), ovs")
      ->delimiter(',');
  c->add_option("-p,--probe", a->probes,
                "Probes: GROUP:NAME or tp:GROUP:NAME, kprobe:FUNC, kretprobe:FUNC, fentry:FUNC, "
                "fexit:FUNC, * globs (default: net:netif_receive_skb, net:net_dev_start_xmit)");
  c->add_flag("--allow-system-changes", a->allow_system_changes,
             "Let -c nft add a table of its own (inet nscope_trace_PID) to each traced "
             "namespace; removed on exit");
  c->add_flag("--stack", a->stack, "Record the kernel stack of each event");
  c->add_option("-o,--out", a->out, "Write events as JSON lines to FILE");
  c->add_flag("--print", a->print, "Print events as text too when writing a file");
  c->add_option("--cmd", a->cmd,
                "Run CMD (with sh -c) and stop when it exits; collect then exits with its status");
  c->add_option("--duration", a->duration, "Stop after this long (10s, 500ms, 2m)")
      ->check(time_check("10s, 500ms or 2m"));
  c->add_option("--count", a->count, "Stop after N events (N > 0)")
      ->check(CLI::Validator(
          [](const std::string& v) {
            return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos &&
                           v.find_first_not_of('0') != std::string::npos
                       ? std::string()
                       : "'" + v + "': give a number of events above 0";
          },
          "N"));
  c->add_option("--buffer-size", a->buffer_size,
                "Ring buffers' size, all CPUs together: each CPU has its own (default 4M a CPU, "
                "32M to 256M)")
      ->check(size_check("64M (at most 2G)", 1ull << 31));
  c->add_option("--readers", a->readers,
                "Threads that read and format events, each for a share of the CPUs (default: one "
                "per 4 CPUs)")
      ->check(CLI::Range(1, 256));
  c->add_option("--cpus", a->cpus,
                "Run nscope's threads on these CPUs (0-3,8); default: away from the CPUs the "
                "traced traffic runs on")
      ->check(cpus_check());
  add_text_options(c, a->ethernet, a->utc, a->format,
                "Printed text: nscope (the default: the namespace on its own line) or retis "
                "(exactly as `retis collect` prints events)");
  c->add_option("--netns", a->netns,
                "Only events in these network namespaces (NSREF[,NSREF...]; !NSREF leaves one out)");
  c->add_option("-f,--filter-packet", a->packet_filter,
                "Only packets matching this pcap-filter expression (as tcpdump), e.g. 'udp port 53'");
  c->add_option("-m,--filter-meta", a->meta_filter,
                "Only packets whose sk_buff fields match, e.g. 'sk_buff.mark == 0x10 and "
                "sk_buff.dev.name == \"eth0\"'");
  return [a, c, cmdline]() { return c->parsed() ? run_collect_cmd(*a, cmdline) : -1; };
}

}  // namespace nscope::cli
