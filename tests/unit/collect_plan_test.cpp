// collect's plan without the CLI and without root: collectors, probe specs, the free
// tracepoints following a packet adds, --netns against a recorded scan, and the filters.
#include "collect/plan.h"

#include <bpf/btf.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <memory>

using namespace nscope;

namespace {

// The running kernel's BTF is world-readable: no root needed.
std::unique_ptr<btf, void (*)(btf*)> vmlinux() { return {btf__load_vmlinux_btf(), btf__free}; }

ScanResult scan() {
  ScanResult s;
  auto add = [&](uint64_t ino, std::vector<std::string> names, std::optional<Container> c = {}) {
    Namespace n;
    n.type = NsType::net;
    n.inode = ino;
    n.cookie = ino & 0xff;
    n.names = std::move(names);
    n.container = std::move(c);
    s.namespaces.push_back(std::move(n));
  };
  add(4026531833, {});
  s.namespaces.back().initial = true;
  add(4026532001, {"blue", "blue2"});
  add(4026532002, {"red"});
  add(4026532003, {}, Container{"docker", "f31f384749f9115acf01fcf82f5a966b59dcc0a4cbd7c9740888c0bf32aa2bbb", "", "", "", ""});
  return s;
}

const ProbeSpec* find(const std::vector<ProbeSpec>& probes, const std::string& symbol) {
  for (const auto& p : probes)
    if (p.symbol() == symbol) return &p;
  return nullptr;
}

}  // namespace

TEST(CollectPlan, CollectorsByNameAllByDefault) {
  auto all = parse_collectors({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS | NSCOPE_COLLECT_DEV | NSCOPE_COLLECT_TRACK |
                      NSCOPE_COLLECT_DROP | NSCOPE_COLLECT_CT);
  auto some = parse_collectors({"skb, ct", "skb-drop"});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(*some, NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_CT | NSCOPE_COLLECT_DROP);
  auto bad = parse_collectors({"skb,bogus"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::usage);
  EXPECT_EQ(bad.error().message,
            "unknown collector 'bogus'; valid collectors: skb, ns, dev, skb-tracking, skb-drop, "
            "ct, nft, ovs");
}

TEST(CollectPlan, NftAndOvsAreHostCollectorsNeverImplied) {
  HostCollectors none;
  ASSERT_TRUE(parse_collectors({}, &none).ok());
  EXPECT_FALSE(none.nft || none.ovs);
  HostCollectors host;
  auto m = parse_collectors({"skb,ns,nft"}, &host);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS);
  EXPECT_TRUE(host.nft);
  EXPECT_FALSE(parse_collectors({"nft"}).ok()) << "unknown where the caller has no place for it";
  PlanInput in = PlanInput::other;
  auto refused = check_host_collectors(host, false, in);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::usage);
  EXPECT_EQ(in, PlanInput::system_changes);
  EXPECT_TRUE(check_host_collectors(host, true, in).ok());
  if (access("/sys/module/openvswitch", F_OK) != 0) {
    HostCollectors ovs;
    ovs.ovs = true;
    auto r = check_host_collectors(ovs, true, in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(in, PlanInput::ovs);
    EXPECT_NE(r.error().message.find("openvswitch"), std::string::npos);
  }
}

TEST(CollectPlan, ProbeSpecsSplitTrimmedDefaultedAndNeverEmpty) {
  auto d = probe_specs({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (std::vector<std::string>{"net:netif_receive_skb", "net:net_dev_start_xmit"}));
  auto two = probe_specs({" skb:kfree_skb , kprobe:ip_rcv", "tp:net:*"});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, (std::vector<std::string>{"skb:kfree_skb", "kprobe:ip_rcv", "tp:net:*"}));
  auto none = probe_specs({"", " , "});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::usage);
  EXPECT_EQ(none.error().message, "no probe given");  // the CLI adds the flag and the fix
}

