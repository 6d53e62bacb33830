// The nft collector's kprobe without a kernel: __nft_trace_packet's layout read
// from BTF made here as nf_tables has it (Linux 6.1's and 6.4's, and ones this
// build does not read), and the decoding of its BPF records into Retis's nft
// section.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "collect/decode.h"
#include "collect/nft_probe.h"
#include "events/symbols.h"

using namespace nscope;

namespace {

using BtfPtr = std::unique_ptr<btf, void (*)(btf*)>;

// nf_tables' BTF as far as the collector reads it: struct nft_traceinfo (with
// the members 6.1's layout reads, 6.4's (basechain alone), or none),
// __nft_trace_packet, Linux 6.1's (info, chain, type) or 6.4's (pkt, verdict,
// rule, info, type), and 6.4's struct nft_rule_dp_last (its chain) or not.
BtfPtr nf_tables_btf(bool six_one, bool members = true, bool rule_dp_last = true) {
  BtfPtr b(btf__new_empty(), btf__free);
  int u64 = btf__add_int(b.get(), "u64", 8, 0);
  int info_s = btf__add_struct(b.get(), "nft_traceinfo", 32);
  int bits = 0;
  std::vector<const char*> names{"basechain"};
  if (six_one) names = {"pkt", "basechain", "rule", "verdict"};
  if (members)
    for (const char* m : names) {
      btf__add_field(b.get(), m, u64, bits, 0);
      bits += 64;
    }
  auto ptr_to = [&](const char* sname) {
    return btf__add_ptr(b.get(), btf__add_struct(b.get(), sname, 8));
  };
  int types = btf__add_enum(b.get(), "nft_trace_types", 4);
  btf__add_enum_value(b.get(), "NFT_TRACETYPE_UNSPEC", 0);
  // Every type first: a prototype's parameters must follow it.
  int info = btf__add_ptr(b.get(), info_s);
  int chain = btf__add_ptr(b.get(), btf__add_const(b.get(), btf__add_struct(b.get(), "nft_chain", 8)));
  int pkt = ptr_to("nft_pktinfo"), verdict = ptr_to("nft_verdict"), rule = ptr_to("nft_rule_dp");
  if (rule_dp_last) {
    btf__add_struct(b.get(), "nft_rule_dp_last", 16);
    btf__add_field(b.get(), "end", u64, 0, 0);
    btf__add_field(b.get(), "chain", chain, 64, 0);
  }
  int proto = btf__add_func_proto(b.get(), 0);
  if (six_one) {
    btf__add_func_param(b.get(), "info", info);
    btf__add_func_param(b.get(), "chain", chain);
    btf__add_func_param(b.get(), "type", types);
  } else {
    btf__add_func_param(b.get(), "pkt", pkt);
    btf__add_func_param(b.get(), "verdict", verdict);
    btf__add_func_param(b.get(), "rule", rule);
    btf__add_func_param(b.get(), "info", info);
    btf__add_func_param(b.get(), "type", types);
  }
  btf__add_func(b.get(), "__nft_trace_packet", BTF_FUNC_STATIC, proto);
  return b;
}

}  // namespace

TEST(NftProbe, Linux61sLayoutIsAKprobeSlot) {
  auto b = nf_tables_btf(true);
  auto p = nft_probe_from(b.get());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, ProbeKind::kprobe);
  EXPECT_EQ(p->symbol(), "__nft_trace_packet");
  EXPECT_EQ(p->functions, std::vector<std::string>{"__nft_trace_packet"});
  EXPECT_EQ(p->cfg.nft_point, 1);
  EXPECT_EQ(p->cfg.skb_arg, NSCOPE_ARG_NONE) << "the packet is info->pkt->skb";
}

TEST(NftProbe, Linux64sLayoutIsAKprobeSlotOfItsOwn) {
  auto b = nf_tables_btf(false);
  auto p = nft_probe_from(b.get());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, ProbeKind::kprobe);
  EXPECT_EQ(p->symbol(), "__nft_trace_packet");
  EXPECT_EQ(p->cfg.nft_point, NSCOPE_NFT_POINT_64);
  EXPECT_NE(p->cfg.nft_point, NSCOPE_NFT_POINT_61);
  EXPECT_EQ(p->cfg.skb_arg, NSCOPE_ARG_NONE) << "the packet is pkt->skb";
  auto six_one = nf_tables_btf(true);
  EXPECT_EQ(nft_probe_from(six_one.get())->cfg.nft_point, NSCOPE_NFT_POINT_61);
}

TEST(NftProbe, OtherLayoutsAreAnErrorNotAGuess) {
  // 6.4's prototype without the marker that names a rule's chain.
  auto no_last = nf_tables_btf(false, true, false);
  auto p = nft_probe_from(no_last.get());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("struct nft_pktinfo *"), std::string::npos)
      << p.error().message;
  EXPECT_FALSE(nft_probe_from(nf_tables_btf(false, false).get()).ok())
      << "6.4's prototype, nft_traceinfo without basechain";
  auto early = nf_tables_btf(true, false);  // 6.1's prototype, nft_traceinfo without its members
  EXPECT_FALSE(nft_probe_from(early.get()).ok());
  BtfPtr empty(btf__new_empty(), btf__free);
  EXPECT_FALSE(nft_probe_from(empty.get()).ok());
}

TEST(NftProbe, RecordsDecodeIntoRetisNftSection) {
  SymbolTable names;
  DecodeContext ctx;
  ctx.collectors = NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NFT;
  ctx.intern = [&](std::string_view s) { return names.intern(s); };
  std::string rec(sizeof(nscope_event) + sizeof(nscope_nft_ext), '\0');
  nscope_nft_ext x{};
  std::strcpy(x.table, "filter");
  std::strcpy(x.chain, "input");
  x.table_handle = 3;
  x.chain_handle = 4;
  x.rule_handle = 7;
  x.verdict = 0;  // NF_DROP
  x.family = 1;   // NFPROTO_INET
  x.has = 1;
  std::memcpy(rec.data() + sizeof(nscope_event), &x, sizeof x);
  Event e;
  decode_record(rec.data(), rec.size(), ctx, e);
  ASSERT_TRUE(e.nft.has);
  EXPECT_EQ(e.nft.family, "inet");
  EXPECT_EQ(e.nft.table, "filter");
  EXPECT_EQ(e.nft.chain, "input");
  EXPECT_EQ(e.nft.verdict, "drop");
  EXPECT_TRUE(e.nft.has_rule);
  EXPECT_EQ(e.nft.rule_handle, 7);
  EXPECT_EQ(e.nft.table_handle, 3);
  EXPECT_FALSE(e.nft.policy);

  // A policy: no rule; then a record of a probe without the section clears it.
  x.rule_handle = -1;
  x.policy = 1;
  x.verdict = 1;  // NF_ACCEPT
  std::memcpy(rec.data() + sizeof(nscope_event), &x, sizeof x);
  decode_record(rec.data(), rec.size(), ctx, e);
  EXPECT_FALSE(e.nft.has_rule);
  EXPECT_TRUE(e.nft.policy);
  EXPECT_EQ(e.nft.verdict, "accept");
  x.has = 0;
  std::memcpy(rec.data() + sizeof(nscope_event), &x, sizeof x);
  decode_record(rec.data(), rec.size(), ctx, e);
  EXPECT_FALSE(e.nft.has);
}
