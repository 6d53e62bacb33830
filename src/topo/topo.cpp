#include "topo/topo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <ranges>
#include <unordered_map>

#include <fmt/format.h>

#include "discover/netns.h"
#include "discover/nsref.h"
#include "discover/scan.h"
#include "netlink/rtnl.h"
#include "topo/ns_reader.h"
#include "topo/tun.h"

namespace nscope {

std::string node_id(uint64_t inode) { return std::to_string(inode); }

std::string_view lower_edge_kind(std::string_view device_kind) {
  for (std::string_view k : {"vlan", "macvlan", "macvtap", "ipvlan", "ipvtap", "vxlan"})
    if (k == device_kind) return k;
  return "link";
}

namespace {

struct Key {
  std::string node;
  int ifindex;
  bool operator<(const Key& o) const { return std::tie(node, ifindex) < std::tie(o.node, o.ifindex); }
};

// assemble_topo, step by step: nodes first, then veth pairs (the kernel walk's, same-namespace
// ones, then those matched by index pairs), lower devices, and tun/tap owners.
class Assembler {
 public:
  Assembler(const ScanResult& scan, std::vector<NsReading>& readings, std::vector<TunOwner> tun_owners)
      : readings_(readings) {
    m_.skipped = scan.skipped;
    m_.notes = scan.notes;
    m_.source = scan.source;
    m_.tun_owners = std::move(tun_owners);
    for (auto& n : scan.namespaces)
      if (n.type == NsType::net) nets_.push_back(&n);
    readings_.resize(std::max(readings_.size(), nets_.size()));
  }

  TopoModel run() {
    add_nodes();
    learn_kernel_peers();
    add_veth_edges();
    for (size_t i = 0; i < readings_.size(); ++i) add_lower_edges(i);
    add_tun_edges();
    return std::move(m_);
  }

 private:
  const std::string& id_of(size_t i) const { return readings_[i].id; }
  // Reading i's links, which add_nodes moved into node i (one node per reading, in order).
  auto links_of(size_t i) const {
    return m_.nodes[i].ifaces | std::views::transform([](const TopoIface& f) -> const LinkInfo& { return f.link; });
  }

