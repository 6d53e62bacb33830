// Decoders of rtnetlink replies: pure functions of the bytes, fed recorded messages by the
// unit tests (tests/unit/netlink_parse_test.cpp).
#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/if.h>
#include <sys/socket.h>

#include <cstring>

#include <fmt/format.h>

#include "netlink/nl.h"
#include "netlink/rtnl.h"
#include "netlink/socket.h"

namespace nscope {

// ---- text ------------------------------------------------------------------------------

std::string format_mac(const uint8_t* b, size_t len) {
  std::string s;
  s.reserve(len * 3);
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < len; ++i) {
    if (i) s += ':';
    s += hex[b[i] >> 4];
    s += hex[b[i] & 15];
  }
  return s;
}

std::string format_addr(int family, const void* bytes, size_t len) {
  char buf[INET6_ADDRSTRLEN];
  if (family == AF_INET && len == 4) return inet_ntop(AF_INET, bytes, buf, sizeof buf);
  if (family == AF_INET6 && len == 16) return inet_ntop(AF_INET6, bytes, buf, sizeof buf);
  return {};
}

std::string rt_scope_name(uint8_t scope) {
  switch (scope) {
    case RT_SCOPE_UNIVERSE: return "global";
    case RT_SCOPE_SITE: return "site";
    case RT_SCOPE_LINK: return "link";
    case RT_SCOPE_HOST: return "host";
    case RT_SCOPE_NOWHERE: return "nowhere";
    default: return std::to_string(scope);
  }
}

std::string rt_proto_name(uint8_t p) {
  switch (p) {
    case RTPROT_UNSPEC: return "unspec";
    case RTPROT_REDIRECT: return "redirect";
    case RTPROT_KERNEL: return "kernel";
    case RTPROT_BOOT: return "boot";
    case RTPROT_STATIC: return "static";
    case RTPROT_RA: return "ra";
    case RTPROT_DHCP: return "dhcp";
    case RTPROT_BGP: return "bgp";
    case RTPROT_OSPF: return "ospf";
    case RTPROT_BIRD: return "bird";
    case RTPROT_ZEBRA: return "zebra";
    default: return std::to_string(p);
  }
}

std::string rt_type_name(uint8_t t) {
  switch (t) {
    case RTN_UNICAST: return "unicast";
    case RTN_LOCAL: return "local";
    case RTN_BROADCAST: return "broadcast";
    case RTN_ANYCAST: return "anycast";
    case RTN_MULTICAST: return "multicast";
    case RTN_BLACKHOLE: return "blackhole";
    case RTN_UNREACHABLE: return "unreachable";
    case RTN_PROHIBIT: return "prohibit";
    case RTN_THROW: return "throw";
    case RTN_NAT: return "nat";
    default: return std::to_string(t);
  }
}

std::string rt_table_name(uint32_t t) {
  switch (t) {
    case RT_TABLE_MAIN: return "main";
    case RT_TABLE_LOCAL: return "local";
    case RT_TABLE_DEFAULT: return "default";
    default: return std::to_string(t);
  }
}

// ---- links -----------------------------------------------------------------------------

std::string LinkInfo::display_kind() const {
  if (kind == "tun") return tun && tun->tap ? "tap" : "tun";
  if (!kind.empty()) return kind;
  switch (type) {
    case ARPHRD_LOOPBACK: return "loopback";
    case ARPHRD_ETHER: return "ether";
    case ARPHRD_NONE: return "none";
    case ARPHRD_TUNNEL: return "ipip";
    case ARPHRD_TUNNEL6: return "ip6tnl";
    case ARPHRD_SIT: return "sit";
    case ARPHRD_IPGRE: return "gre";
    case ARPHRD_INFINIBAND: return "infiniband";
    case ARPHRD_IEEE80211: return "wlan";
    case ARPHRD_CAN: return "can";
    default: return "arphrd:" + std::to_string(type);
  }
}

bool LinkInfo::up() const { return flags & IFF_UP; }

