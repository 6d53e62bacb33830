#include "topo/ns_reader.h"

namespace nscope {

NsContents read_netns_here(Rtnl& rt, const NsParts& parts) {
  NsContents c;
  c.links = rt.links_in(std::nullopt, parts.stats);
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

}  // namespace nscope
