#include "discover/scan.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <future>
#include <thread>
#include <unordered_map>

#include "bpfload/nsiter.h"
#include "discover/container.h"
#include "discover/mountinfo.h"
#include "discover/netns.h"
#include "discover/procfs.h"
#include "netlink/rtnl.h"
#include "util/strings.h"

#ifndef NS_GET_ID
// Debian 12's headers predate it (Linux 6.11): the namespace's 64-bit id, never reused.
#define NS_GET_ID _IOR(NSIO, 0xd, __u64)
#endif

namespace nscope {

std::string_view holder_kind_name(HolderKind k) {
  switch (k) {
    case HolderKind::process: return "process";
    case HolderKind::thread: return "thread";
    case HolderKind::mount: return "mount";
    case HolderKind::fd: return "fd";
    case HolderKind::socket: return "socket";
    case HolderKind::peer: return "peer";
  }
  return "?";
}

namespace {

constexpr uint64_t kInitialUserNsInode = 0xEFFFFFFD;  // PROC_USER_INIT_INO, fixed in the kernel

// Collects namespaces keyed by (type, inode), plus where each could be opened from.
class Builder {
 public:
  explicit Builder(const ScanOptions& opts) {
    for (auto t : opts.types) wanted_[static_cast<size_t>(t)] = true;
  }

  bool wanted(NsType t) const { return wanted_[static_cast<size_t>(t)]; }

  Namespace& ns(NsType t, uint64_t inode) {
    auto key = (static_cast<uint64_t>(t) << 32) | inode;
    auto [it, fresh] = index_.try_emplace(key, nss_.size());
    if (fresh) {
      nss_.emplace_back();
      nss_.back().type = t;
      nss_.back().inode = inode;
      paths_.emplace_back();
    }
    return nss_[it->second];
  }
  Namespace* find(NsType t, uint64_t inode) {
    auto it = index_.find((static_cast<uint64_t>(t) << 32) | inode);
    return it == index_.end() ? nullptr : &nss_[it->second];
  }
  // A path that opens the namespace: /proc/PID/ns/X, /proc/PID/root/MOUNT, /proc/PID/fd/N.
  void add_path(const Namespace& n, std::string path) {
    auto& p = paths_[static_cast<size_t>(&n - nss_.data())];
    if (p.size() < 3) p.push_back(std::move(path));
  }
  Fd open(const Namespace& n) {
    for (auto& p : paths_[static_cast<size_t>(&n - nss_.data())]) {
      Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd) return fd;
    }
    return Fd();
  }
  std::vector<Namespace>& all() { return nss_; }

