#include "collect/probes.h"

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <memory>

using namespace nscope;

namespace {
// The running kernel's BTF is world-readable: no root needed.
std::unique_ptr<btf, void (*)(btf*)> vmlinux() {
  return {btf__load_vmlinux_btf(), btf__free};
}
}  // namespace

TEST(Probes, ArgumentLayoutFromBtf) {
  auto b = vmlinux();
  if (!b) GTEST_SKIP() << "no kernel BTF";
  auto rx = tracepoint_args(b.get(), "netif_receive_skb");
  ASSERT_TRUE(rx.ok());
  EXPECT_EQ(rx->skb_arg, 0);
  EXPECT_EQ(rx->dev_arg, NSCOPE_ARG_NONE);
  auto tx = tracepoint_args(b.get(), "net_dev_start_xmit");
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(tx->skb_arg, 0);
  EXPECT_EQ(tx->dev_arg, 1);
  auto drop = tracepoint_args(b.get(), "kfree_skb");
  ASSERT_TRUE(drop.ok());
  EXPECT_EQ(drop->skb_arg, 0);
  EXPECT_EQ(drop->reason_arg, 2);  // kfree_skb(skb, location, reason, rx_sk)
  EXPECT_EQ(rx->reason_arg, NSCOPE_ARG_NONE);
  EXPECT_FALSE(tracepoint_args(b.get(), "no_such_tracepoint_xyz").ok());
}

TEST(Probes, DropReasonNamesFromBtf) {
  auto b = vmlinux();
  if (!b) GTEST_SKIP() << "no kernel BTF";
  DropReasons r(b.get());
  // Values differ between kernels: look them up by name in BTF, then ask for the name back.
  int id = btf__find_by_name_kind(b.get(), "skb_drop_reason", BTF_KIND_ENUM);
  ASSERT_GT(id, 0);
  const btf_type* t = btf__type_by_id(b.get(), static_cast<uint32_t>(id));
  const struct btf_enum* e = btf_enum(t);
  bool found = false;
  for (unsigned i = 0; i < btf_vlen(t); ++i)
    if (std::string(btf__name_by_offset(b.get(), e[i].name_off)) == "SKB_DROP_REASON_NO_SOCKET") {
      EXPECT_EQ(r.name(static_cast<uint32_t>(e[i].val)), "NO_SOCKET");
      found = true;
    }
  EXPECT_TRUE(found);
  EXPECT_EQ(r.name(0xfffe), "65534");                    // unknown: the number
  EXPECT_NE(r.name(0x10003).find(":3"), std::string::npos);  // a subsystem's reason
}

TEST(Probes, ResolveNamesGlobsAndErrors) {
  auto b = vmlinux();
  if (!b) GTEST_SKIP() << "no kernel BTF";
  ProbeCatalog cat{{{"net", "netif_receive_skb"},
                    {"net", "net_dev_start_xmit"},
                    {"sched", "sched_switch"},
                    {"skb", "kfree_skb"}},
                   {}};
  auto one = resolve_probes({"net:netif_receive_skb"}, b.get(), cat);
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().symbol(), "net:netif_receive_skb");

  auto glob = resolve_probes({"tp:net:*", "net:netif_receive_skb"}, b.get(), cat);
  ASSERT_TRUE(glob.ok());
  EXPECT_EQ(glob->size(), 2u);  // duplicates dropped

  auto all = resolve_probes({"*:*"}, b.get(), cat);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);  // sched_switch carries no packet: left out of the glob

  auto bad = resolve_probes({"sched:sched_switch"}, b.get(), cat);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("carries no sk_buff"), std::string::npos);
  EXPECT_FALSE(resolve_probes({"net:nope"}, b.get(), cat).ok());
  EXPECT_FALSE(resolve_probes({"netif_receive_skb"}, b.get(), cat).ok());
  EXPECT_FALSE(resolve_probes({"tp:sched:*"}, b.get(), cat).ok());

}