std::string LinkInfo::state() const {
  switch (operstate) {
    case IF_OPER_UNKNOWN: return "UNKNOWN";
    case IF_OPER_NOTPRESENT: return "NOTPRESENT";
    case IF_OPER_DOWN: return "DOWN";
    case IF_OPER_LOWERLAYERDOWN: return "LOWERLAYERDOWN";
    case IF_OPER_TESTING: return "TESTING";
    case IF_OPER_DORMANT: return "DORMANT";
    case IF_OPER_UP: return "UP";
    default: return std::to_string(operstate);
  }
}

namespace {

// Attributes of one nesting level, by type; types beyond `N` are ignored.
template <size_t N>
struct Attrs {
  const nlattr* tb[N + 1] = {};
  const nlattr* operator[](size_t i) const { return i <= N ? tb[i] : nullptr; }
  void add(const nlattr* a) {
    uint16_t t = nl::attr_type(a);
    if (t <= N) tb[t] = a;
  }
};

template <size_t N>
Result<Attrs<N>> parse_attrs(const nlmsghdr* nlh, size_t hdrlen) {
  Attrs<N> a;
  if (nlh->nlmsg_len < nl::kHdrLen + nl::align(hdrlen)) return Error::msg("truncated netlink message");
  if (!nl::parse_attrs(nlh, hdrlen, [&](const nlattr* x) { a.add(x); }))
    return Error::msg("malformed netlink attributes");
  return a;
}

template <size_t N>
Attrs<N> parse_nested(const nlattr* nest) {
  Attrs<N> a;
  if (nest) nl::parse_nested(nest, [&](const nlattr* x) { a.add(x); });
  return a;
}

std::string str_attr(const nlattr* a) {
  if (!a) return {};
  const char* p = static_cast<const char*>(nl::attr_payload(a));
  return std::string(p, strnlen(p, nl::attr_payload_len(a)));
}

template <class T>
std::optional<T> int_attr(const nlattr* a) {
  if (!a || nl::attr_payload_len(a) < sizeof(T)) return std::nullopt;
  T v;
  std::memcpy(&v, nl::attr_payload(a), sizeof v);
  return v;
}

std::string addr_attr(int family, const nlattr* a) {
  if (!a) return {};
  return format_addr(family, nl::attr_payload(a), nl::attr_payload_len(a));
}

std::string macvlan_mode_name(uint32_t m) {
  switch (m) {
    case MACVLAN_MODE_PRIVATE: return "private";
    case MACVLAN_MODE_VEPA: return "vepa";
    case MACVLAN_MODE_BRIDGE: return "bridge";
    case MACVLAN_MODE_PASSTHRU: return "passthru";
    case MACVLAN_MODE_SOURCE: return "source";
    default: return std::to_string(m);
  }
}

void parse_info_data(LinkInfo& li, const nlattr* data) {
  if (!data) return;
  const std::string& k = li.kind;
  if (k == "vlan") {
    auto a = parse_nested<IFLA_VLAN_MAX>(data);
    li.vlan_id = int_attr<uint16_t>(a[IFLA_VLAN_ID]);
    if (auto p = int_attr<uint16_t>(a[IFLA_VLAN_PROTOCOL]))
      li.vlan_protocol = ntohs(*p) == 0x88a8 ? "802.1ad" : "802.1Q";
  } else if (k == "macvlan" || k == "macvtap") {
    auto a = parse_nested<IFLA_MACVLAN_MAX>(data);
    if (auto m = int_attr<uint32_t>(a[IFLA_MACVLAN_MODE])) li.macvlan_mode = macvlan_mode_name(*m);
  } else if (k == "ipvlan" || k == "ipvtap") {
    auto a = parse_nested<IFLA_IPVLAN_MAX>(data);
    if (auto m = int_attr<uint16_t>(a[IFLA_IPVLAN_MODE]))
      li.ipvlan_mode = *m == 0 ? "l2" : *m == 1 ? "l3" : *m == 2 ? "l3s" : std::to_string(*m);
  } else if (k == "vxlan") {
    auto a = parse_nested<IFLA_VXLAN_MAX>(data);
    VxlanInfo v;
    v.id = int_attr<uint32_t>(a[IFLA_VXLAN_ID]).value_or(0);
    v.link = static_cast<int>(int_attr<uint32_t>(a[IFLA_VXLAN_LINK]).value_or(0));
    if (a[IFLA_VXLAN_GROUP]) {
      v.remote = addr_attr(AF_INET, a[IFLA_VXLAN_GROUP]);
      auto g = int_attr<uint32_t>(a[IFLA_VXLAN_GROUP]).value_or(0);
      v.group = IN_MULTICAST(ntohl(g));
    } else if (a[IFLA_VXLAN_GROUP6]) {
      v.remote = addr_attr(AF_INET6, a[IFLA_VXLAN_GROUP6]);
      auto* p = static_cast<const uint8_t*>(nl::attr_payload(a[IFLA_VXLAN_GROUP6]));
      v.group = nl::attr_payload_len(a[IFLA_VXLAN_GROUP6]) == 16 && p[0] == 0xff;
    }
    if (a[IFLA_VXLAN_LOCAL]) v.local = addr_attr(AF_INET, a[IFLA_VXLAN_LOCAL]);
    else if (a[IFLA_VXLAN_LOCAL6]) v.local = addr_attr(AF_INET6, a[IFLA_VXLAN_LOCAL6]);
    if (auto p = int_attr<uint16_t>(a[IFLA_VXLAN_PORT])) v.port = ntohs(*p);
    li.vxlan = v;
  } else if (k == "geneve") {
    auto a = parse_nested<IFLA_GENEVE_MAX>(data);
    VxlanInfo v;
    v.id = int_attr<uint32_t>(a[IFLA_GENEVE_ID]).value_or(0);
    if (a[IFLA_GENEVE_REMOTE]) v.remote = addr_attr(AF_INET, a[IFLA_GENEVE_REMOTE]);
    else if (a[IFLA_GENEVE_REMOTE6]) v.remote = addr_attr(AF_INET6, a[IFLA_GENEVE_REMOTE6]);
    if (auto p = int_attr<uint16_t>(a[IFLA_GENEVE_PORT])) v.port = ntohs(*p);
    li.vxlan = v;
  } else if (k == "tun") {
    auto a = parse_nested<IFLA_TUN_MAX>(data);
    TunInfo t;
    t.tap = int_attr<uint8_t>(a[IFLA_TUN_TYPE]).value_or(0) == IFF_TAP;
    t.owner = int_attr<uint32_t>(a[IFLA_TUN_OWNER]);
    t.group = int_attr<uint32_t>(a[IFLA_TUN_GROUP]);
    t.persist = int_attr<uint8_t>(a[IFLA_TUN_PERSIST]).value_or(0);
    t.multi_queue = int_attr<uint8_t>(a[IFLA_TUN_MULTI_QUEUE]).value_or(0);
    t.queues = int_attr<uint32_t>(a[IFLA_TUN_NUM_QUEUES]).value_or(0);
    li.tun = t;
  } else if (k == "bridge") {
    auto a = parse_nested<IFLA_BR_MAX>(data);
    if (auto s = int_attr<uint32_t>(a[IFLA_BR_STP_STATE])) li.stp = *s != 0;
    if (auto v = int_attr<uint8_t>(a[IFLA_BR_VLAN_FILTERING])) li.vlan_filtering = *v != 0;
  } else if (k == "vrf") {
    auto a = parse_nested<IFLA_VRF_MAX>(data);
    li.vrf_table = int_attr<uint32_t>(a[IFLA_VRF_TABLE]);
  }
}

Result<void> parse_one_link(const nlmsghdr* nlh, std::vector<LinkInfo>& out) {
  if (nlh->nlmsg_type != RTM_NEWLINK) return {};
  if (nlh->nlmsg_len < nl::kHdrLen + sizeof(ifinfomsg)) return Error::msg("truncated RTM_NEWLINK");
  auto* ifm = static_cast<const ifinfomsg*>(nl::payload(nlh));
  auto ar = parse_attrs<IFLA_MAX>(nlh, sizeof(*ifm));
  if (!ar) return ar.error();
  auto& a = *ar;
  LinkInfo li;
  li.ifindex = ifm->ifi_index;
  li.type = ifm->ifi_type;
  li.flags = ifm->ifi_flags;
  li.name = str_attr(a[IFLA_IFNAME]);
  li.link = static_cast<int>(int_attr<uint32_t>(a[IFLA_LINK]).value_or(0));
  if (auto v = int_attr<int32_t>(a[IFLA_LINK_NETNSID])) li.link_netnsid = *v;
  li.mtu = int_attr<uint32_t>(a[IFLA_MTU]).value_or(0);
  li.master = static_cast<int>(int_attr<uint32_t>(a[IFLA_MASTER]).value_or(0));
  li.operstate = int_attr<uint8_t>(a[IFLA_OPERSTATE]).value_or(0);
  li.alias = str_attr(a[IFLA_IFALIAS]);
  li.qdisc = str_attr(a[IFLA_QDISC]);
  if (a[IFLA_ADDRESS] && ifm->ifi_type != ARPHRD_NONE) {
    auto len = nl::attr_payload_len(a[IFLA_ADDRESS]);
    auto* b = static_cast<const uint8_t*>(nl::attr_payload(a[IFLA_ADDRESS]));
    if (len == 6) li.mac = format_mac(b, len);
    else if (len == 4) li.mac = format_addr(AF_INET, b, len);  // ipip/gre: the local address
    else if (len > 0) li.mac = format_mac(b, len);
  }
  if (a[IFLA_STATS64] && nl::attr_payload_len(a[IFLA_STATS64]) >= sizeof(rtnl_link_stats64)) {
    rtnl_link_stats64 s;
    std::memcpy(&s, nl::attr_payload(a[IFLA_STATS64]), sizeof s);
    li.stats = LinkStats{s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes,
                         s.rx_errors, s.tx_errors, s.rx_dropped, s.tx_dropped};
  }
  if (a[IFLA_LINKINFO]) {
    auto info = parse_nested<IFLA_INFO_MAX>(a[IFLA_LINKINFO]);
    li.kind = str_attr(info[IFLA_INFO_KIND]);
    li.slave_kind = str_attr(info[IFLA_INFO_SLAVE_KIND]);
    parse_info_data(li, info[IFLA_INFO_DATA]);
    if (li.slave_kind == "bridge" && info[IFLA_INFO_SLAVE_DATA]) {
      auto port = parse_nested<IFLA_BRPORT_MAX>(info[IFLA_INFO_SLAVE_DATA]);
      li.port_state = int_attr<uint8_t>(port[IFLA_BRPORT_STATE]);
    }
  }
  // An AF_BRIDGE dump (Rtnl::bridge_ports) tells a port's state in IFLA_PROTINFO.
  if (ifm->ifi_family == AF_BRIDGE && a[IFLA_PROTINFO]) {
    li.slave_kind = "bridge";
    auto port = parse_nested<IFLA_BRPORT_MAX>(a[IFLA_PROTINFO]);
    li.port_state = int_attr<uint8_t>(port[IFLA_BRPORT_STATE]);
  }
  out.push_back(std::move(li));
  return {};
}

}  // namespace

