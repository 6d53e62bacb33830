#include "collect/probes.h"

#include <bpf/btf.h>
#include <fnmatch.h>
#include <sched.h>
#include <sys/mount.h>
#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <tuple>

#include <fmt/format.h>

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

// A tracefs file: from the tracefs mounted where the kernel puts it, else from one mounted in
// a private mount namespace of a short-lived thread (the host's mounts are not touched).
Result<std::string> read_tracefs(const std::string& file) {
  for (const char* dir : {"/sys/kernel/tracing/", "/sys/kernel/debug/tracing/"})
    if (auto text = read_file(dir + file)) return std::move(*text);
  std::optional<std::string> text;
  int err = 0;
  std::thread t([&] {
    if (unshare(CLONE_FS | CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) {
      err = errno;
      return;
    }
    text = read_file("/sys/kernel/tracing/" + file);
    if (!text) err = errno;
  });
  t.join();
  if (!text) return Error::sys(err, "cannot read tracefs's " + file);
  return std::move(*text);
}

// Which arguments of a prototype carry what, params[first] being argument 0.
nscope_probe_cfg args_of_proto(const btf* b, const btf_type* proto, unsigned first) {
  nscope_probe_cfg cfg = no_probe_args();
  const btf_param* p = btf_params(proto);
  for (unsigned i = first; i < btf_vlen(proto) && i - first < 6; ++i) {
    const btf_type* pt = skip_btf_mods(b, p[i].type);
    auto idx = static_cast<uint8_t>(i - first);
    if (pt && (btf_is_enum(pt) || btf_is_enum64(pt)) &&
        !std::strcmp(btf__name_by_offset(b, pt->name_off), "skb_drop_reason"))
      cfg.reason_arg = idx;
    if (!pt || !btf_is_ptr(pt)) continue;
    const btf_type* target = skip_btf_mods(b, pt->type);
    if (!target || !btf_is_struct(target)) continue;
    const char* sname = btf__name_by_offset(b, target->name_off);
    if (!std::strcmp(sname, "sk_buff") && cfg.skb_arg == NSCOPE_ARG_NONE) cfg.skb_arg = idx;
    if (!std::strcmp(sname, "net_device") && cfg.dev_arg == NSCOPE_ARG_NONE) cfg.dev_arg = idx;
    if (!std::strcmp(sname, "net") && cfg.net_arg == NSCOPE_ARG_NONE) cfg.net_arg = idx;
  }
  return cfg;
}


// The loaded modules' BTF (/sys/kernel/btf/MODULE, split on `vmlinux`), read at the first
// need and kept by the caller: a glob over a module's functions asks for each of them.
struct ModuleBtfs {
  std::vector<std::unique_ptr<btf, void (*)(btf*)>> loaded;
  bool read = false;

  const auto& of(const btf* vmlinux) {
    if (read) return loaded;
    read = true;
    if (std::unique_ptr<DIR, int (*)(DIR*)> d(opendir("/sys/kernel/btf"), closedir); d)
      while (dirent* e = readdir(d.get())) {
        if (e->d_name[0] == '.' || !std::strcmp(e->d_name, "vmlinux")) continue;
        std::string path = std::string("/sys/kernel/btf/") + e->d_name;
        std::unique_ptr<btf, void (*)(btf*)> m(btf__parse_split(path.c_str(), const_cast<btf*>(vmlinux)),
                                              btf__free);
        if (m) loaded.push_back(std::move(m));
      }
    return loaded;
  }
};

Result<nscope_probe_cfg> find_function_args(const btf* vmlinux, const std::string& name,
                                            ModuleBtfs* modules) {
  auto from = [&](const btf* b) -> std::optional<nscope_probe_cfg> {
    int id = btf__find_by_name_kind(b, name.c_str(), BTF_KIND_FUNC);
    if (id < 0) return std::nullopt;
    const btf_type* proto = btf__type_by_id(b, btf__type_by_id(b, static_cast<uint32_t>(id))->type);
    if (!proto || !btf_is_func_proto(proto)) return std::nullopt;
    return args_of_proto(b, proto, 0);
  };
  if (auto cfg = from(vmlinux)) return *cfg;
  if (modules)
    for (const auto& m : modules->of(vmlinux))
      if (auto cfg = from(m.get())) return *cfg;
  return Error::msg("the kernel's BTF has no function '" + name + "'");
}

}  // namespace

Result<std::vector<TracepointName>> list_tracepoints() {
  auto text = read_tracefs("available_events");
  if (!text) return Error::sys(text.error().code, "cannot list tracepoints (tracefs)");
  return parse_available_events(*text);
}

