// Puts compiled filters into the BPF programs before load. Each stub of bpf/filter_stubs.h is
// found in a program's relocated instructions by the 64-bit constant in its body and replaced
// by the filter's code; calls, func_info and line_info around it are moved to match.
// libbpf lets us do that between relocation and load through a custom section handler
// (libbpf_register_prog_handler + bpf_program__set_insns, libbpf >= 1.1): programs that take
// filters live in the sections below instead of "tp_btf" / "raw_tp".
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

struct bpf_program;
struct bpf_prog_load_opts;

namespace nscope::filter {

int prepare_load(::bpf_program* prog, ::bpf_prog_load_opts* opts, long cookie);

inline constexpr const char* kTracingSection = "nscope.tp_btf";   // BTF tracepoints
inline constexpr const char* kRawTpSection = "nscope.raw_tp";     // raw tracepoints (tests)
inline constexpr const char* kKprobeSection = "nscope.kprobe";    // kprobes and kretprobes
inline constexpr const char* kTcSection = "nscope.tc";            // tc classifiers (tests)

struct StubBody {
  uint64_t magic;              // NSCOPE_STUB_*
  std::vector<bpf_insn> code;  // the function's new body
};

// One program's instructions after relocation, with the BTF records that index them.
struct ProgramImage {
  std::vector<bpf_insn> insns;
  std::vector<bpf_func_info> func_info;
  std::vector<bpf_line_info> line_info;
};

// Replaces the body of every stub in `img` that `bodies` names; returns how many were found.
// Pure, so unit tests can feed it recorded programs.
Result<int> replace_stubs(ProgramImage& img, const std::vector<StubBody>& bodies);

// Registers the section handlers (once per process). Must run before a skeleton with
// programs in those sections is opened.
Result<void> register_filter_sections();

// While alive, programs of those sections loaded on this thread get `bodies`; each program
// must contain every stub named. error() says why a load was refused by the patching.
class PatchScope {
 public:
  explicit PatchScope(std::vector<StubBody> bodies);
  ~PatchScope();
  PatchScope(const PatchScope&) = delete;
  PatchScope& operator=(const PatchScope&) = delete;

  const std::string& error() const { return error_; }
  int patched() const { return patched_; }

 private:
  friend int prepare_load(::bpf_program*, ::bpf_prog_load_opts*, long);
  std::vector<StubBody> bodies_;
  std::vector<std::unique_ptr<ProgramImage>> images_;  // referenced by the load attributes
  std::string error_;
  int patched_ = 0;
  PatchScope* outer_ = nullptr;
};

}  // namespace nscope::filter
