// What this kernel allows, probed once by loading and attaching real programs (`nscope info`).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace nscope {

struct ProbeResult {
  // "tp_btf", "raw_tp", "tracepoint", "iter", "kprobe", "fentry", "kprobe_multi",
  // "direct_packet" (plain loads from packet memory)
  std::string name;
  bool ok = false;
  std::string error;  // why not, as the kernel said it
};

struct Features {
  std::string kernel_release;
  bool btf = false;               // /sys/kernel/btf/vmlinux present and parsed
  bool net_cookie = false;        // struct net has net_cookie
  bool ns_common_ns_id = false;   // struct ns_common has ns_id (NS_GET_ID from BPF)
  bool ns_get_id = false;         // the NS_GET_ID ioctl answers on an nsfs fd
  bool ns_common_ns_type = false; // struct ns_common has ns_type
  bool root = false;
  std::vector<ProbeResult> probes;

  bool supports(const std::string& probe) const;
};

// Loads each probe program alone and attaches it. Cached: the kernel is asked once per run.
const Features& probe_features();

}  // namespace nscope
