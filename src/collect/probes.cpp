#include "collect/probes.h"

#include <bpf/btf.h>
#include <fnmatch.h>
#include <sched.h>
#include <sys/mount.h>

#include <cstring>
#include <set>
#include <thread>

#include "bpfload/btf_types.h"
#include "util/strings.h"

namespace nscope {
namespace {

std::vector<TracepointName> parse_available_events(std::string_view text) {
  std::vector<TracepointName> out;
  for (auto line : split(text, '\n')) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.push_back({std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))});
  }
  return out;
}


}  // namespace

Result<std::vector<TracepointName>> list_tracepoints() {
  for (const char* p : {"/sys/kernel/tracing/available_events",
                        "/sys/kernel/debug/tracing/available_events"}) {
    if (auto text = read_file(p)) return parse_available_events(*text);
  }
  std::optional<std::string> text;
  int err = 0;
  std::thread t([&] {
    // A private mount namespace for this thread alone: tracefs is mounted there and
    // disappears with the thread.
    if (unshare(CLONE_FS | CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) {
      err = errno;
      return;
    }
    text = read_file("/sys/kernel/tracing/available_events");
    if (!text) err = errno;
  });
  t.join();
  if (!text) return Error::sys(err, "cannot list tracepoints (tracefs)");
  return parse_available_events(*text);
}

Result<nscope_probe_cfg> tracepoint_args(const btf* b, const std::string& name) {
  std::string tname = "btf_trace_" + name;
  int id = btf__find_by_name_kind(b, tname.c_str(), BTF_KIND_TYPEDEF);
  if (id < 0) return Error::msg("the kernel's BTF has no tracepoint '" + name + "'");
  const btf_type* t = btf__type_by_id(b, static_cast<uint32_t>(id));
  const btf_type* ptr = btf__type_by_id(b, t->type);
  if (!ptr || !btf_is_ptr(ptr)) return Error::msg("unexpected BTF for " + tname);
  const btf_type* proto = btf__type_by_id(b, ptr->type);
  if (!proto || !btf_is_func_proto(proto)) return Error::msg("unexpected BTF for " + tname);
  nscope_probe_cfg cfg = no_probe_args();
  const btf_param* p = btf_params(proto);
  // params[0] is the tracepoint's private `void *__data`; raw tracepoint args start after it.
  for (unsigned i = 1; i < btf_vlen(proto) && i <= 6; ++i) {
    const btf_type* pt = skip_btf_mods(b, p[i].type);
    auto idx0 = static_cast<uint8_t>(i - 1);
    if (pt && (btf_is_enum(pt) || btf_is_enum64(pt)) &&
        !std::strcmp(btf__name_by_offset(b, pt->name_off), "skb_drop_reason"))
      cfg.reason_arg = idx0;
    if (!pt || !btf_is_ptr(pt)) continue;
    const btf_type* target = skip_btf_mods(b, pt->type);
    if (!target || !btf_is_struct(target)) continue;
    const char* sname = btf__name_by_offset(b, target->name_off);
    auto idx = static_cast<uint8_t>(i - 1);
    if (!std::strcmp(sname, "sk_buff") && cfg.skb_arg == NSCOPE_ARG_NONE) cfg.skb_arg = idx;
    if (!std::strcmp(sname, "net_device") && cfg.dev_arg == NSCOPE_ARG_NONE) cfg.dev_arg = idx;
    if (!std::strcmp(sname, "net") && cfg.net_arg == NSCOPE_ARG_NONE) cfg.net_arg = idx;
  }
  return cfg;
}

DropReasons::DropReasons(const btf* b) {
  auto load = [&](const char* enum_name, const char* prefix, auto& into) {
    int id = b ? btf__find_by_name_kind(b, enum_name, BTF_KIND_ENUM) : -1;
    if (id < 0) return;
    const btf_type* t = btf__type_by_id(b, static_cast<uint32_t>(id));
    const struct btf_enum* e = btf_enum(t);
    size_t plen = std::strlen(prefix);
    for (unsigned i = 0; i < btf_vlen(t); ++i) {
      std::string n = btf__name_by_offset(b, e[i].name_off);
      if (n.compare(0, plen, prefix) == 0) n.erase(0, plen);
      into.emplace_back(static_cast<uint32_t>(e[i].val), std::move(n));
    }
  };
  load("skb_drop_reason", "SKB_DROP_REASON_", reasons_);
  load("skb_drop_reason_subsys", "SKB_DROP_REASON_SUBSYS_", subsys_);
}

std::string DropReasons::name(uint32_t v) const {
  uint32_t sub = v >> 16;
  if (sub) {  // a subsystem's own reason, whose enum lives with that subsystem
    std::string s = "SUBSYS_" + std::to_string(sub);
    for (const auto& [val, n] : subsys_)
      if (val == sub) s = n;
    return s + ":" + std::to_string(v & 0xffff);
  }
  for (const auto& [val, n] : reasons_)
    if (val == v) return n;
  return std::to_string(v);
}

static bool carries_packet(const nscope_probe_cfg& c) {
  return c.skb_arg != NSCOPE_ARG_NONE || c.dev_arg != NSCOPE_ARG_NONE ||
         c.net_arg != NSCOPE_ARG_NONE;
}

Result<std::vector<ProbeSpec>> resolve_probes(const std::vector<std::string>& specs,
                                              const btf* b,
                                              const std::vector<TracepointName>& catalog) {
  std::vector<ProbeSpec> out;
  std::set<std::string> seen;
  for (const auto& raw : specs) {
    std::string_view s = trim(raw);
    if (s.starts_with("kprobe:") || s.starts_with("k:") || s.starts_with("fentry:") ||
        s.starts_with("f:") || s.starts_with("kretprobe:") || s.starts_with("fexit:")) {
      ProbeSpec p;
      p.kind = s.starts_with("f") ? ProbeKind::fentry : ProbeKind::kprobe;
      p.name = std::string(s.substr(s.find(':') + 1));
      out.push_back(std::move(p));
      continue;
    }
    if (s.starts_with("tp:")) s.remove_prefix(3);
    if (s.starts_with("raw_tp:")) s.remove_prefix(7);
    auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size())
      return Error::msg("probe '" + raw + "': expected GROUP:NAME (net:netif_receive_skb), "
                        "tp:GROUP:NAME, a * glob (tp:net:*), kprobe:FUNC or fentry:FUNC");
    std::string group(s.substr(0, colon)), name(s.substr(colon + 1));
    bool glob = group.find_first_of("*?[") != std::string::npos ||
                name.find_first_of("*?[") != std::string::npos;
    size_t before = out.size();
    bool in_catalog = false;
    for (const auto& tp : catalog) {
      if (fnmatch(group.c_str(), tp.group.c_str(), 0) || fnmatch(name.c_str(), tp.name.c_str(), 0))
        continue;
      in_catalog = true;
      auto cfg = tracepoint_args(b, tp.name);
      if (!cfg) {
        if (!glob) return Error::msg("probe '" + raw + "': " + cfg.error().message);
        continue;
      }
      if (!carries_packet(*cfg)) {
        if (!glob)
          return Error::msg("probe '" + raw + "' carries no sk_buff, net_device or net "
                            "argument: nothing to tag with a namespace");
        continue;
      }
      ProbeSpec p;
      p.group = tp.group;
      p.name = tp.name;
      p.cfg = *cfg;
      if (seen.insert(p.symbol()).second) out.push_back(std::move(p));
    }
    if (catalog.empty() && !glob) {  // no tracefs at all: trust BTF for the name
      auto cfg = tracepoint_args(b, name);
      if (!cfg) return Error::msg("probe '" + raw + "': " + cfg.error().message);
      if (!carries_packet(*cfg))
        return Error::msg("probe '" + raw + "' carries no sk_buff, net_device or net argument");
      ProbeSpec p{ProbeKind::tracepoint, group, name, *cfg};
      if (seen.insert(p.symbol()).second) out.push_back(std::move(p));
      continue;
    }
    if (!in_catalog)
      return Error::msg("probe '" + raw + "': no such tracepoint (see the list under "
                        "/sys/kernel/tracing/available_events, e.g. net:netif_receive_skb)");
    if (out.size() == before && glob)
      return Error::msg("probe '" + raw + "': no tracepoint there carries an sk_buff, "
                        "net_device or net argument");
  }
  return out;
}

}  // namespace nscope
