#include "filter/cbpf.h"

#include <algorithm>

#include <linux/filter.h>

#include <fmt/format.h>

#include "filter/emit.h"
#include "nscope.h"

namespace nscope::filter {
namespace {

// Registers of the generated function. r1..r4 arrive as the stub's arguments and are moved
// out at once; r3 and r4 are then scratch.
constexpr int kBuf = 6, kCaplen = 7, kA = 8, kWirelen = 9, kX = 5, kT1 = 3, kT2 = 4;
constexpr int kScratchSlots = 16;  // classic BPF's M[], as 4-byte slots below r10

int16_t mem_slot(uint32_t k) { return static_cast<int16_t>(-4 * (kScratchSlots - static_cast<int>(k))); }

int ebpf_size(uint16_t size) {
  switch (size) {
    case BPF_W: return BPF_W;
    case BPF_H: return BPF_H;
    default: return BPF_B;
  }
}
uint32_t bytes(uint16_t size) { return size == BPF_W ? 4 : size == BPF_H ? 2 : 1; }

// A = packet bytes at r(kT2) (already bounded) or at a constant offset, in host order.
void load_swap(Emitter& e, uint16_t size, int base, int16_t off) {
  e.load(ebpf_size(size), kA, base, off);
  if (size == BPF_W) e.to_be(kA, 32);
  if (size == BPF_H) e.to_be(kA, 16);
}

std::string where(size_t pc, const CbpfInsn& i) {
  return fmt::format("instruction {} (code {:#06x}, k {:#x})", pc, i.code, i.k);
}

// One classic program into eBPF, instruction by instruction, each class by its own method.
// Only reachable instructions are translated: the verifier refuses code no path reaches.
class Translator {
 public:
  Translator(Emitter& e, const std::vector<CbpfInsn>& prog, Emitter::Label fail)
      : e_(e), prog_(prog), fail_(fail), at_(prog.size()) {
    for (auto& l : at_) l = e_.label();
  }
  Result<void> run();

 private:
  Result<Emitter::Label> target(size_t pc, uint32_t rel) const;
  bool beyond(const CbpfInsn& i) const;
  Result<void> find_reachable();
  Result<void> one(size_t pc, const CbpfInsn& i);
  Result<void> load(size_t pc, const CbpfInsn& i);
  void load_packet_ind(const CbpfInsn& i);
  Result<void> alu(size_t pc, const CbpfInsn& i);
  Result<void> jump(size_t pc, const CbpfInsn& i);
  Result<void> ret(size_t pc, const CbpfInsn& i);
  Result<void> misc(size_t pc, const CbpfInsn& i);
  Error bad(size_t pc, const CbpfInsn& i, std::string_view what) const {
    return Error::usage(where(pc, i) + " " + std::string(what));
  }

