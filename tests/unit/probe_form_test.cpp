// The probe forms `collect -p` takes, parsed without a kernel (parse_probe_form) and matched
// against what events record (probe_type, symbol); `pcap -p`'s selection built on them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "collect/probes.h"
#include "events/probe_select.h"
#include "events/symbols.h"

using namespace nscope;

namespace {

struct Builder {
  SymbolTable syms;
  Event ev(const char* symbol, const char* type = "raw_tracepoint") {
    Event e;
    e.symbol = syms.intern(symbol);
    e.probe_type = syms.intern(type);
    return e;
  }
};

}  // namespace

TEST(ProbeForm, AsCollectTakesThem) {
  struct Case {
    const char* spec;
    ProbeKind kind;
    const char *group, *name;
  };
  for (const Case& c : std::vector<Case>{
           {"net:netif_receive_skb", ProbeKind::tracepoint, "net", "netif_receive_skb"},
           {"tp:net:netif_receive_skb", ProbeKind::tracepoint, "net", "netif_receive_skb"},
           {"raw_tracepoint:net:*", ProbeKind::tracepoint, "net", "*"},
           {"raw_tp:skb:kfree_skb", ProbeKind::tracepoint, "skb", "kfree_skb"},
           {"kprobe:ip_rcv", ProbeKind::kprobe, "", "ip_rcv"},
           {"k:ip_*", ProbeKind::kprobe, "", "ip_*"},
           {"kretprobe:ovs_dp_upcall", ProbeKind::kretprobe, "", "ovs_dp_upcall"},
           {"kr:ovs_dp_upcall", ProbeKind::kretprobe, "", "ovs_dp_upcall"},
           {" fentry:tcp_v4_rcv ", ProbeKind::fentry, "", "tcp_v4_rcv"},
           {"fexit:tcp_v4_rcv", ProbeKind::fexit, "", "tcp_v4_rcv"}}) {
    auto f = parse_probe_form(c.spec);
    ASSERT_TRUE(f.ok()) << c.spec;
    EXPECT_EQ(f->kind, c.kind) << c.spec;
    EXPECT_EQ(f->group, c.group) << c.spec;
    EXPECT_EQ(f->name, c.name) << c.spec;
  }
  for (const char* bad : {"", "kprobe:", "kr:", "tp:net", "netif_receive_skb", ":x", "net:"}) {
    auto f = parse_probe_form(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_NE(f.error().message.find("probe '" + std::string(bad) + "': expected GROUP:NAME"),
              std::string::npos)
        << f.error().message;
  }
  auto m = [](const char* spec, const char* type, const char* sym) {
    return parse_probe_form(spec)->matches(type, sym);
  };
  EXPECT_TRUE(m("tp:net:netif_receive_skb", "raw_tracepoint", "net:netif_receive_skb"));
  EXPECT_TRUE(m("net:*", "raw_tracepoint", "net:net_dev_start_xmit"));
  EXPECT_FALSE(m("net:*", "raw_tracepoint", "skb:kfree_skb"));
  EXPECT_FALSE(m("net:netif_receive_skb", "kprobe", "netif_receive_skb"));
  EXPECT_TRUE(m("kretprobe:ovs_dp_upcall", "kretprobe", "ovs_dp_upcall"));
  EXPECT_FALSE(m("kprobe:ovs_dp_upcall", "kretprobe", "ovs_dp_upcall"));
  EXPECT_TRUE(m("k:ip_*", "kprobe", "ip_rcv"));
  EXPECT_TRUE(m("fexit:ip_rcv", "fexit", "ip_rcv"));
  EXPECT_TRUE(m("kprobe:ip_rcv", "", "ip_rcv"));  // no probe_type recorded: the symbol decides
}

TEST(ProbeSelection, CountsWhatMatched) {
  Builder b;
  auto sel = ProbeSelection::parse({"netif_receive_skb", "kr:ovs_dp_upcall", "fentry:ip_rcv"});
  ASSERT_TRUE(sel.ok());
  EXPECT_TRUE(sel->wants(b.ev("net:netif_receive_skb")));
  EXPECT_TRUE(sel->wants(b.ev("ovs_dp_upcall", "kretprobe")));
  EXPECT_FALSE(sel->wants(b.ev("ovs_dp_upcall", "kprobe")));
  EXPECT_FALSE(sel->wants(b.ev("net:net_dev_start_xmit")));
  EXPECT_TRUE(sel->wants(b.ev("net:netif_receive_skb")));
  EXPECT_EQ(sel->unmatched(), std::vector<std::string>{"fentry:ip_rcv"});
  using Seen = std::vector<std::pair<std::string, uint64_t>>;
  EXPECT_EQ(sel->seen(), (Seen{{"net:netif_receive_skb", 2},
                               {"kretprobe:ovs_dp_upcall", 1},
                               {"kprobe:ovs_dp_upcall", 1},
                               {"net:net_dev_start_xmit", 1}}));

  auto all = ProbeSelection::parse({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->wants(b.ev("anything")));
  EXPECT_TRUE(all->unmatched().empty());

  auto bad = ProbeSelection::parse({"kprobe:"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("probe 'kprobe:'"), std::string::npos);
}
