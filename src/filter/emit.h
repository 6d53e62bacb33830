// A small eBPF assembler for the filters nscope compiles itself (-f, -m): instruction
// builders and forward labels. The code goes into a stub of bpf/filter_stubs.h, so it is
// one function: arguments in r1..r5, result in r0, its own stack below r10.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

namespace nscope::filter {

class Emitter {
 public:
  using Label = int;

  Label label() {
    targets_.push_back(-1);
    return static_cast<Label>(targets_.size() - 1);
  }
  void bind(Label l) { targets_[static_cast<size_t>(l)] = static_cast<int>(code_.size()); }

  // dst = imm (32-bit move: zero-extends) or dst = src (64-bit).
  void mov32_imm(int dst, int32_t imm) { put(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm); }
  void mov64_imm(int dst, int32_t imm) { put(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
  void mov32_reg(int dst, int src) { put(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
  void mov64_reg(int dst, int src) { put(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
  void ld_imm64(int dst, uint64_t v) {
    put(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, static_cast<int32_t>(v & 0xffffffffu));
    put(0, 0, 0, 0, static_cast<int32_t>(v >> 32));
  }
  // op is BPF_ADD, BPF_AND, ...; 32-bit (alu32) or 64-bit.
  void alu32_imm(int op, int dst, int32_t imm) { put(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
  void alu32_reg(int op, int dst, int src) { put(BPF_ALU | op | BPF_X, dst, src, 0, 0); }
  void alu64_imm(int op, int dst, int32_t imm) { put(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
  void alu64_reg(int op, int dst, int src) { put(BPF_ALU64 | op | BPF_X, dst, src, 0, 0); }
  void to_be(int dst, int bits) { put(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, bits); }
  // dst = *(size *)(src + off); *(size *)(dst + off) = src / imm.
  void load(int size, int dst, int src, int16_t off) { put(BPF_LDX | BPF_MEM | size, dst, src, off, 0); }
  void store(int size, int dst, int16_t off, int src) { put(BPF_STX | BPF_MEM | size, dst, src, off, 0); }
  void store_imm(int size, int dst, int16_t off, int32_t imm) {
    put(BPF_ST | BPF_MEM | size, dst, 0, off, imm);
  }
  void call(int helper) { put(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
  void exit() { put(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

  // Conditional jumps (op BPF_JEQ, BPF_JGT, ...), 64-bit or 32-bit compare; and goto.
  void jmp_imm(int op, int dst, int32_t imm, Label to) { jump(BPF_JMP | op | BPF_K, dst, 0, imm, to); }
  void jmp_reg(int op, int dst, int src, Label to) { jump(BPF_JMP | op | BPF_X, dst, src, 0, to); }
  void jmp32_imm(int op, int dst, int32_t imm, Label to) { jump(BPF_JMP32 | op | BPF_K, dst, 0, imm, to); }
  void jmp32_reg(int op, int dst, int src, Label to) { jump(BPF_JMP32 | op | BPF_X, dst, src, 0, to); }
  void ja(Label to) { jump(BPF_JMP | BPF_JA, 0, 0, 0, to); }

  size_t size() const { return code_.size(); }

  // The code with every jump resolved; false when a label was never bound or a jump is too
  // far for the 16-bit offset.
  bool finish(std::vector<bpf_insn>* out) const {
    std::vector<bpf_insn> code = code_;
    for (const auto& [at, l] : fixups_) {
      int t = targets_[static_cast<size_t>(l)];
      if (t < 0) return false;
      int off = t - (static_cast<int>(at) + 1);
      if (off < INT16_MIN || off > INT16_MAX) return false;
      code[at].off = static_cast<int16_t>(off);
    }
    *out = std::move(code);
    return true;
  }

 private:
  void put(int code, int dst, int src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = static_cast<uint8_t>(code);
    i.dst_reg = static_cast<uint8_t>(dst) & 0xf;
    i.src_reg = static_cast<uint8_t>(src) & 0xf;
    i.off = off;
    i.imm = imm;
    code_.push_back(i);
  }
  void jump(int code, int dst, int src, int32_t imm, Label to) {
    fixups_.emplace_back(code_.size(), to);
    put(code, dst, src, 0, imm);
  }

  std::vector<bpf_insn> code_;
  std::vector<int> targets_;
  std::vector<std::pair<size_t, Label>> fixups_;
};

}  // namespace nscope::filter
