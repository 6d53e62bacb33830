// A small rtnetlink client: links, addresses, routes, policy rules, neighbours and
// nsids of the calling thread's network namespace (or, for links, of a namespace named by an
// nsid). Every socket is owned; every reply is checked. The parsers take the raw reply bytes
// so unit tests feed them recorded messages (tests/fixtures/netlink/).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "netlink/socket.h"
#include "util/fd.h"
#include "util/result.h"


namespace nscope {

struct LinkStats {
  uint64_t rx_packets = 0, tx_packets = 0, rx_bytes = 0, tx_bytes = 0;
  uint64_t rx_errors = 0, tx_errors = 0, rx_dropped = 0, tx_dropped = 0;
};

struct VxlanInfo {
  uint32_t id = 0;
  int link = 0;              // IFLA_VXLAN_LINK: the underlay device (0: none)
  std::string remote;        // unicast remote, or the multicast group (see `group`)
  bool group = false;        // `remote` is a multicast group
  std::string local;
  uint16_t port = 0;         // UDP destination port
};

struct TunInfo {
  bool tap = false;              // IFF_TAP, else IFF_TUN
  std::optional<uint32_t> owner;  // uid allowed to attach (IFLA_TUN_OWNER), none when unset
  std::optional<uint32_t> group;
  bool persist = false;
  bool multi_queue = false;
  uint32_t queues = 0;
};

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;                     // IFLA_INFO_KIND: "veth", "bridge", ... empty if none
  std::optional<int32_t> link_netnsid;  // IFLA_LINK_NETNSID: where the peer/parent lives
  int link = 0;                         // IFLA_LINK: peer/parent ifindex (in link_netnsid's ns)

  uint16_t type = 0;                    // ARPHRD_*
  uint32_t flags = 0;                   // IFF_*
  uint8_t operstate = 0;                // IF_OPER_*
  uint32_t mtu = 0;
  std::string mac;                      // "aa:bb:cc:dd:ee:ff", empty when none
  int master = 0;                       // IFLA_MASTER: bridge/bond/vrf ifindex, 0 if none
  std::string slave_kind;               // IFLA_INFO_SLAVE_KIND: "bridge", "bond", ...
  std::optional<uint8_t> port_state;    // bridge port: BR_STATE_*
  std::optional<uint16_t> vlan_id;
  std::string vlan_protocol;            // "802.1Q" / "802.1ad"
  std::string macvlan_mode;             // macvlan/macvtap: "bridge", "private", "vepa", ...
  std::string ipvlan_mode;              // "l2", "l3", "l3s"
  std::optional<VxlanInfo> vxlan;       // also geneve (id, remote, port)
  std::optional<TunInfo> tun;
  std::optional<uint32_t> vrf_table;
  std::optional<bool> stp;              // bridge: STP on
  std::optional<bool> vlan_filtering;   // bridge
  std::string alias;
  std::string qdisc;
  std::optional<LinkStats> stats;

  // What a person calls it: kind when set ("veth", "tun" becomes "tap" for a tap), else from
  // the hardware type: "loopback", "ether", "none", "ipip", ... or "arphrd:N".
  std::string display_kind() const;
  bool up() const;                      // administratively up (IFF_UP)
  std::string state() const;            // operstate: "UP", "DOWN", "UNKNOWN", "LOWERLAYERDOWN", ...
};

struct AddrInfo {
  int ifindex = 0;
  int family = 0;          // AF_INET / AF_INET6
  std::string address;     // "10.0.0.1"
  uint8_t prefixlen = 0;
  std::string peer;        // point-to-point peer, when different from the address
  std::string scope;       // "global", "link", "host", ...
  std::string label;
  uint32_t flags = 0;      // IFA_F_*
};

struct RouteNexthop {
  std::string gateway;
  int oif = 0;
  int weight = 1;
};

struct RouteInfo {
  int family = 0;
  uint32_t table = 0;        // RT_TABLE_MAIN = 254
  std::string dst;           // "default", "10.0.0.0/24", "fe80::/64"
  uint8_t dst_len = 0;
  std::string src;           // source selector ("from"), empty for any
  std::string gateway;
  int oif = 0;
  std::string prefsrc;
  uint32_t priority = 0;     // metric
  std::string protocol;      // "kernel", "boot", "static", "dhcp", ... or a number
  std::string scope;         // "universe"→"global", "link", "host"
  std::string type;          // "unicast", "local", "blackhole", "unreachable", ...
  std::vector<RouteNexthop> nexthops;  // multipath
  bool is_default() const { return dst_len == 0 && type == "unicast"; }
};

struct RuleInfo {
  int family = 0;
  uint32_t priority = 0;
  bool invert = false;       // "not"
  std::string src;           // "from": "all" or "10.0.0.0/8"
  std::string dst;           // "to", empty for any
  std::string iif, oif;
  std::optional<uint32_t> fwmark, fwmask;
  uint32_t table = 0;
  std::string action;        // "lookup", "goto", "nop", "blackhole", "unreachable", "prohibit"
  uint32_t goto_target = 0;
  std::string text() const;  // as `ip rule` prints it: "from all lookup main"
};

