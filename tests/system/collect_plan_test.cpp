// collect's whole plan against the running kernel (root: tracefs, the namespace scan), without
// the CLI.
#include "collect/plan.h"

#include <unistd.h>

#include <gtest/gtest.h>

using namespace nscope;

TEST(CollectPlanKernel, DefaultsAddTheFreesAndNameTheHost) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto plan = build_plan({});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  std::vector<std::string> symbols;
  for (const auto& p : plan->probes) symbols.push_back(p.symbol());
  EXPECT_EQ(symbols, (std::vector<std::string>{"net:netif_receive_skb", "net:net_dev_start_xmit",
                                               "skb:kfree_skb", "skb:consume_skb"}));
  EXPECT_NE(plan->initial_netns, 0u);
  EXPECT_FALSE(plan->names_by_address);
  EXPECT_FALSE(plan->filters.packet || plan->filters.meta);

  PlanRequest req;
  req.collectors = {"skb"};
  req.stack = true;
  req.probes = {"net:netif_receive_skb"};
  req.filters.packet = "icmp";
  req.netns = {"!" + std::to_string(plan->initial_netns)};
  auto narrow = build_plan(req);
  ASSERT_TRUE(narrow.ok()) << narrow.error().message;
  EXPECT_EQ(narrow->probes.size(), 1u);
  EXPECT_EQ(narrow->collectors, NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_STACK);
  EXPECT_TRUE(narrow->names_by_address);
  EXPECT_TRUE(narrow->filters.packet.has_value());
  EXPECT_EQ(narrow->filters.netns_mode, uint32_t{NSCOPE_NETNS_EXCLUDE});
  ASSERT_EQ(narrow->filters.netns.size(), 1u);
  EXPECT_EQ(narrow->filters.netns[0].inum, plan->initial_netns);
}

TEST(CollectPlanKernel, ProblemsAreUsageErrorsThatNameTheFix) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  PlanRequest req;
  req.probes = {"sched:sched_switch"};
  auto r = build_plan(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::usage);
  EXPECT_NE(r.error().message.find("carries no sk_buff"), std::string::npos) << r.error().message;
  req.probes = {"*:*"};
  PlanInput failed = PlanInput::other;
  r = build_plan(req, &failed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::usage);
  EXPECT_EQ(failed, PlanInput::too_many_probes);
  EXPECT_NE(r.error().message.find("collect attaches at most 32"), std::string::npos);
  req.probes = {"net:netif_receive_skb"};
  req.netns = {"no-such-namespace-anywhere"};
  r = build_plan(req, &failed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(failed, PlanInput::netns);
  req.netns = {};
  req.filters.packet = "udp portt 5";
  r = build_plan(req, &failed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(failed, PlanInput::packet_filter);
  EXPECT_TRUE(r.error().message.starts_with("'udp portt 5': ")) << r.error().message;
}