  void add_nodes() {
    m_.nodes.reserve(readings_.size());
    iface_at_.reserve(readings_.size());
    for (size_t i = 0; i < readings_.size(); ++i) {
      NsReading& r = readings_[i];
      TopoNode node;
      if (i < nets_.size()) {
        node.ns = *nets_[i];
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
      // Addresses by interface, and interfaces by ifindex: the host of 10,000 veths has
      // 10,000 interfaces, each looked up for its edges.
      std::unordered_map<int, std::vector<std::string>> addrs;
      for (auto& a : r.addrs) addrs[a.ifindex].push_back(a.address + "/" + std::to_string(a.prefixlen));
      auto& at = iface_at_.emplace_back();
      for (auto& l : r.links) {
        at.emplace(l.ifindex, node.ifaces.size());
        auto it = addrs.find(l.ifindex);
        node.ifaces.push_back({std::move(l), it == addrs.end() ? std::vector<std::string>{} : std::move(it->second)});
      }
      std::vector<LinkInfo>().swap(r.links);  // moved into the node: no second copy
      std::vector<AddrInfo>().swap(r.addrs);
      node_of_[r.id] = m_.nodes.size();
      m_.nodes.push_back(std::move(node));
    }
  }

  const TopoNode* node(const std::string& id) const {
    auto it = node_of_.find(id);
    return it == node_of_.end() ? nullptr : &m_.nodes[it->second];
  }
  const LinkInfo* find_iface(const std::string& id, int ifindex) const {
    auto it = node_of_.find(id);
    if (it == node_of_.end()) return nullptr;
    auto& at = iface_at_[it->second];
    auto f = at.find(ifindex);
    return f == at.end() ? nullptr : &m_.nodes[it->second].ifaces[f->second].link;
  }
  TopoEndpoint endpoint(const std::string& id, int ifindex) const {
    TopoEndpoint e;
    if (const TopoNode* n = node(id)) {
      e.node = id;
      e.netns = n->ns.inode;
    }
    e.ifindex = ifindex;
    if (auto* l = find_iface(id, ifindex)) e.ifname = l->name;
    return e;
  }
  bool hidden_node(const std::string& id) const {
    const TopoNode* n = node(id);
    return !n || n->hidden;
  }

  // 1. Veth pairs the kernel walk saw (authoritative): a peer holder on X says device
  //    h.ifindex in h.netns leads to h.peer_ifindex in X. What each namespace's nsids stand
  //    for is learnt from them: a veth in Y with link-netnsid N whose peer is in X means Y
  //    numbers X as N.
  void learn_kernel_peers() {
    for (auto* x : nets_)
      for (auto& h : x->holders)
        if (h.kind == HolderKind::peer && h.peer_ifindex) {
          Key a{node_id(h.netns), h.ifindex}, b{node_id(x->inode), h.peer_ifindex};
          peer_[a] = b;
          peer_[b] = a;
        }
    for (size_t i = 0; i < readings_.size(); ++i)
      for (const LinkInfo& l : links_of(i))
        if (l.kind == "veth" && l.link_netnsid) {
          auto it = peer_.find({id_of(i), l.ifindex});
          if (it != peer_.end()) readings_[i].nsids.try_emplace(*l.link_netnsid, it->second.node);
        }
  }

  // 2. Same-namespace pairs and 3. pairs matched by indexes: the far end has ifindex l.link
  //    and its IFLA_LINK is our ifindex; the nsid, when already known, must agree.
  std::optional<Key> far_end(size_t i, const LinkInfo& l, const Key& me, std::string& note) {
    if (auto it = peer_.find(me); it != peer_.end()) return it->second;
    if (!l.link_netnsid) return l.link ? std::optional<Key>(Key{me.node, l.link}) : std::nullopt;
    std::vector<Key> cands;
    auto [b, e] = cross_.equal_range(std::pair(l.link, l.ifindex));
    for (auto it = b; it != e; ++it)
      if (it->second.node != me.node) cands.push_back(it->second);
    auto known = readings_[i].nsids.find(*l.link_netnsid);
    if (known != readings_[i].nsids.end())
      std::erase_if(cands, [&](const Key& k) { return k.node != known->second; });
    if (cands.size() > 1) note = fmt::format("{} namespaces could hold the peer; not resolved", cands.size());
    if (cands.size() != 1) return std::nullopt;
    readings_[i].nsids.try_emplace(*l.link_netnsid, cands.front().node);
    return cands.front();
  }

  void add_veth_edges() {
    for (size_t i = 0; i < readings_.size(); ++i)
      for (const LinkInfo& l : links_of(i))
        if (l.kind == "veth" && l.link_netnsid) cross_.emplace(std::pair(l.ifindex, l.link), Key{id_of(i), l.ifindex});
    std::set<std::pair<Key, Key>> done;
    for (size_t i = 0; i < readings_.size(); ++i)
      for (const LinkInfo& l : links_of(i)) {
        if (l.kind != "veth") continue;
        Key me{id_of(i), l.ifindex};
        std::string note;
        std::optional<Key> other = far_end(i, l, me, note);
        TopoEdge e;
        e.kind = "veth";
        e.from = endpoint(me.node, me.ifindex);
        if (!other) {
          // Nobody found: the far end is in a namespace nscope cannot see.
          e.to.ifindex = l.link;
          e.dangling = true;
          e.note = note.empty() ? fmt::format("peer ifindex {} in nsid {} (as {} numbers it): namespace not found",
                                              l.link, l.link_netnsid.value_or(-1), me.node)
                                : note;
          m_.edges.push_back(std::move(e));
          continue;
        }
        auto pair = std::minmax(me, *other);
        if (!done.insert({pair.first, pair.second}).second) continue;
        e.to = endpoint(other->node, other->ifindex);
        e.dangling = other->node != me.node && (hidden_node(other->node) || hidden_node(me.node));
        if (e.dangling) e.note = "the peer's namespace has no holder but this veth";
        m_.edges.push_back(std::move(e));
      }
  }

  // 4. Masters, lower devices, vxlan underlays.
  void add_lower_edges(size_t i) {
    const std::string& me = id_of(i);
    auto far_node = [&](const LinkInfo& l) -> std::optional<std::string> {
      if (!l.link_netnsid) return me;
      auto it = readings_[i].nsids.find(*l.link_netnsid);
      if (it == readings_[i].nsids.end()) return std::nullopt;
      return it->second;
    };
    for (const LinkInfo& l : links_of(i)) {
      if (l.master) {
        TopoEdge e;
        e.kind = "master";
        e.from = endpoint(me, l.ifindex);
        e.to = endpoint(me, l.master);
        m_.edges.push_back(std::move(e));
      }
      if (l.kind != "veth" && l.link && l.link != l.ifindex) {
        TopoEdge e;
        e.kind = lower_edge_kind(l.display_kind());
        e.from = endpoint(me, l.ifindex);
        if (auto far = far_node(l)) {
          e.to = endpoint(*far, l.link);
        } else {
          e.to.ifindex = l.link;
          e.note = fmt::format("lower device in nsid {}: namespace not resolved", *l.link_netnsid);
        }
        m_.edges.push_back(std::move(e));
      }
      if (l.vxlan && l.vxlan->link) {
        TopoEdge e;
        e.kind = l.kind == "geneve" ? "geneve" : "vxlan";
        e.from = endpoint(me, l.ifindex);
        if (auto far = far_node(l)) e.to = endpoint(*far, l.vxlan->link);
        else e.to.ifindex = l.vxlan->link;
        if (!l.vxlan->remote.empty()) e.note = (l.vxlan->group ? "group " : "remote ") + l.vxlan->remote;
        m_.edges.push_back(std::move(e));
      }
    }
  }

  // 5. tun/tap devices and the processes holding them.
  void add_tun_edges() {
    for (auto& o : m_.tun_owners) {
      std::string id;
      if (o.netns) {
        id = node_id(o.netns);
      } else {
        // Without the device's namespace, a unique tun of that name will do.
        std::vector<std::string> hits;
        for (size_t i = 0; i < readings_.size(); ++i)
          for (const LinkInfo& l : links_of(i))
            if (l.kind == "tun" && l.name == o.ifname) hits.push_back(id_of(i));
        if (hits.size() != 1) continue;
        id = hits.front();
      }
      const LinkInfo* dev = nullptr;
      if (const TopoNode* n = node(id))
        for (auto& f : n->ifaces)
          if (f.link.name == o.ifname) dev = &f.link;
      if (!dev) continue;
      TopoEdge e;
      e.kind = "tun";
      e.from = endpoint(id, dev->ifindex);
      e.owner_pid = o.pid;
      e.note = fmt::format("held by pid {} ({}) fd {}", o.pid, o.command, o.fd);
      m_.edges.push_back(std::move(e));
    }
  }

  std::vector<NsReading>& readings_;
  std::vector<const Namespace*> nets_;
  TopoModel m_;
  std::map<std::string, size_t> node_of_;        // node id -> index into m_.nodes
  std::vector<std::unordered_map<int, size_t>> iface_at_;  // per node: ifindex -> its ifaces
  std::map<Key, Key> peer_;                       // the kernel walk's veth pairs
  std::multimap<std::pair<int, int>, Key> cross_;  // (ifindex, IFLA_LINK) -> veth end
};

}  // namespace

TopoModel assemble_topo(const ScanResult& scan, std::vector<NsReading> readings,
                        std::vector<TunOwner> tun_owners) {
  return Assembler(scan, readings, std::move(tun_owners)).run();
}

namespace {

// build_topo, step by step: open every namespace that has a holder, read each (and the
// hidden ones through a veth into them), then, without the kernel walk, settle what index
// pairs leave open.
class Gatherer {
 public:
  explicit Gatherer(const TopoOptions& opts) : opts_(opts), on_(scan(opts)) {
    readings_.resize(nets_.size());
  }

