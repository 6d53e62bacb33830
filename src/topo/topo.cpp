#include "topo/topo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "discover/netns.h"
#include "discover/nsref.h"
#include "discover/scan.h"
#include "netlink/rtnl.h"
#include "topo/tun.h"

namespace nscope {

std::string node_id(uint64_t inode) { return std::to_string(inode); }

namespace {

std::vector<std::string> addr_strings(const std::vector<AddrInfo>& addrs, int ifindex) {
  std::vector<std::string> out;
  for (auto& a : addrs)
    if (a.ifindex == ifindex) out.push_back(a.address + "/" + std::to_string(a.prefixlen));
  return out;
}

struct Key {
  std::string node;
  int ifindex;
  bool operator<(const Key& o) const { return std::tie(node, ifindex) < std::tie(o.node, o.ifindex); }
};

}  // namespace

TopoModel assemble_topo(const ScanResult& scan, std::vector<NsReading> readings,
                        std::vector<TunOwner> tun_owners) {
  TopoModel m;
  m.skipped = scan.skipped;
  m.notes = scan.notes;
  m.source = scan.source;
  m.tun_owners = std::move(tun_owners);

  std::vector<const Namespace*> nets;
  for (auto& n : scan.namespaces)
    if (n.type == NsType::net) nets.push_back(&n);
  readings.resize(std::max(readings.size(), nets.size()));

  // Nodes.
  std::map<std::string, size_t> node_of;  // id -> index into m.nodes
  for (size_t i = 0; i < readings.size(); ++i) {
    NsReading& r = readings[i];
    TopoNode node;
    if (i < nets.size()) {
      node.ns = *nets[i];
      node.hidden = is_hidden(node.ns);
      if (r.id.empty()) r.id = node_id(node.ns.inode);
    } else {
      node.ns.type = NsType::net;
      node.hidden = true;
    }
    node.id = r.id;
    node.gone = r.gone;
    node.error = r.error;
    node.read_via = r.read_via;
    for (auto& l : r.links) node.ifaces.push_back({l, addr_strings(r.addrs, l.ifindex)});
    node_of[r.id] = m.nodes.size();
    m.nodes.push_back(std::move(node));
  }
  auto id_of = [&](size_t i) -> const std::string& { return readings[i].id; };
  auto find_iface = [&](const std::string& node, int ifindex) -> const LinkInfo* {
    auto it = node_of.find(node);
    if (it == node_of.end()) return nullptr;
    for (auto& f : m.nodes[it->second].ifaces)
      if (f.link.ifindex == ifindex) return &f.link;
    return nullptr;
  };
  auto endpoint = [&](const std::string& node, int ifindex) {
    TopoEndpoint e;
    auto it = node_of.find(node);
    if (it != node_of.end()) {
      e.node = node;
      e.netns = m.nodes[it->second].ns.inode;
    }
    e.ifindex = ifindex;
    if (auto* l = find_iface(node, ifindex)) e.ifname = l->name;
    return e;
  };
  auto is_hidden = [&](const std::string& node) {
    auto it = node_of.find(node);
    return it == node_of.end() || m.nodes[it->second].hidden;
  };

  // 1. Veth pairs the kernel walk saw (authoritative): a peer holder on X says device
  //    h.ifindex in h.netns leads to h.peer_ifindex in X.
  std::map<Key, Key> peer;
  for (auto* x : nets)
    for (auto& h : x->holders)
      if (h.kind == HolderKind::peer && h.peer_ifindex) {
        Key a{node_id(h.netns), h.ifindex}, b{node_id(x->inode), h.peer_ifindex};
        peer[a] = b;
        peer[b] = a;
      }
  // What each namespace's nsids stand for, learnt from the pairs: a veth in Y with
  // link-netnsid N whose peer is in X means Y numbers X as N.
  for (size_t i = 0; i < readings.size(); ++i)
    for (auto& l : readings[i].links)
      if (l.kind == "veth" && l.link_netnsid) {
        auto it = peer.find({id_of(i), l.ifindex});
        if (it != peer.end()) readings[i].nsids.try_emplace(*l.link_netnsid, it->second.node);
      }

  // 2. Same-namespace pairs and 3. pairs matched by indexes, for veths the walk did not cover.
  std::multimap<std::pair<int, int>, Key> cross;  // (ifindex, IFLA_LINK) -> veth end
  for (size_t i = 0; i < readings.size(); ++i)
    for (auto& l : readings[i].links)
      if (l.kind == "veth" && l.link_netnsid) cross.emplace(std::pair(l.ifindex, l.link), Key{id_of(i), l.ifindex});
  std::set<std::pair<Key, Key>> done;
  for (size_t i = 0; i < readings.size(); ++i) {
    for (auto& l : readings[i].links) {
      if (l.kind != "veth") continue;
      Key me{id_of(i), l.ifindex};
      std::optional<Key> other;
      std::string note;
      if (auto it = peer.find(me); it != peer.end()) {
        other = it->second;
      } else if (!l.link_netnsid) {
        if (l.link) other = Key{me.node, l.link};
      } else {
        // The far end has ifindex l.link and its IFLA_LINK is our ifindex; the nsid, when
        // already known, must agree.
        std::vector<Key> cands;
        auto [b, e] = cross.equal_range(std::pair(l.link, l.ifindex));
        for (auto it = b; it != e; ++it)
          if (it->second.node != me.node) cands.push_back(it->second);
        auto known = readings[i].nsids.find(*l.link_netnsid);
        if (known != readings[i].nsids.end())
          std::erase_if(cands, [&](const Key& k) { return k.node != known->second; });
        if (cands.size() == 1) other = cands.front();
        else if (cands.size() > 1) note = fmt::format("{} namespaces could hold the peer; not resolved", cands.size());
        if (other) readings[i].nsids.try_emplace(*l.link_netnsid, other->node);
      }
      if (!other) {
        // Nobody found: the far end is in a namespace nscope cannot see.
        TopoEdge e;
        e.kind = "veth";
        e.from = endpoint(me.node, me.ifindex);
        e.to.ifindex = l.link;
        e.dangling = true;
        e.note = note.empty() ? fmt::format("peer ifindex {} in nsid {} (as {} numbers it): namespace not found",
                                            l.link, l.link_netnsid.value_or(-1), me.node)
                              : note;
        m.edges.push_back(std::move(e));
        continue;
      }
      auto pair = std::minmax(me, *other);
      if (!done.insert({pair.first, pair.second}).second) continue;
      TopoEdge e;
      e.kind = "veth";
      e.from = endpoint(me.node, me.ifindex);
      e.to = endpoint(other->node, other->ifindex);
      e.dangling = other->node != me.node && (is_hidden(other->node) || is_hidden(me.node));
      if (e.dangling) e.note = "the peer's namespace has no holder but this veth";
      m.edges.push_back(std::move(e));
    }
  }

  // 4. Masters, lower devices, vxlan underlays.
  for (size_t i = 0; i < readings.size(); ++i) {
    const std::string& me = id_of(i);
    auto far_node = [&](const LinkInfo& l) -> std::optional<std::string> {
      if (!l.link_netnsid) return me;
      auto it = readings[i].nsids.find(*l.link_netnsid);
      if (it == readings[i].nsids.end()) return std::nullopt;
      return it->second;
    };
    for (auto& l : readings[i].links) {
      if (l.master) {
        TopoEdge e;
        e.kind = "master";
        e.from = endpoint(me, l.ifindex);
        e.to = endpoint(me, l.master);
        m.edges.push_back(std::move(e));
      }
      if (l.kind != "veth" && l.link && l.link != l.ifindex) {
        TopoEdge e;
        std::string k = l.display_kind();
        static const std::set<std::string> named{"vlan", "macvlan", "macvtap", "ipvlan", "ipvtap", "vxlan"};
        e.kind = named.count(k) ? k : "link";
        e.from = endpoint(me, l.ifindex);
        if (auto far = far_node(l)) {
          e.to = endpoint(*far, l.link);
        } else {
          e.to.ifindex = l.link;
          e.note = fmt::format("lower device in nsid {}: namespace not resolved", *l.link_netnsid);
        }
        m.edges.push_back(std::move(e));
      }
      if (l.vxlan && l.vxlan->link) {
        TopoEdge e;
        e.kind = l.kind == "geneve" ? "geneve" : "vxlan";
        e.from = endpoint(me, l.ifindex);
        if (auto far = far_node(l)) e.to = endpoint(*far, l.vxlan->link);
        else e.to.ifindex = l.vxlan->link;
        if (!l.vxlan->remote.empty())
          e.note = (l.vxlan->group ? "group " : "remote ") + l.vxlan->remote;
        m.edges.push_back(std::move(e));
      }
    }
  }

  // 5. tun/tap devices and the processes holding them.
  for (auto& o : m.tun_owners) {
    std::string node;
    if (o.netns) {
      node = node_id(o.netns);
    } else {
      // Without the device's namespace, a unique tun of that name will do.
      std::vector<std::string> hits;
      for (size_t i = 0; i < readings.size(); ++i)
        for (auto& l : readings[i].links)
          if (l.kind == "tun" && l.name == o.ifname) hits.push_back(id_of(i));
      if (hits.size() != 1) continue;
      node = hits.front();
    }
    const LinkInfo* dev = nullptr;
    if (auto it = node_of.find(node); it != node_of.end())
      for (auto& f : m.nodes[it->second].ifaces)
        if (f.link.name == o.ifname) dev = &f.link;
    if (!dev) continue;
    TopoEdge e;
    e.kind = "tun";
    e.from = endpoint(node, dev->ifindex);
    e.owner_pid = o.pid;
    e.note = fmt::format("held by pid {} ({}) fd {}", o.pid, o.command, o.fd);
    m.edges.push_back(std::move(e));
  }
  return m;
}

TopoModel build_topo(const TopoOptions& opts) {
  ScanOptions so;
  so.types = {NsType::net};
  so.bpf = opts.bpf;
  ScanResult scan = scan_namespaces(so);

  std::vector<const Namespace*> nets;
  for (auto& n : scan.namespaces)
    if (n.type == NsType::net) nets.push_back(&n);
  std::unordered_map<uint64_t, size_t> by_inode;
  for (size_t i = 0; i < nets.size(); ++i) by_inode[nets[i]->inode] = i;

  // An fd for every namespace that has a holder we can open.
  std::vector<Fd> fds(nets.size());
  std::vector<int> raw(nets.size(), -1);
  std::vector<NsReading> readings(nets.size());
  for (size_t i = 0; i < nets.size(); ++i) {
    readings[i].id = node_id(nets[i]->inode);
    if (is_hidden(*nets[i])) continue;
    auto fd = open_netns(*nets[i]);
    if (fd) {
      fds[i] = std::move(fd.value());
      raw[i] = fds[i].get();
    } else if (fd.error().code == ENOENT || fd.error().code == ESRCH) {
      readings[i].gone = true;  // its holders went away since the scan
    } else {
      readings[i].error = fd.error().message;
    }
  }

  // Namespaces with no fd are read from a namespace that has a veth into them, by nsid.
  std::vector<std::vector<std::pair<int, size_t>>> remote(nets.size());  // ifindex, target
  for (size_t x = 0; x < nets.size(); ++x) {
    if (raw[x] >= 0 || readings[x].gone) continue;
    for (auto& h : nets[x]->holders) {
      if (h.kind != HolderKind::peer) continue;
      auto y = by_inode.find(h.netns);
      if (y == by_inode.end() || raw[y->second] < 0) continue;
      remote[y->second].emplace_back(h.ifindex, x);
      break;
    }
  }

  std::vector<Result<void>> entered = in_each_netns(raw, opts.threads, [&](size_t i) {
    NsReading& r = readings[i];
    auto rt = Rtnl::open();
    if (!rt) {
      r.error = rt.error().message;
      return;
    }
    auto links = rt->links_in(std::nullopt, false);
    if (!links) {
      r.error = links.error().message;
      return;
    }
    r.links = std::move(links.value());
    r.read = true;
    if (auto a = rt->addresses()) r.addrs = std::move(a.value());
    for (auto& [ifindex, x] : remote[i]) {
      NsReading& xr = readings[x];
      auto it = std::find_if(r.links.begin(), r.links.end(), [&](const LinkInfo& l) { return l.ifindex == ifindex; });
      if (it == r.links.end() || !it->link_netnsid) continue;
      int32_t nsid = *it->link_netnsid;
      auto xl = rt->links_in(nsid, false);
      if (!xl) {
        xr.error = "cannot read its links through nsid " + std::to_string(nsid) + ": " + xl.error().message;
        continue;
      }
      xr.links = std::move(xl.value());
      if (auto a = rt->addresses_in(nsid)) xr.addrs = std::move(a.value());
      xr.read = true;
      xr.read_via = fmt::format("nsid {} of {}", nsid, r.id);
    }
    // Lower devices in other namespaces (a macvlan whose parent stayed on the host): ask
    // which of the namespaces we hold has each nsid.
    std::set<int32_t> want;
    for (auto& l : r.links)
      if (l.link_netnsid && l.kind != "veth") want.insert(*l.link_netnsid);
    if (!want.empty()) {
      std::vector<Rtnl::NsidQuery> q;
      std::vector<size_t> of;
      for (size_t k = 0; k < raw.size(); ++k)
        if (raw[k] >= 0) {
          q.push_back({0, raw[k]});
          of.push_back(k);
        }
      if (auto ids = rt->nsids(q))
        for (size_t k = 0; k < ids->size(); ++k)
          if ((*ids)[k] && want.count(*(*ids)[k])) r.nsids[*(*ids)[k]] = readings[of[k]].id;
    }
  });
  for (size_t i = 0; i < entered.size(); ++i)
    if (!entered[i] && raw[i] >= 0) {
      if (entered[i].error().code == ENOENT || entered[i].error().code == EINVAL) readings[i].gone = true;
      else readings[i].error = entered[i].error().message;
    }

  for (size_t x = 0; x < nets.size(); ++x)
    if (raw[x] < 0 && !readings[x].read && !readings[x].gone && readings[x].error.empty())
      readings[x].error = "no holder to open, and no readable namespace has a veth into it";

  // tun/tap owners, only when there is a tun device at all.
  std::vector<TunOwner> owners;
  bool any_tun = false;
  for (auto& r : readings)
    for (auto& l : r.links) any_tun |= l.kind == "tun";
  if (any_tun) owners = find_tun_owners();

  // Without the kernel walk, ends are matched by index pairs: A (ifindex a, IFLA_LINK b) and
  // B (ifindex b, IFLA_LINK a). Small indexes repeat across namespaces (every container's
  // eth0@if2 ...), so where several namespaces could hold the far end, the near namespace is
  // asked which of them it numbers with the veth's link-netnsid.
  if (scan.source != "bpf") {
    std::multimap<std::pair<int, int>, size_t> ends;  // (ifindex, IFLA_LINK) -> reading
    for (size_t i = 0; i < readings.size(); ++i)
      for (auto& l : readings[i].links)
        if (l.kind == "veth" && l.link_netnsid) ends.emplace(std::pair(l.ifindex, l.link), i);
    std::vector<int> again(raw.size(), -1);
    std::vector<std::set<size_t>> cands(raw.size());
    for (size_t i = 0; i < readings.size(); ++i)
      for (auto& l : readings[i].links) {
        if (l.kind != "veth" || !l.link_netnsid) continue;
        std::set<size_t> c;
        auto [b, e] = ends.equal_range(std::pair(l.link, l.ifindex));
        for (auto it = b; it != e; ++it)
          if (it->second != i && raw[it->second] >= 0) c.insert(it->second);
        if (c.size() > 1) {
          cands[i].insert(c.begin(), c.end());
          again[i] = raw[i];
        }
      }
    (void)in_each_netns(again, opts.threads, [&](size_t i) {
      auto rt = Rtnl::open();
      if (!rt) return;
      std::vector<Rtnl::NsidQuery> q;
      std::vector<size_t> of;
      for (size_t k : cands[i]) {
        q.push_back({0, raw[k]});
        of.push_back(k);
      }
      if (auto ids = rt->nsids(q))
        for (size_t k = 0; k < ids->size(); ++k)
          if ((*ids)[k]) readings[i].nsids[*(*ids)[k]] = readings[of[k]].id;
    });
  }

  // Without the kernel walk, veths whose far end is in a namespace no holder shows are read
  // from their own side: one extra visit of each such namespace.
  if (scan.source != "bpf") {
    std::set<std::pair<int, int>> ends;
    for (auto& r : readings)
      for (auto& l : r.links)
        if (l.kind == "veth" && l.link_netnsid) ends.insert({l.ifindex, l.link});
    std::vector<int> again(raw.size(), -1);
    std::vector<std::vector<const LinkInfo*>> lonely(raw.size());
    for (size_t i = 0; i < readings.size(); ++i)
      for (auto& l : readings[i].links)
        if (l.kind == "veth" && l.link_netnsid && !ends.count({l.link, l.ifindex})) {
          lonely[i].push_back(&l);
          again[i] = raw[i];
        }
    std::vector<std::vector<NsReading>> found(raw.size());
    (void)in_each_netns(again, opts.threads, [&](size_t i) {
      auto rt = Rtnl::open();
      if (!rt) return;
      std::set<int32_t> seen;
      for (auto* l : lonely[i]) {
        if (!seen.insert(*l->link_netnsid).second) continue;
        NsReading x;
        x.id = fmt::format("nsid{}@{}", *l->link_netnsid, readings[i].id);
        x.read_via = fmt::format("nsid {} of {}", *l->link_netnsid, readings[i].id);
        if (auto xl = rt->links_in(*l->link_netnsid, false)) {
          x.links = std::move(xl.value());
          x.read = true;
        } else {
          x.error = xl.error().message;
        }
        if (auto a = rt->addresses_in(*l->link_netnsid)) x.addrs = std::move(a.value());
        found[i].push_back(std::move(x));
      }
    });
    for (size_t i = 0; i < found.size(); ++i)
      for (auto& x : found[i]) {
        // The far namespace's own veth ends point back here: it numbers us by some nsid we
        // cannot learn without an fd, so those ends are matched by index pairs.
        readings[i].nsids.try_emplace(std::stoi(x.id.substr(4)), x.id);
        readings.push_back(std::move(x));
      }
  }

  TopoModel m = assemble_topo(scan, std::move(readings), std::move(owners));
  for (auto& n : m.nodes)
    if (n.gone) m.notes.push_back(fmt::format("network namespace {} went away while topo ran", n.ns.inode));
  return m;
}

}  // namespace nscope
