// `nscope collect`: packet events at kernel tracepoints, tagged with their network namespace.
#include <bpf/btf.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "bpfload/features.h"
#include "cli/commands.h"
#include "collect/ksyms.h"
#include "collect/probes.h"
#include "collect/session.h"
#include "discover/nsref.h"
#include "discover/scan.h"
#include "events/symbols.h"
#include "filter/cbpf.h"
#include "filter/meta.h"
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
  std::string buffer_size = "32M";
  bool ethernet = false;
  bool utc = false;
  std::string format = "nscope";
  std::vector<std::string> netns;  // --netns NSREF[,NSREF] or !NSREF
  std::string packet_filter;       // -f
  std::string meta_filter;         // -m
  bool stack = false;              // --stack
};

constexpr std::string_view kCollectors = "skb, ns, dev, skb-tracking, skb-drop, ct";
constexpr uint32_t kAllCollectors = NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS | NSCOPE_COLLECT_DEV |
                                    NSCOPE_COLLECT_TRACK | NSCOPE_COLLECT_DROP | NSCOPE_COLLECT_CT;

uint32_t parse_collectors(const std::vector<std::string>& list) {
  if (list.empty()) return kAllCollectors;
  uint32_t mask = 0;
  for (const auto& item : list)
    for (auto part : split(item, ',')) {
      part = trim(part);
      if (part == "skb") mask |= NSCOPE_COLLECT_SKB;
      else if (part == "ns") mask |= NSCOPE_COLLECT_NS;
      else if (part == "dev") mask |= NSCOPE_COLLECT_DEV;
      else if (part == "skb-tracking") mask |= NSCOPE_COLLECT_TRACK;
      else if (part == "skb-drop") mask |= NSCOPE_COLLECT_DROP;
      else if (part == "ct") mask |= NSCOPE_COLLECT_CT;
      else
        throw UsageError(fmt::format("unknown collector '{}'; valid collectors: {}", part, kCollectors));
    }
  return mask;
}

// "64M", "1G", "4096" -> bytes.
uint64_t parse_size(const std::string& s) {
  if (s.empty()) throw UsageError("--buffer-size: empty");
  uint64_t mult = 1;
  std::string num = s;
  switch (std::toupper(static_cast<unsigned char>(s.back()))) {
    case 'K': mult = 1ull << 10; num.pop_back(); break;
    case 'M': mult = 1ull << 20; num.pop_back(); break;
    case 'G': mult = 1ull << 30; num.pop_back(); break;
  }
  auto v = parse_u64(num);
  if (!v || *v == 0 || *v * mult > (1ull << 31))
    throw UsageError(fmt::format("--buffer-size '{}': give a size such as 64M (at most 2G)", s));
  return *v * mult;
}

// "10", "10s", "500ms", "2m" -> seconds.
double parse_duration(const std::string& s) {
  double mult = 1;
  std::string num = s;
  if (num.ends_with("ms")) { mult = 0.001; num.resize(num.size() - 2); }
  else if (num.ends_with('s')) num.pop_back();
  else if (num.ends_with('m')) { mult = 60; num.pop_back(); }
  else if (num.ends_with('h')) { mult = 3600; num.pop_back(); }
  char* end = nullptr;
  double v = std::strtod(num.c_str(), &end);
  if (num.empty() || *end || v <= 0)
    throw UsageError(fmt::format("--duration '{}': give a time such as 10s, 500ms or 2m", s));
  return v * mult;
}

std::unordered_map<uint32_t, std::string> namespace_names(const ScanResult& scan, uint32_t* initial) {
  std::unordered_map<uint32_t, std::string> names;
  for (const auto& n : scan.namespaces) {
    if (n.initial) *initial = static_cast<uint32_t>(n.inode);
    if (!n.names.empty()) names[static_cast<uint32_t>(n.inode)] = n.names.front();
    else if (n.container)
      names[static_cast<uint32_t>(n.inode)] =
          n.container->name.empty() ? n.container->id.substr(0, 12) : n.container->name;
  }
  return names;
}

