// Probe specifications for `collect -p`: tracepoints by name (`net:netif_receive_skb`,
// `tp:net:*`) and kernel functions (`kprobe:ip_rcv`, `kretprobe:ovs_dp_upcall`,
// `fentry:tcp_v4_rcv`, `fexit:...`, `kprobe:ip_*`), resolved against the running kernel's
// BTF (a tracepoint's btf_trace_ prototype, a function's own) to find which argument carries
// the sk_buff, net_device or net.
#pragma once

#include <string>
#include <vector>

#include "events/probe_form.h"
#include "nscope.h"
#include "util/result.h"

struct btf;

namespace nscope {

inline nscope_probe_cfg no_probe_args() {
  nscope_probe_cfg c{};
  c.skb_arg = c.dev_arg = c.net_arg = c.reason_arg = NSCOPE_ARG_NONE;
  return c;
}

// One probe slot: a tracepoint, or kernel functions sharing an argument layout (a kprobe
// glob fills one slot per layout; each event then names its function).
struct ProbeSpec {
  ProbeKind kind = ProbeKind::tracepoint;
  std::string group;  // tracepoint group ("net"); empty when only BTF named it
  std::string name;   // tracepoint or function name, or the glob that found `functions`
  std::vector<std::string> functions;  // kprobe, kretprobe: where the slot attaches
  nscope_probe_cfg cfg = no_probe_args();
  // What events name: "net:netif_receive_skb", "ip_rcv" (as Retis names them).
  std::string symbol() const { return group.empty() ? name : group + ":" + name; }
  // The form a user writes: "net:netif_receive_skb", "kprobe:ip_rcv", "kprobe:ip_*".
  std::string spec() const;
  // Retis's probe_type: "raw_tracepoint" (tp_btf is one), "kprobe", "kretprobe", "fentry",
  // "fexit".
  std::string_view probe_type() const;
  // Whether each event must name its function from the probed address (several functions).
  bool by_address() const { return functions.size() > 1; }
};

struct TracepointName {
  std::string group, name;
};

// Names of enum skb_drop_reason values from the running kernel's BTF, without the
// SKB_DROP_REASON_ prefix (values differ between kernels). Subsystem reasons (upper 16 bits)
// are named "<SUBSYS>:<code>" from enum skb_drop_reason_subsys.
class DropReasons {
 public:
  explicit DropReasons(const btf* vmlinux);
  std::string name(uint32_t value) const;

 private:
  std::vector<std::pair<uint32_t, std::string>> reasons_, subsys_;
};

// Tracepoints the kernel has: from tracefs when mounted, else from a tracefs mounted in a
// private mount namespace of a short-lived thread (the host's mounts are not touched).
Result<std::vector<TracepointName>> list_tracepoints();
// Functions kprobes can attach to (tracefs's available_filter_functions), the same way; a
// module's functions carry no module suffix here.
Result<std::vector<std::string>> list_traceable_functions();

// Argument layout of tracepoint `name` from its BTF prototype (typedef btf_trace_<name>).
// An Error when BTF has no such tracepoint.
Result<nscope_probe_cfg> tracepoint_args(const btf* vmlinux, const std::string& name);
// Argument layout of kernel function `name` from its BTF prototype, in vmlinux or, with
// `modules`, in a loaded module's BTF (/sys/kernel/btf/MODULE). An Error when no BTF has it.
Result<nscope_probe_cfg> function_args(const btf* vmlinux, const std::string& name,
                                       bool modules = true);

// What the kernel offers to probe: its tracepoints, and (needed only for function globs) its
// traceable functions.
struct ProbeCatalog {
  std::vector<TracepointName> tracepoints;
  std::vector<std::string> functions;
};
// Whether resolving `specs` needs ProbeCatalog::functions (a function glob is among them).
bool needs_function_list(const std::vector<std::string>& specs);
// Every function in the kernel's BTF (vmlinux only): what a glob matches when tracefs cannot
// be read; functions the kernel will not probe are then left out at attach.
std::vector<std::string> btf_function_names(const btf* vmlinux);

// The probes to attach for `specs` (each "GROUP:NAME", "tp:GROUP:NAME", a '*' glob in either
// part, "kprobe:FUNC", "kretprobe:FUNC", "fentry:FUNC", "fexit:FUNC", FUNC possibly a glob).
// Errors name the bad spec and the valid forms; a wildcard keeps only probes that carry a
// packet argument.
Result<std::vector<ProbeSpec>> resolve_probes(const std::vector<std::string>& specs,
                                              const btf* vmlinux, const ProbeCatalog& catalog);

}  // namespace nscope
