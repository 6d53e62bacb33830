// nf_tables trace messages and nscope's trace table requests, from bytes; the
// join of traces to packet events.
#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "collect/nft_tracer.h"
#include "events/format.h"
#include "events/reader.h"
#include "events/sort.h"
#include "events/symbols.h"
#include "netlink/nft_trace.h"
#include "netlink/nl.h"

using namespace nscope;

namespace {

// A trace message as nf_tables sends one (nf_tables_trace.c): big-endian
// numbers, the verdict nested.
std::string trace_msg(uint8_t family, const char *table, const char *chain,
                      uint32_t type, int32_t verdict,
                      std::optional<uint64_t> handle, const std::string &nh,
                      const char *verdict_chain = nullptr) {
  std::string buf(2048, '\0');
  nlmsghdr *nlh = nl::put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE;
  auto *g =
      static_cast<nfgenmsg *>(nl::put_extra_header(nlh, sizeof(nfgenmsg)));
  g->nfgen_family = family;
  nl::attr_put_u32(nlh, NFTA_TRACE_ID, htonl(0xabcd));
  nl::attr_put_u32(nlh, NFTA_TRACE_TYPE, htonl(type));
  nl::attr_put_strz(nlh, NFTA_TRACE_TABLE, table);
  nl::attr_put_strz(nlh, NFTA_TRACE_CHAIN, chain);
  if (handle) {
    uint64_t h = htobe64(*handle);
    nl::attr_put(nlh, NFTA_TRACE_RULE_HANDLE, 8, &h);
  }
  if (type == NFT_TRACETYPE_POLICY) {
    nl::attr_put_u32(nlh, NFTA_TRACE_POLICY,
                     htonl(static_cast<uint32_t>(verdict)));
  } else {
    nlattr *v = nl::nest_start(nlh, NFTA_TRACE_VERDICT);
    nl::attr_put_u32(nlh, NFTA_VERDICT_CODE,
                     htonl(static_cast<uint32_t>(verdict)));
    if (verdict_chain)
      nl::attr_put_strz(nlh, NFTA_VERDICT_CHAIN, verdict_chain);
    nl::nest_end(nlh, v);
  }
  nl::attr_put_u32(nlh, NFTA_TRACE_IIF, htonl(7));
  nl::attr_put_u32(nlh, NFTA_TRACE_NFPROTO, htonl(NFPROTO_IPV4));
  nl::attr_put(nlh, NFTA_TRACE_NETWORK_HEADER, nh.size(), nh.data());
  buf.resize(nlh->nlmsg_len);
  return buf;
}

// An IPv4 ICMP echo request header (20 bytes) and its first 8 ICMP bytes.
std::string icmp4(uint8_t ttl, uint16_t id, uint16_t seq) {
  uint8_t h[28] = {0x45,
                   0,
                   0,
                   84,
                   0x75,
                   0x89,
                   0x40,
                   0,
                   ttl,
                   1,
                   0x12,
                   0x34,
                   10,
                   91,
                   1,
                   2,
                   10,
                   91,
                   2,
                   2,
                   8,
                   0,
                   0xab,
                   0xcd,
                   static_cast<uint8_t>(id >> 8),
                   static_cast<uint8_t>(id),
                   static_cast<uint8_t>(seq >> 8),
                   static_cast<uint8_t>(seq)};
  return std::string(reinterpret_cast<char *>(h), sizeof h);
}

} // namespace

TEST(NftTrace, ParsesARuleVerdict) {
  std::string m = trace_msg(NFPROTO_INET, "filter", "input", NFT_TRACETYPE_RULE,
                            NF_DROP, 7, icmp4(64, 1, 1));
  auto t = parse_nft_trace(m.data(), m.size());
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(nft_family_name(t->family), "inet");
  EXPECT_EQ(t->table, "filter");
  EXPECT_EQ(t->chain, "input");
  ASSERT_TRUE(t->rule_handle);
  EXPECT_EQ(*t->rule_handle, 7u);
  EXPECT_EQ(t->id, 0xabcdu);
  EXPECT_EQ(t->iif, 7u);
  EXPECT_EQ(t->nfproto, NFPROTO_IPV4);
  EXPECT_EQ(nft_trace_verdict(*t), "drop");
  EXPECT_EQ(t->network_header.size(), 28u);
}