struct NeighSummary {
  uint32_t ipv4 = 0, ipv6 = 0;  // ARP / NDP entries, NOARP ones left out as `ip neigh` does
  uint32_t reachable = 0, stale = 0, failed = 0, permanent = 0, other = 0;
  uint32_t fdb = 0;             // bridge forwarding entries (AF_BRIDGE)
};

// SO_NETNS_COOKIE of any socket: the cookie of the network namespace it was made in.
Result<uint64_t> socket_netns_cookie(int fd);

class Rtnl {
 public:
  // A NETLINK_ROUTE socket in the calling thread's network namespace.
  static Result<Rtnl> open();

  // Every link of this namespace (RTM_GETLINK dump).
  Result<std::vector<LinkInfo>> links();

  // Every link of the namespace this one numbers `target_nsid` (IFLA_TARGET_NETNSID): reads
  // another namespace with no fd for it. `with_stats` false asks the kernel to leave counters
  // out (smaller replies).
  Result<std::vector<LinkInfo>> links_in(std::optional<int32_t> target_nsid, bool with_stats);
  // One link by index, here or in `target_nsid`; nullopt when there is no such link.
  Result<std::optional<LinkInfo>> link(int ifindex, std::optional<int32_t> target_nsid = {}, bool with_stats = true);
  // The bridge ports of this namespace: an AF_BRIDGE RTM_GETLINK dump, as `bridge link` asks
  // for it. Each has its name, flags, type, mtu, operstate, address, master, IFLA_LINK,
  // slave_kind "bridge" and port state; not its kind, alias or IFLA_LINK_NETNSID. What it
  // saves: the full dump looks every veth's peer up in this namespace's whole nsid table
  // (10,000 veths on the host: 1.5 s); this dump looks nothing up (70 ms).
  Result<std::vector<LinkInfo>> bridge_ports();

  Result<std::vector<AddrInfo>> addresses();
  // Addresses of the namespace this one numbers `target_nsid` (IFA_TARGET_NETNSID).
  Result<std::vector<AddrInfo>> addresses_in(std::optional<int32_t> target_nsid);
  Result<std::vector<RouteInfo>> routes();   // every table, IPv4 and IPv6
  Result<std::vector<RuleInfo>> rules();     // IPv4 and IPv6
  Result<NeighSummary> neighbours();

  // The raw reply to a dump of `type` (RTM_GETLINK, ...) for `family`: used to record the
  // fixtures the unit tests decode.
  Result<std::string> dump_raw(uint16_t type, uint8_t family);

  // The nsid this namespace has assigned to each target: a pid (NETNSA_PID) or an nsfs fd
  // (NETNSA_FD). All queries go out in one batch. nullopt: no nsid assigned (or the target
  // vanished). Asking assigns nothing.
  struct NsidQuery {
    int pid = 0;  // used when fd < 0
    int fd = -1;
  };
  Result<std::vector<std::optional<int32_t>>> nsids(const std::vector<NsidQuery>& queries);
  // SO_NETNS_COOKIE of the namespace this socket was made in.
  Result<uint64_t> netns_cookie() const { return socket_netns_cookie(sock_.fd()); }

 private:
  explicit Rtnl(NlSocket s) : sock_(std::move(s)) {}
  Result<std::vector<LinkInfo>> link_dump(uint8_t family, std::optional<int32_t> target_nsid, bool with_stats,
                                          const char* what);
  Result<std::string> request(void* nlh, const char* what) {
    return sock_.request(static_cast<nlmsghdr*>(nlh), what);
  }
  NlSocket sock_;
};

// SO_NETNS_COOKIE of a socket made in the calling thread's netns.
Result<uint64_t> current_netns_cookie();

// Parsers of reply buffers (for tests and the queries above). Messages of other types are
// skipped; an error reply becomes an Error.
Result<void> parse_link_messages(const void* buf, size_t len, std::vector<LinkInfo>& out);
Result<void> parse_addr_messages(const void* buf, size_t len, std::vector<AddrInfo>& out);
Result<void> parse_route_messages(const void* buf, size_t len, std::vector<RouteInfo>& out);
Result<void> parse_rule_messages(const void* buf, size_t len, std::vector<RuleInfo>& out);
Result<void> parse_neigh_messages(const void* buf, size_t len, NeighSummary& out);

// Text for numbers rtnetlink uses.
std::string format_mac(const uint8_t* bytes, size_t len);
std::string format_addr(int family, const void* bytes, size_t len);  // "" on a bad length
std::string rt_scope_name(uint8_t scope);
std::string rt_proto_name(uint8_t proto);
std::string rt_type_name(uint8_t type);
std::string rt_table_name(uint32_t table);  // "main", "local", "default" or the number

}  // namespace nscope
