// Probe specifications for `collect -p`: tracepoints by name (`net:netif_receive_skb`,
// `tp:net:*`), resolved against the running kernel's BTF to find which argument carries the
// sk_buff, net_device or net. kprobe:/fentry: are recognised and refused where the kernel
// cannot attach them.
#pragma once

#include <string>
#include <vector>

#include "nscope.h"
#include "util/result.h"

struct btf;

namespace nscope {

enum class ProbeKind { tracepoint, kprobe, fentry };

inline nscope_probe_cfg no_probe_args() {
  nscope_probe_cfg c{};
  c.skb_arg = c.dev_arg = c.net_arg = c.reason_arg = NSCOPE_ARG_NONE;
  return c;
}

struct ProbeSpec {
  ProbeKind kind = ProbeKind::tracepoint;
  std::string group;  // tracepoint group ("net"); empty when only BTF named it
  std::string name;   // tracepoint or function name
  nscope_probe_cfg cfg = no_probe_args();
  std::string symbol() const { return group.empty() ? name : group + ":" + name; }
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

// Argument layout of tracepoint `name` from its BTF prototype (typedef btf_trace_<name>).
// An Error when BTF has no such tracepoint.
Result<nscope_probe_cfg> tracepoint_args(const btf* vmlinux, const std::string& name);

// The probes to attach for `specs` (each "GROUP:NAME", "tp:GROUP:NAME", a '*' glob in either
// part, "kprobe:FUNC" or "fentry:FUNC"). Errors name the bad spec and the valid forms; a
// wildcard keeps only tracepoints that carry a packet argument.
Result<std::vector<ProbeSpec>> resolve_probes(const std::vector<std::string>& specs,
                                              const btf* vmlinux,
                                              const std::vector<TracepointName>& catalog);

}  // namespace nscope