TEST(NftTrace, ParsesAPolicyAndAJump) {
  std::string p = trace_msg(NFPROTO_IPV4, "t", "c", NFT_TRACETYPE_POLICY,
                            NF_ACCEPT, std::nullopt, icmp4(64, 1, 1));
  auto t = parse_nft_trace(p.data(), p.size());
  ASSERT_TRUE(t);
  EXPECT_EQ(nft_family_name(t->family), "ip");
  EXPECT_FALSE(t->rule_handle);
  EXPECT_TRUE(t->has_policy);
  EXPECT_EQ(nft_trace_verdict(*t), "accept");
  std::string j = trace_msg(NFPROTO_INET, "t", "c", NFT_TRACETYPE_RULE,
                            NFT_JUMP, 3, icmp4(64, 1, 1), "other");
  auto tj = parse_nft_trace(j.data(), j.size());
  ASSERT_TRUE(tj);
  EXPECT_EQ(nft_trace_verdict(*tj), "jump");
  EXPECT_EQ(tj->verdict_chain, "other");
}

TEST(NftTrace, VerdictNames) {
  EXPECT_EQ(nft_verdict_name(NFT_CONTINUE), "continue");
  EXPECT_EQ(nft_verdict_name(NFT_GOTO), "goto");
  EXPECT_EQ(nft_verdict_name(NFT_RETURN), "return");
  EXPECT_EQ(nft_verdict_name(NF_QUEUE | (3 << 16)), "queue");
  EXPECT_EQ(nft_verdict_name(NF_STOLEN), "stolen");
}

TEST(NftTrace, RefusesOtherAndTruncatedMessages) {
  std::string m = trace_msg(NFPROTO_INET, "filter", "input", NFT_TRACETYPE_RULE,
                            NF_DROP, 7, icmp4(64, 1, 1));
  EXPECT_FALSE(parse_nft_trace(m.data(), 10));
  std::string other = m;
  reinterpret_cast<nlmsghdr *>(other.data())->nlmsg_type =
      (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE;
  EXPECT_FALSE(parse_nft_trace(other.data(), other.size()));
  std::string cut = m;
  // An attribute claiming more than the message holds.
  auto *a = reinterpret_cast<nlattr *>(cut.data() + nl::kHdrLen +
                                       nl::align(sizeof(nfgenmsg)));
  a->nla_len = 4000;
  EXPECT_FALSE(parse_nft_trace(cut.data(), cut.size()));
}

TEST(NftTrace, TableNamesCarryThePid) {
  EXPECT_EQ(nft_trace_table_name(4711), "nscope_trace_4711");
  EXPECT_EQ(nft_trace_table_pid("nscope_trace_4711"), 4711);
  EXPECT_FALSE(nft_trace_table_pid("nscope_trace_"));
  EXPECT_FALSE(nft_trace_table_pid("nscope_trace_12x"));
  EXPECT_FALSE(nft_trace_table_pid("filter"));
}

TEST(NftTrace, TableBatchIsBeginMessagesEnd) {
  NftBatch b = nft_trace_table_batch("nscope_trace_1", 100);
  std::vector<uint16_t> types;
  std::vector<uint32_t> seqs;
  int left = static_cast<int>(b.bytes.size());
  for (auto *nlh = reinterpret_cast<const nlmsghdr *>(b.bytes.data());
       nl::msg_ok(nlh, left); nlh = nl::msg_next(nlh, &left)) {
    types.push_back(nlh->nlmsg_type);
    seqs.push_back(nlh->nlmsg_seq);
  }
  EXPECT_EQ(left, 0);
  auto nft = [](int m) {
    return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | m);
  };
  std::vector<uint16_t> want{NFNL_MSG_BATCH_BEGIN,  nft(NFT_MSG_NEWTABLE),
                             nft(NFT_MSG_NEWCHAIN), nft(NFT_MSG_NEWRULE),
                             nft(NFT_MSG_NEWCHAIN), nft(NFT_MSG_NEWRULE),
                             NFNL_MSG_BATCH_END};
  EXPECT_EQ(types, want);
  EXPECT_EQ(b.messages, 5u);
  EXPECT_EQ(b.first_seq, seqs[1]);
  EXPECT_EQ(nft_delete_table_batch("x", 1).messages, 1u);
}

