#include "collect/ovs_probes.h"

#include <bpf/btf.h>
#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "bpfload/btf_types.h"
#include "bpfload/features.h"

namespace nscope {
namespace {

// The tracepoint's prototype: typedef btf_trace_<name> is a pointer to it.
const btf_type* tracepoint_proto(const btf* b, const std::string& name) {
  int id = btf__find_by_name_kind(b, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF);
  if (id < 0) return nullptr;
  const btf_type* ptr = btf__type_by_id(b, btf__type_by_id(b, static_cast<uint32_t>(id))->type);
  if (!ptr || !btf_is_ptr(ptr)) return nullptr;
  const btf_type* proto = btf__type_by_id(b, ptr->type);
  return proto && btf_is_func_proto(proto) ? proto : nullptr;
}

// The argument that points to struct `sname`, or NSCOPE_ARG_NONE. A raw
// tracepoint's params[0], `void *__data`, is not one (`first` 1); a function's
// are all arguments (`first` 0).
uint8_t struct_arg(const btf* b, const btf_type* proto, const char* sname, unsigned first = 1) {
  const btf_param* p = btf_params(proto);
  for (unsigned i = first; i < btf_vlen(proto) && i - first < 6; ++i) {
    const btf_type* pt = skip_btf_mods(b, p[i].type);
    if (!pt || !btf_is_ptr(pt)) continue;
    const btf_type* target = skip_btf_mods(b, pt->type);
    if (target && btf_is_struct(target) &&
        !std::strcmp(btf__name_by_offset(b, target->name_off), sname))
      return static_cast<uint8_t>(i - first);
  }
  return NSCOPE_ARG_NONE;
}

void read_actions(const btf* b, OvsProbes& out) {
  int id = btf__find_by_name_kind(b, "ovs_action_attr", BTF_KIND_ENUM);
  if (id < 0) return;
  const btf_type* t = btf__type_by_id(b, static_cast<uint32_t>(id));
  const struct btf_enum* e = btf_enum(t);
  for (unsigned i = 0; i < btf_vlen(t); ++i) {
    auto v = static_cast<uint32_t>(e[i].val);
    if (v > 255) continue;
    if (out.actions.size() <= v) out.actions.resize(v + 1);
    out.actions[v] = ovs_action_name(btf__name_by_offset(b, e[i].name_off));
  }
}

}  // namespace

std::string ovs_action_name(std::string_view e) {
  constexpr std::string_view prefix = "OVS_ACTION_ATTR_";
  if (e.substr(0, prefix.size()) != prefix) return "";
  e.remove_prefix(prefix.size());
  if (e == "UNSPEC") return "";
  if (e == "SET_TO_MASKED") return "set_masked";
  std::string out(e);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<OvsProbes> ovs_probes_from(const btf* b) {
  OvsProbes out;
  struct Point {
    const char* name;
    uint8_t point;
  };
  for (Point pt : {Point{"ovs_dp_upcall", NSCOPE_OVS_UPCALL},
                   Point{"ovs_do_execute_action", NSCOPE_OVS_EXECUTE}}) {
    const btf_type* proto = tracepoint_proto(b, pt.name);
    if (!proto)
      return Error::msg(fmt::format("the openvswitch module's BTF has no tracepoint '{}'", pt.name),
                        ErrorKind::not_found);
    auto cfg = tracepoint_args(b, pt.name);
    if (!cfg) return cfg.error();
    ProbeSpec p;
    p.group = std::string(kOvsModule);
    p.name = pt.name;
    p.cfg = *cfg;
    p.cfg.ovs_point = pt.point;
    p.cfg.upcall_arg = struct_arg(b, proto, "dp_upcall_info");
    p.cfg.key_arg = struct_arg(b, proto, "sw_flow_key");
    p.cfg.attr_arg = struct_arg(b, proto, "nlattr");
    bool complete = p.cfg.skb_arg != NSCOPE_ARG_NONE &&
                    (pt.point == NSCOPE_OVS_UPCALL
                         ? p.cfg.upcall_arg != NSCOPE_ARG_NONE
                         : p.cfg.key_arg != NSCOPE_ARG_NONE && p.cfg.attr_arg != NSCOPE_ARG_NONE);
    if (!complete)
      return Error::msg(fmt::format("openvswitch:{} has arguments this build does not know "
                                    "(no sk_buff, dp_upcall_info, sw_flow_key or nlattr)",
                                    pt.name),
                        ErrorKind::not_found);
    out.probes.push_back(std::move(p));
  }
  read_actions(b, out);
  return out;
}

Result<OvsProbes> ovs_kprobes_from(const btf* b) {
  OvsProbes out;
  struct Point {
    const char* name;
    uint8_t point;
  };
  for (Point pt : {Point{"ovs_dp_upcall", NSCOPE_OVS_UPCALL},
                   Point{"do_execute_actions", NSCOPE_OVS_EXECUTE}}) {
    int id = btf__find_by_name_kind(b, pt.name, BTF_KIND_FUNC);
    const btf_type* proto =
        id < 0 ? nullptr : btf__type_by_id(b, btf__type_by_id(b, static_cast<uint32_t>(id))->type);
    if (!proto || !btf_is_func_proto(proto))
      return Error::msg(fmt::format("the openvswitch module's BTF has no function '{}'", pt.name),
                        ErrorKind::not_found);
    ProbeSpec p;
    p.kind = ProbeKind::kprobe;
    p.name = pt.name;
    p.functions.push_back(pt.name);
    p.cfg = no_probe_args();
    p.cfg.skb_arg = struct_arg(b, proto, "sk_buff", 0);
    p.cfg.ovs_point = pt.point;
    p.cfg.upcall_arg = struct_arg(b, proto, "dp_upcall_info", 0);
    p.cfg.key_arg = struct_arg(b, proto, "sw_flow_key", 0);
    p.cfg.attr_arg = struct_arg(b, proto, "nlattr", 0);
    bool complete = p.cfg.skb_arg != NSCOPE_ARG_NONE &&
                    (pt.point == NSCOPE_OVS_UPCALL
                         ? p.cfg.upcall_arg != NSCOPE_ARG_NONE
                         : p.cfg.key_arg != NSCOPE_ARG_NONE && p.cfg.attr_arg != NSCOPE_ARG_NONE);
    if (!complete)
      return Error::msg(fmt::format("openvswitch's {}() has arguments this build does not know "
                                    "(no sk_buff, dp_upcall_info, sw_flow_key or nlattr)",
                                    pt.name),
                        ErrorKind::not_found);
    out.probes.push_back(std::move(p));
  }
  read_actions(b, out);
  out.kprobes = true;
  return out;
}

Result<OvsProbes> ovs_probes(const btf* vmlinux) {
  std::string path = "/sys/kernel/btf/" + std::string(kOvsModule);
  std::unique_ptr<btf, void (*)(btf*)> mod(
      btf__parse_split(path.c_str(), const_cast<btf*>(vmlinux)), btf__free);
  if (!mod)
    return Error::msg(fmt::format("cannot read the openvswitch module's BTF ({}): the ovs "
                                  "collector needs a kernel built with "
                                  "CONFIG_DEBUG_INFO_BTF_MODULES",
                                  path),
                      ErrorKind::not_found);
  // The tracepoints (Linux 5.16 on: ovs_dp_upcall); kprobes on the functions that hold them
  // where they are missing, or where NSCOPE_OVS_MODE=kprobe asks (tests).
  const char* mode = getenv("NSCOPE_OVS_MODE");
  bool force = mode && std::string_view(mode) == "kprobe";
  Result<OvsProbes> tps = force ? Result<OvsProbes>(Error::msg("NSCOPE_OVS_MODE=kprobe"))
                                : ovs_probes_from(mod.get());
  if (tps) return tps;
  if (!probe_features().supports("kprobe"))
    return Error::msg(tps.error().message + ", and this kernel does not allow kprobes",
                      ErrorKind::not_found);
  auto kps = ovs_kprobes_from(mod.get());
  if (!kps) return Error::msg(tps.error().message + "; " + kps.error().message, ErrorKind::not_found);
  kps->why_kprobes = tps.error().message;
  return kps;
}

}  // namespace nscope
