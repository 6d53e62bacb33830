#include "topo/show.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "discover/container.h"
#include "discover/netns.h"
#include "discover/pidwalk.h"
#include "discover/scan.h"
#include "netlink/firewall.h"
#include "netlink/rtnl.h"
#include "netlink/sockdiag.h"
#include "topo/ns_reader.h"
#include "topo/tun.h"
#include "util/strings.h"

namespace nscope {

std::vector<ShowIface> assemble_interfaces(const std::vector<LinkInfo>& links,
                                           const std::vector<AddrInfo>& addrs,
                                           const std::map<std::pair<int32_t, int>, FarLink>& far) {
  std::map<int, const LinkInfo*> by_index;
  for (auto& l : links) by_index[l.ifindex] = &l;
  auto name_of = [&](int ifindex) -> std::string {
    auto it = by_index.find(ifindex);
    return it == by_index.end() ? std::string() : it->second->name;
  };
  // The end a link leads to: here when it has no link-netnsid, else what `far` learnt.
  auto end_of = [&](const LinkInfo& l, int ifindex) {
    LinkEnd e;
    e.ifindex = ifindex;
    if (!l.link_netnsid) {
      e.same_ns = true;
      if (auto it = by_index.find(ifindex); it != by_index.end()) {
        e.ifname = it->second->name;
        e.kind = it->second->display_kind();
        e.master = name_of(it->second->master);
      }
      return e;
    }
    e.same_ns = false;
    e.nsid = l.link_netnsid;
    if (auto it = far.find({*l.link_netnsid, ifindex}); it != far.end()) {
      e.ifname = it->second.link.name;
      e.kind = it->second.link.display_kind();
      e.master = it->second.master;
    }
    return e;
  };
  std::vector<ShowIface> out;
  for (auto& l : links) {
    ShowIface f;
    f.link = l;
    for (auto& a : addrs)
      if (a.ifindex == l.ifindex) f.addrs.push_back(a);
    f.master = name_of(l.master);
    for (auto& p : links)
      if (p.master == l.ifindex) f.ports.push_back(p.name);
    if (l.kind == "veth") {
      if (l.link) f.peer = end_of(l, l.link);
    } else if (l.link && l.link != l.ifindex) {
      f.parent = end_of(l, l.link);
    }
    if (l.vxlan && l.vxlan->link) f.underlay = end_of(l, l.vxlan->link);
    out.push_back(std::move(f));
  }
  return out;
}

namespace {

uint64_t inode_of_fd(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}
uint64_t inode_of(const char* path) {
  struct stat st {};
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

// The processes PidWalk found, with their command lines ("[comm]" for a kernel thread).
std::vector<ProcessRef> with_commands(const std::vector<int>& pids) {
  std::vector<ProcessRef> out;
  for (int pid : pids) {
    ProcessRef p{pid, {}};
    auto cmd = read_file(fmt::format("/proc/{}/cmdline", p.pid));
    p.command = cmd ? cmdline_to_string(*cmd) : std::string();
    if (p.command.empty())
      if (auto comm = read_file(fmt::format("/proc/{}/comm", p.pid))) p.command = "[" + std::string(trim(*comm)) + "]";
    out.push_back(std::move(p));
  }
  return out;
}

// A namespace a far end may live in, with what we know about it.
struct Candidate {
  Fd fd;
  uint64_t inode = 0;
  std::vector<std::string> names;
  std::string container;
  bool initial = false;
};

std::vector<int> fds_of(const std::vector<Candidate>& cands, size_t first) {
  std::vector<int> fds(cands.size(), -1);
  for (size_t k = first; k < cands.size(); ++k) fds[k] = cands[k].fd ? cands[k].fd.get() : -1;
  return fds;
}

// Far ends of every link with a link-netnsid, read by nsid from inside.
void read_far_ends(Rtnl& rt, const std::vector<LinkInfo>& links, std::map<std::pair<int32_t, int>, FarLink>& far) {
  std::map<std::pair<int32_t, int>, std::optional<LinkInfo>> cache;
  auto get = [&](int32_t nsid, int ifindex) -> const std::optional<LinkInfo>& {
    auto [it, fresh] = cache.try_emplace({nsid, ifindex});
    if (fresh)
      if (auto l = rt.link(ifindex, nsid)) it->second = std::move(l.value());
    return it->second;
  };
  for (auto& l : links) {
    if (!l.link_netnsid) continue;
    std::vector<int> idx;
    if (l.link) idx.push_back(l.link);
    if (l.vxlan && l.vxlan->link) idx.push_back(l.vxlan->link);
    for (int i : idx) {
      const auto& fl = get(*l.link_netnsid, i);
      if (!fl) continue;
      FarLink f;
      f.link = *fl;
      if (fl->master)
        if (const auto& m = get(*l.link_netnsid, fl->master)) f.master = m->name;
      far[{*l.link_netnsid, i}] = std::move(f);
    }
  }
}

std::set<int32_t> wanted_nsids(const std::vector<LinkInfo>& links, const std::map<int32_t, size_t>& have) {
  std::set<int32_t> want;
  for (auto& l : links)
    if (l.link_netnsid && !have.count(*l.link_netnsid)) want.insert(*l.link_netnsid);
  return want;
}

// Candidates: every `ip netns` name of this mount namespace.
void add_named_candidates(std::vector<Candidate>& cands) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir("/run/netns"), closedir);
  if (!d) return;
  std::map<uint64_t, size_t> seen;
  for (size_t k = 0; k < cands.size(); ++k) seen[cands[k].inode] = k;
  while (dirent* e = readdir(d.get())) {
    if (e->d_name[0] == '.') continue;
    Fd fd(openat(dirfd(d.get()), e->d_name, O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    uint64_t ino = inode_of_fd(fd.get());
    if (auto it = seen.find(ino); it != seen.end()) {
      cands[it->second].names.push_back(e->d_name);
      continue;
    }
    Candidate c;
    c.fd = std::move(fd);
    c.inode = ino;
    c.names.push_back(e->d_name);
    if (auto ct = ContainerResolver::from_netns_name(e->d_name)) c.container = container_label(*ct);
    seen[ino] = cands.size();
    cands.push_back(std::move(c));
  }
}

void place_end(LinkEnd& e, const Candidate& c) {
  e.netns = c.inode;
  e.netns_names = c.names;
  e.container = c.container;
  e.initial = c.initial;
}

// One `show`, phase by phase: resolve the reference, read the namespace (directly, or through
// a veth peer when no fd opens it), say what it is, place the far ends of its links, and
// sort what was read into the model's sections.
class ShowBuilder {
 public:
  explicit ShowBuilder(const ShowOptions& opts) : opts_(opts) {}

  Result<ShowModel> build(std::string_view text) {
    auto ref = parse_nsref(text);
    if (!ref) return ref.error();
    if (auto r = resolve(*ref); !r) return r.error();
    add_own_candidate();
    if (auto r = ns_.fd ? read_direct() : read_through_peer(); !r) return r.error();
    if (!in_.links) return in_.links.error();
    fill_identity();
    place_far_ends();
    add_tun_owners();
    fill_sections();
    return std::move(m_);
  }

 private:
  // The full scan, run at most once and only when a phase needs it.
  const ScanResult& scan() {
    if (!scan_) {
      ScanOptions so;
      so.types = {NsType::net};
      so.bpf = opts_.bpf;
      scan_ = scan_namespaces(so);
    }
    return *scan_;
  }

  // An `ip netns` name, pid or path opens the namespace at once; the rest need the scan.
  Result<void> resolve(const NsRef& ref) {
    auto r = resolve_nsref_lazily(ref, [this]() -> const ScanResult& { return scan(); });
    if (!r) return r.error();
    ns_ = std::move(r.value());
    m_.ns = ns_.ns;
    m_.opened_from = ns_.opened_from;
    return {};
  }

  // The first candidate for far ends: this process's own namespace (where the other end of
  // a container's veth usually is).
  void add_own_candidate() {
    Candidate self;
    self.fd = Fd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!self.fd) return;
    self.inode = inode_of_fd(self.fd.get());
    self.initial = self.inode == initial_ino_;
    cands_.push_back(std::move(self));
  }

  // A namespace with no fd (found only as a veth peer) is read from the far side by nsid.
  Result<void> read_through_peer() {
    const ScanResult& s = scan();
    std::string via;
    for (const PeerWay& w : peer_ways_into(ns_.ns)) {
      const Namespace* y = nullptr;
      for (auto& n : s.namespaces)
        if (n.type == NsType::net && n.inode == w.netns) y = &n;
      if (!y) continue;
      auto yfd = open_netns(*y);
      if (!yfd) continue;
      (void)visit_netns(yfd->get(), [&] {
        auto rt = Rtnl::open();
        if (!rt) return;
        auto l = rt->link(w.ifindex);
        if (!l || !*l || !(*l)->link_netnsid) return;
        int32_t nsid = *(*l)->link_netnsid;
        in_ = read_netns_by_nsid(*rt, nsid, true);
        via = fmt::format("nsid {} of network namespace {} (through {})", nsid, y->inode, (*l)->name);
      });
      if (in_.links) break;
    }
    if (!in_.links) {
      // Most often its holder went between the scan and the open (a container stopped): scan
      // again, for up to a second while the kernel finishes it (in an emulated guest that took
      // longer than 0.4 s). Still there and open now: read it. Gone: say so. Still there and
      // never open: nothing this process can open holds it.
      for (int tries = 0; tries < 10; ++tries) {
        if (tries) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ScanOptions so;
        so.types = {NsType::net};
        so.bpf = opts_.bpf;
        ScanResult again = scan_namespaces(so);
        auto it = std::find_if(again.namespaces.begin(), again.namespaces.end(), [&](const Namespace& n) {
          return n.type == NsType::net && n.inode == ns_.ns.inode &&
                 (!n.cookie || !ns_.ns.cookie || n.cookie == ns_.ns.cookie);
        });
        if (it == again.namespaces.end())
          return Error{ErrorKind::not_found, ENOENT,
                       fmt::format("network namespace {} is gone: it ended while show read it", ns_.ns.inode)};
        if (auto fd = open_netns(*it)) {
          ns_.fd = std::move(*fd);
          return read_direct();
        }
      }
      return Error{ErrorKind::not_found, ENOENT, fmt::format("network namespace {} cannot be opened and no veth leads into it", ns_.ns.inode)};
    }
    m_.notes.push_back("no fd can be opened for this namespace: interfaces and addresses were read through " +
                       via + "; routes, sockets and firewall need an fd");
    return {};
  }

  // Inside the namespace: every section, the far ends of its links, and which candidates
  // its nsids stand for (this process's namespace first, then every `ip netns` name).
  void read_inside() {
    auto rt = Rtnl::open();
    if (!rt) {
      in_.links = rt.error();
      return;
    }
    in_ = read_netns_here(*rt, NsParts::all());
    if (!in_.links) return;
    read_far_ends(*rt, *in_.links, far_);
    auto want = wanted_nsids(*in_.links, nsid_to_candidate_);
    if (want.empty()) return;
    nsid_to_candidate_.merge(match_nsids(*rt, fds_of(cands_, 0), want));
    want = wanted_nsids(*in_.links, nsid_to_candidate_);
    if (want.empty()) return;
    size_t first = cands_.size();
    add_named_candidates(cands_);
    nsid_to_candidate_.merge(match_nsids(*rt, fds_of(cands_, first), want));
  }

  Result<void> read_direct() {
    // The nsid this process's namespace gives the shown one (as `list` shows it).
    if (!ns_.from_scan)
      if (auto rt = Rtnl::open())
        if (auto ids = rt->nsids({{0, ns_.fd.get()}}); ids && !ids->empty()) m_.ns.nsid = (*ids)[0];
    // Processes in the namespace, from /proc. On a busy host the walk is most of the time:
    // a second thread takes it on while this one reads the namespace; on a quiet one,
    // starting a thread costs more than the walk.
    bool walk_procs = !ns_.from_scan;
    PidWalk walk(ns_.ns.inode);
    std::jthread more;  // joined also when the visit throws
    if (walk_procs) {
      bool inside = inode_of("/proc/self/ns/net") == ns_.ns.inode;
      walk.list(initial_ino_ != 0 && ns_.ns.inode != initial_ino_, inside ? 0 : getpid());
      if (walk.size() > 256) more = std::jthread([&] { walk.help(); });
    }
    // The main thread enters the namespace only for this visit and always comes back.
    auto entered = visit_netns(ns_.fd.get(), [&] { read_inside(); });
    if (walk_procs) walk.help();  // what the second thread has not taken, or all of it
    if (more.joinable()) more.join();
    if (!entered) return Error::sys(entered.error().code, fmt::format("cannot enter network namespace {}", ns_.ns.inode));
    if (walk_procs) {
      m_.processes = with_commands(walk.pids());
      m_.ns.processes = static_cast<uint32_t>(m_.processes.size());
      if (!m_.processes.empty()) {
        m_.ns.pid = m_.processes.front().pid;
        m_.ns.command = m_.processes.front().command;
      }
    }
    return {};
  }

  // The namespace itself, where the direct path left gaps.
  void fill_identity() {
    if (in_.cookie) m_.ns.cookie = *in_.cookie;
    if (!ns_.from_scan) {
      if (m_.ns.names.empty()) m_.ns.names = netns_names(m_.ns.inode);
      m_.ns.initial = m_.ns.inode == initial_ino_;
      for (auto& name : m_.ns.names)
        if (!m_.ns.container) m_.ns.container = ContainerResolver::from_netns_name(name);
      if (!m_.ns.container && m_.ns.pid && !m_.ns.initial) {
        ContainerResolver cr("/");
        if (auto cg = read_file(fmt::format("/proc/{}/cgroup", m_.ns.pid))) m_.ns.container = cr.identify(m_.ns.pid, *cg);
      }
    } else {
      for (auto& h : m_.ns.holders)
        if (h.kind == HolderKind::process && h.via.empty()) m_.processes.push_back({h.pid, h.command});
      std::sort(m_.processes.begin(), m_.processes.end(), [](auto& a, auto& b) { return a.pid < b.pid; });
      for (auto& p : m_.processes)
        if (p.pid == m_.ns.pid && !m_.ns.command.empty()) p.command = m_.ns.command;
    }
    for (auto& c : cands_)
      if (c.inode == m_.ns.inode) c.names = m_.ns.names;
  }

  // Interfaces and where each leads: by the nsids matched inside, else by the scan's veth
  // peers (far ends in namespaces neither here nor named).
  void place_far_ends() {
    static const std::vector<AddrInfo> no_addrs;
    m_.interfaces = assemble_interfaces(*in_.links, in_.addrs ? *in_.addrs : no_addrs, far_);
    bool unplaced = false;
    for (auto& f : m_.interfaces)
      for (auto* e : {&f.peer, &f.parent, &f.underlay}) {
        if (!*e) continue;
        if ((*e)->same_ns) {
          (*e)->netns = m_.ns.inode;
          continue;
        }
        if (auto it = nsid_to_candidate_.find(*(*e)->nsid); it != nsid_to_candidate_.end())
          place_end(**e, cands_[it->second]);
        if (!(*e)->netns) unplaced = true;
      }
    if (unplaced) place_through_scan();
  }

  // The scan's answer for ends no candidate took: the veth peers the kernel walk saw, then
  // (without it, or for lower devices) the nsids the namespace gives every namespace the
  // scan can open, as topo asks them.
  void place_through_scan() {
    const ScanResult& s = scan();
    auto describe = [&](uint64_t ino, LinkEnd& e) {
      e.netns = ino;
      for (auto& n : s.namespaces) {
        if (n.type != NsType::net || n.inode != ino) continue;
        e.netns_names = n.names;
        if (n.container) e.container = container_label(*n.container);
        e.initial = n.initial;
        e.hidden = is_hidden(n);
      }
    };
    const Namespace* me = nullptr;
    for (auto& n : s.namespaces)
      if (n.type == NsType::net && n.inode == m_.ns.inode) me = &n;
    for (auto& f : m_.interfaces) {
      if (!me || !f.peer || f.peer->same_ns || f.peer->netns) continue;
      for (auto& h : me->holders)
        if (h.kind == HolderKind::peer && h.peer_ifindex == f.link.ifindex) {
          describe(h.netns, *f.peer);
          if (f.peer->ifname.empty()) f.peer->ifname = h.ifname;
        }
    }
    for (auto& [nsid, ino] : nsids_among_scan(s))
      for (auto& f : m_.interfaces)
        for (auto* e : {&f.peer, &f.parent, &f.underlay})
          if (*e && !(*e)->same_ns && !(*e)->netns && (*e)->nsid == nsid) describe(ino, **e);
  }

  // nsid -> inode, for the nsids of ends still unplaced, asked from inside the namespace.
  std::map<int32_t, uint64_t> nsids_among_scan(const ScanResult& s) {
    std::map<int32_t, uint64_t> out;
    std::set<int32_t> want;
    for (auto& f : m_.interfaces)
      for (auto* e : {&f.peer, &f.parent, &f.underlay})
        if (*e && !(*e)->same_ns && !(*e)->netns && (*e)->nsid) want.insert(*(*e)->nsid);
    if (want.empty() || !ns_.fd) return out;
    // A batch of fds at a time: a host may hold more namespaces than a process may open files.
    constexpr size_t kBatch = 256;
    std::vector<const Namespace*> nets;
    for (auto& n : s.namespaces)
      if (n.type == NsType::net && n.inode != m_.ns.inode && !is_hidden(n)) nets.push_back(&n);
    for (size_t start = 0; start < nets.size() && out.size() < want.size(); start += kBatch) {
      std::vector<Fd> fds;
      std::vector<int> raw;
      std::vector<uint64_t> inodes;
      for (size_t i = start; i < std::min(nets.size(), start + kBatch); ++i) {
        auto fd = open_netns(*nets[i]);
        if (!fd) continue;
        raw.push_back(fd->get());
        inodes.push_back(nets[i]->inode);
        fds.push_back(std::move(fd.value()));
      }
      (void)visit_netns(ns_.fd.get(), [&] {
        if (auto rt = Rtnl::open())
          for (auto& [nsid, k] : match_nsids(*rt, raw, want)) out.try_emplace(nsid, inodes[k]);
      });
    }
    return out;
  }

  // tun/tap owners, only when there is a tun device here.
  void add_tun_owners() {
    if (std::none_of(m_.interfaces.begin(), m_.interfaces.end(), [](auto& f) { return f.link.kind == "tun"; })) return;
    for (auto& o : find_tun_owners())
      for (auto& f : m_.interfaces)
        if (f.link.kind == "tun" && f.link.name == o.ifname && (o.netns == 0 || o.netns == m_.ns.inode))
          f.tun_owners.push_back(o);
  }

  // Routes, rules and the rest; a section that could not be read says why (read through a
  // peer, only interfaces and addresses are known: the rest is unknown, not empty).
  void fill_sections() {
    if (!ns_.fd)
      for (const char* what : {"routes", "rules", "neighbours", "sockets"})
        m_.errors[what] = "no fd opens this namespace, and through a veth peer only interfaces and addresses can be read";
    if (in_.routes) {
      for (auto& r : *in_.routes) {
        if (r.table == RT_TABLE_MAIN) {
          m_.routes.push_back(r);
          if (r.dst_len == 0 && (r.type == "unicast" || r.type == "blackhole" || r.type == "unreachable" || r.type == "prohibit"))
            m_.default_routes.push_back(r);
        } else if (r.table != RT_TABLE_LOCAL) {
          ++m_.other_tables[rt_table_name(r.table)];
        }
      }
    } else if (ns_.fd) {
      m_.errors["routes"] = in_.routes.error().message;
    }
    if (in_.rules) {
      // IPv4 and IPv6 only: the multicast-routing families keep rule sets of their own.
      for (auto& r : *in_.rules)
        if (r.family == AF_INET || r.family == AF_INET6) m_.rules.push_back(r);
    } else if (ns_.fd) {
      m_.errors["rules"] = in_.rules.error().message;
    }
    if (in_.neigh) m_.neighbours = *in_.neigh;
    else if (ns_.fd) m_.errors["neighbours"] = in_.neigh.error().message;
    if (in_.sockets) m_.sockets = std::move(in_.sockets.value());
    else if (ns_.fd) m_.errors["sockets"] = in_.sockets.error().message;
    if (!in_.addrs) m_.errors["addresses"] = in_.addrs.error().message;
    m_.firewall = std::move(in_.firewall);
    if (scan_)
      for (auto& n : scan_->notes) m_.notes.push_back(n);
  }

  const ShowOptions& opts_;
  ShowModel m_;
  std::optional<ScanResult> scan_;
  ResolvedNs ns_;
  uint64_t initial_ino_ = initial_netns_inode();
  std::vector<Candidate> cands_;
  NsContents in_;
  std::map<std::pair<int32_t, int>, FarLink> far_;
  std::map<int32_t, size_t> nsid_to_candidate_;
};

}  // namespace

Result<ShowModel> build_show(std::string_view text, const ShowOptions& opts) { return ShowBuilder(opts).build(text); }

}  // namespace nscope
