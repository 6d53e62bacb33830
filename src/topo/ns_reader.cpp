#include "topo/ns_reader.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "discover/netns.h"
#include "discover/nsref.h"

namespace nscope {

Result<std::vector<LinkInfo>> read_links_walked(Rtnl& rt, const WalkedNetns& w, WalkedRead* how) {
  constexpr size_t kOneByOneMax = 64;
  WalkedRead local;
  WalkedRead& h = how ? *how : local;
  h = {};
  auto ports = rt.bridge_ports();
  if (!ports) return ports.error();
  std::unordered_map<int, LinkInfo*> port_at;
  for (auto& p : *ports) port_at.emplace(p.ifindex, &p);
  std::vector<LinkInfo> out;
  std::vector<int> ask;  // read one by one
  std::unordered_set<int> walked;
  std::vector<int> from_dump;
  for (const WalkedDevice& d : w.devices) {
    walked.insert(d.ifindex);
    auto p = port_at.find(d.ifindex);
    bool same_ns = d.peer_netns == w.netns;
    auto nsid = w.nsids.find(d.peer_netns);
    if (!d.veth || d.alias || !d.peer_netns || p == port_at.end() || (!same_ns && nsid == w.nsids.end())) {
      ask.push_back(d.ifindex);
      continue;
    }
    LinkInfo l = std::move(*p->second);
    from_dump.push_back(l.ifindex);
    l.kind = "veth";
    // The full dump always names the peer when it has a link-netnsid; the bridge dump leaves
    // IFLA_LINK out when the peer's ifindex equals the port's own.
    l.link = d.peer_ifindex;
    if (!same_ns) l.link_netnsid = nsid->second;
    out.push_back(std::move(l));
  }
  // Ports the walk did not see (made since) are asked for too.
  for (auto& p : *ports)
    if (!walked.count(p.ifindex)) ask.push_back(p.ifindex);
  if (ask.size() > kOneByOneMax) {
    h.full_dump = true;
    return rt.links_in(std::nullopt, false);
  }
  h.from_bridge_dump = out.size();
  for (int ifindex : ask) {
    auto l = rt.link(ifindex, std::nullopt, false);
    if (!l) return l.error();
    if (*l) out.push_back(std::move(**l));  // else it went away since the walk
  }
  h.one_by_one = ask.size();
  // A port's master must be a bridge for the bridge dump to be the whole story (other masters
  // may answer an AF_BRIDGE dump too): read the full dump otherwise.
  std::unordered_map<int, const LinkInfo*> at;
  for (auto& l : out) at.emplace(l.ifindex, &l);
  for (int ifindex : from_dump) {
    const LinkInfo& l = *at.at(ifindex);
    auto m = at.find(l.master);
    if (l.slave_kind != "bridge" || m == at.end() || m->second->kind != "bridge") {
      h = {.full_dump = true};
      return rt.links_in(std::nullopt, false);
    }
  }
  std::sort(out.begin(), out.end(), [](const LinkInfo& a, const LinkInfo& b) { return a.ifindex < b.ifindex; });
  return out;
}

namespace {
// The kernel sends a link's counters in every dump; without `stats` they are left out, as the
// bridge ports' dump leaves them out.
void without_stats(Result<std::vector<LinkInfo>>& links) {
  if (links)
    for (auto& l : *links) l.stats.reset();
}
}  // namespace

NsContents read_netns_here(Rtnl& rt, const NsParts& parts) {
  NsContents c;
  c.links = parts.walked && !parts.stats ? read_links_walked(rt, *parts.walked) : rt.links_in(std::nullopt, parts.stats);
  if (!parts.stats) without_stats(c.links);
  c.addrs = rt.addresses();
  if (parts.routes) {
    c.routes = rt.routes();
    c.rules = rt.rules();
  }
  if (parts.neigh) c.neigh = rt.neighbours();
  if (parts.cookie)
    if (auto k = rt.netns_cookie()) c.cookie = *k;
  if (parts.sockets) c.sockets = count_sockets();
  if (parts.firewall) c.firewall = read_firewall();
  return c;
}

NsContents read_netns_by_nsid(Rtnl& rt, int32_t nsid, bool stats) {
  NsContents c;
  c.links = rt.links_in(nsid, stats);
  if (!stats) without_stats(c.links);
  c.addrs = rt.addresses_in(nsid);
  return c;
}

std::map<int32_t, size_t> match_nsids(Rtnl& rt, const std::vector<int>& fds, const std::set<int32_t>& want) {
  std::map<int32_t, size_t> out;
  if (want.empty()) return out;
  std::vector<Rtnl::NsidQuery> q;
  std::vector<size_t> of;
  for (size_t k = 0; k < fds.size(); ++k)
    if (fds[k] >= 0) {
      q.push_back({0, fds[k]});
      of.push_back(k);
    }
  if (q.empty()) return out;
  auto ids = rt.nsids(q);
  if (!ids) return out;
  for (size_t k = 0; k < ids->size(); ++k)
    if ((*ids)[k] && want.count(*(*ids)[k])) out.try_emplace(*(*ids)[k], of[k]);
  return out;
}

std::vector<PeerWay> peer_ways_into(const Namespace& x) {
  std::vector<PeerWay> out;
  for (auto& h : x.holders)
    if (h.kind == HolderKind::peer) out.push_back({h.netns, h.ifindex});
  return out;
}

OpenNets::OpenNets(ScanResult s) : scan(std::move(s)) {
  for (auto& n : scan.namespaces)
    if (n.type == NsType::net) nets.push_back(&n);
  for (size_t i = 0; i < nets.size(); ++i) by_inode[nets[i]->inode] = i;
  fds.resize(nets.size());
  raw.assign(nets.size(), -1);
  gone.assign(nets.size(), 0);
  error.resize(nets.size());
  through.resize(nets.size());
  for (size_t i = 0; i < nets.size(); ++i) {
    if (is_hidden(*nets[i])) continue;
    auto fd = open_netns(*nets[i]);
    if (fd) {
      fds[i] = std::move(fd.value());
      raw[i] = fds[i].get();
    } else if (fd.error().code == ENOENT || fd.error().code == ESRCH) {
      gone[i] = 1;
    } else {
      error[i] = fd.error().message;  // "cannot open network namespace N: ..."
    }
  }
}

void OpenNets::plan_hidden_reads(const std::function<bool(size_t)>& want) {
  for (size_t x = 0; x < nets.size(); ++x) {
    if (raw[x] >= 0 || gone[x] || !want(x)) continue;
    for (const PeerWay& w : peer_ways_into(*nets[x])) {
      auto y = by_inode.find(w.netns);
      if (y == by_inode.end() || raw[y->second] < 0) continue;
      through[y->second].emplace_back(w.ifindex, x);
      break;
    }
  }
}

}  // namespace nscope