// --netns a,b or --netns '!a,!b': the namespaces' inodes and cookies, checked in the kernel.
void netns_filter(const std::vector<std::string>& refs, const ScanResult& scan, filter::FilterSet& f) {
  std::vector<std::string_view> parts;
  for (const auto& item : refs)
    for (auto part : split(item, ','))
      if (!trim(part).empty()) parts.push_back(trim(part));
  for (auto part : parts) {
    uint32_t mode = part.front() == '!' ? NSCOPE_NETNS_EXCLUDE : NSCOPE_NETNS_INCLUDE;
    if (f.netns_mode && f.netns_mode != mode)
      throw UsageError("--netns: give either namespaces to keep or namespaces to leave out "
                       "(!NSREF), not both");
    f.netns_mode = mode;
  }
  if (parts.size() > NSCOPE_MAX_NETNS_FILTER)
    throw UsageError(fmt::format("--netns: at most {} namespaces", NSCOPE_MAX_NETNS_FILTER));
  for (auto part : parts) {
    if (part.front() == '!') part = trim(part.substr(1));
    auto r = resolve_nsref(part, scan);
    if (!r) throw UsageError("--netns: " + r.error().message);
    f.netns.push_back({static_cast<uint32_t>(r->ns.inode), r->ns.cookie});
  }
}

// -f EXPR: compiled by libpcap for Ethernet frames and for bare IP packets, then to eBPF.
void packet_filter(const std::string& expr, filter::FilterSet& f) {
  auto eth = filter::compile_pcap(expr, filter::LinkType::ethernet);
  auto raw = filter::compile_pcap(expr, filter::LinkType::raw_ip);
  if (!eth && !raw) throw UsageError(fmt::format("-f '{}': {}", expr, eth.error().message));
  // An expression only one shape can match ("arp" has no meaning for a bare IP packet):
  // packets of the other shape are rejected.
  auto code = filter::translate_packet_filter(eth ? *eth : std::vector<filter::CbpfInsn>{},
                                              raw ? *raw : std::vector<filter::CbpfInsn>{});
  if (!code) throw UsageError(fmt::format("-f '{}': {}", expr, code.error().message));
  f.packet = std::move(*code);
  f.packet_bytes = std::max(eth ? filter::packet_bytes_needed(*eth) : 0u,
                            raw ? filter::packet_bytes_needed(*raw) : 0u);
}

// kprobe and fentry programs load only where the kernel allows them (not with kprobes
// compiled out, not under lockdown for trampolines): found by trial, as `nscope info` does.
void refuse_what_cannot_load(const std::vector<std::string>& specs) {
  for (const auto& spec : specs) {
    ProbeKind kind = probe_kind_of(spec);
    if (kind == ProbeKind::tracepoint) continue;
    bool kprobe = kind == ProbeKind::kprobe || kind == ProbeKind::kretprobe;
    const char* type = kprobe ? "kprobe" : "fentry";
    const Features& f = probe_features();
    if (f.supports(type)) continue;
    std::string why, loads;
    for (const auto& pr : f.probes) {
      if (pr.name == type) why = pr.error;
      if (pr.ok) loads += (loads.empty() ? "" : ", ") + pr.name;
    }
    throw UsageError(fmt::format(
        "{}: this kernel does not allow {} programs ({}); what loads here: {}. Use a "
        "tracepoint instead, e.g. -p net:netif_receive_skb (see `nscope info`)",
        spec, kprobe ? "kprobe and kretprobe" : "fentry and fexit", why,
        loads.empty() ? "nothing" : loads));
  }
}

// Names for what the kernel side reports by address: a kprobe glob's functions and --stack
// frames, from /proc/kallsyms, each name made once. kallsyms is read at the first event,
// once nscope's own programs are loaded and listed there, so their frames can be told apart.
struct AddressNames {
  std::optional<KernelSymbols> ksyms;
  SymbolTable names;
  std::unordered_map<uint64_t, std::string_view> functions;
  // Stacks by their frames' bytes; looked up without building a key (C++20 transparent
  // lookup), since this runs for every event.
  struct BytesHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, std::string_view, BytesHash, std::equal_to<>> stacks;

  const KernelSymbols& symbols() {
    if (!ksyms) {
      auto k = KernelSymbols::load();
      ksyms = k ? std::move(*k) : KernelSymbols();
    }
    return *ksyms;
  }
  std::string_view function_at(uint64_t ip) {
    auto [it, fresh] = functions.try_emplace(ip);
    if (fresh) {
      auto hit = symbols().lookup(ip);
      it->second = names.intern(hit.name.empty() ? symbols().describe(ip) : std::string(hit.name));
    }
    return it->second;
  }
  // The frames from the traced code out; the tracing machinery on top (the BPF program, the
  // tracepoint's or trampoline's glue) is left out.
  std::string_view stack(const uint64_t* ips, uint32_t n) {
    std::string_view key(reinterpret_cast<const char*>(ips), n * sizeof(uint64_t));
    if (auto it = stacks.find(key); it != stacks.end()) return it->second;
    uint32_t i = 0;
    while (i + 1 < n && is_tracing_glue(symbols().lookup(ips[i]).name)) ++i;
    std::string text;
    for (; i < n; ++i) {
      if (!text.empty()) text += '\n';
      text += symbols().describe(ips[i]);
    }
    return stacks.emplace(std::string(key), names.intern(text)).first->second;
  }
  static bool is_tracing_glue(std::string_view name) {
    for (std::string_view p : {"bpf_prog_", "bpf_trace_run", "__bpf_trace_", "bpf_trampoline_",
                               "__bpf_prog_enter", "trace_call_bpf", "kprobe_perf_func",
                               "kprobe_dispatcher", "kretprobe_perf_func", "kretprobe_dispatcher"})
      if (name.starts_with(p)) return true;
    return name.empty();
  }
};

