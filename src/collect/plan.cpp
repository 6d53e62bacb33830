#include "collect/plan.h"

#include <bpf/btf.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "bpfload/features.h"
#include "collect/nft_probe.h"
#include "collect/ovs_probes.h"
#include "discover/nsref.h"
#include "discover/scan.h"
#include "events/free_points.h"
#include "util/strings.h"

namespace nscope {
namespace {

constexpr uint32_t kAllCollectors = NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS | NSCOPE_COLLECT_DEV |
                                    NSCOPE_COLLECT_TRACK | NSCOPE_COLLECT_DROP | NSCOPE_COLLECT_CT;

// kprobe and fentry programs load only where the kernel allows them (not with kprobes
// compiled out, not under lockdown for trampolines): found by trial, as `nscope info` does.
Result<void> refuse_what_cannot_load(const std::vector<std::string>& specs) {
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
    return Error::usage(fmt::format(
        "{}: this kernel does not allow {} programs ({}); what loads here: {}.",
        spec, kprobe ? "kprobe and kretprobe" : "fentry and fexit", why,
        loads.empty() ? "nothing" : loads));
  }
  return {};
}

// The probes `specs` name in the running kernel, checked against what it can load.
Result<std::vector<ProbeSpec>> kernel_probes(const std::vector<std::string>& specs,
                                             const btf* vmlinux, PlanInput& failed) {
  failed = PlanInput::probe_kind;
  if (auto r = refuse_what_cannot_load(specs); !r) return r.error();
  failed = PlanInput::probes;
  ProbeCatalog catalog;
  if (auto tps = list_tracepoints()) catalog.tracepoints = std::move(*tps);
  if (needs_function_list(specs)) {
    auto fns = list_traceable_functions();
    catalog.functions = fns ? std::move(*fns) : btf_function_names(vmlinux);
  }
  auto probes = resolve_probes(specs, vmlinux, catalog);
  if (!probes) return Error::usage(probes.error().message);
  failed = PlanInput::too_many_probes;
  if (probes->size() > NSCOPE_MAX_PROBES)
    return Error::usage(fmt::format("{} probes, and collect attaches at most {} (one BPF "
                                    "program slot each): name fewer, or narrow the glob",
                                    probes->size(), NSCOPE_MAX_PROBES));
  return probes;
}

using BtfPtr = std::unique_ptr<btf, void (*)(btf*)>;

Result<BtfPtr> kernel_btf() {
  if (geteuid() != 0)
    return Error::msg("collect needs root (CAP_BPF and CAP_PERFMON) to load its BPF programs: "
                      "run it with sudo",
                      ErrorKind::permission);
  BtfPtr vmlinux(btf__load_vmlinux_btf(), btf__free);
  if (!vmlinux)
    return Error::msg("this kernel exposes no BTF (/sys/kernel/btf/vmlinux): collect needs a "
                      "kernel built with CONFIG_DEBUG_INFO_BTF",
                      ErrorKind::not_found);
  return vmlinux;
}

}  // namespace

Result<uint32_t> parse_collectors(const std::vector<std::string>& list, HostCollectors* host) {
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
      else if (part == "nft" && host) host->nft = true;
      else if (part == "ovs" && host) host->ovs = true;
      else
        return Error::usage(
            fmt::format("unknown collector '{}'; valid collectors: {}", part, kCollectorNames));
    }
  return mask;
}

Result<std::vector<std::string>> probe_specs(const std::vector<std::string>& list) {
  std::vector<std::string> specs;
  for (const auto& p : list)
    for (auto part : split(p, ','))
      if (!trim(part).empty()) specs.emplace_back(trim(part));
  if (specs.empty() && !list.empty())
    return Error::usage("no probe given");
  if (specs.empty()) specs = {"net:netif_receive_skb", "net:net_dev_start_xmit"};
  return specs;
}

