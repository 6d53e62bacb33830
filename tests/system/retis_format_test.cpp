// `print --format retis` against Retis's own rendering, every Retis section read and shown,
// sorted files read back with their series, and what nscope skips named once.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "testenv.h"

namespace {

const std::string kFixtures = std::string(NSCOPE_FIXTURES) + "/";


using nst::write_file;

using nst::split_lines;

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST(RetisFormat, TwentySixRecordedEventsLineForLine) {
  // Retis's test data: its events, and its own text for them (the comments of its pcap).
  auto r = nst::nscope({"print", "--format", "retis", kFixtures + "retis/test_events_packets.json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "");
  auto ours = split_lines(r.out);
  auto theirs = split_lines(nst::read_file(kFixtures + "retis/test_events_packets.txt"));
  ASSERT_EQ(theirs.size(), 26u * 6 - 12);  // 26 events of 4 or 5 lines, each then a blank
  ASSERT_EQ(ours.size(), theirs.size());
  for (size_t i = 0; i < theirs.size(); ++i) EXPECT_EQ(ours[i], theirs[i]) << "line " << i + 1;
}

TEST(RetisFormat, EverySectionOfRetisIsReadAndShown) {
  const std::string file = kFixtures + "events/retis_sections.json";
  auto r = nst::nscope({"print", "--format", "retis", file});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "") << "nothing skipped";
  const std::string who = " (6) [handler8] 985/995 ";
  const std::string id = " #1baa83c42ba1ffff8e95c3b67c00 (skb ffff8e95d3009100)";
  for (const std::string& want : std::vector<std::string>{
           "1000" + who + "[tp] openflow:ovs_dp_upcall" + id + "\n  upcall (miss) port 3319069055 cpu 6\n",
           "1001" + who + "[kr] ovs_dp_upcall" + id + "\n  upcall_ret (6/1000) ret -11\n",
           "  upcall_enqueue (miss) (6/1000) q 1361394472 ret 0\n",
           "  exec oport 4 q 1361394472\n",
           "  [recirc_id 0x3] exec ct zone 5 nat(dst=10.0.0.1-10.0.0.9:80) commit\n",
           "  exec recirc 0x7\n",
           "  exec drop 2\n",
           "  flow hit ufid 12345678-9abc-def0-1234-56789abcdef0 mask 2 cache 1 flow "
           "ffff8e95c3ace440 sf_acts ffff8e95c3ace4a4\n"
           "  ufid:12345678-9abc-def0-1234-56789abcdef0 recirc_id(0),in_port(3),eth_type(0x0800)\n"
           "  openflow:table=0 priority=10 ip actions=output:4\n"
           "      table=1 priority=0 actions=drop\n",
           "1008 (2) [handler8] 985/995 [u] dpif_recv:recv_upcall (ovs-vswitchd)\n"
           "  upcall_recv q 1361394472 pkt_size 98\n",
           "  flow_put q 1361394472 ts 4242 (0)\n",
           id + " drop (reason NETFILTER_DROP)\n  table filter (1) chain input (2) handle 7 drop\n",
           "  table filter (1) chain forward (3) jump (policy) chain fw-ns01\n",
           id + " drop (reason OPENVSWITCH/FLOW_ACTION)\n"
           "    kfree_skb_reason+0x1\n    ovs_vport_receive+0x8e\n    netdev_frame_hook+0xd6\n",
           "  ns 0x3/4026532741 if 11 (veth-ns01) rxif 11\n"
           "  skb [csum partial (start 34 off 16) hash 0x7e2c5976 len 1514 data_len 1448 priority 6 "
           "nohdr cloned fclone 2 users 2 dataref 3] gso [type 0x1 frags 2 segs 3 size 1448]\n",
           "  ct_state RELATED status 0x188 tcp (ESTABLISHED) orig [192.168.125.10.43512 > "
           "192.168.125.11.8080] reply [192.168.125.11.8080 > 192.168.125.10.43512] orig-zone 7 "
           "mark 9 labels 0x10000000000000002\n"
           "  \\ parent [status 0xe udp orig [192.168.125.10.5353 > 192.168.125.11.53] reply "
           "[192.168.125.11.53 > 192.168.125.10.5353] reply-zone 3]\n",
           "  ct_state NEW status 0x8 sctp (COOKIE_WAIT) orig [192.168.125.10.36412 > "
           "192.168.125.11.38412 vtag 0x0] reply [192.168.125.11.38412 > 192.168.125.10.36412 "
           "vtag 0xdeadbeef] \n",
           "  ct_state REPLY status 0xa icmp orig [192.168.125.10 > 192.168.125.11 type 8 code 0 "
           "id 29004] reply [192.168.125.11 > 192.168.125.10 type 0 code 0 id 29004] reply-zone 4 "
           "mark 0\n",
       })
    EXPECT_TRUE(has(r.out, want)) << want << "\n---\n" << r.out;
  // The VLAN tag stripped to metadata shows with the link layer.
  auto ll = nst::nscope({"print", "--format", "retis", "-e", file});
  EXPECT_TRUE(has(ll.out, "  vlan_accel (ethertype 802.1Q (0x8100) vlan 100 p 3 DEI) skb [csum partial"))
      << ll.out;

  // nscope's own layout shows the same sections, the namespace on its own line.
  auto n = nst::nscope({"print", file});
  ASSERT_EQ(n.exit_code, 0) << n.describe();
  EXPECT_EQ(n.err, "");
  for (const std::string& want : std::vector<std::string>{
        "  upcall (miss) port 3319069055 cpu 6\n", "  exec oport 4 q 1361394472\n",
        "[u] dpif_recv:recv_upcall (ovs-vswitchd)\n",
        "  drop (reason OPENVSWITCH/FLOW_ACTION)\n",
        "  table filter (1) chain input (2) handle 7 drop\n",
        "  ct parent [status 0xe udp orig [192.168.125.10.5353 > 192.168.125.11.53]",
        "users 2 dataref 3] gso [type 0x1 frags 2 segs 3 size 1448]\n  netns 4026532741 cookie 3\n"})
    EXPECT_TRUE(has(n.out, want)) << want << "\n---\n" << n.out;
}

TEST(RetisFormat, Retis15LayoutReadsAsWell) {
  auto r = nst::nscope({"print", "--format", "retis", kFixtures + "events/retis15.json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(has(r.out, "  192.168.125.10.43512 > 192.168.125.11.8080 tos 0x0 ttl 64 id 40001 off 0 "
                         "[DF] len 52 proto TCP (6) flags [S] seq 472727119 win 64240 "
                         "[mss 1460,sackOK,nop,wscale 7,eol,eol]\n"
                         "  ns 4026532741 if 11 (veth-ns01)\n"
                         "  skb [csum none len 66 priority 0]\n"
                         "  ct_state NEW status 0x0 tcp (SYN_SENT) orig"))
      << r.out;
}

TEST(RetisFormat, SortedFilesKeepTheirSeries) {
  // retis sort -o: followers under "↳", an empty line after each series.
  auto r = nst::nscope({"print", "--format", "retis", kFixtures + "events/retis_sorted.json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "");
  const std::string id = "#1baa83c42ba1ffff8e95c3b67c00 (skb ffff8e95d3009100)";
  EXPECT_TRUE(has(r.out, "2000 (6) [handler8] 985/995 [tp] net:net_dev_start_xmit " + id + " n 0\n"
                         "  192.168.125.10 > 192.168.125.11 tos 0x0 ttl 64 id 41977 off 0 [DF] len 84 "
                         "proto ICMP (1) type 8 code 0\n"
                         "  ns 0x3/4026532741 if 11 (veth-ns01)\n"
                         "  \xe2\x86\xb3 2001 (6) [handler8] 985/995 [tp] net:netif_receive_skb " + id +
                         " n 1\n"
                         "      192.168.125.10 > 192.168.125.11"))
      << r.out;
  EXPECT_TRUE(has(r.out, " n 2 drop (reason NO_SOCKET)\n\n2000 ")) << r.out;

  // nscope's layout: "+" followers, as sort prints them.
  auto n = nst::nscope({"print", kFixtures + "events/retis_sorted.json"});
  ASSERT_EQ(n.exit_code, 0) << n.describe();
  EXPECT_TRUE(has(n.out, "  + 2001 [handler8] 995 [tp] net:netif_receive_skb #1baa83c42ba1ffff8e95c3b67c00 "
                         "(skb 18446619372874141952) n 1\n"))
      << n.out;

  // nscope's own sort -o output reads back, series kept.
  nst::TempDir dir;
  auto s = nst::nscope({"sort", kFixtures + "events/nscope_bridge.json", "-o", dir / "sorted.json"});
  ASSERT_EQ(s.exit_code, 0) << s.describe();
  auto p = nst::nscope({"print", dir / "sorted.json"});
  ASSERT_EQ(p.exit_code, 0) << p.describe();
  EXPECT_EQ(p.err, "");
  auto sorted_text = nst::nscope({"sort", kFixtures + "events/nscope_bridge.json"});
  // The same events, grouped the same way (print has no path lines to add).
  size_t plus_print = 0, plus_sort = 0;
  for (const auto& l : split_lines(p.out)) plus_print += l.rfind("  + ", 0) == 0;
  for (const auto& l : split_lines(sorted_text.out)) plus_sort += l.rfind("  + ", 0) == 0;
  EXPECT_GT(plus_print, 0u);
  EXPECT_EQ(plus_print, plus_sort);
}

TEST(RetisFormat, WhatIsSkippedIsNamedOnceWithACount) {
  nst::TempDir dir;
  std::string file;
  for (int i = 1; i <= 3; ++i)
    file += R"({"common":{"timestamp":)" + std::to_string(i) +
            R"(},"kernel":{"probe_type":"raw_tracepoint","symbol":"net:netif_receive_skb"},)"
            R"("future":{"x":[1,2,3]})" +
            (i == 2 ? R"(,"dev":{"name":"eth0","ifindex":2,"color":"blue"})" : "") + "}\n";
  write_file(dir / "f.json", file);
  auto r = nst::nscope({"print", dir / "f.json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "nscope: " + (dir / "f.json") +
                       ": skipped (nscope does not read them): dev.color 1 event, future 3 events\n");
}

TEST(RetisFormat, BadValuesAreErrorsNamingLineAndField) {
  nst::TempDir dir;
  const std::string ok = R"({"common":{"timestamp":5},"kernel":{"probe_type":"raw_tracepoint","symbol":"x"}})";
  for (const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
           {R"({"common":{"timestamp":-5}})", "common.timestamp: expected an unsigned integer below 2^64, got -5"},
           {R"({"common":{"timestamp":1.5}})", "common.timestamp: expected an unsigned integer below 2^64, got 1.5"},
           {R"({"common":{"timestamp":1},"dev":{"name":"a","ifindex":4294967296}})",
            "dev.ifindex: expected an unsigned integer below 2^32, got 4294967296"},
           {R"({"common":{"timestamp":1},"netns":{"inum":"abc"}})",
            "netns.inum: expected an unsigned integer below 2^32, got \"abc\""},
           {R"({"common":{"timestamp":1},"x":)" + std::string(40, '[') + std::string(40, ']') + "}",
            "nested deeper than 32 levels"},
           {"{\"common\":{\"timestamp\":1,\"task\":{\"comm\":\"\xff\"}}}", "invalid UTF-8 near byte"},
       }) {
    write_file(dir / "bad.json", ok + "\n" + bad + "\n" + ok + "\n");
    for (const char* cmd : {"print", "sort"}) {
      auto r = nst::nscope({cmd, dir / "bad.json"});
      EXPECT_EQ(r.exit_code, 1) << r.describe();
      EXPECT_TRUE(has(r.err, "nscope: " + (dir / "bad.json") + ":2: " + why)) << r.err;
      auto s = nst::nscope({cmd, "--skip-bad", dir / "bad.json"});
      EXPECT_EQ(s.exit_code, 0) << s.describe();
      EXPECT_TRUE(has(s.err, ":2: " + why)) << s.err;
      EXPECT_TRUE(has(s.err, "; skipped")) << s.err;
    }
  }
}

}  // namespace

namespace {

TEST(RetisFormat, SortPrintsSeriesAsRetisSortDoes) {
  // The 26 recorded events sorted: Retis's text for each event, "n N" after the id, followers
  // under "↳", an empty line after each series, no path line.
  auto r = nst::nscope({"sort", "--format", "retis", kFixtures + "retis/test_events_packets.json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_FALSE(has(r.out, "path:")) << r.out;
  EXPECT_TRUE(has(r.out,
                  "30419169061793 (6) [ping] 11330 [tp] net:net_dev_start_xmit "
                  "#1baa83c42ba1ffff8e95c3b67c00 (skb ffff8e95d3009100) n 0\n"
                  "  192.168.125.10 > 192.168.125.11 tos 0x0 ttl 64 id 41977 off 0 [DF] len 84 "
                  "proto ICMP (1) type 8 code 0\n"
                  "  ns 0x3/4026532741 if 11 (veth-ns01)\n"
                  "  skb [csum none len 98 priority 0 users 1 dataref 1]\n"
                  "  ct_state NEW status 0x8 icmp orig [192.168.125.10 > 192.168.125.11 type 8 code 0 "
                  "id 29004] reply [192.168.125.11 > 192.168.125.10 type 0 code 0 id 29004] zone 0 "
                  "mark 0\n"
                  "  \xe2\x86\xb3 30419169082348 (6) [ping] 11330 [tp] net:netif_receive_skb "
                  "#1baa83c42ba1ffff8e95c3b67c00 (skb ffff8e95d3009100) n 1\n"
                  "      192.168.125.10 > 192.168.125.11 tos 0x0 ttl 64 id 41977"))
      << r.out;
  // Every event once.
  size_t events = 0;
  for (const auto& l : split_lines(r.out))
    events += l.rfind("304", 0) == 0 || l.rfind("  \xe2\x86\xb3 304", 0) == 0;
  EXPECT_EQ(events, 26u);
  // The text format is for the text: -o writes nscope's series.
  auto bad = nst::nscope({"sort", "--format", "retis", "-o", "/dev/null",
                          kFixtures + "retis/test_events_packets.json"});
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_TRUE(has(bad.err, "--format")) << bad.err;
}

}  // namespace

namespace {

TEST(RetisFormat, SortFollowsAnUpcallThroughOvsVswitchd) {
  // The kernel's upcall, ovs-vswitchd's handling (no skb of its own) and the packet it sent
  // back (a new skb) are one packet, linked by the upcall's queue_id as retis sort links them.
  auto r = nst::nscope({"sort", "--format", "retis", kFixtures + "events/retis_ovs_upcall.json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const std::string id = "#1388ffff8e95c3b67c00 (skb ffff8e95d3009100)";
  for (const std::string& want : std::vector<std::string>{
           "5000 (2) [swapper/2] 0 [tp] net:netif_receive_skb " + id + " n 0\n",
           "  \xe2\x86\xb3 5150 (2) [swapper/2] 0 [kr] queue_userspace_packet " + id + " n 2\n"
           "      upcall_enqueue (miss) (2/5100) q 77 ret 0\n",
           "  \xe2\x86\xb3 5300 (1) [handler8] 995/985 [u] dpif_recv:recv_upcall (ovs-vswitchd) " +
               id + " n 5\n      upcall_recv q 77 pkt_size 98\n",
           "  \xe2\x86\xb3 5350 (1) [handler8] 995/985 [u] dpif_netlink_operate__:op_flow_put "
           "(ovs-vswitchd) " + id + " n 6\n      flow_put q 77 ts 5290 (0)\n",
           "  \xe2\x86\xb3 5400 (2) [swapper/2] 0 [tp] openvswitch:ovs_do_execute_action " + id +
               " n 7\n      exec oport 4 q 77\n",
           "  \xe2\x86\xb3 5500 (2) [swapper/2] 0 [tp] skb:consume_skb " + id + " n 9\n\n",
       })
    EXPECT_TRUE(has(r.out, want)) << want << "\n---\n" << r.out;
  auto n = nst::nscope({"sort", kFixtures + "events/retis_ovs_upcall.json"});
  ASSERT_EQ(n.exit_code, 0) << n.describe();
  EXPECT_TRUE(has(n.err, "nscope: 11 events in 2 series")) << n.err;
  EXPECT_TRUE(has(n.out, "  + 5500 [swapper/2] 0 [tp] skb:consume_skb #1388ffff8e95c3b67c00 "))
      << n.out;
}

}  // namespace