Result<void> parse_link_messages(const void* buf, size_t len, std::vector<LinkInfo>& out) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) { return parse_one_link(nlh, out); });
}

// ---- addresses -------------------------------------------------------------------------

Result<void> parse_addr_messages(const void* buf, size_t len, std::vector<AddrInfo>& out) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != RTM_NEWADDR) return {};
    if (nlh->nlmsg_len < nl::kHdrLen + sizeof(ifaddrmsg)) return Error::msg("truncated RTM_NEWADDR");
    auto* ifa = static_cast<const ifaddrmsg*>(nl::payload(nlh));
    auto ar = parse_attrs<IFA_MAX>(nlh, sizeof(*ifa));
    if (!ar) return ar.error();
    auto& a = *ar;
    AddrInfo ai;
    ai.ifindex = static_cast<int>(ifa->ifa_index);
    ai.family = ifa->ifa_family;
    ai.prefixlen = ifa->ifa_prefixlen;
    ai.scope = rt_scope_name(ifa->ifa_scope);
    ai.flags = int_attr<uint32_t>(a[IFA_FLAGS]).value_or(ifa->ifa_flags);
    std::string local = addr_attr(ifa->ifa_family, a[IFA_LOCAL]);
    std::string address = addr_attr(ifa->ifa_family, a[IFA_ADDRESS]);
    // IFA_LOCAL is the address of this end; IFA_ADDRESS is the peer on point-to-point links.
    ai.address = local.empty() ? address : local;
    if (!local.empty() && !address.empty() && local != address) ai.peer = address;
    ai.label = str_attr(a[IFA_LABEL]);
    out.push_back(std::move(ai));
    return {};
  });
}

