// libFuzzer target for `collect -m`: arbitrary text through the meta-filter parser and, where
// it parses, through resolution against the running kernel's BTF and code generation. The
// code must be well formed: every jump lands inside it and not in the middle of a 16-byte
// load, and it ends in an exit. Any crash, sanitizer report or bad code aborts.
#include <bpf/btf.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "filter/meta.h"

namespace {

const btf* vmlinux() {
  static btf* b = btf__load_vmlinux_btf();  // nullptr without kernel BTF: parse only
  return b;
}

void check(const std::vector<bpf_insn>& code, const std::string& expr) {
  std::vector<bool> second(code.size());  // the second half of an ld_imm64
  for (size_t i = 0; i + 1 < code.size(); ++i)
    if (code[i].code == (BPF_LD | BPF_DW | BPF_IMM)) second[++i] = true;
  for (size_t i = 0; i < code.size(); ++i) {
    if (second[i]) continue;
    uint8_t cls = BPF_CLASS(code[i].code), op = BPF_OP(code[i].code);
    if ((cls != BPF_JMP && cls != BPF_JMP32) || op == BPF_CALL || op == BPF_EXIT) continue;
    long t = static_cast<long>(i) + 1 + code[i].off;
    if (t < 0 || t >= static_cast<long>(code.size()) || second[static_cast<size_t>(t)]) {
      std::fprintf(stderr, "bad jump at %zu for: %s\n", i, expr.c_str());
      std::abort();
    }
  }
  if (code.empty() || code.back().code != (BPF_JMP | BPF_EXIT)) {
    std::fprintf(stderr, "code does not end in exit for: %s\n", expr.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string expr(reinterpret_cast<const char*>(data), size);
  auto tree = nscope::filter::parse_meta(expr);
  if (!tree) {
    if (tree.error().kind != nscope::ErrorKind::usage) std::abort();  // the user's to fix
    return 0;
  }
  if (const btf* b = vmlinux()) {
    auto code = nscope::filter::compile_meta_filter(expr, b);
    if (code) check(*code, expr);
    else if (code.error().kind != nscope::ErrorKind::usage) std::abort();
  }
  return 0;
}