  static constexpr uint32_t kLimit = NSCOPE_FILTER_BYTES;
  Emitter& e_;
  const std::vector<CbpfInsn>& prog_;
  Emitter::Label fail_;
  std::vector<Emitter::Label> at_;
  std::vector<bool> reach_;
};

Result<void> Translator::run() {
  if (prog_.empty()) {  // this packet shape never matches
    e_.mov64_imm(0, 0);
    e_.exit();
    return {};
  }
  if (auto r = find_reachable(); !r) return r;
  for (size_t pc = 0; pc < prog_.size(); ++pc) {
    e_.bind(at_[pc]);
    if (!reach_[pc]) continue;
    if (auto r = one(pc, prog_[pc]); !r) return r;
  }
  return {};
}

Result<Emitter::Label> Translator::target(size_t pc, uint32_t rel) const {
  if (rel >= 0x80000000u)
    return bad(pc, prog_[pc], "jumps backwards (a loop, as `protochain` compiles to), which "
                              "nscope cannot run in the kernel");
  if (pc + 1 + rel >= prog_.size()) return bad(pc, prog_[pc], "jumps past the end of the program");
  return at_[pc + 1 + rel];
}

// A load beyond what nscope reads of a packet ends its path (no match).
bool Translator::beyond(const CbpfInsn& i) const {
  uint16_t mode = BPF_MODE(i.code);
  bool packet_load = (BPF_CLASS(i.code) == BPF_LD && (mode == BPF_ABS || mode == BPF_IND)) ||
                     (BPF_CLASS(i.code) == BPF_LDX && mode == BPF_MSH);
  return packet_load && i.k < 0x80000000u && uint64_t{i.k} + bytes(BPF_SIZE(i.code)) > kLimit;
}

Result<void> Translator::find_reachable() {
  reach_.assign(prog_.size(), false);
  reach_[0] = true;
  for (size_t pc = 0; pc < prog_.size(); ++pc) {
    if (!reach_[pc]) continue;
    const CbpfInsn& i = prog_[pc];
    std::vector<uint64_t> next;
    if (BPF_CLASS(i.code) == BPF_RET || beyond(i)) continue;
    if (BPF_CLASS(i.code) == BPF_JMP && BPF_OP(i.code) == BPF_JA) {
      if (auto t = target(pc, i.k); !t) return t.error();
      next = {pc + 1 + uint64_t{i.k}};
    } else if (BPF_CLASS(i.code) == BPF_JMP) {
      next = {pc + 1 + i.jt, pc + 1 + i.jf};
    } else {
      next = {pc + 1};
    }
    for (uint64_t n : next) {
      if (n >= prog_.size()) return bad(pc, i, "runs past the end of the program");
      reach_[n] = true;
    }
  }
  return {};
}

Result<void> Translator::one(size_t pc, const CbpfInsn& i) {
  if (beyond(i)) {
    e_.ja(fail_);
    return {};
  }
  const uint16_t cls = BPF_CLASS(i.code);
  switch (cls) {
    case BPF_LD:
    case BPF_LDX: return load(pc, i);
    case BPF_ST:
    case BPF_STX:
      if (i.k >= kScratchSlots) return bad(pc, i, "uses a scratch slot out of range");
      e_.store(BPF_W, 10, mem_slot(i.k), cls == BPF_ST ? kA : kX);
      return {};
    case BPF_ALU: return alu(pc, i);
    case BPF_JMP: return jump(pc, i);
    case BPF_RET: return ret(pc, i);
    case BPF_MISC: return misc(pc, i);
    default: return bad(pc, i, "has an unknown instruction class");
  }
}

Result<void> Translator::load(size_t pc, const CbpfInsn& i) {
  const uint16_t cls = BPF_CLASS(i.code), mode = BPF_MODE(i.code), size = BPF_SIZE(i.code);
  const int dst = cls == BPF_LD ? kA : kX;
  if (mode == BPF_IMM) {
    e_.mov32_imm(dst, static_cast<int32_t>(i.k));
  } else if (mode == BPF_LEN) {
    e_.mov32_reg(dst, kWirelen);
  } else if (mode == BPF_MEM) {
    if (i.k >= kScratchSlots) return bad(pc, i, "uses a scratch slot out of range");
    e_.load(BPF_W, dst, 10, mem_slot(i.k));
  } else if (mode == BPF_ABS || mode == BPF_MSH) {
    if (i.k >= 0x80000000u)
      return bad(pc, i, "reads Linux socket metadata (SKF_AD), which a tracepoint has no "
                        "packet socket for");
    if (cls == BPF_LDX && !(mode == BPF_MSH && size == BPF_B))
      return bad(pc, i, "is not a valid classic BPF load");
    e_.jmp_imm(BPF_JLT, kCaplen, static_cast<int32_t>(i.k + bytes(size)), fail_);
    if (mode == BPF_MSH) {  // X = 4 * (P[k] & 0xf)
      e_.load(BPF_B, kX, kBuf, static_cast<int16_t>(i.k));
      e_.alu32_imm(BPF_AND, kX, 0xf);
      e_.alu32_imm(BPF_LSH, kX, 2);
    } else {
      load_swap(e_, size, kBuf, static_cast<int16_t>(i.k));
    }
  } else if (mode == BPF_IND && cls == BPF_LD) {
    load_packet_ind(i);
  } else {
    return bad(pc, i, "uses a load mode nscope cannot translate");
  }
  return {};
}

// A = P[X + k]: T2 = X + k, bounded for the verifier, then checked against caplen.
void Translator::load_packet_ind(const CbpfInsn& i) {
  const uint16_t size = BPF_SIZE(i.code);
  const uint32_t n = bytes(size);
  e_.mov32_reg(kT2, kX);
  e_.alu64_imm(BPF_ADD, kT2, static_cast<int32_t>(i.k));
  e_.jmp_imm(BPF_JGT, kT2, static_cast<int32_t>(kLimit - n), fail_);
  e_.mov64_reg(kT1, kT2);
  e_.alu64_imm(BPF_ADD, kT1, static_cast<int32_t>(n));
  e_.jmp_reg(BPF_JGT, kT1, kCaplen, fail_);
  // pointer += offset: the verifier keeps the pointer's type only this way round.
  e_.mov64_reg(kT1, kBuf);
  e_.alu64_reg(BPF_ADD, kT1, kT2);
  load_swap(e_, size, kT1, 0);
}

Result<void> Translator::alu(size_t pc, const CbpfInsn& i) {
  const uint16_t op = BPF_OP(i.code);
  if (op == BPF_NEG) {
    e_.alu32_imm(BPF_NEG, kA, 0);
    return {};
  }
  if (op != BPF_ADD && op != BPF_SUB && op != BPF_MUL && op != BPF_DIV && op != BPF_OR &&
      op != BPF_AND && op != BPF_LSH && op != BPF_RSH && op != BPF_MOD && op != BPF_XOR)
    return bad(pc, i, "uses an unknown arithmetic operation");
  if (BPF_SRC(i.code) == BPF_X) {
    if (op == BPF_DIV || op == BPF_MOD) e_.jmp32_imm(BPF_JEQ, kX, 0, fail_);  // classic: returns 0
    if (op == BPF_LSH || op == BPF_RSH) {
      // libpcap's interpreter makes a shift by 32 or more 0; eBPF's shifts take the count
      // modulo 32 ("ip[0] << ip[0]" matched packets tcpdump's filter does not; found by
      // fuzz/fuzz_pcap.cpp).
      Emitter::Label shift = e_.label(), done = e_.label();
      e_.jmp32_imm(BPF_JLT, kX, 32, shift);
      e_.mov32_imm(kA, 0);
      e_.ja(done);
      e_.bind(shift);
      e_.alu32_reg(op, kA, kX);
      e_.bind(done);
      return {};
    }
    e_.alu32_reg(op, kA, kX);
    return {};
  }
  if ((op == BPF_DIV || op == BPF_MOD) && i.k == 0) return bad(pc, i, "divides by zero");
  if ((op == BPF_LSH || op == BPF_RSH) && i.k >= 32) return bad(pc, i, "shifts by 32 or more");
  e_.alu32_imm(op, kA, static_cast<int32_t>(i.k));
  return {};
}

Result<void> Translator::jump(size_t pc, const CbpfInsn& i) {
  const uint16_t op = BPF_OP(i.code);
  if (op == BPF_JA) {
    auto t = target(pc, i.k);
    if (!t) return t.error();
    e_.ja(*t);
    return {};
  }
  if (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE && op != BPF_JSET)
    return bad(pc, i, "uses an unknown jump");
  auto jt = target(pc, i.jt), jf = target(pc, i.jf);
  if (!jt) return jt.error();
  if (!jf) return jf.error();
  if (BPF_SRC(i.code) == BPF_X) e_.jmp32_reg(op, kA, kX, *jt);
  else e_.jmp32_imm(op, kA, static_cast<int32_t>(i.k), *jt);
  if (i.jf != 0) e_.ja(*jf);
  return {};
}

Result<void> Translator::ret(size_t pc, const CbpfInsn& i) {
  if (BPF_RVAL(i.code) == BPF_K) {
    e_.mov64_imm(0, i.k != 0);
  } else if (BPF_RVAL(i.code) == BPF_A) {
    Emitter::Label zero = e_.label();
    e_.mov64_imm(0, 0);
    e_.jmp32_imm(BPF_JEQ, kA, 0, zero);
    e_.mov64_imm(0, 1);
    e_.bind(zero);
  } else {
    return bad(pc, i, "returns X, which classic BPF does not allow");
  }
  e_.exit();
  return {};
}

Result<void> Translator::misc(size_t pc, const CbpfInsn& i) {
  if (BPF_MISCOP(i.code) == BPF_TAX) e_.mov32_reg(kX, kA);
  else if (BPF_MISCOP(i.code) == BPF_TXA) e_.mov32_reg(kA, kX);
  else return bad(pc, i, "uses an unknown misc operation");
  return {};
}

Result<void> translate_one(Emitter& e, const std::vector<CbpfInsn>& prog, Emitter::Label fail) {
  return Translator(e, prog, fail).run();
}

}  // namespace

uint32_t packet_bytes_needed(const std::vector<CbpfInsn>& prog) {
  // The largest value X can hold on entry to each instruction (jumps only go forward, so one
  // pass in order sees every predecessor first). pcap sets X mostly from `ldxb 4*([k]&0xf)`,
  // an IP header length of at most 60: that bounds the loads at [x + k].
  constexpr uint64_t kUnknown = NSCOPE_FILTER_BYTES;
  std::vector<int64_t> x_in(prog.size() + 1, -1);
  if (!prog.empty()) x_in[0] = 0;
  uint64_t need = 0;
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    if (x_in[pc] < 0) continue;  // unreachable
    const CbpfInsn& i = prog[pc];
    const uint16_t cls = BPF_CLASS(i.code), mode = BPF_MODE(i.code);
    uint64_t x = static_cast<uint64_t>(x_in[pc]);
    const uint64_t end = uint64_t{i.k} + bytes(BPF_SIZE(i.code));
    if (cls == BPF_LD && mode == BPF_ABS) need = std::max(need, end);
    if (cls == BPF_LD && mode == BPF_IND) need = std::max(need, x + end);
    if (cls == BPF_LDX) {
      if (mode == BPF_MSH) {
        need = std::max(need, uint64_t{i.k} + 1);
        x = 60;
      } else if (mode == BPF_IMM) {
        x = i.k;
      } else {
        x = kUnknown;  // a length or a scratch slot
      }
    }
    if (cls == BPF_MISC && BPF_MISCOP(i.code) == BPF_TAX) x = kUnknown;
    std::vector<uint64_t> next;
    if (cls == BPF_JMP && BPF_OP(i.code) == BPF_JA) next = {pc + 1 + uint64_t{i.k}};
    else if (cls == BPF_JMP) next = {pc + 1 + i.jt, pc + 1 + i.jf};
    else if (cls != BPF_RET) next = {pc + 1};
    for (uint64_t n : next)
      if (n < prog.size()) x_in[n] = std::max<int64_t>(x_in[n], static_cast<int64_t>(std::min(x, kUnknown)));
  }
  return static_cast<uint32_t>(std::min(need, kUnknown));
}

