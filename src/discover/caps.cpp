#include "discover/caps.h"

#include "util/strings.h"

namespace nscope {

bool have_cap_sys_ptrace() {
  auto text = read_file("/proc/self/status");
  if (!text) return false;
  constexpr int kCapSysPtrace = 19;
  for (auto line : split(*text, '\n'))
    if (line.starts_with("CapEff:")) return (parse_u64(trim(line.substr(7)), 16).value_or(0) >> kCapSysPtrace) & 1;
  return false;
}

std::string ptrace_refusal_reason() {
  return have_cap_sys_ptrace() ? "refused even with CAP_SYS_PTRACE (a security module, or a process in another "
                                 "user namespace)"
                               : "another user's process needs CAP_SYS_PTRACE (run nscope as root)";
}

}  // namespace nscope