// ---- routes ----------------------------------------------------------------------------

Result<void> parse_route_messages(const void* buf, size_t len, std::vector<RouteInfo>& out) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != RTM_NEWROUTE) return {};
    if (nlh->nlmsg_len < nl::kHdrLen + sizeof(rtmsg)) return Error::msg("truncated RTM_NEWROUTE");
    auto* rtm = static_cast<const rtmsg*>(nl::payload(nlh));
    auto ar = parse_attrs<RTA_MAX>(nlh, sizeof(*rtm));
    if (!ar) return ar.error();
    auto& a = *ar;
    RouteInfo r;
    int fam = rtm->rtm_family;
    r.family = fam;
    r.table = int_attr<uint32_t>(a[RTA_TABLE]).value_or(rtm->rtm_table);
    r.dst_len = rtm->rtm_dst_len;
    std::string dst = addr_attr(fam, a[RTA_DST]);
    if (dst.empty() && rtm->rtm_dst_len == 0) r.dst = "default";
    else r.dst = dst + "/" + std::to_string(rtm->rtm_dst_len);
    if (a[RTA_SRC]) r.src = addr_attr(fam, a[RTA_SRC]) + "/" + std::to_string(rtm->rtm_src_len);
    r.gateway = addr_attr(fam, a[RTA_GATEWAY]);
    if (r.gateway.empty() && a[RTA_VIA] && nl::attr_payload_len(a[RTA_VIA]) >= sizeof(rtvia)) {
      auto* via = static_cast<const rtvia*>(nl::attr_payload(a[RTA_VIA]));
      r.gateway = format_addr(via->rtvia_family, via->rtvia_addr,
                              nl::attr_payload_len(a[RTA_VIA]) - sizeof(rtvia));
    }
    r.oif = static_cast<int>(int_attr<uint32_t>(a[RTA_OIF]).value_or(0));
    r.prefsrc = addr_attr(fam, a[RTA_PREFSRC]);
    r.priority = int_attr<uint32_t>(a[RTA_PRIORITY]).value_or(0);
    r.protocol = rt_proto_name(rtm->rtm_protocol);
    r.scope = rt_scope_name(rtm->rtm_scope);
    r.type = rt_type_name(rtm->rtm_type);
    if (a[RTA_MULTIPATH]) {
      auto* p = static_cast<const uint8_t*>(nl::attr_payload(a[RTA_MULTIPATH]));
      size_t left = nl::attr_payload_len(a[RTA_MULTIPATH]);
      while (left >= sizeof(rtnexthop)) {
        rtnexthop nh;
        std::memcpy(&nh, p, sizeof nh);
        if (nh.rtnh_len < sizeof(rtnexthop) || nh.rtnh_len > left) break;
        RouteNexthop hop;
        hop.oif = nh.rtnh_ifindex;
        hop.weight = nh.rtnh_hops + 1;
        // Attributes of the hop follow its header.
        size_t off = RTNH_ALIGN(sizeof(rtnexthop));
        while (off + sizeof(nlattr) <= nh.rtnh_len) {
          nlattr at;
          std::memcpy(&at, p + off, sizeof at);
          if (at.nla_len < sizeof(nlattr) || off + at.nla_len > nh.rtnh_len) break;
          if ((at.nla_type & NLA_TYPE_MASK) == RTA_GATEWAY)
            hop.gateway = format_addr(fam, p + off + sizeof(nlattr), at.nla_len - sizeof(nlattr));
          off += NLA_ALIGN(at.nla_len);
        }
        r.nexthops.push_back(std::move(hop));
        size_t step = RTNH_ALIGN(nh.rtnh_len);
        if (step > left) break;
        p += step;
        left -= step;
      }
    }
    out.push_back(std::move(r));
    return {};
  });
}