int run_collect_cmd(const CollectArgs& a, const std::string& cmdline) {
  SessionOptions so;
  so.collector.collectors = parse_collectors(a.collectors);
  so.collector.buffer_size = parse_size(a.buffer_size);
  so.duration_s = a.duration.empty() ? 0 : parse_duration(a.duration);
  so.count = a.count;
  so.cmd = a.cmd;
  so.out_path = a.out;
  so.print = a.out.empty() || a.print;
  so.text.ethernet = a.ethernet;
  so.text.utc = a.utc;
  so.text.retis = a.format == "retis";
  so.cmdline = cmdline;

  std::vector<std::string> specs;
  for (const auto& p : a.probes)
    for (auto part : split(p, ','))
      if (!trim(part).empty()) specs.emplace_back(trim(part));
  if (specs.empty() && !a.probes.empty())
    throw UsageError("-p: no probe given; name probes (-p net:netif_receive_skb), or leave -p "
                     "out for the defaults");
  if (specs.empty()) specs = {"net:netif_receive_skb", "net:net_dev_start_xmit"};

  if (geteuid() != 0)
    throw std::runtime_error("collect needs root (CAP_BPF and CAP_PERFMON) to load its BPF "
                             "programs: run it with sudo");
  std::unique_ptr<btf, void (*)(btf*)> vmlinux(btf__load_vmlinux_btf(), btf__free);
  if (!vmlinux)
    throw std::runtime_error("this kernel exposes no BTF (/sys/kernel/btf/vmlinux): collect "
                             "needs a kernel built with CONFIG_DEBUG_INFO_BTF");
  refuse_what_cannot_load(specs);
  ProbeCatalog catalog;
  if (auto tps = list_tracepoints()) catalog.tracepoints = std::move(*tps);
  if (needs_function_list(specs)) {
    auto fns = list_traceable_functions();
    catalog.functions = fns ? std::move(*fns) : btf_function_names(vmlinux.get());
  }
  auto probes = resolve_probes(specs, vmlinux.get(), catalog);
  if (!probes) throw UsageError(probes.error().message);
  if (probes->size() > NSCOPE_MAX_PROBES)
    throw UsageError(fmt::format("-p: {} probes, and collect attaches at most {} (one BPF program "
                                 "slot each): name fewer, or narrow the glob",
                                 probes->size(), NSCOPE_MAX_PROBES));
  if (a.stack) so.collector.collectors |= NSCOPE_COLLECT_STACK;
  // Following a packet needs to see where it ends: skb-tracking adds the free tracepoints
  // (reporting only packets it followed), skb-drop adds skb:kfree_skb. A free tracepoint the
  // user named reports every packet.
  auto has = [&](const std::string& sym) {
    for (auto& p : *probes)
      if (p.symbol() == sym) return &p;
    return static_cast<ProbeSpec*>(nullptr);
  };
  auto add_free = [&](const std::string& name, bool wanted) {
    if (ProbeSpec* p = has("skb:" + name)) {
      p->cfg.flags |= NSCOPE_PROBE_FREES;
      return;
    }
    if (!wanted) return;
    auto cfg = tracepoint_args(vmlinux.get(), name);
    if (!cfg) return;  // an old kernel without it: tracking ends by age-out only
    ProbeSpec p;
    p.group = "skb";
    p.name = name;
    p.cfg = *cfg;
    p.cfg.flags = NSCOPE_PROBE_FREES | NSCOPE_PROBE_ONLY_TRACKED;
    if (!(so.collector.collectors & NSCOPE_COLLECT_TRACK)) p.cfg.flags &= ~NSCOPE_PROBE_ONLY_TRACKED;
    probes->push_back(std::move(p));
  };
  bool tracking = so.collector.collectors & NSCOPE_COLLECT_TRACK;
  add_free("kfree_skb", tracking || (so.collector.collectors & NSCOPE_COLLECT_DROP));
  add_free("consume_skb", tracking);
  so.collector.probes = std::move(probes.value());
  ScanOptions scan_opts;
  scan_opts.types = {NsType::net};
  ScanResult scan = scan_namespaces(scan_opts);
  auto names = namespace_names(scan, &so.initial_netns);
  netns_filter(a.netns, scan, so.collector.filters);
  if (!a.packet_filter.empty()) packet_filter(a.packet_filter, so.collector.filters);
  if (!a.meta_filter.empty()) {
    auto code = filter::compile_meta_filter(a.meta_filter, vmlinux.get());
    if (!code) throw UsageError(code.error().message);
    so.collector.filters.meta = std::move(*code);
  }
  so.text.names = &names;

  DropReasons reasons(vmlinux.get());
  SymbolTable reason_names;
  so.drop_reason = [&](uint32_t v) { return reason_names.intern(reasons.name(v)); };
  AddressNames addrs;
  bool by_address = std::any_of(so.collector.probes.begin(), so.collector.probes.end(),
                                [](const ProbeSpec& p) { return p.by_address(); });
  if (a.stack || by_address) {
    // Checked now, read at the first event.
    if (auto k = KernelSymbols::load(); !k) fail(k.error());
    so.function_at = [&](uint64_t ip) { return addrs.function_at(ip); };
    so.stack = [&](const uint64_t* ips, uint32_t n) { return addrs.stack(ips, n); };
  }

  auto r = run_collect(so);
  if (!r) fail(r.error());
  const SessionSummary& s = *r;
  fmt::print(stderr, "nscope: {} events from {} probe{}{}; {} lost{}\n", s.events,
             so.collector.probes.size(), so.collector.probes.size() == 1 ? "" : "s",
             s.stop_reason.empty() ? "" : " (stopped: " + s.stop_reason + ")", s.lost,
             s.lost ? " (the ring buffer was full: raise --buffer-size)" : "");
  if (s.tracking_aged || s.tracking_refused)
    fmt::print(stderr, "nscope: skb-tracking: {} entries aged out (their free was not seen), {} "
                       "packets not followed (the tracking map was full)\n",
               s.tracking_aged, s.tracking_refused);
  if (!s.write_error.empty()) {
    fmt::print(stderr, "nscope: {}\n", s.write_error);
    return 1;
  }
  // As `time` and `strace` do: the command's status is collect's.
  if (s.command_status > 0) return s.command_status;
  return 0;
}
}  // namespace

