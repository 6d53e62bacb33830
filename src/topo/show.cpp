#include "topo/show.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "discover/container.h"
#include "discover/netns.h"
#include "discover/scan.h"
#include "netlink/firewall.h"
#include "netlink/rtnl.h"
#include "netlink/sockdiag.h"
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

// Processes (thread-group leaders) whose network namespace is `inode`: what `ip netns pids`
// finds, from /proc directly. readlink of ns/net formats "net:[INODE]" without opening the
// namespace: the cheapest question /proc answers about it. Threads that call help() share the
// walk.
class PidWalk {
 public:
  explicit PidWalk(uint64_t inode) : want_(fmt::format("net:[{}]", inode)) {}

  // Lists /proc; then the walk is open to helpers. Kernel threads all live in the initial
  // network namespace: when looking for another one, kthreadd (pid 2) and its children (one
  // read of /proc/2/task/2/children) are left out, which is most of a quiet host's pids.
  // `self`: our own pid, left out unless we live in that namespace ourselves: the main thread
  // visits the namespace while a helper walks, and /proc/self/ns/net would then name it.
  void list(bool skip_kthreads, int self) {
    std::vector<int> kthreads;
    if (skip_kthreads)
      if (auto text = read_file("/proc/2/task/2/children")) {
        for (auto w : split(trim(*text), ' '))
          if (auto v = parse_u64(w)) kthreads.push_back(static_cast<int>(*v));
        kthreads.push_back(2);
        std::sort(kthreads.begin(), kthreads.end());
      }
    proc_.reset(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::unique_ptr<DIR, int (*)(DIR*)> d(proc_ ? fdopendir(::dup(proc_.get())) : nullptr, closedir);
    if (d)
      while (dirent* e = readdir(d.get()))
        if (e->d_name[0] >= '1' && e->d_name[0] <= '9') {
          int pid = std::atoi(e->d_name);
          if (pid != self && !std::binary_search(kthreads.begin(), kthreads.end(), pid))
            pids_.push_back(pid);
        }
    hit_ = std::make_unique<std::atomic<bool>[]>(pids_.size());
    listed_.store(true, std::memory_order_release);
  }
  // Checks pids until none are left; a helper that comes before list() does nothing.
  void help() {
    if (!listed_.load(std::memory_order_acquire)) return;
    char path[64], link[64];
    for (size_t i; (i = next_.fetch_add(1)) < pids_.size();) {
      snprintf(path, sizeof path, "%d/ns/net", pids_[i]);
      ssize_t n = readlinkat(proc_.get(), path, link, sizeof link);
      if (n == static_cast<ssize_t>(want_.size()) && std::memcmp(link, want_.data(), want_.size()) == 0)
        hit_[i].store(true, std::memory_order_relaxed);
    }
  }
  size_t size() const { return pids_.size(); }
  // After every helper is done.
  std::vector<ProcessRef> result() const {
    std::vector<ProcessRef> out;
    for (size_t i = 0; i < pids_.size(); ++i)
      if (hit_[i].load(std::memory_order_relaxed)) out.push_back({pids_[i], {}});
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.pid < b.pid; });
    for (auto& p : out) {
      auto cmd = read_file(fmt::format("/proc/{}/cmdline", p.pid));
      p.command = cmd ? cmdline_to_string(*cmd) : std::string();
      if (p.command.empty())
        if (auto comm = read_file(fmt::format("/proc/{}/comm", p.pid))) p.command = "[" + std::string(trim(*comm)) + "]";
    }
    return out;
  }

 private:
  std::string want_;
  Fd proc_;
  std::vector<int> pids_;
  std::unique_ptr<std::atomic<bool>[]> hit_;
  std::atomic<bool> listed_{false};
  std::atomic<size_t> next_{0};
};

// A namespace a far end may live in, with what we know about it.
struct Candidate {
  Fd fd;
  uint64_t inode = 0;
  std::vector<std::string> names;
  std::string container;
  bool initial = false;
  bool hidden = false;
};

