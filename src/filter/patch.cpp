#include "filter/patch.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include <fmt/format.h>

namespace nscope::filter {
namespace {

thread_local PatchScope* current = nullptr;

bool is_ld_imm64(const bpf_insn& i) { return i.code == (BPF_LD | BPF_DW | BPF_IMM); }

// A bpf-to-bpf call or a callback address: both hold the target relative to the next insn.
bool is_relative_ref(const bpf_insn& i) {
  return (i.code == (BPF_JMP | BPF_CALL) && i.src_reg == BPF_PSEUDO_CALL) ||
         (is_ld_imm64(i) && i.src_reg == BPF_PSEUDO_FUNC);
}

long find_magic(const std::vector<bpf_insn>& insns, uint64_t magic) {
  for (size_t i = 0; i + 1 < insns.size(); ++i)
    if (is_ld_imm64(insns[i]) && insns[i].src_reg == 0 &&
        static_cast<uint32_t>(insns[i].imm) == static_cast<uint32_t>(magic) &&
        static_cast<uint32_t>(insns[i + 1].imm) == static_cast<uint32_t>(magic >> 32))
      return static_cast<long>(i);
  return -1;
}

Result<void> replace_one(ProgramImage& img, long at, const std::vector<bpf_insn>& code) {
  // The stub is the function holding the constant: func_info marks where functions start.
  long start = -1, end = static_cast<long>(img.insns.size());
  for (const auto& f : img.func_info) {
    long off = static_cast<long>(f.insn_off);
    if (off <= at && off > start) start = off;
    if (off > at && off < end) end = off;
  }
  if (start <= 0)
    return Error::msg("the filter stub is not a function of its own (no func_info for it)");
  const long delta = static_cast<long>(code.size()) - (end - start);
  const long new_end = start + static_cast<long>(code.size());
  auto moved = [&](long old) { return old < start ? old : old >= end ? old + delta : start; };

  std::vector<bpf_insn> out;
  out.reserve(img.insns.size() + static_cast<size_t>(std::max(0L, delta)));
  out.insert(out.end(), img.insns.begin(), img.insns.begin() + start);
  out.insert(out.end(), code.begin(), code.end());
  out.insert(out.end(), img.insns.begin() + end, img.insns.end());
  for (long i = 0; i < static_cast<long>(out.size()); ++i) {
    if (i >= start && i < new_end) continue;  // the new body has no calls
    bpf_insn& in = out[static_cast<size_t>(i)];
    if (!is_relative_ref(in)) continue;
    long old_i = i < start ? i : i - delta;
    long target = moved(old_i + 1 + in.imm);
    in.imm = static_cast<int32_t>(target - (i + 1));
  }
  img.insns = std::move(out);
  for (auto& f : img.func_info)
    if (static_cast<long>(f.insn_off) >= end) f.insn_off = static_cast<uint32_t>(f.insn_off + delta);
  std::vector<bpf_line_info> lines;
  for (auto l : img.line_info) {
    long off = static_cast<long>(l.insn_off);
    if (off > start && off < end) continue;  // lines of the old body
    if (off >= end) l.insn_off = static_cast<uint32_t>(off + delta);
    lines.push_back(l);
  }
  img.line_info = std::move(lines);
  return {};
}

template <typename T>
std::vector<T> copy_records(const void* p, uint32_t rec_size, uint32_t cnt) {
  std::vector<T> out(cnt);
  for (uint32_t i = 0; i < cnt; ++i)
    std::memcpy(&out[i], static_cast<const char*>(p) + size_t{i} * rec_size, sizeof(T));
  return out;
}

}  // namespace

Result<int> replace_stubs(ProgramImage& img, const std::vector<StubBody>& bodies) {
  int found = 0;
  for (const auto& b : bodies) {
    long at = find_magic(img.insns, b.magic);
    if (at < 0) continue;
    if (auto r = replace_one(img, at, b.code); !r) return r.error();
    ++found;
  }
  return found;
}

int prepare_load(bpf_program* prog, bpf_prog_load_opts* opts, long) {
  PatchScope* s = current;
  if (!s || s->bodies_.empty()) return 0;
  auto img = std::make_unique<ProgramImage>();
  img->insns.assign(bpf_program__insns(prog), bpf_program__insns(prog) + bpf_program__insn_cnt(prog));
  if (opts->func_info_cnt && opts->func_info_rec_size < sizeof(bpf_func_info)) {
    s->error_ = "unexpected func_info record size";
    return -EINVAL;
  }
  if (opts->line_info_cnt && opts->line_info_rec_size < sizeof(bpf_line_info)) {
    s->error_ = "unexpected line_info record size";
    return -EINVAL;
  }
  img->func_info = copy_records<bpf_func_info>(opts->func_info, opts->func_info_rec_size, opts->func_info_cnt);
  img->line_info = copy_records<bpf_line_info>(opts->line_info, opts->line_info_rec_size, opts->line_info_cnt);
  auto n = replace_stubs(*img, s->bodies_);
  if (!n) {
    s->error_ = fmt::format("program {}: {}", bpf_program__name(prog), n.error().message);
    return -EINVAL;
  }
  if (*n != static_cast<int>(s->bodies_.size())) {
    s->error_ = fmt::format("program {} lacks a filter stub", bpf_program__name(prog));
    return -ENOENT;
  }
  if (int err = bpf_program__set_insns(prog, img->insns.data(), img->insns.size())) {
    s->error_ = fmt::format("cannot replace the instructions of {}", bpf_program__name(prog));
    return err;
  }
  opts->func_info = img->func_info.data();
  opts->func_info_rec_size = sizeof(bpf_func_info);
  opts->func_info_cnt = static_cast<uint32_t>(img->func_info.size());
  opts->line_info = img->line_info.empty() ? nullptr : img->line_info.data();
  opts->line_info_rec_size = sizeof(bpf_line_info);
  opts->line_info_cnt = static_cast<uint32_t>(img->line_info.size());
  s->images_.push_back(std::move(img));
  ++s->patched_;
  return 0;
}

Result<void> register_filter_sections() {
  static std::once_flag once;
  static int err = 0;
  std::call_once(once, [] {
    LIBBPF_OPTS(libbpf_prog_handler_opts, o, .prog_prepare_load_fn = prepare_load);
    if (libbpf_register_prog_handler(kTracingSection, BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, &o) < 0 ||
        libbpf_register_prog_handler(kRawTpSection, BPF_PROG_TYPE_RAW_TRACEPOINT,
                                     static_cast<bpf_attach_type>(0), &o) < 0 ||
        libbpf_register_prog_handler(kKprobeSection, BPF_PROG_TYPE_KPROBE,
                                     static_cast<bpf_attach_type>(0), &o) < 0 ||
        libbpf_register_prog_handler(kTcSection, BPF_PROG_TYPE_SCHED_CLS,
                                     static_cast<bpf_attach_type>(0), &o) < 0)
      err = errno ? errno : EINVAL;
  });
  if (err) return Error::sys(err, "cannot register nscope's BPF section handlers with libbpf");
  return {};
}

PatchScope::PatchScope(std::vector<StubBody> bodies) : bodies_(std::move(bodies)), outer_(current) {
  current = this;
}

PatchScope::~PatchScope() { current = outer_; }

}  // namespace nscope::filter
