#include "watch/state.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "render/list.h"
#include "util/strings.h"

namespace nscope {

std::string_view watch_event_name(WatchEventKind k) {
  switch (k) {
    case WatchEventKind::created: return "created";
    case WatchEventKind::destroyed: return "destroyed";
    case WatchEventKind::named: return "named";
    case WatchEventKind::unnamed: return "unnamed";
    case WatchEventKind::entered: return "entered";
    case WatchEventKind::left: return "left";
    case WatchEventKind::hidden: return "hidden";
    case WatchEventKind::iface_created: return "iface-created";
    case WatchEventKind::iface_deleted: return "iface-deleted";
    case WatchEventKind::iface_renamed: return "iface-renamed";
    case WatchEventKind::iface_moved: return "iface-moved";
    case WatchEventKind::veth_created: return "veth-created";
    case WatchEventKind::container_started: return "container-started";
    case WatchEventKind::container_stopped: return "container-stopped";
    case WatchEventKind::lost: return "lost";
  }
  return "?";
}

namespace {

bool same_container(const std::optional<Container>& a, const std::optional<Container>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->runtime == b->runtime && a->id == b->id);
}

}  // namespace

WatchState::WatchState(WatchOptions opts) : opts_(std::move(opts)) {}

bool WatchState::wanted(NsType t) const {
  return std::find(opts_.types.begin(), opts_.types.end(), t) != opts_.types.end();
}

bool WatchState::wanted_net(uint64_t inode) const {
  return opts_.netns.empty() || opts_.netns.count(inode) > 0;
}

WatchEvent WatchState::about(WatchEventKind kind, const Ns& ns) const {
  WatchEvent e;
  e.kind = kind;
  e.type = ns.type;
  e.inode = ns.inode;
  e.cookie = ns.cookie;
  e.names = ns.names;
  e.container = ns.container;
  return e;
}

void WatchState::who(WatchEvent& e, const nscope_watch_rec& r) const {
  e.time_ns = static_cast<int64_t>(r.ts);
  e.pid = static_cast<int>(r.pid);
  if (r.tid != r.pid) e.tid = static_cast<int>(r.tid);
  e.comm = from_fixed(r.comm);
}

void WatchState::reset(const ScanResult& scan, const KernelWalk& walk) {
  nses_.clear();
  (void)on_scan(scan);
  for (auto& [k, ns] : nses_) (void)k, ns.scanned = true;
  take_devices(walk, devs_);
  missing_.clear();
  pending_.clear();
}

std::optional<WatchEvent> WatchState::born(NsType t, uint64_t inode, uint64_t cookie, const char* how,
                                           const nscope_watch_rec* r) {
  if (!wanted(t) || inode == 0) return std::nullopt;
  // A walk or scan that began before a death may still show the dead namespace.
  if (t == NsType::net && cookie && buried_.count(cookie)) return std::nullopt;
  Key k{t, inode};
  auto it = nses_.find(k);
  if (it != nses_.end()) {
    // An inode is reused once its namespace died; the cookie is not.
    if (!(t == NsType::net && cookie && it->second.cookie && cookie != it->second.cookie)) {
      if (!it->second.cookie) it->second.cookie = cookie;
      return std::nullopt;
    }
    std::vector<WatchEvent> gone;
    died(k, gone);  // the old one's death comes first; its events are returned by the caller
    pending_.insert(pending_.end(), gone.begin(), gone.end());
  }
  Ns& ns = nses_[k];
  ns.type = t;
  ns.inode = inode;
  ns.cookie = cookie;
  ns.epoch = ++epoch_;
  WatchEvent e = about(WatchEventKind::created, ns);
  e.how = how;
  if (r) who(e, *r);
  return e;
}

void WatchState::died(const Key& k, std::vector<WatchEvent>& out) {
  auto it = nses_.find(k);
  if (it == nses_.end()) return;
  if (it->second.container) out.push_back(about(WatchEventKind::container_stopped, it->second));
  out.push_back(about(WatchEventKind::destroyed, it->second));
  if (uint64_t c = it->second.cookie; k.first == NsType::net && c) {
    buried_.insert(c);
    burial_order_.push_back(c);
    if (burial_order_.size() > kBuriedMax) {
      buried_.erase(burial_order_.front());
      burial_order_.pop_front();
    }
  }
  nses_.erase(it);
}

