// The one reader of what is inside a network namespace, for show, topo and the commands built
// on them: links, addresses, routes, rules, neighbours, sockets, firewall, cookie, read in
// the calling thread's namespace; a namespace nobody can open read from another through the
// nsid it gives it; and which namespaces an nsid stands for.
//
// Entering is the caller's (discover/netns.h: visit_netns for one, in_each_netns for many):
// the reader only reads where it stands.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "discover/model.h"
#include "netlink/firewall.h"
#include "netlink/rtnl.h"
#include "netlink/sockdiag.h"
#include "util/fd.h"

namespace nscope {

// What to read besides links and addresses (always read).
struct NsParts {
  bool stats = false;     // link counters (left out when false)
  bool routes = false;    // and rules
  bool neigh = false;
  bool sockets = false;
  bool firewall = false;
  bool cookie = false;
  // The kernel walk's view of the namespace being read (ScanResult::own_net, when it is this
  // one): its links are then read with read_links_walked.
  const WalkedNetns* walked = nullptr;
  static NsParts all() { return {true, true, true, true, true, true}; }
};

// Each section holds what was read or why it could not be; sections not asked for say
// "not read".
struct NsContents {
  Result<std::vector<LinkInfo>> links = Error::msg("not read");
  Result<std::vector<AddrInfo>> addrs = Error::msg("not read");
  Result<std::vector<RouteInfo>> routes = Error::msg("not read");
  Result<std::vector<RuleInfo>> rules = Error::msg("not read");
  Result<NeighSummary> neigh = Error::msg("not read");
  Result<std::vector<SockCount>> sockets = Error::msg("not read");
  std::optional<Firewall> firewall;
  std::optional<uint64_t> cookie;
};

// Where read_links_walked took each link from.
struct WalkedRead {
  size_t from_bridge_dump = 0;  // veth bridge ports: the bridge dump and the walk
  size_t one_by_one = 0;        // every other device: an RTM_GETLINK each
  bool full_dump = false;       // too many of those: the full dump instead
};

// The links of the calling thread's namespace, which the kernel walk `w` saw, as
// Rtnl::links_in(nullopt, false) gives them, without the full dump's cost on a host of many
// veths (Rtnl::bridge_ports): a veth that is a bridge port is read from the bridge ports'
// dump, its kind, peer and link-netnsid from the walk; every other device (and a veth with
// an alias, or whose peer's namespace has no nsid here yet) is asked for by its index. When
// more than 64 are, the full dump is read instead. Sorted by ifindex.
Result<std::vector<LinkInfo>> read_links_walked(Rtnl& rt, const WalkedNetns& w, WalkedRead* how = nullptr);

// Reads the calling thread's network namespace through `rt` (opened there).
NsContents read_netns_here(Rtnl& rt, const NsParts& parts);

// Reads the namespace that the calling thread's namespace numbers `nsid`, without entering
// it (IFLA_TARGET_NETNSID): links and addresses only, as no fd is needed for those.
NsContents read_netns_by_nsid(Rtnl& rt, int32_t nsid, bool stats);

// Which of `fds` (namespace fds; -1 skipped) the calling thread's namespace numbers with an
// nsid in `want`: nsid -> index into fds. An nsid nobody matches is left out.
std::map<int32_t, size_t> match_nsids(Rtnl& rt, const std::vector<int>& fds, const std::set<int32_t>& want);

// The veth peers through which namespace `x` (with no fd of its own) can be read: for each
// peer holder, the namespace on the other side and the device's ifindex there.
struct PeerWay {
  uint64_t netns = 0;  // the namespace that holds the near end
  int ifindex = 0;     // the near end there, whose link-netnsid names x
};
std::vector<PeerWay> peer_ways_into(const Namespace& x);

// Every network namespace of a scan, opened through its holders where one allows: what the
// commands that read them all (topo, find) start from. nets[i] and its fd (raw[i] -1 where
// none); why one was not opened (gone[i]: its holders went away since the scan, error[i]
// otherwise; a hidden one has neither); and, once planned, which opened namespace reads a
// hidden one through a veth into it.
struct OpenNets {
  explicit OpenNets(ScanResult s);
  OpenNets(const OpenNets&) = delete;
  OpenNets& operator=(const OpenNets&) = delete;

  // For each namespace with no fd that has not gone, for which want(x) holds: the first
  // opened namespace with a veth into it reads it (through[y] gets (that veth's ifindex, x)).
  void plan_hidden_reads(const std::function<bool(size_t)>& want);

  ScanResult scan;
  std::vector<const Namespace*> nets;
  std::unordered_map<uint64_t, size_t> by_inode;
  std::vector<Fd> fds;
  std::vector<int> raw;
  std::vector<char> gone;
  std::vector<std::string> error;
  std::vector<std::vector<std::pair<int, size_t>>> through;  // per namespace: (ifindex, hidden x)
};

}  // namespace nscope