// What the helper thread reads inside the namespace.
struct Inside {
  Result<std::vector<LinkInfo>> links = Error::msg("not read");
  Result<std::vector<AddrInfo>> addrs = Error::msg("not read");
  Result<std::vector<RouteInfo>> routes = Error::msg("not read");
  Result<std::vector<RuleInfo>> rules = Error::msg("not read");
  Result<NeighSummary> neigh = Error::msg("not read");
  Result<std::vector<SockCount>> sockets = Error::msg("not read");
  std::optional<Firewall> firewall;
  std::optional<uint64_t> cookie;
  std::map<std::pair<int32_t, int>, FarLink> far;
  std::map<int32_t, size_t> nsid_to_candidate;
};

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

// Which candidates the namespace we are in numbers by the nsids in `want`.
void match_nsids(Rtnl& rt, const std::vector<Candidate>& cands, size_t first, const std::set<int32_t>& want,
                 std::map<int32_t, size_t>& out) {
  std::vector<Rtnl::NsidQuery> q;
  std::vector<size_t> of;
  for (size_t k = first; k < cands.size(); ++k)
    if (cands[k].fd) {
      q.push_back({0, cands[k].fd.get()});
      of.push_back(k);
    }
  auto ids = rt.nsids(q);
  if (!ids) return;
  for (size_t k = 0; k < ids->size(); ++k)
    if ((*ids)[k] && want.count(*(*ids)[k])) out.try_emplace(*(*ids)[k], of[k]);
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
  e.hidden = c.hidden;
}

}  // namespace