void add_free_probes(std::vector<ProbeSpec>& probes, uint32_t collectors, const btf* vmlinux) {
  const bool tracking = collectors & NSCOPE_COLLECT_TRACK;
  auto add_free = [&](std::string_view name, bool wanted) {
    for (auto& p : probes)
      if (p.group == free_points::kGroup && p.name == name) {
        p.cfg.flags |= NSCOPE_PROBE_FREES;
        return;
      }
    if (!wanted) return;
    auto cfg = tracepoint_args(vmlinux, std::string(name));
    if (!cfg) return;  // an old kernel without it: tracking ends by age-out only
    ProbeSpec p;
    p.group = free_points::kGroup;
    p.name = name;
    p.cfg = *cfg;
    p.cfg.flags = NSCOPE_PROBE_FREES | (tracking ? NSCOPE_PROBE_ONLY_TRACKED : 0);
    probes.push_back(std::move(p));
  };
  add_free(free_points::kDrop, tracking || (collectors & NSCOPE_COLLECT_DROP));
  add_free(free_points::kConsume, tracking);
}

void add_ovs_probes(std::vector<ProbeSpec>& probes, const std::vector<ProbeSpec>& ovs) {
  for (const ProbeSpec& o : ovs) {
    auto named = std::find_if(probes.begin(), probes.end(), [&](const ProbeSpec& p) {
      return p.kind == ProbeKind::tracepoint && p.group == o.group && p.name == o.name;
    });
    if (named != probes.end()) named->cfg = o.cfg;
    else probes.push_back(o);
  }
}

std::unordered_map<uint32_t, std::string> namespace_names(const ScanResult& scan,
                                                          uint32_t* initial) {
  std::unordered_map<uint32_t, std::string> names;
  for (const auto& n : scan.namespaces) {
    if (n.initial) *initial = static_cast<uint32_t>(n.inode);
    if (!n.names.empty()) names[static_cast<uint32_t>(n.inode)] = n.names.front();
    else if (n.container)
      names[static_cast<uint32_t>(n.inode)] = container_name_or_id(*n.container);
  }
  return names;
}

Result<void> check_host_collectors(const HostCollectors& host, bool allow_system_changes,
                                   PlanInput& in) {
  if (host.nft && !allow_system_changes) {
    in = PlanInput::system_changes;
    return Error::usage(
        "the nft collector adds an nf_tables table (inet nscope_trace_PID, removed on exit): "
        "where kprobes load, one with an unhooked chain that turns nf_tables' tracing on; "
        "elsewhere one in each traced network namespace that traces its packets");
  }
  if (host.ovs && access("/sys/module/openvswitch", F_OK) != 0) {
    in = PlanInput::ovs;
    return Error::usage("the ovs collector needs the openvswitch kernel module, which is not "
                        "loaded (no /sys/module/openvswitch): this host has no Open vSwitch "
                        "datapath to trace");
  }
  return {};
}

std::vector<NftTarget> nft_targets(const ScanResult& scan, const filter::FilterSet& f) {
  std::vector<NftTarget> out;
  for (const Namespace& n : scan.namespaces) {
    if (n.type != NsType::net) continue;
    auto inode = static_cast<uint32_t>(n.inode);
    bool named = std::any_of(f.netns.begin(), f.netns.end(),
                             [&](const auto& x) { return x.inum == inode; });
    if (f.netns_mode == NSCOPE_NETNS_INCLUDE && !named) continue;
    if (f.netns_mode == NSCOPE_NETNS_EXCLUDE && named) continue;
    NftTarget t;
    t.inode = inode;
    t.cookie = n.cookie;
    t.label = std::to_string(n.inode);
    if (!n.names.empty()) t.label += " (" + n.names.front() + ")";
    else if (n.initial) t.label += " (host)";
    t.ns = n;
    out.push_back(std::move(t));
  }
  return out;
}

Result<void> netns_filter(const std::vector<std::string>& refs, const ScanResult& scan,
                          filter::FilterSet& f) {
  auto list = parse_nsref_list(refs);
  if (!list) return Error::usage(list.error().message);
  if (list->refs.empty()) return {};
  f.netns_mode = list->exclude ? NSCOPE_NETNS_EXCLUDE : NSCOPE_NETNS_INCLUDE;
  if (list->refs.size() > NSCOPE_MAX_NETNS_FILTER)
    return Error::usage(fmt::format("at most {} namespaces", NSCOPE_MAX_NETNS_FILTER));
  for (const auto& ref : list->refs) {
    auto r = resolve_nsref(ref, scan);
    if (!r) return Error::usage(r.error().message);
    f.netns.push_back({static_cast<uint32_t>(r->ns.inode), r->ns.cookie});
  }
  return {};
}