Runner register_collect(CLI::App& app, const std::string& cmdline) {
  auto a = std::make_shared<CollectArgs>();
  auto* c = app.add_subcommand("collect", "Packet events at kernel tracepoints, with their namespace");
  c->add_option("-c,--collectors", a->collectors,
                "Collectors: skb, ns, dev, skb-tracking, skb-drop, ct (default: all)")
      ->delimiter(',');
  c->add_option("-p,--probe", a->probes,
                "Probes: GROUP:NAME or tp:GROUP:NAME, kprobe:FUNC, kretprobe:FUNC, fentry:FUNC, "
                "fexit:FUNC, * globs (default: net:netif_receive_skb, net:net_dev_start_xmit)");
  c->add_flag("--stack", a->stack, "Record the kernel stack of each event");
  c->add_option("-o,--out", a->out, "Write events as JSON lines to FILE");
  c->add_flag("--print", a->print, "Print events as text too when writing a file");
  c->add_option("--cmd", a->cmd,
                "Run CMD (with sh -c) and stop when it exits; collect then exits with its status");
  c->add_option("--duration", a->duration, "Stop after this long (10s, 500ms, 2m)");
  c->add_option("--count", a->count, "Stop after N events (N > 0)")
      ->check(CLI::Validator(
          [](const std::string& v) {
            return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos &&
                           v.find_first_not_of('0') != std::string::npos
                       ? std::string()
                       : "'" + v + "': give a number of events above 0";
          },
          "N"));
  c->add_option("--buffer-size", a->buffer_size, "Ring buffer size (default 32M)");
  c->add_flag("-e,--ethernet", a->ethernet, "Print link-layer headers");
  c->add_flag("--utc", a->utc, "Print UTC wall-clock times instead of monotonic ns");
  c->add_option("--format", a->format,
                "Printed text: nscope (the default: the namespace on its own line) or retis "
                "(exactly as `retis collect` prints events)")
      ->check(CLI::IsMember({"nscope", "retis"}));
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
