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
  std::vector<TracepointName> cat{{"net", "netif_receive_skb"},
                                  {"net", "net_dev_start_xmit"},
                                  {"sched", "sched_switch"},
                                  {"skb", "kfree_skb"}};
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

  auto k = resolve_probes({"kprobe:ip_rcv"}, b.get(), cat);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->front().kind, ProbeKind::kprobe);
}