TEST(NftTrace, SwitchBatchIsATableWithAnUnhookedChainAndItsRule) {
  NftBatch b = nft_trace_switch_batch("nscope_trace_1", 100);
  std::vector<uint16_t> types;
  bool hook = false;
  int left = static_cast<int>(b.bytes.size());
  for (auto *nlh = reinterpret_cast<const nlmsghdr *>(b.bytes.data());
       nl::msg_ok(nlh, left); nlh = nl::msg_next(nlh, &left)) {
    types.push_back(nlh->nlmsg_type);
    if (nlh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN)) {
      // The chain's attributes, after nfgenmsg: no NFTA_CHAIN_HOOK.
      auto *a = reinterpret_cast<const char *>(nlh) + NLMSG_HDRLEN + 4;
      const char *end = reinterpret_cast<const char *>(nlh) + nlh->nlmsg_len;
      while (a + 4 <= end) {
        auto *at = reinterpret_cast<const nlattr *>(a);
        if ((at->nla_type & NLA_TYPE_MASK) == NFTA_CHAIN_HOOK)
          hook = true;
        if (at->nla_len < 4)
          break;
        a += NLA_ALIGN(at->nla_len);
      }
    }
  }
  auto nft = [](int m) {
    return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | m);
  };
  std::vector<uint16_t> want{NFNL_MSG_BATCH_BEGIN, nft(NFT_MSG_NEWTABLE),
                             nft(NFT_MSG_NEWCHAIN), nft(NFT_MSG_NEWRULE),
                             NFNL_MSG_BATCH_END};
  EXPECT_EQ(types, want);
  EXPECT_EQ(b.messages, 3u);
  EXPECT_FALSE(hook) << "no packet may enter the switch's chain";
}

TEST(NftJoin, KeyIgnoresTtlAndChecksum) {
  std::string a = icmp4(64, 5, 1), b = icmp4(63, 5, 1);
  b[10] = 0x55; // checksum
  EXPECT_NE(nft_packet_key(a, {}), 0u);
  EXPECT_EQ(nft_packet_key(a, {}), nft_packet_key(b, {}));
  EXPECT_EQ(nft_packet_key(a, {}),
            nft_packet_key(a.substr(0, 20), a.substr(20)));
  EXPECT_NE(nft_packet_key(a, {}), nft_packet_key(icmp4(64, 5, 2), {}));
  EXPECT_EQ(nft_packet_key("", {}), 0u);
  EXPECT_EQ(nft_packet_key(std::string(20, '\0'), {}), 0u); // not IP
}

TEST(NftJoin, JoinsInItsNamespaceNearestInTimeAfterTheDelay) {
  NftJoiner j(100, 1000);
  auto packet = [](uint64_t ts, uint32_t ns, uint64_t id, uint16_t seq) {
    Event e;
    e.ts = ts;
    e.has_netns = true;
    e.netns_inum = ns;
    e.has_packet = true;
    e.l2_len = 14;
    std::string h = icmp4(64, 5, seq);
    std::memcpy(e.data.data() + 14, h.data(), h.size());
    e.caplen = static_cast<uint16_t>(14 + h.size());
    e.has_tracking = true;
    e.track_ts = id;
    e.orig_head = id;
    return e;
  };
  j.note(packet(1000, 1, 42, 1));
  j.note(packet(1010, 2, 42, 1)); // the same packet in namespace 2
  j.note(packet(1020, 1, 43, 2));
  NftJoiner::Trace t;
  t.ts = 1015;
  t.netns = 2;
  t.key = nft_packet_key(icmp4(63, 5, 1), {});
  j.add(t);
  NftJoiner::Trace u = t;
  u.key = nft_packet_key(icmp4(63, 9, 9), {}); // nothing like it
  j.add(u);
  int calls = 0;
  j.resolve(
      1100, false,
      [&](const NftJoiner::Trace &, const NftJoiner::Seen *) { ++calls; });
  EXPECT_EQ(calls, 0) << "too early: its packet event may still be on its way";
  std::vector<const NftJoiner::Seen *> got;
  std::vector<NftJoiner::Seen> copies;
  j.resolve(1115, false,
            [&](const NftJoiner::Trace &, const NftJoiner::Seen *m) {
              got.push_back(m);
              if (m)
                copies.push_back(*m);
            });
  ASSERT_EQ(got.size(), 2u);
  ASSERT_NE(got[0], nullptr);
  EXPECT_EQ(copies[0].netns, 2u);
  EXPECT_EQ(copies[0].track_ts, 42u);
  EXPECT_EQ(copies[0].traces, 1u);
  EXPECT_EQ(got[1], nullptr);
  EXPECT_EQ(j.pending(), 0u);
}