Result<std::vector<std::string>> list_traceable_functions() {
  auto text = read_tracefs("available_filter_functions");
  if (!text) return Error::sys(text.error().code, "cannot list traceable functions (tracefs)");
  std::vector<std::string> out;
  for (auto line : split(*text, '\n')) {
    line = trim(line.substr(0, line.find(' ')));  // "ovs_dp_upcall [openvswitch]"
    if (!line.empty()) out.emplace_back(line);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
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
  // params[0] is the tracepoint's private `void *__data`; raw tracepoint args start after it.
  return args_of_proto(b, proto, 1);
}

Result<nscope_probe_cfg> function_args(const btf* vmlinux, const std::string& name, bool modules) {
  ModuleBtfs mods;
  return find_function_args(vmlinux, name, modules ? &mods : nullptr);
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


std::string ProbeSpec::spec() const {
  return kind == ProbeKind::tracepoint ? symbol() : std::string(probe_kind_name(kind)) + ":" + name;
}

std::string_view ProbeSpec::probe_type() const {
  return kind == ProbeKind::tracepoint ? "raw_tracepoint" : probe_kind_name(kind);
}

namespace {


// kprobe, kretprobe: one slot per argument layout; fentry, fexit: one per function (a
// trampoline serves one function).
Result<void> add_functions(std::string_view raw, ProbeKind kind, std::string_view func,
                           const btf* b, const ProbeCatalog& catalog, std::vector<ProbeSpec>& out,
                           std::set<std::string>& seen) {
  const bool glob = is_glob(func);
  const bool kprobe = kind == ProbeKind::kprobe || kind == ProbeKind::kretprobe;
  std::vector<std::string> names;
  if (!glob) {
    names.emplace_back(func);
  } else {
    std::string pattern(func);
    for (const auto& f : catalog.functions)
      if (!fnmatch(pattern.c_str(), f.c_str(), 0)) names.push_back(f);
    if (names.empty())
      return Error::msg(fmt::format("probe '{}': no traceable kernel function matches '{}'", raw, func));
  }
  std::map<std::tuple<uint8_t, uint8_t, uint8_t, uint8_t>, size_t> slot_of_layout;
  size_t before = out.size();
  ModuleBtfs modules;
  for (const auto& name : names) {
    auto cfg = find_function_args(b, name, &modules);
    if (!cfg || !carries_packet(*cfg)) {
      if (glob) continue;
      if (!cfg) return Error::msg(fmt::format("probe '{}': {}", raw, cfg.error().message));
      return Error::msg(fmt::format("probe '{}': {} has no sk_buff, net_device or net argument: "
                                    "nothing to tag with a namespace", raw, name));
    }
    if (!seen.insert(std::string(probe_kind_name(kind)) + ":" + name).second) continue;
    if (kprobe) {
      auto layout = std::tuple(cfg->skb_arg, cfg->dev_arg, cfg->net_arg, cfg->reason_arg);
      auto [it, fresh] = slot_of_layout.try_emplace(layout, out.size());
      if (!fresh) {
        out[it->second].functions.push_back(name);
        continue;
      }
    }
    ProbeSpec p;
    p.kind = kind;
    p.name = glob && kprobe ? std::string(func) : name;
    p.cfg = *cfg;
    if (kprobe) p.functions.push_back(name);
    out.push_back(std::move(p));
  }
  // A glob's slot that found one function is named by it.
  for (size_t i = before; i < out.size(); ++i)
    if (out[i].functions.size() == 1) out[i].name = out[i].functions.front();
  if (out.size() == before && glob)
    return Error::msg(fmt::format("probe '{}': no function matching '{}' has an sk_buff, "
                                  "net_device or net argument", raw, func));
  return {};
}

}  // namespace


std::vector<std::string> btf_function_names(const btf* b) {
  std::vector<std::string> out;
  for (uint32_t id = 1; id < btf__type_cnt(b); ++id) {
    const btf_type* t = btf__type_by_id(b, id);
    if (btf_is_func(t)) out.emplace_back(btf__name_by_offset(b, t->name_off));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool needs_function_list(const std::vector<std::string>& specs) {
  for (const auto& raw : specs)
    if (auto f = function_form(trim(raw)); f && is_glob(f->second)) return true;
  return false;
}

Result<std::vector<ProbeSpec>> resolve_probes(const std::vector<std::string>& specs,
                                              const btf* b, const ProbeCatalog& catalog) {
  std::vector<ProbeSpec> out;
  std::set<std::string> seen;
  for (const auto& raw : specs) {
    auto form = parse_probe_form(raw);
    if (!form) return form.error();
    if (form->kind != ProbeKind::tracepoint) {
      if (auto r = add_functions(raw, form->kind, form->name, b, catalog, out, seen); !r)
        return r.error();
      continue;
    }
    const std::string& group = form->group;
    const std::string& name = form->name;
    bool glob = is_glob(group) || is_glob(name);
    size_t before = out.size();
    bool in_catalog = false;
    for (const auto& tp : catalog.tracepoints) {
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
    if (catalog.tracepoints.empty() && !glob) {  // no tracefs at all: trust BTF for the name
      auto cfg = tracepoint_args(b, name);
      if (!cfg) return Error::msg("probe '" + raw + "': " + cfg.error().message);
      if (!carries_packet(*cfg))
        return Error::msg("probe '" + raw + "' carries no sk_buff, net_device or net argument");
      ProbeSpec p;
      p.group = group;
      p.name = name;
      p.cfg = *cfg;
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