TEST(CollectPlan, FreeTracepointsFollowTheCollectors) {
  auto b = vmlinux();
  if (!b) GTEST_SKIP() << "no kernel BTF";
  ProbeSpec rx;
  rx.group = "net";
  rx.name = "netif_receive_skb";

  // skb-tracking: both frees, reporting only followed packets.
  std::vector<ProbeSpec> probes{rx};
  add_free_probes(probes, NSCOPE_COLLECT_TRACK, b.get());
  ASSERT_EQ(probes.size(), 3u);
  for (const char* sym : {"skb:kfree_skb", "skb:consume_skb"}) {
    const ProbeSpec* p = find(probes, sym);
    ASSERT_NE(p, nullptr) << sym;
    EXPECT_EQ(p->cfg.flags, NSCOPE_PROBE_FREES | NSCOPE_PROBE_ONLY_TRACKED) << sym;
  }
  // skb-drop alone: kfree_skb for every packet.
  probes = {rx};
  add_free_probes(probes, NSCOPE_COLLECT_DROP, b.get());
  ASSERT_EQ(probes.size(), 2u);
  EXPECT_EQ(probes[1].symbol(), "skb:kfree_skb");
  EXPECT_EQ(probes[1].cfg.flags, NSCOPE_PROBE_FREES);
  // Neither: nothing added. A free tracepoint the user named is marked, not added twice.
  probes = {rx};
  add_free_probes(probes, NSCOPE_COLLECT_SKB, b.get());
  EXPECT_EQ(probes.size(), 1u);
  ProbeSpec consume;
  consume.group = "skb";
  consume.name = "consume_skb";
  probes = {consume};
  add_free_probes(probes, NSCOPE_COLLECT_TRACK, b.get());
  ASSERT_EQ(probes.size(), 2u);
  EXPECT_EQ(probes[0].cfg.flags, NSCOPE_PROBE_FREES);  // the user's: every packet
  EXPECT_EQ(probes[1].symbol(), "skb:kfree_skb");
}

TEST(CollectPlan, NetnsKeptOrLeftOutResolvedAgainstTheScan) {
  ScanResult s = scan();
  filter::FilterSet keep;
  ASSERT_TRUE(netns_filter({"blue,red"}, s, keep).ok());
  EXPECT_EQ(keep.netns_mode, uint32_t{NSCOPE_NETNS_INCLUDE});
  ASSERT_EQ(keep.netns.size(), 2u);
  EXPECT_EQ(keep.netns[0].inum, 4026532001u);
  EXPECT_EQ(keep.netns[0].cookie, 4026532001u & 0xff);
  EXPECT_EQ(keep.netns[1].inum, 4026532002u);

  filter::FilterSet out;
  ASSERT_TRUE(netns_filter({"!blue", " ! red "}, s, out).ok());
  EXPECT_EQ(out.netns_mode, uint32_t{NSCOPE_NETNS_EXCLUDE});
  EXPECT_EQ(out.netns.size(), 2u);

  filter::FilterSet both;
  auto mixed = netns_filter({"blue,!red"}, s, both);
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().kind, ErrorKind::usage);
  EXPECT_NE(mixed.error().message.find("not both"), std::string::npos);

  filter::FilterSet unknown;
  auto r = netns_filter({"bleu"}, s, unknown);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::usage);
  EXPECT_NE(r.error().message.find("bleu"), std::string::npos) << r.error().message;

  std::vector<std::string> many(NSCOPE_MAX_NETNS_FILTER + 1, "blue");
  filter::FilterSet full;
  auto over = netns_filter(many, s, full);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message, "at most 16 namespaces");
}

TEST(CollectPlan, NamespacesNamedByIpNetnsThenContainer) {
  uint32_t initial = 0;
  auto names = namespace_names(scan(), &initial);
  EXPECT_EQ(initial, 4026531833u);
  EXPECT_EQ(names.size(), 3u);
  EXPECT_EQ(names[4026532001u], "blue");
  EXPECT_EQ(names[4026532003u], "f31f384749f9");  // a container without a name: its short id
  EXPECT_EQ(names.count(4026531833u), 0u);
}

TEST(CollectPlan, FiltersCompiledThroughOneEntryPoint) {
  filter::FilterSet f;
  ASSERT_TRUE(filter::compile_filters({"udp port 53", ""}, nullptr, f).ok());
  ASSERT_TRUE(f.packet.has_value());
  EXPECT_FALSE(f.packet->empty());
  EXPECT_GT(f.packet_bytes, 0u);
  EXPECT_FALSE(f.meta.has_value());

  filter::FilterSet none;
  ASSERT_TRUE(filter::compile_filters({}, nullptr, none).ok());
  EXPECT_FALSE(none.packet || none.meta);

  filter::Expression which = filter::Expression::meta;
  auto bad = filter::compile_filters({"udp port lots", ""}, nullptr, none, &which);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::usage);
  EXPECT_EQ(which, filter::Expression::packet);
  EXPECT_TRUE(bad.error().message.starts_with("'udp port lots': ")) << bad.error().message;

  auto b = vmlinux();
  if (!b) GTEST_SKIP() << "no kernel BTF";
  filter::FilterSet m;
  ASSERT_TRUE(filter::compile_filters({"", "sk_buff.mark == 0x10"}, b.get(), m).ok());
  EXPECT_TRUE(m.meta.has_value());
  auto badm = filter::compile_filters({"", "sk_buff.devv == 1"}, b.get(), m, &which);
  ASSERT_FALSE(badm.ok());
  EXPECT_EQ(which, filter::Expression::meta);
  EXPECT_EQ(badm.error().kind, ErrorKind::usage);
  EXPECT_EQ(badm.error().message, "no field 'devv' in struct sk_buff (column 9)");  // the CLI adds -m
}
