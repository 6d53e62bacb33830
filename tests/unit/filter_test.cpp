// The filter compilers without root: stub replacement on a recorded program shape, the
// -m parser's errors, and -m fields resolved against the running kernel's BTF.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include "filter/cbpf.h"
#include "filter/meta.h"
#include "filter/patch.h"
#include "nscope.h"

namespace {

using nscope::filter::ProgramImage;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn call_sub(int32_t rel) { return insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, rel); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
bpf_insn mov(int32_t v) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, v); }

// main (0..4) calls the stub (5..7) and a helper function (8..9) that sits after it.
ProgramImage recorded() {
  ProgramImage img;
  img.insns = {call_sub(4), call_sub(6), mov(0), mov(0), exit_insn(),
               insn(BPF_LD | BPF_DW | BPF_IMM, 0, 0, 0, static_cast<int32_t>(NSCOPE_STUB_PACKET & 0xffffffff)),
               insn(0, 0, 0, 0, static_cast<int32_t>(NSCOPE_STUB_PACKET >> 32)), exit_insn(),
               mov(7), exit_insn()};
  img.func_info = {{0, 1}, {5, 2}, {8, 3}};
  img.line_info = {{0, 0, 0, 0}, {5, 0, 0, 0}, {6, 0, 0, 0}, {8, 0, 0, 0}};
  return img;
}

TEST(FilterPatch, ReplacesTheStubAndMovesWhatFollows) {
  ProgramImage img = recorded();
  std::vector<bpf_insn> body = {mov(1), mov(1), mov(1), mov(1), exit_insn()};  // 2 longer
  auto n = nscope::filter::replace_stubs(img, {{NSCOPE_STUB_PACKET, body}});
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  ASSERT_EQ(img.insns.size(), 12u);
  EXPECT_EQ(img.insns[0].imm, 4);  // still the stub's start (5)
  EXPECT_EQ(img.insns[1].imm, 8);  // the helper moved from 8 to 10
  EXPECT_EQ(img.insns[5].imm, 1);
  EXPECT_EQ(img.insns[10].imm, 7);
  ASSERT_EQ(img.func_info.size(), 3u);
  EXPECT_EQ(img.func_info[1].insn_off, 5u);
  EXPECT_EQ(img.func_info[2].insn_off, 10u);
  // The old body's own line (6) is gone; the function's first line stays.
  ASSERT_EQ(img.line_info.size(), 3u);
  EXPECT_EQ(img.line_info[1].insn_off, 5u);
  EXPECT_EQ(img.line_info[2].insn_off, 10u);
}

TEST(FilterPatch, ProgramsWithoutTheStubAreLeftAlone) {
  ProgramImage img = recorded();
  auto n = nscope::filter::replace_stubs(img, {{NSCOPE_STUB_META, {exit_insn()}}});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(img.insns.size(), 10u);
}

TEST(MetaParse, ReadsPathsOperatorsAndValues) {
  auto t = nscope::filter::parse_meta(
      "not (sk_buff.mark & 0xff == 0x10 or sk_buff.dev.name != \"eth0\") and sk_buff.len >= 1000 && sk_buff.pkt_type");
  ASSERT_TRUE(t.ok()) << t.error().message;
  const auto& root = **t;
  ASSERT_EQ(root.kind, nscope::filter::MetaNode::and_);
  // The right-most comparison: a field alone means "not zero".
  EXPECT_EQ(root.rhs->path, (std::vector<std::string>{"sk_buff", "pkt_type"}));
  EXPECT_EQ(root.rhs->op, "!=");
  const auto& left = *root.lhs->lhs;  // and(not(or(..)), >=)
  ASSERT_EQ(root.lhs->kind, nscope::filter::MetaNode::and_);
  EXPECT_EQ(left.kind, nscope::filter::MetaNode::not_);
  const auto& mark = *left.lhs->lhs;
  EXPECT_TRUE(mark.has_mask);
  EXPECT_EQ(mark.mask, 0xffu);
  EXPECT_EQ(mark.value, 0x10u);
  EXPECT_EQ(left.lhs->rhs->str, "eth0");
  EXPECT_EQ(root.lhs->rhs->value, 1000u);
}

