// `nscope find`: where an address, a MAC, an interface, a port or a route is, across every
// network namespace the scan finds, read from inside each one (rtnetlink and sock_diag; no
// `ip` or `ss` is run).
//
// Criteria describe one of three things:
//   interface  --addr, --mac, --ifname, --ifindex: every one given holds for one interface
//              (--addr: one of its addresses lies in the prefix)
//   socket     --port: a TCP or UDP socket whose local or remote port it is
//   route      --route: a route whose destination is the prefix, covers it, or lies in it
// A namespace is a hit when each of the three that was asked about has a hit there; every
// hit of it is then reported. Each namespace is read only as far as the query needs, the
// cheapest part first, and no further once one part has no hit.
//
// The matching is pure (unit-tested without root); find_everywhere does the reading.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discover/model.h"
#include "netlink/rtnl.h"
#include "netlink/sockdiag.h"
#include "util/result.h"

namespace nscope {

// ---- what is asked ----------------------------------------------------------------------

// An address or a prefix: "10.0.0.2" (a /32, bare), "10.0.0.0/8", "fd00::/64".
struct IpPrefix {
  int family = 0;                  // AF_INET / AF_INET6
  std::array<uint8_t, 16> bytes{};  // network byte order; bits past len are kept as typed
  uint8_t len = 0;
  bool bare = false;               // written without "/len"
  std::string text() const;        // "10.0.0.0/8", or the address alone when bare
};
// Errors (kind usage) say what is wrong with `s`, not which option it came from.
Result<IpPrefix> parse_ip_prefix(std::string_view s);
// Whether `inner` lies within `outer`: same family, outer.len <= inner.len, and the first
// outer.len bits agree.
bool prefix_contains(const IpPrefix& outer, const IpPrefix& inner);
// An address as rtnetlink gives it ("10.0.0.2", "fe80::1") with a prefix length.
std::optional<IpPrefix> ip_prefix_of(std::string_view address, uint8_t len);

// "tcp:8080", "udp:53", or a bare port for both.
struct PortSpec {
  bool tcp = false, udp = false;
  uint16_t port = 0;
  std::string text() const;  // "tcp:8080", "8080"
};
Result<PortSpec> parse_port_spec(std::string_view s);

// "aa:bb:cc:dd:ee:ff" (also with '-', any case) -> lowercase with ':' as rtnetlink's is.
Result<std::string> parse_mac(std::string_view s);

struct FindQuery {
  std::optional<IpPrefix> addr;
  std::string mac;             // normalised; empty when not asked
  std::string ifname;          // a glob (fnmatch); empty when not asked
  std::optional<int> ifindex;
  std::optional<PortSpec> port;
  std::optional<IpPrefix> route;

  bool wants_interfaces() const { return addr || !mac.empty() || !ifname.empty() || ifindex; }
  bool wants_links() const { return !mac.empty() || !ifname.empty() || ifindex; }
  bool wants_sockets() const { return port.has_value(); }
  bool wants_routes() const { return route.has_value(); }
  // The options as a user would type them: "--addr 10.0.0.2 --port tcp:80".
  std::string describe() const;
};

// The options as typed, each nullopt when not given.
struct FindQueryText {
  std::optional<std::string> addr = {}, mac = {}, ifname = {}, ifindex = {}, port = {}, route = {};
};
// Usage errors name the option and show a good value; none given at all is one too.
Result<FindQuery> parse_find_query(const FindQueryText& t);

// ---- what was found ---------------------------------------------------------------------

struct FindIfaceHit {
  LinkInfo link;
  // With --addr: the addresses that lie in it. Otherwise: all the interface's addresses.
  std::vector<AddrInfo> addrs;
  std::vector<std::string> matched;  // "addr", "mac", "ifname", "ifindex"
};

struct SockOwner {
  int pid = 0;
  std::string command;  // comm
  int fd = -1;
};

struct FindSockHit {
  InetSock sock;
  std::string side;               // "local" (its own port) or "remote" (the peer's)
  std::vector<SockOwner> owners;  // processes with an fd on it
};

struct FindRouteHit {
  RouteInfo route;
  std::map<int, std::string> devs;  // its output devices (oif, nexthops): ifindex -> name
  std::string relation;           // "exact", "covers" (the route holds the prefix) or "within"
};

struct FindNsHits {
  Namespace ns;          // from the scan; cookie filled in from inside where the scan had none
  std::string read_via;  // hidden: "nsid 5 of netns 4026531833" when read through a veth peer
  std::vector<FindIfaceHit> ifaces;
  std::vector<FindSockHit> sockets;
  std::vector<FindRouteHit> routes;
};

struct FindSkip {
  Namespace ns;
  std::string why;  // "cannot enter: Operation not permitted", "went away", ...
};

struct FindResult {
  FindQuery query;
  std::vector<FindNsHits> found;   // in the scan's order (by inode)
  std::vector<FindSkip> skipped;   // namespaces that could not be searched, and why
  size_t searched = 0;             // namespaces that were
  std::vector<std::string> notes;  // the scan's notes (e.g. not root)
};

// ---- matching (pure) --------------------------------------------------------------------

// Whether `l` meets every link criterion asked (--mac, --ifname, --ifindex); true when
// none was.
bool link_matches(const FindQuery& q, const LinkInfo& l);
bool addr_matches(const IpPrefix& want, const AddrInfo& a);
// Interfaces meeting every interface criterion, with their addresses (see FindIfaceHit).
std::vector<FindIfaceHit> match_interfaces(const FindQuery& q, const std::vector<LinkInfo>& links,
                                           const std::vector<AddrInfo>& addrs);
// Sockets of the asked protocol whose local or remote port is the asked one. Owners are
// left for the caller (socket_owners).
std::vector<FindSockHit> match_sockets(const PortSpec& p, const std::vector<InetSock>& socks);
// "exact", "covers" or "within" for a route that relates to `want`, nullopt otherwise.
// Default routes (length 0) cover everything and are left out unless `want` is itself a
// /0; so are the kernel's routes of addresses (local, broadcast, anycast, multicast), which
// --addr finds.
std::optional<std::string> route_relation(const IpPrefix& want, const RouteInfo& r);
// Matching routes, with their devices named from `links` (the index when not there).
std::vector<FindRouteHit> match_routes(const IpPrefix& want, const std::vector<RouteInfo>& routes,
                                       const std::vector<LinkInfo>& links);

// "socket:[12345]" (a /proc/PID/fd link) -> 12345.
std::optional<uint64_t> socket_inode_of_link(std::string_view link);

// ---- searching (root) -------------------------------------------------------------------

struct FindOptions {
  bool bpf = true;       // let the scan walk the kernel with BPF iterators
  unsigned threads = 2;  // helper threads that enter namespaces
  std::string proc = "/proc";
};

// Scans every network namespace and searches each. Never fails as a whole: a namespace that
// cannot be opened, entered or read is in `skipped` with the reason.
FindResult find_everywhere(const FindQuery& q, const FindOptions& opts);

// The processes among `pids` that hold a socket of `inodes` open: inode -> owners, found by
// reading /proc/PID/fd links.
std::vector<std::pair<uint64_t, SockOwner>> socket_owners(const std::vector<int>& pids,
                                                          const std::vector<uint64_t>& inodes,
                                                          const std::string& proc = "/proc");

}  // namespace nscope
