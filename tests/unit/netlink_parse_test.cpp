// Decoding recorded netlink replies (tests/fixtures/netlink/, see its README.md) and a few
// messages built here for what this kernel cannot make (vlan, nf_tables). No root needed.
#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "netlink/firewall.h"
#include "netlink/nl.h"
#include "netlink/rtnl.h"
#include "netlink/sockdiag.h"
#include "topo/tun.h"

using namespace nscope;

namespace {

const std::string kPrefix = "nt3814";  // the recording's prefix (README.md)

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(NSCOPE_FIXTURES) + "/netlink/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const LinkInfo* by_name(const std::vector<LinkInfo>& links, const std::string& name) {
  for (auto& l : links)
    if (l.name == name) return &l;
  return nullptr;
}

std::vector<LinkInfo> links_of(const std::string& file) {
  std::string raw = fixture(file);
  EXPECT_FALSE(raw.empty()) << file;
  std::vector<LinkInfo> out;
  auto r = parse_link_messages(raw.data(), raw.size(), out);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return out;
}

TEST(NetlinkLinks, DecodesEveryKindOfTheRecordedNamespace) {
  auto links = links_of("links_c.bin");
  ASSERT_GE(links.size(), 9u);
  const LinkInfo* lo = by_name(links, "lo");
  ASSERT_TRUE(lo);
  EXPECT_EQ(lo->display_kind(), "loopback");
  EXPECT_EQ(lo->ifindex, 1);
  EXPECT_EQ(lo->mtu, 65536u);

  const LinkInfo* br = by_name(links, kPrefix + "br");
  ASSERT_TRUE(br);
  EXPECT_EQ(br->kind, "bridge");
  EXPECT_TRUE(br->up());
  EXPECT_EQ(br->mac.size(), 17u);
  ASSERT_TRUE(br->stp.has_value());
  EXPECT_FALSE(*br->stp);

  for (auto port : {"p1", "p2", "p3"}) {
    const LinkInfo* p = by_name(links, kPrefix + port);
    ASSERT_TRUE(p) << port;
    EXPECT_EQ(p->kind, "veth");
    EXPECT_EQ(p->master, br->ifindex);
    EXPECT_EQ(p->slave_kind, "bridge");
    EXPECT_TRUE(p->port_state.has_value());
    EXPECT_TRUE(p->link_netnsid.has_value()) << "the peer lives in another namespace";
    EXPECT_GT(p->link, 0);
    ASSERT_TRUE(p->stats.has_value());
  }

  const LinkInfo* par = by_name(links, kPrefix + "par");
  ASSERT_TRUE(par);
  EXPECT_EQ(par->kind, "ifb");  // this kernel has no dummy driver

  const LinkInfo* mv = by_name(links, kPrefix + "mv");
  ASSERT_TRUE(mv);
  EXPECT_EQ(mv->kind, "macvlan");
  EXPECT_EQ(mv->macvlan_mode, "bridge");
  EXPECT_EQ(mv->link, par->ifindex);
  EXPECT_FALSE(mv->link_netnsid.has_value());

  const LinkInfo* vx = by_name(links, kPrefix + "vx");
  ASSERT_TRUE(vx);
  ASSERT_TRUE(vx->vxlan.has_value());
  EXPECT_EQ(vx->vxlan->id, 42u);
  EXPECT_EQ(vx->vxlan->remote, "192.0.2.77");
  EXPECT_FALSE(vx->vxlan->group);
  EXPECT_EQ(vx->vxlan->port, 4789);
  EXPECT_EQ(vx->vxlan->link, par->ifindex);

  const LinkInfo* tap = by_name(links, kPrefix + "tap");
  ASSERT_TRUE(tap);
  EXPECT_EQ(tap->kind, "tun");
  ASSERT_TRUE(tap->tun.has_value());
  EXPECT_TRUE(tap->tun->tap);
  EXPECT_EQ(tap->display_kind(), "tap");
  EXPECT_FALSE(tap->tun->persist);
}