  TopoModel run() {
    open_all();
    plan_hidden_reads();
    read_all();
    if (scan_.source != "bpf") {
      match_ambiguous_ends();
      read_lonely_ends();
    }
    // tun/tap owners, only when there is a tun device at all.
    std::vector<TunOwner> owners;
    bool any_tun = false;
    for (auto& r : readings_)
      for (auto& l : r.links) any_tun |= l.kind == "tun";
    if (any_tun) owners = find_tun_owners();
    TopoModel m = assemble_topo(scan_, std::move(readings_), std::move(owners));
    for (auto& n : m.nodes)
      if (n.gone) m.notes.push_back(fmt::format("network namespace {} went away while topo ran", n.ns.inode));
    return m;
  }

 private:
  static ScanResult scan(const TopoOptions& opts) {
    ScanOptions so;
    so.types = {NsType::net};
    so.bpf = opts.bpf;
    return scan_namespaces(so);
  }

  // Every namespace that has a holder we can open was opened (OpenNets); its reading says
  // which could not be.
  void open_all() {
    for (size_t i = 0; i < nets_.size(); ++i) {
      readings_[i].id = node_id(nets_[i]->inode);
      readings_[i].gone = on_.gone[i];  // its holders went away since the scan
      readings_[i].error = on_.error[i];
    }
  }

