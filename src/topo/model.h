// What `nscope show` and `nscope topo` find: the inside of network namespaces and the links
// between them. One model each, rendered as text, JSON or DOT by src/topo/render_*.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discover/model.h"
#include "netlink/firewall.h"
#include "netlink/rtnl.h"
#include "netlink/sockdiag.h"

namespace nscope {

// A process holding a tun/tap device open (found through /proc/PID/fdinfo "iff:").
struct TunOwner {
  int pid = 0;
  int fd = -1;
  std::string command;
  std::string ifname;
  uint64_t netns = 0;  // the device's namespace (TUNGETDEVNETNS), 0 when unknown
};

// Where a link leads: the other end of a veth, a parent device, a vxlan underlay, a master.
struct LinkEnd {
  uint64_t netns = 0;                 // namespace inode, 0 when unknown
  int ifindex = 0;
  std::string ifname;                 // empty when it could not be read
  std::string kind;                   // display kind of the far device
  bool same_ns = true;
  std::optional<int32_t> nsid;        // the far namespace's nsid as the near one numbers it
  std::vector<std::string> netns_names;  // `ip netns` names of the far namespace
  std::string container;              // "runc:web", empty when none
  bool initial = false;               // the far namespace is the host's initial one
  bool hidden = false;                // the far namespace has no holder nscope can find
  std::string master;                 // the far device's master (e.g. its bridge)
};

// ---- show ------------------------------------------------------------------------------

struct ShowIface {
  LinkInfo link;
  std::vector<AddrInfo> addrs;
  std::optional<LinkEnd> peer;        // veth: the other end
  std::optional<LinkEnd> parent;      // vlan/macvlan/ipvlan/...: the lower device
  std::optional<LinkEnd> underlay;    // vxlan: IFLA_VXLAN_LINK
  std::string master;                 // name of the master (bridge, bond, vrf)
  std::vector<std::string> ports;     // bridge/bond: its ports
  std::vector<TunOwner> tun_owners;
};

struct ProcessRef {
  int pid = 0;
  std::string command;
};

struct ShowModel {
  Namespace ns;                         // inode, id, cookie, nsid, names, container, ...
  std::string opened_from;
  std::vector<ShowIface> interfaces;
  std::vector<RouteInfo> routes;        // main table
  std::vector<RouteInfo> default_routes;
  std::map<std::string, uint32_t> other_tables;  // table name -> routes, local table aside
  std::vector<RuleInfo> rules;
  std::optional<NeighSummary> neighbours;
  std::vector<SockCount> sockets;
  std::optional<Firewall> firewall;
  std::vector<ProcessRef> processes;
  std::map<std::string, std::string> errors;  // section -> why it could not be read
  std::vector<std::string> notes;
};

// ---- topo ------------------------------------------------------------------------------

struct TopoIface {
  LinkInfo link;
  std::vector<std::string> addrs;  // "10.0.0.1/24"
};

struct TopoNode {
  std::string id;        // the inode as text, or "nsid5@4026531833" for a namespace seen only
                         // by nsid from another one (no inode known)
  Namespace ns;
  bool hidden = false;   // found only as a veth peer: nothing else holds it
  bool gone = false;     // vanished while topo ran
  std::string read_via;  // hidden: "nsid 5 of 4026531833" when links were read from there
  std::string error;     // why its links could not be read
  std::vector<TopoIface> ifaces;
};

struct TopoEndpoint {
  std::string node;      // TopoNode::id, empty when the namespace is unknown
  uint64_t netns = 0;    // 0: unknown namespace
  int ifindex = 0;
  std::string ifname;
};

// Every kind of topo edge: "veth"; "master" (port -> bridge/bond); "vlan", "macvlan",
// "macvtap", "ipvlan", "ipvtap", "vxlan" (device -> its lower device); "vxlan", "geneve"
// (tunnel -> underlay device); "link" (any other lower device); "tun" (device -> the
// process holding it). The README's topo section lists the same (a unit test keeps them so).
inline constexpr std::string_view kTopoEdgeKinds[] = {"veth",   "master", "vlan",   "macvlan", "macvtap", "ipvlan",
                                                      "ipvtap", "vxlan",  "geneve", "link",    "tun"};
// The edge from a device to its lower device, named by the device's own kind where that
// kind is one of the edge kinds above, else "link".
std::string_view lower_edge_kind(std::string_view device_kind);

struct TopoEdge {
  std::string kind;  // one of kTopoEdgeKinds
  TopoEndpoint from, to;
  bool dangling = false;   // the far end lives in a namespace nscope could not otherwise find
  int owner_pid = 0;       // tun: the process holding the device
  std::string note;
};

struct TopoModel {
  std::vector<TopoNode> nodes;
  std::vector<TopoEdge> edges;
  std::vector<TunOwner> tun_owners;
  std::map<std::string, uint64_t> skipped;
  std::vector<std::string> notes;
  std::string source;  // "bpf" (kernel walk: peers authoritative) or "procfs"
};

}  // namespace nscope