namespace {

Event nft_event(uint64_t ts, std::string_view verdict, int64_t handle,
                bool policy = false) {
  Event e;
  e.ts = ts;
  e.probe_type = "nftrace";
  e.symbol = "nft:trace";
  e.has_netns = true;
  e.netns_inum = 4026532241;
  e.has_tracking = true;
  e.track_ts = 1;
  e.orig_head = 2;
  e.has_rare = true;
  e.nft.has = true;
  e.nft.family = "inet";
  e.nft.table = "filter";
  e.nft.chain = "input";
  e.nft.verdict = verdict;
  e.nft.has_rule = !policy;
  e.nft.rule_handle = handle;
  e.nft.policy = policy;
  e.nft.table_handle = 1;
  e.nft.chain_handle = 1;
  return e;
}

} // namespace

TEST(NftSort, APathEndsAtTheRuleThatDroppedIt) {
  Event recv;
  recv.ts = 10;
  recv.symbol = "net:netif_receive_skb";
  recv.probe_type = "raw_tracepoint";
  recv.has_netns = true;
  recv.netns_inum = 4026532241;
  recv.has_tracking = true;
  recv.track_ts = 1;
  recv.orig_head = 2;
  Event cont = nft_event(11, "continue", 3), drop = nft_event(12, "drop", 7);
  Series s;
  s.tracked = true;
  s.events = {&recv, &cont, &drop};
  series_path(s, s.path);
  s.end = series_end(s, ConsumeTraced::no, &s.drop_reason);
  EXPECT_EQ(s.end, SeriesEnd::dropped);
  ASSERT_EQ(nft_decision(s), &drop);
  std::string text;
  format_series_text(s, {}, {}, text);
  EXPECT_NE(text.find("; dropped by inet filter input handle 7\n"),
            std::string::npos)
      << text;
  std::string json;
  format_series_json(s, {}, json);
  EXPECT_NE(json.find("\"by\":{\"family\":\"inet\",\"table\":\"filter\","
                      "\"chain\":\"input\","
                      "\"handle\":7,\"policy\":false}"),
            std::string::npos)
      << json;

  // A chain's policy accepted it: the path ends as its other events say, not
  // dropped.
  Event accept = nft_event(12, "accept", 0, true);
  s.events = {&recv, &cont, &accept};
  s.end = series_end(s, ConsumeTraced::no, &s.drop_reason);
  EXPECT_EQ(s.end, SeriesEnd::in_flight);
  EXPECT_EQ(nft_decision(s), nullptr);
}

TEST(NftSort, TheSectionReadsBackWithItsFamily) {
  Event e = nft_event(5, "drop", 7);
  std::string line;
  format_event_json(e, line);
  EXPECT_NE(
      line.find(
          "\"nft\":{\"table_name\":\"filter\",\"chain_name\":\"input\","
          "\"verdict\":"
          "\"drop\",\"table_handle\":1,\"chain_handle\":1,\"rule_handle\":7,"
          "\"policy\":false,\"family\":\"inet\"}"),
      std::string::npos)
      << line;
  SymbolTable syms;
  Event back;
  ASSERT_TRUE(parse_event_line(line, syms, back, nullptr).ok());
  EXPECT_TRUE(back.nft.has);
  EXPECT_EQ(back.nft.family, "inet");
  EXPECT_EQ(back.nft.rule_handle, 7);
  EXPECT_EQ(back.nft.verdict, "drop");
}