TEST(NetlinkLinks, VethEndsPointAtEachOther) {
  auto a = links_of("links_a.bin");
  const LinkInfo* ab = by_name(a, kPrefix + "ab");
  const LinkInfo* a1 = by_name(a, kPrefix + "a1");
  ASSERT_TRUE(ab && a1);
  EXPECT_EQ(ab->kind, "veth");
  ASSERT_TRUE(ab->link_netnsid.has_value());
  EXPECT_GE(*ab->link_netnsid, 0);
  EXPECT_GT(ab->link, 0);
  // a1's peer is p1 in the recorded namespace c: its index is a1's IFLA_LINK, and p1's is a1.
  auto c = links_of("links_c.bin");
  const LinkInfo* p1 = by_name(c, kPrefix + "p1");
  ASSERT_TRUE(p1);
  EXPECT_EQ(a1->link, p1->ifindex);
  EXPECT_EQ(p1->link, a1->ifindex);
  EXPECT_EQ(ab->state(), "UP");
}

TEST(NetlinkLinks, AVlanBuiltHere) {
  // CONFIG_VLAN_8021Q is off on the recording machine: build the message by hand.
  char buf[512];
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = RTM_NEWLINK;
  auto* ifm = static_cast<ifinfomsg*>(nl::put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_index = 7;
  ifm->ifi_type = ARPHRD_ETHER;
  ifm->ifi_flags = IFF_UP;
  nl::attr_put_strz(nlh, IFLA_IFNAME, "eth0.100");
  nl::attr_put_u32(nlh, IFLA_LINK, 2);
  nl::attr_put_u32(nlh, IFLA_MTU, 1500);
  nlattr* info = nl::nest_start(nlh, IFLA_LINKINFO);
  nl::attr_put_strz(nlh, IFLA_INFO_KIND, "vlan");
  nlattr* data = nl::nest_start(nlh, IFLA_INFO_DATA);
  nl::attr_put_u16(nlh, IFLA_VLAN_ID, 100);
  nl::attr_put_u16(nlh, IFLA_VLAN_PROTOCOL, htons(0x8100));
  nl::nest_end(nlh, data);
  nl::nest_end(nlh, info);
  std::vector<LinkInfo> out;
  ASSERT_TRUE(parse_link_messages(buf, nlh->nlmsg_len, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "eth0.100");
  EXPECT_EQ(out[0].kind, "vlan");
  EXPECT_EQ(out[0].vlan_id, 100);
  EXPECT_EQ(out[0].vlan_protocol, "802.1Q");
  EXPECT_EQ(out[0].link, 2);
  EXPECT_TRUE(out[0].up());
}

TEST(NetlinkLinks, AnUnknownKindKeepsItsName) {
  char buf[256];
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = RTM_NEWLINK;
  nl::put_extra_header(nlh, sizeof(ifinfomsg));
  nl::attr_put_strz(nlh, IFLA_IFNAME, "x0");
  nlattr* info = nl::nest_start(nlh, IFLA_LINKINFO);
  nl::attr_put_strz(nlh, IFLA_INFO_KIND, "frobnicator");
  nl::nest_end(nlh, info);
  std::vector<LinkInfo> out;
  ASSERT_TRUE(parse_link_messages(buf, nlh->nlmsg_len, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].display_kind(), "frobnicator");
}

TEST(NetlinkLinks, ErrorsAndTruncation) {
  // An error reply (ENODEV) becomes an Error with that code.
  char buf[256];
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = NLMSG_ERROR;
  auto* err = static_cast<nlmsgerr*>(nl::put_extra_header(nlh, sizeof(nlmsgerr)));
  err->error = -ENODEV;
  std::vector<LinkInfo> out;
  auto r = parse_link_messages(buf, nlh->nlmsg_len, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENODEV);
  // A message cut short is refused, not read past its end.
  std::string raw = fixture("links_c.bin");
  ASSERT_GT(raw.size(), 100u);
  out.clear();
  EXPECT_FALSE(parse_link_messages(raw.data(), 100, out).ok());
}

// Found by fuzz/fuzz_rtnl.cpp: a length of 2 GiB or more turned negative when compared as an
// int, passed the check and sent the walk gigabytes past the buffer.
TEST(NetlinkLinks, AHugeMessageLengthIsTruncationNotAJump) {
  alignas(8) char buf[64] = {};
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_len = 0xfffffff0u;
  std::vector<LinkInfo> out;
  auto r = parse_link_messages(buf, sizeof buf, out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
  EXPECT_FALSE(nl::msg_ok(nlh, sizeof buf));
  nlh->nlmsg_len = 0x80000000u;
  EXPECT_FALSE(nl::msg_ok(nlh, sizeof buf));
  EXPECT_TRUE(out.empty());
}

// Found by fuzz/fuzz_rtnl.cpp: an error code of INT_MIN was negated (undefined behaviour).
TEST(NetlinkLinks, AnErrorCodeOfIntMinIsEio) {
  alignas(8) char buf[64] = {};
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = NLMSG_DONE;
  int e = INT_MIN;
  std::memcpy(static_cast<char*>(nl::put_extra_header(nlh, sizeof e)), &e, sizeof e);
  std::vector<LinkInfo> out;
  auto r = parse_link_messages(buf, nlh->nlmsg_len, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EIO);
  nlh->nlmsg_type = NLMSG_ERROR;
  nlh->nlmsg_len = nl::kHdrLen;
  auto* err = static_cast<nlmsgerr*>(nl::put_extra_header(nlh, sizeof(nlmsgerr)));
  err->error = INT_MIN;
  err->msg.nlmsg_len = sizeof(nlmsghdr);
  r = parse_link_messages(buf, nlh->nlmsg_len, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EIO);
}

// Found by fuzz/fuzz_sockdiag.cpp: the kernel's message for a refused request (extended ack)
// follows the echoed request at the next 4-byte boundary; a request of odd length had it read
// from the wrong place (misaligned, and lost).
TEST(NetlinkLinks, TheKernelsWordsAfterARequestOfOddLength) {
  alignas(8) char buf[256] = {};
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = NLMSG_ERROR;
  nlh->nlmsg_flags = NLM_F_ACK_TLVS;
  auto* err = static_cast<nlmsgerr*>(nl::put_extra_header(nlh, sizeof(nlmsgerr)));
  err->error = -EINVAL;
  err->msg.nlmsg_len = sizeof(nlmsghdr) + 5;  // the request echoed: its header and 5 bytes
  nl::put_extra_header(nlh, 5);               // (padded to 8)
  nl::attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "bad thing");
  std::vector<LinkInfo> out;
  auto r = parse_link_messages(buf, nlh->nlmsg_len, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_NE(r.error().message.find("(bad thing)"), std::string::npos) << r.error().message;
}

TEST(NetlinkAddrs, Decodes) {
  std::string raw = fixture("addrs_c.bin");
  std::vector<AddrInfo> out;
  ASSERT_TRUE(parse_addr_messages(raw.data(), raw.size(), out).ok());
  auto it = std::find_if(out.begin(), out.end(), [](auto& a) { return a.address == "10.203.0.1"; });
  ASSERT_NE(it, out.end());
  EXPECT_EQ(it->prefixlen, 24);
  EXPECT_EQ(it->family, AF_INET);
  EXPECT_EQ(it->scope, "global");
  auto lo = std::find_if(out.begin(), out.end(), [](auto& a) { return a.address == "127.0.0.1"; });
  EXPECT_EQ(lo, out.end()) << "lo was down in the recording";
}

TEST(NetlinkRoutes, MainTableAndDefault) {
  std::string raw = fixture("routes_a.bin");
  std::vector<RouteInfo> out;
  ASSERT_TRUE(parse_route_messages(raw.data(), raw.size(), out).ok());
  auto def = std::find_if(out.begin(), out.end(), [](auto& r) { return r.table == RT_TABLE_MAIN && r.is_default(); });
  ASSERT_NE(def, out.end());
  EXPECT_EQ(def->dst, "default");
  EXPECT_EQ(def->gateway, "10.201.0.2");
  EXPECT_EQ(def->family, AF_INET);
  auto net = std::find_if(out.begin(), out.end(), [](auto& r) { return r.dst == "10.201.0.0/24"; });
  ASSERT_NE(net, out.end());
  EXPECT_EQ(net->protocol, "kernel");
  EXPECT_EQ(net->scope, "link");
  EXPECT_EQ(net->prefsrc, "10.201.0.1");
  EXPECT_GT(net->oif, 0);
  // The local table is in the dump too, told apart by its table.
  EXPECT_TRUE(std::any_of(out.begin(), out.end(), [](auto& r) { return r.table == RT_TABLE_LOCAL && r.type == "local"; }));
}

TEST(NetlinkRules, TheDefaultRules) {
  std::string raw = fixture("rules_a.bin");
  std::vector<RuleInfo> out;
  ASSERT_TRUE(parse_rule_messages(raw.data(), raw.size(), out).ok());
  std::vector<std::string> v4;
  for (auto& r : out)
    if (r.family == AF_INET) v4.push_back(std::to_string(r.priority) + ": " + r.text());
  EXPECT_EQ(v4, (std::vector<std::string>{"0: from all lookup local", "32766: from all lookup main",
                                          "32767: from all lookup default"}));
}

TEST(NetlinkNeigh, Counts) {
  std::string raw = fixture("neigh_a.bin");
  NeighSummary s;
  ASSERT_TRUE(parse_neigh_messages(raw.data(), raw.size(), s).ok());
  EXPECT_EQ(s.ipv4 + s.ipv6, s.reachable + s.stale + s.failed + s.permanent + s.other);
}

TEST(SockDiag, CountsRecordedSockets) {
  std::string tcp = fixture("tcp_host.bin");
  SockCount c{"tcp"};
  ASSERT_TRUE(parse_inet_diag_messages(tcp.data(), tcp.size(), false, c).ok());
  EXPECT_GE(c.listening, 1u) << "the recording host listens on a TCP port";
  std::string ux = fixture("unix_host.bin");
  SockCount u{"unix"};
  ASSERT_TRUE(parse_unix_diag_messages(ux.data(), ux.size(), u).ok());
  EXPECT_GE(u.total(), 1u);
}

TEST(SockDiag, Sockstat) {
  SockStat st;
  parse_sockstat("sockets: used 9\nTCP: inuse 3 orphan 0 tw 2 alloc 5 mem 1\nUDP: inuse 0 mem 0\n", st);
  parse_sockstat("TCP6: inuse 1\nUDP6: inuse 4\nUDPLITE6: inuse 0\n", st);
  EXPECT_EQ(st.tcp, 3u);
  EXPECT_EQ(st.tcp_tw, 2u);
  EXPECT_EQ(st.udp, 0u);
  EXPECT_EQ(st.tcp6, 1u);
  EXPECT_EQ(st.udp6, 4u);
  SockStat none;
  parse_sockstat("garbage\n", none);
  EXPECT_FALSE(none.tcp.has_value());
}

// nf_tables messages as the kernel sends them (no nft tool on the recording machine).
void put_nft(std::string& buf, int msg, uint8_t family, const std::function<void(nlmsghdr*)>& attrs) {
  char m[512] = {};
  nlmsghdr* nlh = nl::put_header(m);
  nlh->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg);
  auto* g = static_cast<nfgenmsg*>(nl::put_extra_header(nlh, sizeof(nfgenmsg)));
  g->nfgen_family = family;
  attrs(nlh);
  buf.append(m, NLMSG_ALIGN(nlh->nlmsg_len));
}

TEST(Firewall, NftTablesChainsAndRules) {
  std::string tables, chains, rules;
  put_nft(tables, NFT_MSG_NEWTABLE, NFPROTO_INET, [](nlmsghdr* n) { nl::attr_put_strz(n, NFTA_TABLE_NAME, "filter"); });
  put_nft(tables, NFT_MSG_NEWTABLE, NFPROTO_IPV4, [](nlmsghdr* n) { nl::attr_put_strz(n, NFTA_TABLE_NAME, "nat"); });
  put_nft(chains, NFT_MSG_NEWCHAIN, NFPROTO_INET, [](nlmsghdr* n) {
    nl::attr_put_strz(n, NFTA_CHAIN_TABLE, "filter");
    nl::attr_put_strz(n, NFTA_CHAIN_NAME, "input");
    nl::attr_put_strz(n, NFTA_CHAIN_TYPE, "filter");
    nl::attr_put_u32(n, NFTA_CHAIN_POLICY, htonl(NF_DROP));
    nlattr* hook = nl::nest_start(n, NFTA_CHAIN_HOOK);
    nl::attr_put_u32(n, NFTA_HOOK_HOOKNUM, htonl(NF_INET_LOCAL_IN));
    nl::attr_put_u32(n, NFTA_HOOK_PRIORITY, htonl(0));
    nl::nest_end(n, hook);
  });
  put_nft(chains, NFT_MSG_NEWCHAIN, NFPROTO_INET, [](nlmsghdr* n) {
    nl::attr_put_strz(n, NFTA_CHAIN_TABLE, "filter");
    nl::attr_put_strz(n, NFTA_CHAIN_NAME, "allowed");
  });
  for (int i = 0; i < 3; ++i)
    put_nft(rules, NFT_MSG_NEWRULE, NFPROTO_INET, [](nlmsghdr* n) {
      nl::attr_put_strz(n, NFTA_RULE_TABLE, "filter");
      nl::attr_put_strz(n, NFTA_RULE_CHAIN, "input");
    });
  std::vector<FwTable> t;
  ASSERT_TRUE(parse_nft_tables(tables.data(), tables.size(), t).ok());
  ASSERT_TRUE(parse_nft_chains(chains.data(), chains.size(), t).ok());
  ASSERT_TRUE(parse_nft_rules(rules.data(), rules.size(), t).ok());
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].family, "inet");
  EXPECT_EQ(t[0].name, "filter");
  EXPECT_EQ(t[1].family, "ip");
  ASSERT_EQ(t[0].chains.size(), 2u);
  EXPECT_EQ(t[0].chains[0].name, "input");
  EXPECT_EQ(t[0].chains[0].hook, "input");
  EXPECT_EQ(t[0].chains[0].policy, "drop");
  EXPECT_EQ(t[0].chains[0].rules, 3u);
  EXPECT_EQ(t[0].chains[1].hook, "");
  EXPECT_EQ(t[0].chains[1].rules, 0u);
}

TEST(Tun, IffFromFdinfo) {
  EXPECT_EQ(tun_iff_from_fdinfo("pos:\t0\nflags:\t0100002\nmnt_id:\t25\nino:\t1034\niff:\ttap0\n"), "tap0");
  EXPECT_EQ(tun_iff_from_fdinfo("pos:\t0\nflags:\t0100002\n"), "");
}

TEST(Format, Names) {
  uint8_t mac[] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
  EXPECT_EQ(format_mac(mac, 6), "02:42:ac:11:00:02");
  uint8_t v4[] = {10, 0, 0, 1};
  EXPECT_EQ(format_addr(AF_INET, v4, 4), "10.0.0.1");
  EXPECT_EQ(format_addr(AF_INET, v4, 3), "");
  EXPECT_EQ(rt_table_name(254), "main");
  EXPECT_EQ(rt_table_name(100), "100");
}

}  // namespace
