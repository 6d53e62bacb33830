// The kernel's text symbols from /proc/kallsyms: names the function a kprobe slot hit (by the
// address bpf_get_func_ip gave) and the frames of a --stack trace, as "name+0xoff" the way
// Retis writes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace nscope {

class KernelSymbols {
 public:
  // Reads /proc/kallsyms (or `path`). An Error when it cannot be read or shows no addresses
  // (kernel.kptr_restrict hides them from whoever lacks CAP_SYSLOG).
  static Result<KernelSymbols> load(const std::string& path = "/proc/kallsyms");
  // From kallsyms text: "ffffffff81a2b3c0 T ip_rcv", "... t nf_hook_slow\t[nf_tables]".
  static KernelSymbols parse(std::string_view text);

  struct Hit {
    std::string_view name;  // empty when no symbol covers the address
    uint64_t offset = 0;
  };
  // The symbol at or below `addr`.
  Hit lookup(uint64_t addr) const;
  // "ip_rcv+0x4", or "0xffffffff81a2b3c4" when no symbol covers it.
  std::string describe(uint64_t addr) const;
  size_t size() const { return syms_.size(); }

 private:
  struct Sym {
    uint64_t addr;
    uint32_t name_off, name_len;
  };
  std::vector<Sym> syms_;  // by address
  std::string names_;
};

}  // namespace nscope
