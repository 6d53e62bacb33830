#include "collect/nft_probe.h"

#include <bpf/btf.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "bpfload/btf_types.h"
#include "bpfload/features.h"
#include "netlink/firewall.h"
#include "netlink/socket.h"

namespace nscope {
namespace {

std::string type_name(const btf* b, const btf_type* t) {
  return t ? btf__name_by_offset(b, t->name_off) : "";
}

// "struct NAME" for a pointer to a struct, "enum NAME" for an enum, else "".
std::string param_kind(const btf* b, uint32_t type) {
  const btf_type* t = skip_btf_mods(b, type);
  if (t && btf_is_ptr(t)) {
    const btf_type* target = skip_btf_mods(b, t->type);
    if (target && btf_is_struct(target)) return "struct " + type_name(b, target) + " *";
    return "";
  }
  if (t && btf_is_enum(t)) return "enum " + type_name(b, t);
  return "";
}

bool has_member(const btf* b, const btf_type* s, const char* name) {
  const btf_member* m = btf_members(s);
  for (unsigned i = 0; i < btf_vlen(s); ++i)
    if (!std::strcmp(btf__name_by_offset(b, m[i].name_off), name)) return true;
  return false;
}

}  // namespace

Result<ProbeSpec> nft_probe_from(const btf* b) {
  std::string fn(kNftTraceFunction);
  int id = btf__find_by_name_kind(b, fn.c_str(), BTF_KIND_FUNC);
  if (id < 0) return Error::msg("nf_tables' BTF has no " + fn, ErrorKind::not_found);
  const btf_type* proto = btf__type_by_id(b, btf__type_by_id(b, static_cast<uint32_t>(id))->type);
  if (!proto || !btf_is_func_proto(proto))
    return Error::msg(fn + " has no prototype in nf_tables' BTF", ErrorKind::not_found);
  std::vector<std::string> params;
  const btf_param* p = btf_params(proto);
  for (unsigned i = 0; i < btf_vlen(proto); ++i) params.push_back(param_kind(b, p[i].type));
  auto find_struct = [&](const char* name) -> const btf_type* {
    int sid = btf__find_by_name_kind(b, name, BTF_KIND_STRUCT);
    return sid < 0 ? nullptr : btf__type_by_id(b, static_cast<uint32_t>(sid));
  };
  const btf_type* ti = find_struct("nft_traceinfo");
  auto params_are = [&](std::initializer_list<std::string_view> want) {
    return std::equal(params.begin(), params.end(), want.begin(), want.end());
  };
  uint8_t point = 0;
  if (params_are({"struct nft_traceinfo *", "struct nft_chain *", "enum nft_trace_types"}) && ti &&
      has_member(b, ti, "pkt") && has_member(b, ti, "basechain") && has_member(b, ti, "rule") &&
      has_member(b, ti, "verdict")) {
    point = NSCOPE_NFT_POINT_61;
  } else if (params_are({"struct nft_pktinfo *", "struct nft_verdict *", "struct nft_rule_dp *",
                         "struct nft_traceinfo *", "enum nft_trace_types"}) &&
             ti && has_member(b, ti, "basechain")) {
    // The chain is named by the marker after a chain's last rule.
    const btf_type* last = find_struct("nft_rule_dp_last");
    if (last && has_member(b, last, "chain")) point = NSCOPE_NFT_POINT_64;
  }
  if (!point) {
    std::string got;
    for (const auto& s : params) got += (got.empty() ? "" : ", ") + (s.empty() ? "?" : s);
    return Error::msg(fmt::format("this kernel's {}({}) is neither Linux 6.1's (info, chain, type) "
                                  "nor 6.4's (pkt, verdict, rule, info, type), the ones this "
                                  "build reads",
                                  fn, got),
                      ErrorKind::not_found);
  }
  ProbeSpec s;
  s.kind = ProbeKind::kprobe;
  s.name = fn;
  s.functions.push_back(fn);
  s.cfg = no_probe_args();
  s.cfg.nft_point = point;
  return s;
}

Result<ProbeSpec> nft_probe(const btf* vmlinux) {
  if (const char* m = getenv("NSCOPE_NFT_MODE"); m && std::string_view(m) == "netlink")
    return Error::msg("NSCOPE_NFT_MODE=netlink");
  if (!probe_features().supports("kprobe")) return Error::msg("this kernel does not allow kprobes");
  if (access("/sys/module/nf_tables", F_OK) != 0) {
    // A request to nf_tables' subsystem makes nfnetlink load the module.
    if (auto s = NlSocket::open(NETLINK_NETFILTER)) (void)nft_dump(*s, NFT_MSG_GETTABLE);
  }
  std::unique_ptr<btf, void (*)(btf*)> mod(
      btf__parse_split("/sys/kernel/btf/nf_tables", const_cast<btf*>(vmlinux)), btf__free);
  // Built in, nf_tables' types are vmlinux's.
  auto spec = nft_probe_from(mod ? mod.get() : vmlinux);
  if (!spec) return spec.error();
  if (auto fns = list_traceable_functions()) {
    if (std::find(fns->begin(), fns->end(), std::string(kNftTraceFunction)) == fns->end())
      return Error::msg(fmt::format("{} is not a function kprobes can attach to here",
                                    kNftTraceFunction));
  }
  return spec;
}

}  // namespace nscope