TEST(MetaParse, ErrorsSayWhatAndWhere) {
  struct Case {
    const char* expr;
    const char* says;
  };
  for (const auto& c : std::vector<Case>{
           {"", "empty"},
           {"sk_buff.len = 3", "compare with '==' (column 13)"},
           {"sk_buff.len ==", "expected a number or a \"string\" after '==' (column 13)"},
           {"sk_buff.len == 0x", "'0x' is not a number"},
           {"(sk_buff.len == 1", "expected ')' to close the '(' of column 1"},
           {"sk_buff.dev.name == \"eth0", "not closed"},
           {"sk_buff. == 1", "expected a field name after '.' (column 10)"},
           {"sk_buff.len == 1 sk_buff.mark", "expected 'and', 'or' or the end here (column 18)"},
           {"sk_buff.len $ 1", "unexpected character '$' (column 13)"},
       }) {
    auto t = nscope::filter::parse_meta(c.expr);
    ASSERT_FALSE(t.ok()) << c.expr;
    const std::string& m = t.error().message;
    EXPECT_NE(m.find(c.says), std::string::npos) << c.expr << " -> " << m;
    EXPECT_EQ(m.find("(column"), m.rfind("(column")) << "one position, said once: " << m;
  }
  std::string deep(200, '(');
  EXPECT_FALSE(nscope::filter::parse_meta(deep).ok());
}

class MetaBtf : public ::testing::Test {
 protected:
  void SetUp() override {
    vmlinux_ = btf__load_vmlinux_btf();
    if (!vmlinux_) GTEST_SKIP() << "no kernel BTF here";
  }
  void TearDown() override { btf__free(vmlinux_); }
  btf* vmlinux_ = nullptr;
};

TEST_F(MetaBtf, CompilesFieldsThroughPointersUnionsAndBitfields) {
  for (const char* ok : {"sk_buff.dev.nd_net.net.ns.inum == 4026531840", "sk_buff.mark == 0x10",
                         "sk_buff.dev.name == \"eth0\"", "sk_buff.len > 1000", "sk_buff.pkt_type == 3",
                         "sk_buff.sk.__sk_common.skc_family == 2", "sk_buff.dev == 0",
                         "sk_buff.tstamp > 0 or not sk_buff.protocol == 8"}) {
    auto code = nscope::filter::compile_meta_filter(ok, vmlinux_);
    EXPECT_TRUE(code.ok()) << ok << ": " << code.error().message;
    if (code.ok()) {
      EXPECT_GT(code->size(), 5u);
      EXPECT_EQ(code->back().code, BPF_JMP | BPF_EXIT);
    }
  }
}

TEST_F(MetaBtf, ErrorsNameTheFieldAndColumn) {
  struct Case {
    const char* expr;
    const char* says;
  };
  for (const auto& c : std::vector<Case>{
           {"sk_buff.devv == 1", "no field 'devv' in struct sk_buff (column 9)"},
           {"sk_buff.dev.nd_net.nett.ns.inum == 1", "no field 'nett' in possible_net_t (column 20)"},
           {"skb.len == 1", "a field starts at sk_buff"},
           {"sk_buff.dev == \"x\"", "compare it with a number"},
           {"sk_buff.dev.name == 5", "compare it with a \"string\""},
           {"sk_buff.dev.name < \"a\"", "only with == or !="},
           {"sk_buff.dev.name == \"abcdefghijklmnopq\"", "is longer than"},
           {"sk_buff.pkt_type == 8", "does not fit in sk_buff.pkt_type (3 bits)"},
           {"sk_buff.len == -1", "unsigned"},
           {"sk_buff.dev.nd_net == 1", "name one of its fields"},
           {"sk_buff.len.x == 1", "not a struct or a pointer to one"},
       }) {
    auto code = nscope::filter::compile_meta_filter(c.expr, vmlinux_);
    ASSERT_FALSE(code.ok()) << c.expr;
    EXPECT_NE(code.error().message.find(c.says), std::string::npos) << c.expr << " -> " << code.error().message;
  }
}

}  // namespace

namespace {

TEST(FilterPcap, BytesNeededFollowTheHeaderLengthInX) {
  auto need = [](const char* expr) {
    auto p = nscope::filter::compile_pcap(expr, nscope::filter::LinkType::ethernet);
    EXPECT_TRUE(p.ok()) << expr;
    return p.ok() ? nscope::filter::packet_bytes_needed(*p) : 0u;
  };
  EXPECT_EQ(need("arp"), 14u);          // the ethertype
  EXPECT_EQ(need("icmp"), 24u);         // and the IP protocol byte
  EXPECT_EQ(need("udp port 9"), 78u);   // ports behind an IP header of up to 60 bytes
  EXPECT_EQ(need("ip[300] = 1"), 256u); // capped at what the kernel reads
}

}  // namespace
