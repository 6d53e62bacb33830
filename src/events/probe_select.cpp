#include "events/probe_select.h"

#include <fnmatch.h>

#include "util/strings.h"

namespace nscope {

Result<ProbeSelection> ProbeSelection::parse(const std::vector<std::string>& specs) {
  ProbeSelection sel;
  for (const auto& raw : specs) {
    std::string_view t = trim(raw);
    Spec s;
    s.text = std::string(t);
    if (!t.empty() && t.find(':') == std::string_view::npos) {
      s.bare = true;
      s.form.kind = ProbeKind::kprobe;
      s.form.name = std::string(t);
    } else {
      auto f = parse_probe_form(t);
      if (!f) return f.error();
      s.form = std::move(*f);
    }
    sel.specs_.push_back(std::move(s));
  }
  return sel;
}

bool ProbeSelection::spec_matches(const Spec& s, std::string_view type,
                                  std::string_view symbol) const {
  if (!s.bare) return s.form.matches(type, symbol);
  // A bare name: the function, or the tracepoint's name after its group.
  size_t colon = symbol.find(':');
  std::string_view name = colon == std::string_view::npos ? symbol : symbol.substr(colon + 1);
  return fnmatch(s.form.name.c_str(), std::string(name).c_str(), 0) == 0;
}

ProbeSelection::Probe& ProbeSelection::probe_of(const Event& e) {
  auto addr = std::pair(e.probe_type.data(), e.symbol.data());
  bool by_addr = !e.probe_type.empty() || !e.symbol.empty();
  if (by_addr)
    if (auto it = by_address_.find(addr); it != by_address_.end()) {
      Probe& p = probes_[it->second];
      if (p.type == e.probe_type && p.symbol == e.symbol) return p;  // the address reused
    }
  std::string key;
  key.reserve(e.probe_type.size() + 1 + e.symbol.size());
  key.append(e.probe_type).append(1, '\0').append(e.symbol);
  auto [it, fresh] = by_name_.try_emplace(std::move(key), static_cast<uint32_t>(probes_.size()));
  if (fresh) {
    Probe p;
    p.type = std::string(e.probe_type);
    p.symbol = std::string(e.symbol);
    for (uint32_t i = 0; i < specs_.size(); ++i)
      if (spec_matches(specs_[i], p.type, p.symbol)) p.specs.push_back(i);
    probes_.push_back(std::move(p));
  }
  if (by_addr) by_address_[addr] = it->second;
  return probes_[it->second];
}

bool ProbeSelection::wants(const Event& e) {
  Probe& p = probe_of(e);
  ++p.events;
  for (uint32_t i : p.specs) ++specs_[i].matched;
  return specs_.empty() || !p.specs.empty();
}

std::vector<std::string> ProbeSelection::unmatched() const {
  std::vector<std::string> out;
  for (const auto& s : specs_)
    if (!s.matched) out.push_back(s.text);
  return out;
}

std::vector<std::pair<std::string, uint64_t>> ProbeSelection::seen() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& p : probes_) {
    std::string name;
    if (p.type.empty() || p.type == "raw_tracepoint" || p.type == "tracepoint")
      name = p.symbol.empty() ? "(no probe named)" : p.symbol;
    else
      name = p.type + ":" + p.symbol;
    out.emplace_back(std::move(name), p.events);
  }
  return out;
}

}  // namespace nscope
