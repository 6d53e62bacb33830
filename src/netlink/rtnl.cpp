#include "netlink/rtnl.h"

#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "netlink/nl.h"
#include "netlink/socket.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace nscope {

Result<Rtnl> Rtnl::open() {
  auto s = NlSocket::open(NETLINK_ROUTE);
  if (!s) return s.error().prefixed("rtnetlink: ");
  return Rtnl(std::move(s.value()));
}

namespace {
template <class T>
Result<T> with_context(Result<T> r, const char* what) {
  if (r) return r;
  Error e = r.error();
  e.message = std::string(what) + ": " + e.message;
  return e;
}
}  // namespace

Result<std::vector<LinkInfo>> Rtnl::links() { return links_in(std::nullopt, true); }

Result<std::vector<LinkInfo>> Rtnl::links_in(std::optional<int32_t> target_nsid, bool with_stats) {
  return link_dump(AF_UNSPEC, target_nsid, with_stats, "RTM_GETLINK");
}

Result<std::vector<LinkInfo>> Rtnl::bridge_ports() { return link_dump(AF_BRIDGE, std::nullopt, true, "RTM_GETLINK (AF_BRIDGE)"); }

Result<std::vector<LinkInfo>> Rtnl::link_dump(uint8_t family, std::optional<int32_t> target_nsid, bool with_stats,
                                              const char* what) {
  char buf[256];
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* ifm = static_cast<ifinfomsg*>(nl::put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = family;
  if (!with_stats) nl::attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  if (target_nsid) nl::attr_put_u32(nlh, IFLA_TARGET_NETNSID, static_cast<uint32_t>(*target_nsid));
  // Parsed as each read brings it: the host of 10,000 veths sends 12 MB of messages.
  std::vector<LinkInfo> out;
  Result<void> parsed;
  auto r = sock_.request_each(nlh, what, [&](const char* data, size_t len) {
    parsed = parse_link_messages(data, len, out);
    return parsed;
  });
  if (!parsed) return with_context<std::vector<LinkInfo>>(parsed.error(), (std::string(what) + " dump").c_str());
  if (!r) return r.error();
  return out;
}

Result<std::optional<LinkInfo>> Rtnl::link(int ifindex, std::optional<int32_t> target_nsid, bool with_stats) {
  char buf[256];
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* ifm = static_cast<ifinfomsg*>(nl::put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = ifindex;
  if (!with_stats) nl::attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  if (target_nsid) nl::attr_put_u32(nlh, IFLA_TARGET_NETNSID, static_cast<uint32_t>(*target_nsid));
  auto raw = request(nlh, "RTM_GETLINK");
  if (!raw) return raw.error();
  std::vector<LinkInfo> out;
  if (auto r = parse_link_messages(raw->data(), raw->size(), out); !r) {
    if (r.error().code == ENODEV) return std::optional<LinkInfo>();
    return with_context<std::optional<LinkInfo>>(r.error(), "RTM_GETLINK");
  }
  if (out.empty()) return std::optional<LinkInfo>();
  return std::optional<LinkInfo>(std::move(out.front()));
}

Result<std::string> Rtnl::dump_raw(uint16_t type, uint8_t family) {
  char buf[256];
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  // Every RTM_GET* dump accepts a header that starts with the family byte; the sizes differ.
  size_t hdr = sizeof(rtgenmsg);
  switch (type) {
    case RTM_GETLINK: hdr = sizeof(ifinfomsg); break;
    case RTM_GETADDR: hdr = sizeof(ifaddrmsg); break;
    case RTM_GETROUTE: hdr = sizeof(rtmsg); break;
    case RTM_GETRULE: hdr = sizeof(fib_rule_hdr); break;
    case RTM_GETNEIGH: hdr = sizeof(ndmsg); break;
    default: break;
  }
  auto* h = static_cast<uint8_t*>(nl::put_extra_header(nlh, hdr));
  h[0] = family;
  return request(nlh, "rtnetlink dump");
}

Result<std::vector<AddrInfo>> Rtnl::addresses() { return addresses_in(std::nullopt); }

Result<std::vector<AddrInfo>> Rtnl::addresses_in(std::optional<int32_t> target_nsid) {
  Result<std::string> raw = Error::msg("");
  if (!target_nsid) {
    raw = dump_raw(RTM_GETADDR, AF_UNSPEC);
  } else {
    // The kernel honours IFA_TARGET_NETNSID only on a socket with strict checking; without
    // it the attribute is ignored and this namespace's addresses would come back instead.
    if (sock_.setsockopt_int(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1) < 0)
      return Error::sys(errno, "cannot enable strict netlink checking");
    char buf[256];
    nlmsghdr* nlh = nl::put_header(buf);
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    auto* ifa = static_cast<ifaddrmsg*>(nl::put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_UNSPEC;
    nl::attr_put_u32(nlh, IFA_TARGET_NETNSID, static_cast<uint32_t>(*target_nsid));
    raw = request(nlh, "RTM_GETADDR");
    sock_.setsockopt_int(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 0);
  }
  if (!raw) return with_context<std::vector<AddrInfo>>(raw.error(), "RTM_GETADDR dump");
  std::vector<AddrInfo> out;
  if (auto r = parse_addr_messages(raw->data(), raw->size(), out); !r)
    return with_context<std::vector<AddrInfo>>(r.error(), "RTM_GETADDR dump");
  return out;
}

namespace {
// A dump of `type` parsed into T by `parse`; errors say which dump.
template <class T, class Parse>
Result<T> parsed_dump(Result<std::string> raw, Parse parse, const char* what) {
  if (!raw) return with_context<T>(raw.error(), what);
  T out;
  if (auto r = parse(raw->data(), raw->size(), out); !r) return with_context<T>(r.error(), what);
  return out;
}
}  // namespace

Result<std::vector<RouteInfo>> Rtnl::routes() {
  return parsed_dump<std::vector<RouteInfo>>(dump_raw(RTM_GETROUTE, AF_UNSPEC), parse_route_messages, "RTM_GETROUTE dump");
}

Result<std::vector<RuleInfo>> Rtnl::rules() {
  return parsed_dump<std::vector<RuleInfo>>(dump_raw(RTM_GETRULE, AF_UNSPEC), parse_rule_messages, "RTM_GETRULE dump");
}

Result<NeighSummary> Rtnl::neighbours() {
  return parsed_dump<NeighSummary>(dump_raw(RTM_GETNEIGH, AF_UNSPEC), parse_neigh_messages, "RTM_GETNEIGH dump");
}

Result<std::vector<std::optional<int32_t>>> Rtnl::nsids(const std::vector<NsidQuery>& queries) {
  std::vector<std::optional<int32_t>> out(queries.size());
  if (queries.empty()) return out;
  // No NLM_F_ACK: each request gets exactly one answer, RTM_NEWNSID or an NLMSG_ERROR, so a
  // batch is done after as many messages as requests (an ack would double the reads).
  // A kernel-side reply costs ~1 KiB of the socket's receive buffer (212 KiB by default):
  // batches of 64 stay well below it; each is read in full before the next is sent.
  constexpr size_t kMsgLen = 64;
  const size_t per_batch = 64;
  std::vector<char> sbuf(per_batch * kMsgLen);
  for (size_t start = 0; start < queries.size(); start += per_batch) {
    size_t end = std::min(queries.size(), start + per_batch);
    uint32_t first_seq = sock_.seq() + 1;
    size_t used = 0;
    for (size_t i = start; i < end; ++i) {
      nlmsghdr* nlh = nl::put_header(sbuf.data() + used);
      nlh->nlmsg_type = RTM_GETNSID;
      nlh->nlmsg_flags = NLM_F_REQUEST;
      nlh->nlmsg_seq = sock_.next_seq();
      auto* g = static_cast<rtgenmsg*>(nl::put_extra_header(nlh, sizeof(rtgenmsg)));
      g->rtgen_family = AF_UNSPEC;
      if (queries[i].fd >= 0)
        nl::attr_put_u32(nlh, NETNSA_FD, static_cast<uint32_t>(queries[i].fd));
      else
        nl::attr_put_u32(nlh, NETNSA_PID, static_cast<uint32_t>(queries[i].pid));
      used += nl::align(nlh->nlmsg_len);
    }
    if (auto r = sock_.send(sbuf.data(), used, "RTM_GETNSID"); !r) return r.error();
    size_t answers = 0, want = end - start;
    while (answers < want) {
      auto n = sock_.recv("RTM_GETNSID");
      if (!n) return n.error();
      int left = static_cast<int>(*n);
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(sock_.buffer()); nl::msg_ok(nlh, left);
           nlh = nl::msg_next(nlh, &left)) {
        ++answers;  // a reply, or an error: the target is gone
        if (nlh->nlmsg_type != RTM_NEWNSID) continue;
        size_t i = start + (nlh->nlmsg_seq - first_seq);
        if (i >= end) continue;
        int32_t id = -1;
        nl::parse_attrs(nlh, sizeof(rtgenmsg), [&](const nlattr* a) {
          if (nl::attr_type(a) == NETNSA_NSID && nl::attr_payload_len(a) >= 4)
            std::memcpy(&id, nl::attr_payload(a), 4);
        });
        if (id >= 0) out[i] = id;
      }
    }
  }
  return out;
}

Result<uint64_t> socket_netns_cookie(int fd) {
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
    return Error::sys(errno, "SO_NETNS_COOKIE");
  return cookie;
}

Result<uint64_t> current_netns_cookie() {
  Fd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::sys(errno, "cannot create a socket");
  return socket_netns_cookie(s.get());
}

}  // namespace nscope
