// The kernel's text symbols from /proc/kallsyms: names the function a kprobe slot hit (by the
// address bpf_get_func_ip gave) and the frames of a --stack trace, as "name+0xoff" the way
// Retis writes them.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/symbols.h"
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
  // The address of the first symbol named `name`, or 0.
  uint64_t address_of(std::string_view name) const;

 private:
  struct Sym {
    uint64_t addr;
    uint32_t name_off, name_len;
  };
  std::vector<Sym> syms_;  // by address
  std::string names_;
};

// /proc/kallsyms read once, at the first call from any thread, once nscope's own programs are
// loaded and listed there, so their frames can be told apart. Empty when it cannot be read.
class LazyKernelSymbols {
 public:
  const KernelSymbols& get();

 private:
  std::once_flag once_;
  KernelSymbols ksyms_;
};

// Names for what the kernel side reports by address: a kprobe glob's functions and --stack
// frames, each name made once. One per thread; the symbols are shared.
class AddressNames {
 public:
  explicit AddressNames(LazyKernelSymbols& ksyms) : ksyms_(ksyms) {}
  // The function at `ip`, interned.
  std::string_view function_at(uint64_t ip);
  // The frames from the traced code out, one "func+0xoff" a line; the tracing machinery on
  // top (the BPF program, the tracepoint's or trampoline's glue) is left out.
  std::string_view stack(const uint64_t* ips, uint32_t n);

 private:
  const KernelSymbols& symbols() { return ksyms_.get(); }
  static bool is_tracing_glue(std::string_view name);

  LazyKernelSymbols& ksyms_;
  SymbolTable names_;
  std::unordered_map<uint64_t, std::string_view> functions_;
  // Stacks by their frames' bytes; looked up without building a key (C++20 transparent
  // lookup), since this runs for every event.
  struct BytesHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, std::string_view, BytesHash, std::equal_to<>> stacks_;
};

}  // namespace nscope