Result<Plan> build_plan(const PlanRequest& req, PlanInput* failed) {
  PlanInput ignored;
  PlanInput& in = failed ? *failed : ignored;
  Plan plan;
  in = PlanInput::collectors;
  auto collectors = parse_collectors(req.collectors, &plan.host);
  if (!collectors) return collectors.error();
  if (auto r = check_host_collectors(plan.host, req.allow_system_changes, in); !r) return r.error();
  plan.collectors = *collectors | (req.stack ? NSCOPE_COLLECT_STACK : 0);
  in = PlanInput::no_probes;
  auto specs = probe_specs(req.probes);
  if (!specs) return specs.error();

  in = PlanInput::other;
  auto vmlinux = kernel_btf();
  if (!vmlinux) return vmlinux.error();
  auto probes = kernel_probes(*specs, vmlinux->get(), in);
  if (!probes) return probes.error();
  plan.probes = std::move(*probes);
  if (plan.host.ovs) {
    in = PlanInput::ovs;
    auto ovs = ovs_probes(vmlinux->get());
    if (!ovs) return ovs.error();
    // Linking an upcall to its execution needs the packets' tracking ids.
    plan.collectors |= NSCOPE_COLLECT_OVS | NSCOPE_COLLECT_TRACK;
    add_ovs_probes(plan.probes, ovs->probes);
    plan.ovs_actions = std::move(ovs->actions);
    if (ovs->kprobes) plan.ovs_kprobes_why = ovs->why_kprobes;
    in = PlanInput::too_many_probes;
    if (plan.probes.size() > NSCOPE_MAX_PROBES)
      return Error::usage(fmt::format("{} probes with the ovs collector's 2, and collect attaches "
                                      "at most {}: name fewer",
                                      plan.probes.size(), NSCOPE_MAX_PROBES));
    in = PlanInput::other;
  }
  if (plan.host.nft) {
    // Where kprobes load, Retis's way (no trace messages to join); else nf_tables' tracing.
    auto k = nft_probe(vmlinux->get());
    if (k) {
      plan.nft_kprobe = true;
      plan.collectors |= NSCOPE_COLLECT_NFT;
      plan.probes.push_back(std::move(*k));
      in = PlanInput::too_many_probes;
      if (plan.probes.size() > NSCOPE_MAX_PROBES)
        return Error::usage(fmt::format("{} probes with the nft collector's kprobe, and collect "
                                        "attaches at most {}: name fewer",
                                        plan.probes.size(), NSCOPE_MAX_PROBES));
      in = PlanInput::other;
    } else {
      plan.nft_kprobe_why_not = k.error().message;
    }
  }
  add_free_probes(plan.probes, plan.collectors, vmlinux->get());
  plan.names_by_address =
      req.stack || std::any_of(plan.probes.begin(), plan.probes.end(),
                               [](const ProbeSpec& p) { return p.by_address(); });

  ScanOptions scan_opts;
  scan_opts.types = {NsType::net};
  ScanResult scan = scan_namespaces(scan_opts);
  plan.netns_names = namespace_names(scan, &plan.initial_netns);
  in = PlanInput::netns;
  if (auto r = netns_filter(req.netns, scan, plan.filters); !r) return r.error();
  filter::Expression which;
  if (auto r = filter::compile_filters(req.filters, vmlinux->get(), plan.filters, &which); !r) {
    in = which == filter::Expression::packet ? PlanInput::packet_filter : PlanInput::meta_filter;
    return r.error();
  }
  in = PlanInput::other;
  plan.drop_reasons = DropReasons(vmlinux->get());
  if (plan.host.nft && !plan.nft_kprobe) plan.nft_targets = nft_targets(scan, plan.filters);
  return plan;
}

}  // namespace nscope