std::vector<WatchEvent> WatchState::on_record(const nscope_watch_rec& r) {
  std::vector<WatchEvent> out;
  auto add = [&](std::optional<WatchEvent> e) {
    out.insert(out.end(), pending_.begin(), pending_.end());
    pending_.clear();
    if (e) out.push_back(std::move(*e));
  };
  switch (r.kind) {
    case NSCOPE_WATCH_CLONE:
    case NSCOPE_WATCH_UNSHARE: {
      const char* how = r.kind == NSCOPE_WATCH_CLONE ? "clone" : "unshare";
      for (int s = 0; s < NSCOPE_SLOT_COUNT; s++) {
        if (!r.after[s] || r.after[s] == r.before[s]) continue;
        NsType t = slot_type(s);
        add(born(t, r.after[s], t == NsType::net ? r.net_cookie_after : 0, how, &r));
      }
      break;
    }
    case NSCOPE_WATCH_SETNS: {
      for (int s = 0; s < NSCOPE_SLOT_COUNT; s++) {
        if (r.after[s] == r.before[s]) continue;
        NsType t = slot_type(s);
        if (!wanted(t)) continue;
        if (r.after[s]) {
          add(born(t, r.after[s], t == NsType::net ? r.net_cookie_after : 0, "seen", nullptr));
          auto it = nses_.find({t, r.after[s]});
          if (it != nses_.end()) {
            WatchEvent e = about(WatchEventKind::entered, it->second);
            e.how = "setns";
            who(e, r);
            out.push_back(std::move(e));
          }
        }
        if (auto it = nses_.find({t, r.before[s]}); r.before[s] && it != nses_.end()) {
          WatchEvent e = about(WatchEventKind::left, it->second);
          e.how = "setns";
          who(e, r);
          out.push_back(std::move(e));
        }
      }
      break;
    }
    case NSCOPE_WATCH_EXIT: {
      std::set<Key> seen;
      for (int s = 0; s < NSCOPE_SLOT_COUNT; s++) {
        NsType t = slot_type(s);
        if (!r.before[s] || !wanted(t) || !seen.insert({t, r.before[s]}).second) continue;
        auto it = nses_.find({t, r.before[s]});
        if (it == nses_.end() || it->second.initial) continue;
        WatchEvent e = about(WatchEventKind::left, it->second);
        e.how = "exit";
        who(e, r);
        out.push_back(std::move(e));
      }
      break;
    }
    default:  // mount, netdev, net cleanup: the watcher walks or scans again
      break;
  }
  return filtered(std::move(out));
}

void WatchState::take_devices(const KernelWalk& walk, std::map<uint64_t, Dev>& into) const {
  into.clear();
  for (const auto& d : walk.devs) {
    Dev v;
    v.key = d.key;
    v.net = d.net_inum;
    v.ifindex = static_cast<int>(d.ifindex);
    v.name = from_fixed(d.name);
    if (v.name == "lo") continue;  // every namespace has one, made and gone with it
    v.peer_key = d.peer_key;
    v.peer_ifindex = static_cast<int>(d.peer_ifindex);
    v.peer_net = d.peer_net_inum;
    v.veth = d.flags & NSCOPE_DEV_VETH;
    into[v.key] = v;
  }
}

int64_t WatchState::settle_at() const {
  int64_t at = 0;
  auto take = [&](int64_t t) { at = at ? std::min(at, t) : t; };
  for (const auto& [k, d] : missing_) take(d.missing_since + opts_.device_grace_ns);
  for (const auto& [k, d] : devs_)
    if (!d.told) take(d.first_seen + opts_.device_grace_ns);
  return at;
}

