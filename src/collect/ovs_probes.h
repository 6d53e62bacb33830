// The ovs collector's probes: the openvswitch module's tracepoints
// `ovs_dp_upcall` (a packet sent up to ovs-vswitchd) and
// `ovs_do_execute_action` (each action the datapath executes), found in the
// module's BTF (/sys/kernel/btf/openvswitch, split on vmlinux's), with the
// arguments the BPF program reads besides the packet, and the names of the
// module's actions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collect/probes.h"
#include "util/result.h"

struct btf;

namespace nscope {

inline constexpr std::string_view kOvsModule = "openvswitch";

struct OvsProbes {
  std::vector<ProbeSpec> probes;  // the upcall, then the execution
  // enum ovs_action_attr value -> Retis's action name ("output", "push_vlan");
  // "" unknown.
  std::vector<std::string> actions;
  // Kprobes on ovs_dp_upcall() and do_execute_actions() where the tracepoints are missing
  // (before Linux 5.16): an execution event per action list, for its first action.
  bool kprobes = false;
  std::string why_kprobes;
};

// Retis's name for an enum ovs_action_attr enumerator:
// OVS_ACTION_ATTR_PUSH_VLAN -> push_vlan; the module's own SET_TO_MASKED (a set
// action it rewrote) -> set_masked. "" for UNSPEC and the enum's bounds
// (__OVS_ACTION_ATTR_MAX).
std::string ovs_action_name(std::string_view enumerator);

// From BTF that has the module's types (the module's split BTF, or a test's):
// an Error naming what is missing.
Result<OvsProbes> ovs_probes_from(const btf* b);

// The kprobe fallback from the same BTF: the functions that hold the tracepoints.
Result<OvsProbes> ovs_kprobes_from(const btf* b);

// From the loaded module: the tracepoints, else (where kprobes load) the kprobes;
// not_found when the module or its BTF is absent.
Result<OvsProbes> ovs_probes(const btf* vmlinux);

}  // namespace nscope
