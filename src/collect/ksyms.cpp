#include "collect/ksyms.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/strings.h"

namespace nscope {

KernelSymbols KernelSymbols::parse(std::string_view text) {
  KernelSymbols k;
  for (auto line : split(text, '\n')) {
    // ADDRESS TYPE NAME[\t[MODULE]]
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 + 3 > line.size() || line[sp1 + 2] != ' ') continue;
    char type = line[sp1 + 1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;  // code only
    std::string_view name = line.substr(sp1 + 3);
    name = name.substr(0, name.find_first_of("\t "));
    uint64_t addr = 0;
    bool ok = sp1 > 0;
    for (char c : line.substr(0, sp1)) {
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) ok = false;
      addr = addr << 4 | static_cast<uint64_t>(d < 0 ? 0 : d);
    }
    if (!ok || !addr || name.empty()) continue;
    k.syms_.push_back({addr, static_cast<uint32_t>(k.names_.size()), static_cast<uint32_t>(name.size())});
    k.names_.append(name);
  }
  std::stable_sort(k.syms_.begin(), k.syms_.end(), [](const Sym& a, const Sym& b) { return a.addr < b.addr; });
  return k;
}

Result<KernelSymbols> KernelSymbols::load(const std::string& path) {
  auto text = read_file(path);
  if (!text) return Error::sys(errno, "cannot read " + path);
  KernelSymbols k = parse(*text);
  if (k.syms_.empty())
    return Error::msg(path + " shows no addresses (kernel.kptr_restrict hides them without "
                      "CAP_SYSLOG): run nscope as root");
  return k;
}

KernelSymbols::Hit KernelSymbols::lookup(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr,
                             [](uint64_t a, const Sym& s) { return a < s.addr; });
  if (it == syms_.begin()) return {};
  --it;
  return {std::string_view(names_).substr(it->name_off, it->name_len), addr - it->addr};
}

std::string KernelSymbols::describe(uint64_t addr) const {
  Hit h = lookup(addr);
  if (h.name.empty()) return fmt::format("{:#x}", addr);
  return fmt::format("{}+{:#x}", h.name, h.offset);
}

const KernelSymbols& LazyKernelSymbols::get() {
  std::call_once(once_, [this] {
    if (auto k = KernelSymbols::load()) ksyms_ = std::move(*k);
  });
  return ksyms_;
}

std::string_view AddressNames::function_at(uint64_t ip) {
  auto [it, fresh] = functions_.try_emplace(ip);
  if (fresh) {
    auto hit = symbols().lookup(ip);
    it->second = names_.intern(hit.name.empty() ? symbols().describe(ip) : std::string(hit.name));
  }
  return it->second;
}

std::string_view AddressNames::stack(const uint64_t* ips, uint32_t n) {
  std::string_view key(reinterpret_cast<const char*>(ips), n * sizeof(uint64_t));
  if (auto it = stacks_.find(key); it != stacks_.end()) return it->second;
  uint32_t i = 0;
  while (i + 1 < n && is_tracing_glue(symbols().lookup(ips[i]).name)) ++i;
  std::string text;
  for (; i < n; ++i) {
    if (!text.empty()) text += '\n';
    text += symbols().describe(ips[i]);
  }
  return stacks_.emplace(std::string(key), names_.intern(text)).first->second;
}

bool AddressNames::is_tracing_glue(std::string_view name) {
  for (std::string_view p : {"bpf_prog_", "bpf_trace_run", "__bpf_trace_", "bpf_trampoline_",
                             "__bpf_prog_enter", "trace_call_bpf", "kprobe_perf_func",
                             "kprobe_dispatcher", "kretprobe_perf_func", "kretprobe_dispatcher"})
    if (name.starts_with(p)) return true;
  return name.empty();
}

uint64_t KernelSymbols::address_of(std::string_view name) const {
  for (const auto& s : syms_)
    if (std::string_view(names_).substr(s.name_off, s.name_len) == name) return s.addr;
  return 0;
}

}  // namespace nscope