std::vector<WatchEvent> WatchState::on_walk(const KernelWalk& walk, const WatchEvent* by, uint64_t since,
                                            int64_t now_ns) {
  std::vector<WatchEvent> out;
  if (!wanted(NsType::net)) return out;
  std::unordered_map<uint64_t, uint64_t> alive;  // inode -> cookie
  for (const auto& n : walk.nets) {
    alive[n.inum] = n.cookie;
    if (auto e = born(NsType::net, n.inum, n.cookie, "seen", nullptr)) {
      out.insert(out.end(), pending_.begin(), pending_.end());
      pending_.clear();
      out.push_back(std::move(*e));
    }
  }
  std::unordered_set<uint64_t> dead;
  if (walk.nets_complete) {
    std::vector<Key> gone;
    for (auto& [k, ns] : nses_) {
      if (k.first != NsType::net || ns.epoch > since) continue;
      auto a = alive.find(k.second);
      if (a == alive.end() || (a->second && ns.cookie && a->second != ns.cookie)) gone.push_back(k);
    }
    for (auto& k : gone) {
      dead.insert(k.second);
      died(k, out);
    }
  }

  std::map<uint64_t, Dev> now;
  take_devices(walk, now);
  auto ns_of = [&](uint64_t inode) -> const Ns* {
    auto it = nses_.find({NsType::net, inode});
    return it == nses_.end() ? nullptr : &it->second;
  };
  auto dev_event = [&](WatchEventKind kind, const Dev& d) {
    WatchEvent e;
    if (const Ns* ns = ns_of(d.net)) e = about(kind, *ns);
    e.kind = kind;
    e.type = NsType::net;
    e.inode = d.net;
    e.ifname = d.name;
    e.ifindex = d.ifindex;
    if (by) {
      e.pid = by->pid;
      e.tid = by->tid;
      e.comm = by->comm;
    }
    return e;
  };
  // Devices found again (moved, renamed) or new. A new device is told once it is settled: a
  // veth with its other end (the kernel registers one end, then the other, then pairs them),
  // anything else at once; a veth whose other end does not show within the grace is told
  // alone.
  for (auto& [key, d] : now) {
    const Dev* o = nullptr;
    if (auto was = devs_.find(key); was != devs_.end()) {
      o = &was->second;
    } else if (auto m = missing_.find(key); m != missing_.end()) {
      o = &m->second;  // it was between two namespaces at the last walk
    }
    // The kernel reuses a freed device's address at once: the same address is the same
    // device only with its ifindex or its name (a move keeps one of them, mostly both).
    if (o && (dead.count(o->net) || (o->ifindex != d.ifindex && o->name != d.name))) {
      if (o->told && !dead.count(o->net)) {
        WatchEvent e = dev_event(WatchEventKind::iface_deleted, *o);
        e.pid = e.tid = 0;
        e.comm.clear();
        out.push_back(std::move(e));
      }
      o = nullptr;
    }
    if (!o || !o->told) {
      d.told = false;
      d.first_seen = o ? o->first_seen : now_ns;
      continue;
    }
    if (o->net != d.net) {
      WatchEvent e = dev_event(WatchEventKind::iface_moved, d);
      e.old_inode = o->net;
      e.old_ifindex = o->ifindex;
      if (o->name != d.name) e.old_ifname = o->name;
      out.push_back(std::move(e));
    } else if (o->name != d.name) {
      WatchEvent e = dev_event(WatchEventKind::iface_renamed, d);
      e.old_ifname = o->name;
      out.push_back(std::move(e));
    }
  }
  for (auto& [key, d] : now) {
    if (d.told) continue;
    Dev* p = nullptr;
    if (d.veth && d.peer_key)
      if (auto it = now.find(d.peer_key); it != now.end()) p = &it->second;
    if (p && !p->told) {
      WatchEvent e = dev_event(WatchEventKind::veth_created, d);
      e.peer_ifname = p->name;
      e.peer_ifindex = p->ifindex;
      e.peer_inode = p->net;
      out.push_back(std::move(e));
      d.told = p->told = true;
    } else if (!d.veth || p || now_ns - d.first_seen >= opts_.device_grace_ns) {
      out.push_back(dev_event(WatchEventKind::iface_created, d));
      d.told = true;
    }
  }
  // A device a walk does not find may be on its way to another namespace (the kernel unlists
  // it from one before it lists it in the other): deleted only when no walk finds it for the
  // grace. One whose namespace died goes with it, untold; so does one never told.
  std::map<uint64_t, Dev> missing;
  for (const auto& [key, o] : missing_) {
    if (now.count(key)) continue;
    if (dead.count(o.net)) {
      // Gone before its namespace died: deleted, not taken along.
      if (o.told) out.push_back(dev_event(WatchEventKind::iface_deleted, o));
      continue;
    }
    if (now_ns - o.missing_since >= opts_.device_grace_ns) {
      WatchEvent e = dev_event(WatchEventKind::iface_deleted, o);
      e.pid = e.tid = 0;  // a later walk's changes are not who deleted it
      e.comm.clear();
      if (o.told) out.push_back(std::move(e));
    } else {
      missing[key] = o;
    }
  }
  for (const auto& [key, o] : devs_)
    if (!now.count(key) && !dead.count(o.net)) {
      missing[key] = o;
      missing[key].missing_since = now_ns;
    }
  missing_ = std::move(missing);
  devs_ = std::move(now);
  return filtered(std::move(out));
}