 private:
  bool wanted_[kNsTypeCount] = {};
  std::unordered_map<uint64_t, size_t> index_;
  std::vector<Namespace> nss_;
  std::vector<std::vector<std::string>> paths_;
};

std::string proc_path(const ScanOptions& o, int pid, std::string_view rest) {
  std::string p = o.proc;
  p += '/';
  p += std::to_string(pid);
  p += '/';
  p += rest;
  return p;
}

// Reads the mountinfo of a mount namespace nobody runs in, from a thread that enters it.
std::optional<std::string> mountinfo_in(int mntns_fd) {
  std::optional<std::string> text;
  std::thread t([&] {
    if (unshare(CLONE_FS) != 0 || setns(mntns_fd, CLONE_NEWNS) != 0) return;
    text = read_file("/proc/thread-self/mountinfo");
  });
  t.join();
  return text;
}

struct OwnMounts {
  std::optional<std::string> mountinfo;          // /proc/self/mountinfo, when it was read
  std::unordered_map<uint64_t, int32_t> nsids;  // netns inode -> nsid
  bool in_initial = false;                       // our netns is the host's: nsids are its
  bool all_nsids = false;                        // nsids holds every one (the kernel walk's table)
};

// Whether process `pid` sees the file system from the same root as we do (mountinfo paths
// are relative to the reader's root).
bool same_root(const ScanOptions& o, int pid) {
  if (o.proc != "/proc") return false;
  struct stat mine {}, theirs {};
  return stat("/proc/self/root", &mine) == 0 && stat(proc_path(o, pid, "root").c_str(), &theirs) == 0 &&
         mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
}

// This process's mountinfo, when its network namespace is the host's (kthreadd's).
OwnMounts own_mounts_in_initial_netns() {
  OwnMounts own_mounts;
  struct stat own {}, init {};
  if (stat("/proc/self/ns/net", &own) != 0 || stat("/proc/2/ns/net", &init) != 0 ||
      own.st_ino != init.st_ino)
    return own_mounts;
  own_mounts.in_initial = true;
  own_mounts.mountinfo = read_file("/proc/self/mountinfo");
  return own_mounts;
}

// nsids of the network namespaces bind-mounted in this process's mount namespace, asked
// from this process's network namespace (the host's). One RTM_GETNSID each, and the kernel
// answers each by a scan of its whole nsid table: where the kernel walk read that table,
// it is used instead.
void ask_own_mount_nsids(OwnMounts& own_mounts) {
  auto& out = own_mounts.nsids;
  const auto& text = own_mounts.mountinfo;
  if (!text) return;
  auto r = Rtnl::open();
  if (!r) return;
  // A few fds at a time: past the 64 it starts with, the kernel grows a process's fd table,
  // and while another thread runs (the BPF load) each growth waits for an RCU grace period
  // (expand_fdtable): holding all 300 fds of the benchmark open took 10-40 ms here, not 1.
  constexpr size_t kBatch = 32;
  std::vector<NsfsMount> mounts;
  std::set<uint64_t> seen;
  for (auto& m : nsfs_mounts(*text))
    if (m.type == NsType::net && seen.insert(m.inode).second) mounts.push_back(std::move(m));
  for (size_t start = 0; start < mounts.size(); start += kBatch) {
    std::vector<Fd> fds;
    std::vector<uint64_t> inodes;
    std::vector<Rtnl::NsidQuery> q;
    for (size_t i = start; i < std::min(mounts.size(), start + kBatch); ++i) {
      Fd fd(::open(mounts[i].path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) continue;
      q.push_back({0, fd.get()});
      inodes.push_back(mounts[i].inode);
      fds.push_back(std::move(fd));
    }
    auto ids = r->nsids(q);
    if (!ids) break;
    for (size_t i = 0; i < ids->size(); ++i)
      if ((*ids)[i]) out[inodes[i]] = *(*ids)[i];
  }
}

// One scan, phase by phase: walk the kernel (or /proc), then add each kind of holder
// (processes and threads, nsfs fds and sockets, bind mounts in every mount namespace, veth
// peers), then say what each namespace is.
class Scan {
 public:
  explicit Scan(const ScanOptions& opts) : opts_(opts), b_(opts) {}

  ScanResult run() {
    walk();
    add_tasks();
    add_files();
    add_mounts();
    add_devices();
    describe();
    res_.namespaces = std::move(b_.all());
    std::sort(res_.namespaces.begin(), res_.namespaces.end(), [](const Namespace& a, const Namespace& c) {
      return std::pair(a.type, a.inode) < std::pair(c.type, c.inode);
    });
    return std::move(res_);
  }

 private:
  // 1. Who runs where: every thread with its namespaces, nsfs fds, foreign sockets.
  void walk() {
    // Loading the BPF programs is most of a scan's time (libbpf parses the kernel's BTF, the
    // verifier checks the programs): it runs on its own thread while this one asks the
    // nsids of the network namespaces mounted in our mount namespace (`ip netns`, runtimes'
    // netns directories), the other slow part.
    std::future<Result<KernelWalk>> pending;
    if (opts_.bpf && root_)
      pending = std::async(std::launch::async, [want_net = b_.wanted(NsType::net), this] {
        return opts_.walk ? opts_.walk() : kernel_walk({.files = true, .nets = want_net});
      });
    if (b_.wanted(NsType::net)) own_mounts_ = own_mounts_in_initial_netns();
    bool walked = false;
    if (pending.valid()) {
      auto w = pending.get();
      if (w) {
        walk_ = std::move(w.value());
        walked = true;
        res_.source = "bpf";
        if (b_.wanted(NsType::net) && !walk_.nets_complete) {
          // What the walk did emit is true, but not all: which devices and namespaces are
          // missing is unknown. Interface counts then come from netlink (describe) for every
          // namespace that can be opened; veth peers are kept as found.
          res_.notes.push_back("the kernel walk of network namespaces was cut short: interface "
                               "counts were read through netlink instead; namespaces that only "
                               "a veth leads to may be missing");
        }
      } else {
        res_.notes.push_back("BPF walk unavailable (" + w.error().message + "); walked /proc instead");
      }
    }
    if (b_.wanted(NsType::net) && own_mounts_.in_initial) {
      if (walked && walk_.nsids_complete) {
        for (auto& id : walk_.nsids) own_mounts_.nsids[id.inum] = id.nsid;
        own_mounts_.all_nsids = true;
      } else {
        ask_own_mount_nsids(own_mounts_);
      }
    }
    if (walked) return;
    procfs_walk({.proc = opts_.proc}, walk_, res_.skipped);
    res_.source = "procfs";
    if (!root_)
      res_.notes.push_back("not root: other users' processes, fds and sockets (CAP_SYS_PTRACE), mounts in "
                           "other mount namespaces and hidden network namespaces (CAP_SYS_ADMIN) need root");
    else if (b_.wanted(NsType::net))
      res_.notes.push_back("walked /proc, not the kernel: a network namespace that only a veth "
                           "peer or an fd in flight (in a unix socket) keeps alive is not seen");
  }

  // Processes and threads; threads are reported only where they differ from their leader.
  void add_tasks() {
    std::unordered_map<uint32_t, const nscope_task_rec*> leaders;
    for (auto& t : walk_.tasks)
      if (t.tid == t.tgid) leaders[t.tgid] = &t;
    for (auto& t : walk_.tasks) {
      bool leader = t.tid == t.tgid;
      if (leader && t.tgid == 2) std::copy(std::begin(t.inum), std::end(t.inum), initial_);
      const nscope_task_rec* lead = leader ? &t : nullptr;
      if (!leader)
        if (auto it = leaders.find(t.tgid); it != leaders.end()) lead = it->second;
      if (leader && t.inum[NSCOPE_SLOT_MNT]) mntns_pid_.try_emplace(t.inum[NSCOPE_SLOT_MNT], t.tgid);
      for (int s = 0; s < NSCOPE_SLOT_COUNT; ++s) add_task_slot(t, lead, s);
    }
    if (!initial_[NSCOPE_SLOT_USER]) initial_[NSCOPE_SLOT_USER] = kInitialUserNsInode;
  }

  void add_task_slot(const nscope_task_rec& t, const nscope_task_rec* lead, int s) {
    bool leader = t.tid == t.tgid;
    uint32_t ino = t.inum[s];
    NsType type = slot_type(s);
    if (!ino || !b_.wanted(type)) return;
    bool for_children = s == NSCOPE_SLOT_PID_FOR_CHILDREN || s == NSCOPE_SLOT_TIME_FOR_CHILDREN;
    int active = s == NSCOPE_SLOT_PID_FOR_CHILDREN ? NSCOPE_SLOT_PID : NSCOPE_SLOT_TIME;
    if (for_children && ino == t.inum[active]) return;
    if (!leader && lead && lead->inum[s] == ino) return;
    Namespace& n = b_.ns(type, ino);
    Holder h;
    h.pid = static_cast<int>(t.tgid);
    h.command = from_fixed(t.comm);
    if (leader) {
      h.kind = HolderKind::process;
      if (for_children) {
        h.via = s == NSCOPE_SLOT_PID_FOR_CHILDREN ? "pid_for_children" : "time_for_children";
      } else {
        ++n.processes;
        if (n.pid == 0 || h.pid < n.pid) n.pid = h.pid;
        if (h.pid == n.pid) b_.add_path(n, proc_path(opts_, h.pid, "ns/" + std::string(slot_link_name(s))));
      }
    } else {
      h.kind = HolderKind::thread;
      h.tid = static_cast<int>(t.tid);
      b_.add_path(n, proc_path(opts_, h.pid, "task/" + std::to_string(h.tid) + "/ns/" + std::string(ns_type_name(type))));
    }
    n.holders.push_back(std::move(h));
  }

  // nsfs fds and sockets: one socket holder per (netns, process), counting its sockets there.
  void add_files() {
    std::unordered_map<uint64_t, size_t> sock_holder;  // (netns << 32 | pid) -> holder index
    for (auto& f : walk_.files) {
      if (f.kind == NSCOPE_REC_NSFD) {
        add_nsfd(f);
      } else if (f.kind == NSCOPE_REC_SOCK && b_.wanted(NsType::net)) {
        Namespace& n = b_.ns(NsType::net, f.inum);
        if (f.cookie) n.cookie = f.cookie;
        auto [it, fresh] = sock_holder.try_emplace((static_cast<uint64_t>(f.inum) << 32) | f.tgid, n.holders.size());
        if (!fresh) {
          ++n.holders[it->second].sockets;
          continue;
        }
        Holder h;
        h.kind = HolderKind::socket;
        h.pid = static_cast<int>(f.tgid);
        h.fd = static_cast<int>(f.fd);
        h.sockets = 1;
        h.command = from_fixed(f.comm);
        n.holders.push_back(std::move(h));
      }
    }
  }

  void add_nsfd(const nscope_file_rec& f) {
    auto t = ns_type_from_clone_flag(f.ns_type);
    if (!t) {  // the kernel did not say: ask the fd
      std::string path = proc_path(opts_, static_cast<int>(f.tgid), "fd/" + std::to_string(f.fd));
      Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      int nstype = fd ? ioctl(fd.get(), NS_GET_NSTYPE) : -1;
      t = nstype > 0 ? ns_type_from_clone_flag(static_cast<uint64_t>(nstype)) : std::nullopt;
      if (!t) {
        ++res_.skipped["vanished"];
        return;
      }
    }
    if (*t == NsType::mnt) mnt_fds_.emplace_back(f.inum, &f);
    if (!b_.wanted(*t)) return;
    Namespace& n = b_.ns(*t, f.inum);
    Holder h;
    h.kind = HolderKind::fd;
    h.pid = static_cast<int>(f.tgid);
    h.fd = static_cast<int>(f.fd);
    h.command = from_fixed(f.comm);
    b_.add_path(n, proc_path(opts_, h.pid, "fd/" + std::to_string(h.fd)));
    n.holders.push_back(std::move(h));
  }

  // 2. nsfs bind mounts in every mount namespace: read each one's mountinfo once, through a
  //    process that lives in it, or by entering it when nobody does.
  struct MntTodo {
    uint64_t ino;
    int pid;             // a process inside, or 0
    std::string opener;  // else a path that opens the mount namespace
  };

  void add_mounts() {
    uint64_t own_mnt_ino = 0;
    {
      char buf[64];
      ssize_t n = readlink("/proc/self/ns/mnt", buf, sizeof buf);
      NsType t;
      if (n > 0) parse_ns_link(std::string(buf, static_cast<size_t>(n)), &t, &own_mnt_ino);
    }
    std::set<uint64_t> mnt_done;
    std::vector<MntTodo> todo;
    for (auto& [ino, pid] : mntns_pid_) todo.push_back({ino, pid, {}});
    for (auto& [ino, f] : mnt_fds_)
      if (!mntns_pid_.count(ino))
        todo.push_back({ino, 0, proc_path(opts_, static_cast<int>(f->tgid), "fd/" + std::to_string(f->fd))});
    for (size_t i = 0; i < todo.size(); ++i) {
      MntTodo cur = todo[i];
      if (!mnt_done.insert(cur.ino).second) continue;
      std::optional<std::string> text = read_mountinfo(cur, own_mnt_ino);
      if (!text) {
        ++res_.skipped[cur.pid ? "mount namespace unreadable" : "mount namespace not enterable"];
        continue;
      }
      for (auto& m : nsfs_mounts(*text)) {
        if (m.type == NsType::mnt && !mnt_done.count(m.inode) && cur.pid)
          todo.push_back({m.inode, 0, proc_path(opts_, cur.pid, "root" + m.path)});
        if (b_.wanted(m.type)) add_mount(cur, m, cur.ino == own_mnt_ino);
      }
    }
  }

  std::optional<std::string> read_mountinfo(MntTodo& cur, uint64_t own_mnt_ino) {
    if (cur.pid) {
      // Our own mount namespace seen from the same root is what we read already.
      if (own_mounts_.mountinfo && cur.ino == own_mnt_ino && same_root(opts_, cur.pid))
        return std::move(own_mounts_.mountinfo);
      return read_file(proc_path(opts_, cur.pid, "mountinfo"));
    }
    if (!root_) return std::nullopt;
    Fd fd(::open(cur.opener.c_str(), O_RDONLY | O_CLOEXEC));
    return fd ? mountinfo_in(fd.get()) : std::nullopt;
  }

  void add_mount(const MntTodo& cur, const NsfsMount& m, bool own_mntns) {
    Namespace& n = b_.ns(m.type, m.inode);
    // `ip netns` names are those of our own mount namespace.
    if (m.type == NsType::net && own_mntns)
      if (auto name = netns_name_of_mount(m.path); name && std::find(n.names.begin(), n.names.end(), *name) == n.names.end())
        n.names.push_back(std::move(*name));
    Holder h;
    h.kind = HolderKind::mount;
    h.path = m.path;
    h.mntns = cur.ino;
    h.pid = cur.pid;
    if (cur.pid) b_.add_path(n, proc_path(opts_, cur.pid, "root" + m.path));
    else if (!n.mount_way_in) n.mount_way_in = Namespace::MountWayIn{cur.ino, cur.opener, m.path};
    n.holders.push_back(std::move(h));
  }

  // 3. Network namespaces from the kernel's own list, with their devices and veth peers.
  void add_devices() {
    if (!b_.wanted(NsType::net)) return;
    std::unordered_map<uint32_t, uint32_t> ndevs;
    for (auto& d : walk_.devs) {
      ++ndevs[d.net_inum];
      if (!d.peer_net_inum || d.peer_net_inum == d.net_inum) continue;
      Namespace& n = b_.ns(NsType::net, d.peer_net_inum);
      Holder h;
      h.kind = HolderKind::peer;
      h.netns = d.net_inum;
      h.ifindex = static_cast<int>(d.ifindex);
      h.ifname = from_fixed(d.name);
      h.peer_ifindex = static_cast<int>(d.peer_ifindex);
      n.holders.push_back(std::move(h));
    }
    keep_own_net();
    for (auto& r : walk_.nets) {
      Namespace& n = b_.ns(NsType::net, r.inum);
      n.cookie = r.cookie;
      n.id = r.ns_id;
      n.owner = r.owner_inum;
      if (walk_.nets_complete) n.interfaces = ndevs[r.inum];
    }
  }

  // The devices of the namespace we run in (the walk's first), when the walk read them whole,
  // and the nsids it gives the others: its whole table where the walk read that too, else
  // those asked of netlink for the namespaces mounted here (own_mounts_), when we run in
  // the initial namespace. A veth whose peer's nsid is not among them is read by netlink.
  void keep_own_net() {
    struct stat own {};
    if (!walk_.nets_complete || stat("/proc/thread-self/ns/net", &own) != 0) return;
    WalkedNetns w;
    w.netns = own.st_ino;
    for (auto& d : walk_.devs)
      if (d.net_inum == own.st_ino)
        w.devices.push_back({static_cast<int>(d.ifindex), (d.flags & NSCOPE_DEV_VETH) != 0,
                             (d.flags & NSCOPE_DEV_ALIAS) != 0, static_cast<int>(d.peer_ifindex),
                             d.peer_net_inum});
    if (walk_.nsids_complete) {
      for (auto& id : walk_.nsids) w.nsids.emplace(id.inum, id.nsid);
    } else if (own_mounts_.in_initial) {
      w.nsids.insert(own_mounts_.nsids.begin(), own_mounts_.nsids.end());
    }
    res_.own_net = std::move(w);
  }

  // 4. What each namespace is: id, owner, cookie, interfaces, nsid, names, container.
  void describe() {
    for (size_t i = 0; i < b_.all().size(); ++i) describe_one(i);
    if (nsid_q_.empty()) return;
    // nsids as the initial network namespace numbers them: ask from there.
    Fd own_net(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    struct stat st {};
    bool in_initial = own_net && fstat(own_net.get(), &st) == 0 && st.st_ino == initial_[NSCOPE_SLOT_NET];
    if (in_initial || !initial_[NSCOPE_SLOT_NET]) {
      ask_nsids();
    } else {
      Fd init_net(::open(proc_path(opts_, 2, "ns/net").c_str(), O_RDONLY | O_CLOEXEC));
      if (init_net) (void)in_netns(init_net.get(), [this] { ask_nsids(); });
    }
  }

  void describe_one(size_t i) {
    Namespace& n = b_.all()[i];
    for (int s = 0; s < NSCOPE_SLOT_COUNT; ++s)
      if (slot_type(s) == n.type && s < NSCOPE_SLOT_PID_FOR_CHILDREN && initial_[s] == n.inode) n.initial = true;
    bool need_fd = n.id == 0 || n.owner == 0 || (n.type == NsType::net && !n.interfaces);
    const auto& early_nsids = own_mounts_.nsids;
    bool nsid_known = n.type == NsType::net && (own_mounts_.all_nsids || early_nsids.count(n.inode));
    Fd fd;
    if (need_fd || (n.type == NsType::net && n.pid == 0 && !nsid_known)) fd = b_.open(n);
    if (fd) describe_from_fd(n, fd.get());
    if (n.type == NsType::net) {
      if (auto it = early_nsids.find(n.inode); it != early_nsids.end()) {
        n.nsid = it->second;
      } else if (own_mounts_.all_nsids) {
        // the host gives it none
      } else if (n.pid) {
        nsid_q_.push_back({n.pid, -1});
        nsid_of_.push_back(i);
      } else if (fd) {
        nsid_q_.push_back({0, fd.get()});
        nsid_of_.push_back(i);
        keep_open_.push_back(std::move(fd));
      }
      for (auto& name : n.names)
        if (!n.container) n.container = ContainerResolver::from_netns_name(name);
    }
    if (!n.pid) return;
    auto cmd = read_file(proc_path(opts_, n.pid, "cmdline"));
    n.command = cmd ? cmdline_to_string(*cmd) : std::string();
    if (n.command.empty())
      for (auto& h : n.holders)
        if (h.kind == HolderKind::process && h.pid == n.pid) n.command = "[" + h.command + "]";
    if (!n.container && !n.initial)
      if (auto cg = read_file(proc_path(opts_, n.pid, "cgroup"))) n.container = containers_.identify(n.pid, *cg);
  }

  // What an fd to the namespace tells: its id, its owning user namespace and, for a network
  // namespace the walk did not count, its cookie and interfaces.
  void describe_from_fd(Namespace& n, int fd) {
    if (n.id == 0) {
      uint64_t id = 0;
      if (ioctl(fd, NS_GET_ID, &id) == 0) n.id = id;
    }
    if (n.owner == 0) {
      Fd user(ioctl(fd, NS_GET_USERNS));
      struct stat st {};
      if (user && fstat(user.get(), &st) == 0) n.owner = st.st_ino;
    }
    if (n.type == NsType::net && !n.interfaces && root_) {
      (void)in_netns(fd, [&] {
        if (auto r = Rtnl::open()) {
          if (auto c = r->netns_cookie()) n.cookie = *c;
          if (auto l = r->links()) n.interfaces = static_cast<uint32_t>(l->size());
        }
      });
    }
  }

  // Runs in the initial network namespace.
  void ask_nsids() {
    auto r = Rtnl::open();
    if (!r) return;
    if (auto ids = r->nsids(nsid_q_)) {
      for (size_t k = 0; k < ids->size(); ++k) b_.all()[nsid_of_[k]].nsid = (*ids)[k];
    } else {
      res_.notes.push_back("nsids unknown: " + ids.error().message);
    }
    // Namespaces seen only as a veth peer have no fd: their nsid is the veth's
    // link-netnsid, read from the initial namespace's own links. That dump is costly with
    // hundreds of veths: only when such a namespace is still without an nsid.
    auto peer_of_initial = [&](const Holder& h) {
      return h.kind == HolderKind::peer && h.netns == initial_[NSCOPE_SLOT_NET];
    };
    bool wanted = std::any_of(b_.all().begin(), b_.all().end(), [&](const Namespace& n) {
      return n.type == NsType::net && !n.nsid && std::any_of(n.holders.begin(), n.holders.end(), peer_of_initial);
    });
    if (!wanted) return;
    auto links = r->links();
    if (!links) return;
    std::unordered_map<int, int32_t> by_ifindex;
    for (auto& l : *links)
      if (l.link_netnsid) by_ifindex[l.ifindex] = *l.link_netnsid;
    for (auto& n : b_.all()) {
      if (n.type != NsType::net || n.nsid) continue;
      for (auto& h : n.holders)
        if (peer_of_initial(h))
          if (auto it = by_ifindex.find(h.ifindex); it != by_ifindex.end()) n.nsid = it->second;
    }
  }

  const ScanOptions& opts_;
  Builder b_;
  ScanResult res_;
  const bool root_ = geteuid() == 0;
  KernelWalk walk_;
  OwnMounts own_mounts_;                           // our mountinfo and its netns' nsids
  uint32_t initial_[NSCOPE_SLOT_COUNT] = {};       // kthreadd's namespaces
  std::unordered_map<uint32_t, int> mntns_pid_;    // one process per mount namespace
  std::vector<std::pair<uint32_t, const nscope_file_rec*>> mnt_fds_;
  ContainerResolver containers_{opts_.host_root};
  std::vector<Rtnl::NsidQuery> nsid_q_;
  std::vector<size_t> nsid_of_;
  std::vector<Fd> keep_open_;  // fds named in nsid queries stay open until they are sent
};

}  // namespace

ScanResult scan_namespaces(const ScanOptions& opts) { return Scan(opts).run(); }

}  // namespace nscope
