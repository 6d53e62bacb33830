#include "topo/ns_reader.h"

#include "discover/netns.h"
#include "discover/nsref.h"

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
