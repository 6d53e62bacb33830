#include "events/probe_form.h"

#include <fnmatch.h>

#include "util/strings.h"

namespace nscope {

std::string_view probe_kind_name(ProbeKind k) {
  switch (k) {
    case ProbeKind::tracepoint: return "tracepoint";
    case ProbeKind::kprobe: return "kprobe";
    case ProbeKind::kretprobe: return "kretprobe";
    case ProbeKind::fentry: return "fentry";
    case ProbeKind::fexit: return "fexit";
  }
  return "?";
}

bool is_glob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

const std::string_view kProbeForms =
    "expected GROUP:NAME (net:netif_receive_skb), tp:GROUP:NAME, a * glob (tp:net:*), "
    "kprobe:FUNC, kretprobe:FUNC, fentry:FUNC or fexit:FUNC (FUNC may be a glob: kprobe:ip_*)";

std::optional<std::pair<ProbeKind, std::string_view>> function_form(std::string_view s) {
  static constexpr std::pair<std::string_view, ProbeKind> kPrefixes[] = {
      {"kprobe:", ProbeKind::kprobe},       {"k:", ProbeKind::kprobe},
      {"kretprobe:", ProbeKind::kretprobe}, {"kr:", ProbeKind::kretprobe},
      {"fentry:", ProbeKind::fentry},       {"fexit:", ProbeKind::fexit}};
  for (auto [prefix, kind] : kPrefixes)
    if (s.starts_with(prefix)) return std::pair(kind, s.substr(prefix.size()));
  return std::nullopt;
}

Result<ProbeForm> parse_probe_form(std::string_view spec) {
  std::string_view s = trim(spec);
  auto invalid = [&] {
    return Error::msg("probe '" + std::string(spec) + "': " + std::string(kProbeForms));
  };
  ProbeForm f;
  if (auto fn = function_form(s)) {
    if (fn->second.empty()) return invalid();
    f.kind = fn->first;
    f.name = fn->second;
    return f;
  }
  for (std::string_view prefix : {"tp:", "raw_tp:", "raw_tracepoint:"})
    if (s.starts_with(prefix)) {
      s.remove_prefix(prefix.size());
      break;
    }
  auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return invalid();
  f.group = s.substr(0, colon);
  f.name = s.substr(colon + 1);
  return f;
}

bool ProbeForm::glob() const { return is_glob(group) || is_glob(name); }

bool ProbeForm::matches(std::string_view probe_type, std::string_view symbol) const {
  std::string_view want = kind == ProbeKind::tracepoint ? "raw_tracepoint" : probe_kind_name(kind);
  if (!probe_type.empty() && probe_type != want &&
      !(kind == ProbeKind::tracepoint && probe_type == "tracepoint"))
    return false;
  std::string sym(symbol);
  if (kind != ProbeKind::tracepoint) return fnmatch(name.c_str(), sym.c_str(), 0) == 0;
  auto colon = sym.find(':');
  if (colon == std::string::npos) return false;
  std::string g = sym.substr(0, colon), n = sym.substr(colon + 1);
  return fnmatch(group.c_str(), g.c_str(), 0) == 0 && fnmatch(name.c_str(), n.c_str(), 0) == 0;
}

ProbeKind probe_kind_of(std::string_view spec) {
  auto f = function_form(trim(spec));
  return f && !f->second.empty() ? f->first : ProbeKind::tracepoint;
}

}  // namespace nscope