Result<std::vector<bpf_insn>> translate_packet_filter(const std::vector<CbpfInsn>& ethernet,
                                                      const std::vector<CbpfInsn>& raw_ip) {
  Emitter e;
  Emitter::Label fail = e.label(), l2 = e.label();
  e.mov64_reg(kBuf, 1);
  e.mov64_reg(kCaplen, 2);
  e.mov64_reg(kWirelen, 3);
  e.mov64_imm(kA, 0);
  e.mov64_imm(kX, 0);
  // M[] lives on the stack, which the verifier wants written before it is read: zeroed when
  // either program reads it (most expressions never do).
  auto reads_mem = [](const std::vector<CbpfInsn>& p) {
    return std::any_of(p.begin(), p.end(), [](const CbpfInsn& i) {
      uint16_t cls = BPF_CLASS(i.code);
      return (cls == BPF_LD || cls == BPF_LDX) && BPF_MODE(i.code) == BPF_MEM;
    });
  };
  if (reads_mem(ethernet) || reads_mem(raw_ip))
    for (int off = 8; off <= 4 * kScratchSlots; off += 8) e.store_imm(BPF_DW, 10, static_cast<int16_t>(-off), 0);
  // Never true (the caller clamps caplen), but keeps the shared exit reachable for the
  // verifier when no load can fail.
  e.jmp_imm(BPF_JGT, kCaplen, NSCOPE_FILTER_BYTES, fail);
  e.jmp32_imm(BPF_JNE, 4, 0, l2);
  if (auto r = translate_one(e, raw_ip, fail); !r) return r.error();
  e.bind(l2);
  if (auto r = translate_one(e, ethernet, fail); !r) return r.error();
  e.bind(fail);
  e.mov64_imm(0, 0);
  e.exit();
  std::vector<bpf_insn> out;
  if (!e.finish(&out)) return Error::usage("the compiled filter is too long for eBPF jumps");
  return out;
}

}  // namespace nscope::filter