TEST(Probes, FunctionArgumentsFromTheirOwnPrototype) {
  auto b = vmlinux();
  if (!b) GTEST_SKIP() << "no kernel BTF";
  // ip_rcv(struct sk_buff *skb, struct net_device *dev, struct packet_type *pt, ...)
  auto rcv = function_args(b.get(), "ip_rcv", false);
  ASSERT_TRUE(rcv.ok()) << rcv.error().message;
  EXPECT_EQ(rcv->skb_arg, 0);
  EXPECT_EQ(rcv->dev_arg, 1);
  EXPECT_FALSE(function_args(b.get(), "no_such_function_xyz", false).ok());
}

TEST(Probes, FunctionFormsGlobsAndSlots) {
  auto b = vmlinux();
  if (!b) GTEST_SKIP() << "no kernel BTF";
  ProbeCatalog cat;
  cat.functions = {"ip_rcv", "ip_rcv_finish", "ip_local_deliver", "ip_output", "schedule"};
  auto k = resolve_probes({"kprobe:ip_rcv", "k:ip_rcv"}, b.get(), cat);
  ASSERT_TRUE(k.ok()) << k.error().message;
  ASSERT_EQ(k->size(), 1u);  // the same function twice is one probe
  EXPECT_EQ(k->front().kind, ProbeKind::kprobe);
  EXPECT_EQ(k->front().symbol(), "ip_rcv");
  EXPECT_EQ(k->front().spec(), "kprobe:ip_rcv");
  EXPECT_EQ(k->front().probe_type(), "kprobe");
  EXPECT_FALSE(k->front().by_address());

  auto kr = resolve_probes({"kretprobe:ip_rcv", "fentry:ip_rcv", "fexit:ip_rcv"}, b.get(), cat);
  ASSERT_TRUE(kr.ok()) << kr.error().message;
  ASSERT_EQ(kr->size(), 3u);  // one function, three kinds: three slots
  EXPECT_EQ((*kr)[0].probe_type(), "kretprobe");
  EXPECT_EQ((*kr)[1].probe_type(), "fentry");
  EXPECT_EQ((*kr)[2].spec(), "fexit:ip_rcv");

  // A kprobe glob shares a slot among functions of one argument layout; schedule has no
  // packet argument and is left out.
  auto g = resolve_probes({"kprobe:*"}, b.get(), cat);
  ASSERT_TRUE(g.ok()) << g.error().message;
  size_t functions = 0;
  for (const auto& p : *g) {
    functions += p.functions.size();
    for (const auto& f : p.functions) EXPECT_NE(f, "schedule");
  }
  EXPECT_LT(g->size(), functions);  // fewer slots than functions
  EXPECT_GE(functions, 4u);
  bool grouped = false;
  for (const auto& p : *g) grouped |= p.by_address() && p.name == "*";
  EXPECT_TRUE(grouped);
  // fentry needs a trampoline each: one slot per function.
  auto f = resolve_probes({"fentry:ip_*"}, b.get(), cat);
  ASSERT_TRUE(f.ok()) << f.error().message;
  for (const auto& p : *f) EXPECT_FALSE(p.by_address());

  EXPECT_FALSE(resolve_probes({"kprobe:"}, b.get(), cat).ok());
  auto none = resolve_probes({"kprobe:zz_nothing_*"}, b.get(), cat);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no traceable kernel function matches"), std::string::npos);
  auto nopkt = resolve_probes({"kprobe:schedule"}, b.get(), cat);
  ASSERT_FALSE(nopkt.ok());
  EXPECT_NE(nopkt.error().message.find("no sk_buff"), std::string::npos);
  EXPECT_EQ(probe_kind_of("kretprobe:ip_rcv"), ProbeKind::kretprobe);
  EXPECT_EQ(probe_kind_of("kprobe:"), ProbeKind::tracepoint);
  EXPECT_TRUE(needs_function_list({"net:netif_receive_skb", "kprobe:ip_*"}));
  EXPECT_FALSE(needs_function_list({"kprobe:ip_rcv"}));
}