std::vector<WatchEvent> WatchState::on_scan(const ScanResult& scan, uint64_t since) {
  std::vector<WatchEvent> out;
  std::set<Key> present;
  for (const auto& n : scan.namespaces) {
    if (!wanted(n.type)) continue;
    Key k{n.type, n.inode};
    present.insert(k);
    if (auto e = born(n.type, n.inode, n.type == NsType::net ? n.cookie : 0, "seen", nullptr)) {
      out.insert(out.end(), pending_.begin(), pending_.end());
      pending_.clear();
      out.push_back(std::move(*e));
    }
    auto it = nses_.find(k);
    if (it == nses_.end()) continue;  // a scan that began before its death
    Ns& ns = it->second;
    if (n.type == NsType::net && n.cookie && ns.cookie && n.cookie != ns.cookie) continue;
    if (!ns.cookie && n.type == NsType::net) ns.cookie = n.cookie;
    ns.initial = n.initial;
    ns.names = n.names;

    // By path: the copies of a mount that other mount namespaces get (each `unshare -m`,
    // each `ip netns exec` makes some) are the same name, not a new one.
    std::map<std::string, uint64_t> mounts;  // path -> a mount namespace holding it
    for (const auto& h : n.holders)
      if (h.kind == HolderKind::mount) mounts.emplace(h.path, h.mntns);
    if (ns.scanned) {
      for (const auto& [path, mntns] : mounts)
        if (!ns.mounts.count(path)) {
          WatchEvent e = about(WatchEventKind::named, ns);
          e.mntns = mntns;
          e.path = path;
          out.push_back(std::move(e));
        }
      for (const auto& [path, mntns] : ns.mounts)
        if (!mounts.count(path)) {
          WatchEvent e = about(WatchEventKind::unnamed, ns);
          e.mntns = mntns;
          e.path = path;
          out.push_back(std::move(e));
        }
      if (!same_container(ns.container, n.container)) {
        if (ns.container) out.push_back(about(WatchEventKind::container_stopped, ns));
        ns.container = n.container;
        if (ns.container) out.push_back(about(WatchEventKind::container_started, ns));
      }
      if (ns.processes > 0 && n.processes == 0 && !n.holders.empty()) {
        WatchEvent e = about(WatchEventKind::hidden, ns);
        e.holders = holder_summary(n);
        out.push_back(std::move(e));
      }
    } else {
      // Its first scan: the mounts made in the moments after its birth are news; what a
      // snapshot shows is not (reset marks those scanned afterwards).
      for (const auto& [path, mntns] : mounts) {
        WatchEvent e = about(WatchEventKind::named, ns);
        e.mntns = mntns;
        e.path = path;
        e.names = n.names;
        out.push_back(std::move(e));
      }
      ns.container = n.container;
      if (ns.container) out.push_back(about(WatchEventKind::container_started, ns));
    }
    ns.mounts = std::move(mounts);
    ns.processes = n.processes;
    ns.scanned = true;
  }
  // Deaths of the types no walk sees: absent from a full scan. Network namespaces die only
  // by a walk that closed its circle (on_walk).
  std::vector<Key> gone;
  for (auto& [k, ns] : nses_)
    if (k.first != NsType::net && ns.epoch <= since && !present.count(k)) gone.push_back(k);
  for (auto& k : gone) died(k, out);
  return filtered(std::move(out));
}

std::vector<WatchEvent> WatchState::filtered(std::vector<WatchEvent> events) const {
  if (opts_.netns.empty()) return events;
  std::vector<WatchEvent> kept;
  for (auto& e : events) {
    if (e.type != NsType::net || wanted_net(e.inode) || (e.old_inode && wanted_net(e.old_inode)) ||
        (e.peer_inode && wanted_net(e.peer_inode)))
      kept.push_back(std::move(e));
  }
  return kept;
}

}  // namespace nscope
