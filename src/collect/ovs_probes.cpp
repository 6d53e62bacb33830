#include "collect/ovs_probes.h"

#include <bpf/btf.h>
#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <memory>

namespace nscope {
namespace {

const btf_type* skip_mods(const btf* b, uint32_t id) {
  const btf_type* t = btf__type_by_id(b, id);
  while (t && (btf_is_mod(t) || btf_is_typedef(t))) t = btf__type_by_id(b, t->type);
  return t;
}

// The tracepoint's prototype: typedef btf_trace_<name> is a pointer to it.
const btf_type* tracepoint_proto(const btf* b, const std::string& name) {
  int id = btf__find_by_name_kind(b, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF);
  if (id < 0) return nullptr;
  const btf_type* ptr = btf__type_by_id(b, btf__type_by_id(b, static_cast<uint32_t>(id))->type);
  if (!ptr || !btf_is_ptr(ptr)) return nullptr;
  const btf_type* proto = btf__type_by_id(b, ptr->type);
  return proto && btf_is_func_proto(proto) ? proto : nullptr;
}

// The raw tracepoint argument (params[0], `void *__data`, is not one) that
// points to struct `sname`, or NSCOPE_ARG_NONE.
uint8_t struct_arg(const btf* b, const btf_type* proto, const char* sname) {
  const btf_param* p = btf_params(proto);
  for (unsigned i = 1; i < btf_vlen(proto) && i - 1 < 6; ++i) {
    const btf_type* pt = skip_mods(b, p[i].type);
    if (!pt || !btf_is_ptr(pt)) continue;
    const btf_type* target = skip_mods(b, pt->type);
    if (target && btf_is_struct(target) &&
        !std::strcmp(btf__name_by_offset(b, target->name_off), sname))
      return static_cast<uint8_t>(i - 1);
  }
  return NSCOPE_ARG_NONE;
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
  int id = btf__find_by_name_kind(b, "ovs_action_attr", BTF_KIND_ENUM);
  if (id >= 0) {
    const btf_type* t = btf__type_by_id(b, static_cast<uint32_t>(id));
    const struct btf_enum* e = btf_enum(t);
    for (unsigned i = 0; i < btf_vlen(t); ++i) {
      auto v = static_cast<uint32_t>(e[i].val);
      if (v > 255) continue;
      if (out.actions.size() <= v) out.actions.resize(v + 1);
      out.actions[v] = ovs_action_name(btf__name_by_offset(b, e[i].name_off));
    }
  }
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
  return ovs_probes_from(mod.get());
}

}  // namespace nscope