Result<ShowModel> build_show(std::string_view text, const ShowOptions& opts) {
  auto ref = parse_nsref(text);
  if (!ref) return ref.error();

  ShowModel m;
  std::optional<ScanResult> scan;
  auto run_scan = [&]() -> const ScanResult& {
    if (!scan) {
      ScanOptions so;
      so.types = {NsType::net};
      so.bpf = opts.bpf;
      scan = scan_namespaces(so);
    }
    return *scan;
  };

  ResolvedNs ns;
  auto direct = resolve_nsref_direct(*ref);
  if (!direct && !(ref->kind == NsRefKind::pid && direct.error().code == EACCES)) return direct.error();
  if (direct && *direct) {
    ns = std::move(**direct);
  } else {
    auto r = resolve_nsref(*ref, run_scan());
    if (!r) return r.error();
    ns = std::move(r.value());
  }
  m.ns = ns.ns;
  m.opened_from = ns.opened_from;

  // Candidates for far ends: first this process's own namespace (where the other end of a
  // container's veth usually is).
  std::vector<Candidate> cands;
  uint64_t initial_ino = initial_netns_inode();
  {
    Candidate self;
    self.fd = Fd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (self.fd) {
      self.inode = inode_of_fd(self.fd.get());
      self.initial = self.inode == initial_ino;
      cands.push_back(std::move(self));
    }
  }

  Inside in;
  // A namespace with no fd (found only as a veth peer) is read from the far side by nsid.
  std::string via;
  if (!ns.fd) {
    const ScanResult& s = run_scan();
    for (auto& h : ns.ns.holders) {
      if (h.kind != HolderKind::peer) continue;
      const Namespace* y = nullptr;
      for (auto& n : s.namespaces)
        if (n.type == NsType::net && n.inode == h.netns) y = &n;
      if (!y) continue;
      auto yfd = open_netns(*y);
      if (!yfd) continue;
      (void)visit_netns(yfd->get(), [&] {
        auto rt = Rtnl::open();
        if (!rt) return;
        auto l = rt->link(h.ifindex);
        if (!l || !*l || !(*l)->link_netnsid) return;
        int32_t nsid = *(*l)->link_netnsid;
        in.links = rt->links_in(nsid, true);
        in.addrs = rt->addresses_in(nsid);
        via = fmt::format("nsid {} of network namespace {} (through {})", nsid, y->inode, (*l)->name);
      });
      if (in.links) break;
    }
    if (!in.links)
      return Error{ErrorKind::not_found, ENOENT, fmt::format("network namespace {} cannot be opened and no veth leads into it", ns.ns.inode)};
    m.notes.push_back("no fd can be opened for this namespace: interfaces and addresses were read through " +
                      via + "; routes, sockets and firewall need an fd");
  } else {
    // The nsid this process's namespace gives the shown one (as `list` shows it).
    if (!ns.from_scan)
      if (auto rt = Rtnl::open())
        if (auto ids = rt->nsids({{0, ns.fd.get()}}); ids && !ids->empty()) m.ns.nsid = (*ids)[0];
    // Processes in the namespace, from /proc. On a busy host the walk is most of the time:
    // a second thread takes it on while this one reads the namespace; on a quiet one,
    // starting a thread costs more than the walk.
    bool walk_procs = !ns.from_scan;
    PidWalk walk(ns.ns.inode);
    std::jthread more;  // joined also when the visit throws
    if (walk_procs) {
      bool inside = inode_of("/proc/self/ns/net") == ns.ns.inode;
      walk.list(initial_ino != 0 && ns.ns.inode != initial_ino, inside ? 0 : getpid());
      if (walk.size() > 256) more = std::jthread([&] { walk.help(); });
    }
    // The main thread enters the namespace only for this visit and always comes back.
    auto entered = visit_netns(ns.fd.get(), [&] {
      auto rt = Rtnl::open();
      if (!rt) {
        in.links = rt.error();
        return;
      }
      in.links = rt->links();
      in.addrs = rt->addresses();
      in.routes = rt->routes();
      in.rules = rt->rules();
      in.neigh = rt->neighbours();
      if (auto c = rt->netns_cookie()) in.cookie = *c;
      in.sockets = count_sockets();
      in.firewall = read_firewall();
      if (!in.links) return;
      read_far_ends(*rt, *in.links, in.far);
      auto want = wanted_nsids(*in.links, in.nsid_to_candidate);
      if (want.empty()) return;
      match_nsids(*rt, cands, 0, want, in.nsid_to_candidate);
      want = wanted_nsids(*in.links, in.nsid_to_candidate);
      if (want.empty()) return;
      size_t first = cands.size();
      add_named_candidates(cands);
      match_nsids(*rt, cands, first, want, in.nsid_to_candidate);
    });
    if (walk_procs) walk.help();  // what the second thread has not taken, or all of it
    if (more.joinable()) more.join();
    if (!entered) return entered.error().prefixed(fmt::format("cannot enter network namespace {}: ", ns.ns.inode));
    if (walk_procs) {
      m.processes = walk.result();
      m.ns.processes = static_cast<uint32_t>(m.processes.size());
      if (!m.processes.empty()) {
        m.ns.pid = m.processes.front().pid;
        m.ns.command = m.processes.front().command;
      }
    }
  }
  if (!in.links) return in.links.error();

  // The namespace itself, where the direct path left gaps.
  if (in.cookie) m.ns.cookie = *in.cookie;
  if (!ns.from_scan) {
    if (m.ns.names.empty()) m.ns.names = netns_names(m.ns.inode);
    m.ns.initial = m.ns.inode == initial_ino;
    for (auto& name : m.ns.names)
      if (!m.ns.container) m.ns.container = ContainerResolver::from_netns_name(name);
    if (!m.ns.container && m.ns.pid && !m.ns.initial) {
      ContainerResolver cr("/");
      if (auto cg = read_file(fmt::format("/proc/{}/cgroup", m.ns.pid))) m.ns.container = cr.identify(m.ns.pid, *cg);
    }
  } else {
    for (auto& h : m.ns.holders)
      if (h.kind == HolderKind::process && h.via.empty()) m.processes.push_back({h.pid, h.command});
    std::sort(m.processes.begin(), m.processes.end(), [](auto& a, auto& b) { return a.pid < b.pid; });
    for (auto& p : m.processes)
      if (p.pid == m.ns.pid && !m.ns.command.empty()) p.command = m.ns.command;
  }
  for (auto& c : cands)
    if (c.inode == m.ns.inode) c.names = m.ns.names;

  // Interfaces and where each leads.
  static const std::vector<AddrInfo> no_addrs;
  m.interfaces = assemble_interfaces(*in.links, in.addrs ? *in.addrs : no_addrs, in.far);
  auto place = [&](std::optional<LinkEnd>& e) {
    if (!e) return;
    if (e->same_ns) {
      e->netns = m.ns.inode;
      return;
    }
    if (auto it = in.nsid_to_candidate.find(*e->nsid); it != in.nsid_to_candidate.end())
      place_end(*e, cands[it->second]);
  };
  bool unplaced = false;
  for (auto& f : m.interfaces) {
    for (auto* e : {&f.peer, &f.parent, &f.underlay}) {
      place(*e);
      if (*e && !(*e)->same_ns && !(*e)->netns) unplaced = true;
    }
  }
  // Far ends in namespaces neither here nor named: the scan's veth peers know them.
  if (unplaced) {
    const ScanResult& s = run_scan();
    const Namespace* me = nullptr;
    for (auto& n : s.namespaces)
      if (n.type == NsType::net && n.inode == m.ns.inode) me = &n;
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
    for (auto& f : m.interfaces) {
      if (!f.peer || f.peer->same_ns || f.peer->netns || !me) continue;
      for (auto& h : me->holders)
        if (h.kind == HolderKind::peer && h.peer_ifindex == f.link.ifindex) {
          describe(h.netns, *f.peer);
          if (f.peer->ifname.empty()) f.peer->ifname = h.ifname;
        }
    }
  }

  // tun/tap owners, only when there is a tun device here.
  if (std::any_of(m.interfaces.begin(), m.interfaces.end(), [](auto& f) { return f.link.kind == "tun"; })) {
    for (auto& o : find_tun_owners())
      for (auto& f : m.interfaces)
        if (f.link.kind == "tun" && f.link.name == o.ifname && (o.netns == 0 || o.netns == m.ns.inode))
          f.tun_owners.push_back(o);
  }

  // Routes, rules and the rest; a section that could not be read says why.
  if (in.routes) {
    for (auto& r : *in.routes) {
      if (r.table == RT_TABLE_MAIN) {
        m.routes.push_back(r);
        if (r.dst_len == 0 && (r.type == "unicast" || r.type == "blackhole" || r.type == "unreachable" || r.type == "prohibit"))
          m.default_routes.push_back(r);
      } else if (r.table != RT_TABLE_LOCAL) {
        ++m.other_tables[rt_table_name(r.table)];
      }
    }
  } else if (ns.fd) {
    m.errors["routes"] = in.routes.error().message;
  }
  if (in.rules) {
    // IPv4 and IPv6 only: the multicast-routing families keep rule sets of their own.
    for (auto& r : *in.rules)
      if (r.family == AF_INET || r.family == AF_INET6) m.rules.push_back(r);
  }
  else if (ns.fd) m.errors["rules"] = in.rules.error().message;
  if (in.neigh) m.neighbours = *in.neigh;
  else if (ns.fd) m.errors["neighbours"] = in.neigh.error().message;
  if (in.sockets) m.sockets = std::move(in.sockets.value());
  else if (ns.fd) m.errors["sockets"] = in.sockets.error().message;
  if (!in.addrs) m.errors["addresses"] = in.addrs.error().message;
  m.firewall = std::move(in.firewall);
  if (scan)
    for (auto& n : scan->notes) m.notes.push_back(n);
  return m;
}

}  // namespace nscope