  // Namespaces with no fd are read from a namespace that has a veth into them, by nsid.
  void plan_hidden_reads() {
    on_.plan_hidden_reads([](size_t) { return true; });
  }

  // Inside namespace i: its links and addresses, the hidden namespaces planned through it,
  // and which namespaces its lower devices' nsids stand for.
  void read_one(size_t i) {
    NsReading& r = readings_[i];
    auto rt = Rtnl::open();
    if (!rt) {
      r.error = rt.error().message;
      return;
    }
    // The namespace topo runs in (the host's, where veths gather by the thousand) is read
    // with what the kernel walk saw of it.
    NsParts parts;
    if (scan_.own_net && scan_.own_net->netns == nets_[i]->inode) parts.walked = &*scan_.own_net;
    NsContents c = read_netns_here(*rt, parts);
    if (!c.links) {
      r.error = c.links.error().message;
      return;
    }
    r.links = std::move(c.links.value());
    r.read = true;
    if (c.addrs) r.addrs = std::move(c.addrs.value());
    for (auto& [ifindex, x] : remote_[i]) {
      auto it = std::find_if(r.links.begin(), r.links.end(), [&](const LinkInfo& l) { return l.ifindex == ifindex; });
      if (it == r.links.end() || !it->link_netnsid) continue;
      int32_t nsid = *it->link_netnsid;
      if (auto read = read_by_nsid(*rt, nsid, r.id, readings_[x]); !read)
        readings_[x].error = fmt::format("cannot read its links through nsid {}: {}", nsid, read.error().message);
    }
    // Lower devices in other namespaces (a macvlan whose parent stayed on the host): ask
    // which of the namespaces we hold has each nsid.
    std::set<int32_t> want;
    for (auto& l : r.links)
      if (l.link_netnsid && l.kind != "veth") want.insert(*l.link_netnsid);
    for (auto& [nsid, k] : match_nsids(*rt, raw_, want)) r.nsids[nsid] = readings_[k].id;
  }

  // Reads namespace x from the one the calling thread is in, which numbers it `nsid`.
  static Result<void> read_by_nsid(Rtnl& rt, int32_t nsid, const std::string& from, NsReading& x) {
    NsContents c = read_netns_by_nsid(rt, nsid, false);
    if (!c.links) return c.links.error();
    x.links = std::move(c.links.value());
    if (c.addrs) x.addrs = std::move(c.addrs.value());
    x.read = true;
    x.read_via = fmt::format("nsid {} of {}", nsid, from);
    return {};
  }

  void read_all() {
    std::vector<Result<void>> entered = in_each_netns(raw_, opts_.threads, [&](size_t i) { read_one(i); });
    for (size_t i = 0; i < entered.size(); ++i)
      if (!entered[i] && raw_[i] >= 0) {
        if (entered[i].error().code == ENOENT || entered[i].error().code == EINVAL) readings_[i].gone = true;
        else readings_[i].error = entered[i].error().message;
      }
    for (size_t x = 0; x < nets_.size(); ++x)
      if (raw_[x] < 0 && !readings_[x].read && !readings_[x].gone && readings_[x].error.empty())
        readings_[x].error = "no holder to open, and no readable namespace has a veth into it";
  }