// ---- policy rules ----------------------------------------------------------------------

std::string RuleInfo::text() const {
  std::string s;
  if (invert) s += "not ";
  s += "from " + (src.empty() ? std::string("all") : src);
  if (!dst.empty()) s += " to " + dst;
  if (fwmark) {
    s += fmt::format(" fwmark {:#x}", *fwmark);
    if (fwmask && *fwmask != 0xffffffff) s += fmt::format("/{:#x}", *fwmask);
  }
  if (!iif.empty()) s += " iif " + iif;
  if (!oif.empty()) s += " oif " + oif;
  if (action == "lookup") s += " lookup " + rt_table_name(table);
  else if (action == "goto") s += " goto " + std::to_string(goto_target);
  else s += " " + action;
  return s;
}

Result<void> parse_rule_messages(const void* buf, size_t len, std::vector<RuleInfo>& out) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != RTM_NEWRULE) return {};
    if (nlh->nlmsg_len < nl::kHdrLen + sizeof(fib_rule_hdr)) return Error::msg("truncated RTM_NEWRULE");
    auto* frh = static_cast<const fib_rule_hdr*>(nl::payload(nlh));
    auto ar = parse_attrs<FRA_MAX>(nlh, sizeof(*frh));
    if (!ar) return ar.error();
    auto& a = *ar;
    RuleInfo r;
    int fam = frh->family;
    r.family = fam;
    r.priority = int_attr<uint32_t>(a[FRA_PRIORITY]).value_or(0);
    r.invert = frh->flags & FIB_RULE_INVERT;
    if (a[FRA_SRC]) r.src = addr_attr(fam, a[FRA_SRC]) + "/" + std::to_string(frh->src_len);
    if (a[FRA_DST]) r.dst = addr_attr(fam, a[FRA_DST]) + "/" + std::to_string(frh->dst_len);
    r.iif = str_attr(a[FRA_IFNAME]);
    r.oif = str_attr(a[FRA_OIFNAME]);
    r.fwmark = int_attr<uint32_t>(a[FRA_FWMARK]);
    r.fwmask = int_attr<uint32_t>(a[FRA_FWMASK]);
    r.table = int_attr<uint32_t>(a[FRA_TABLE]).value_or(frh->table);
    r.goto_target = int_attr<uint32_t>(a[FRA_GOTO]).value_or(0);
    switch (frh->action) {
      case FR_ACT_TO_TBL: r.action = "lookup"; break;
      case FR_ACT_GOTO: r.action = "goto"; break;
      case FR_ACT_NOP: r.action = "nop"; break;
      case FR_ACT_BLACKHOLE: r.action = "blackhole"; break;
      case FR_ACT_UNREACHABLE: r.action = "unreachable"; break;
      case FR_ACT_PROHIBIT: r.action = "prohibit"; break;
      default: r.action = "action:" + std::to_string(frh->action); break;
    }
    out.push_back(std::move(r));
    return {};
  });
}

// ---- neighbours ------------------------------------------------------------------------

Result<void> parse_neigh_messages(const void* buf, size_t len, NeighSummary& out) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != RTM_NEWNEIGH) return {};
    if (nlh->nlmsg_len < nl::kHdrLen + sizeof(ndmsg)) return Error::msg("truncated RTM_NEWNEIGH");
    auto* nd = static_cast<const ndmsg*>(nl::payload(nlh));
    if (nd->ndm_family == AF_BRIDGE) {
      ++out.fdb;
      return {};
    }
    if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6) return {};
    if (nd->ndm_state & NUD_NOARP) return {};
    ++(nd->ndm_family == AF_INET ? out.ipv4 : out.ipv6);
    uint16_t s = nd->ndm_state;
    if (s & NUD_REACHABLE) ++out.reachable;
    else if (s & (NUD_STALE | NUD_DELAY | NUD_PROBE)) ++out.stale;
    else if (s & (NUD_FAILED | NUD_INCOMPLETE)) ++out.failed;
    else if (s & NUD_PERMANENT) ++out.permanent;
    else ++out.other;
    return {};
  });
}

}  // namespace nscope