  // Without the kernel walk, ends are matched by index pairs: A (ifindex a, IFLA_LINK b) and
  // B (ifindex b, IFLA_LINK a). Small indexes repeat across namespaces (every container's
  // eth0@if2 ...), so where several namespaces could hold the far end, the near namespace is
  // asked which of them it numbers with the veth's link-netnsid.
  void match_ambiguous_ends() {
    std::multimap<std::pair<int, int>, size_t> ends;  // (ifindex, IFLA_LINK) -> reading
    for (size_t i = 0; i < readings_.size(); ++i)
      for (auto& l : readings_[i].links)
        if (l.kind == "veth" && l.link_netnsid) ends.emplace(std::pair(l.ifindex, l.link), i);
    std::vector<int> again(raw_.size(), -1);
    std::vector<std::vector<int>> cands(raw_.size());  // per reading: fds of the candidates
    std::vector<std::set<int32_t>> want(raw_.size());
    for (size_t i = 0; i < readings_.size(); ++i)
      for (auto& l : readings_[i].links) {
        if (l.kind != "veth" || !l.link_netnsid) continue;
        std::set<size_t> c;
        auto [b, e] = ends.equal_range(std::pair(l.link, l.ifindex));
        for (auto it = b; it != e; ++it)
          if (it->second != i && raw_[it->second] >= 0) c.insert(it->second);
        if (c.size() <= 1) continue;
        if (cands[i].empty()) cands[i].assign(raw_.size(), -1);
        for (size_t k : c) cands[i][k] = raw_[k];
        want[i].insert(*l.link_netnsid);
        again[i] = raw_[i];
      }
    (void)in_each_netns(again, opts_.threads, [&](size_t i) {
      auto rt = Rtnl::open();
      if (!rt) return;
      for (auto& [nsid, k] : match_nsids(*rt, cands[i], want[i])) readings_[i].nsids[nsid] = readings_[k].id;
    });
  }

  // Without the kernel walk, veths whose far end is in a namespace no holder shows are read
  // from their own side: one extra visit of each such namespace.
  void read_lonely_ends() {
    std::set<std::pair<int, int>> ends;
    for (auto& r : readings_)
      for (auto& l : r.links)
        if (l.kind == "veth" && l.link_netnsid) ends.insert({l.ifindex, l.link});
    std::vector<int> again(raw_.size(), -1);
    std::vector<std::vector<const LinkInfo*>> lonely(raw_.size());
    for (size_t i = 0; i < readings_.size(); ++i)
      for (auto& l : readings_[i].links)
        if (l.kind == "veth" && l.link_netnsid && !ends.count({l.link, l.ifindex})) {
          lonely[i].push_back(&l);
          again[i] = raw_[i];
        }
    std::vector<std::vector<NsReading>> found(raw_.size());
    (void)in_each_netns(again, opts_.threads, [&](size_t i) {
      auto rt = Rtnl::open();
      if (!rt) return;
      std::set<int32_t> seen;
      for (auto* l : lonely[i]) {
        if (!seen.insert(*l->link_netnsid).second) continue;
        NsReading x;
        x.id = fmt::format("nsid{}@{}", *l->link_netnsid, readings_[i].id);
        if (auto read = read_by_nsid(*rt, *l->link_netnsid, readings_[i].id, x); !read) {
          x.error = read.error().message;
          x.read_via = fmt::format("nsid {} of {}", *l->link_netnsid, readings_[i].id);
        }
        found[i].push_back(std::move(x));
      }
    });
    for (size_t i = 0; i < found.size(); ++i)
      for (auto& x : found[i]) {
        // The far namespace's own veth ends point back here: it numbers us by some nsid we
        // cannot learn without an fd, so those ends are matched by index pairs.
        readings_[i].nsids.try_emplace(std::stoi(x.id.substr(4)), x.id);
        readings_.push_back(std::move(x));
      }
  }

  const TopoOptions& opts_;
  OpenNets on_;
  const ScanResult& scan_ = on_.scan;
  const std::vector<const Namespace*>& nets_ = on_.nets;
  const std::vector<int>& raw_ = on_.raw;  // fds as ints, -1 where none
  std::vector<NsReading> readings_;
  const std::vector<std::vector<std::pair<int, size_t>>>& remote_ = on_.through;  // (ifindex, hidden x)
};

}  // namespace

TopoModel build_topo(const TopoOptions& opts) { return Gatherer(opts).run(); }

}  // namespace nscope
