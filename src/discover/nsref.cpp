#include "discover/nsref.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "discover/netns.h"
#include "util/strings.h"

#ifndef NS_GET_ID
#define NS_GET_ID _IOR(NSIO, 0xd, __u64)
#endif

namespace nscope {

Result<ResolvedNs> resolve_nsref_lazily(const NsRef& ref, const std::function<const ScanResult&()>& scan,
                                        NsRefFailure* why) {
  auto direct = resolve_nsref_direct(ref);
  if (!direct && !(ref.kind == NsRefKind::pid && direct.error().code == EACCES) &&
      nsref_error_kind(direct.error()) != NsRefError::unknown)
    return direct.error();
  if (direct && *direct) return std::move(**direct);
  return resolve_nsref(ref, scan(), why);
}

std::string describe_netns(const Namespace& n) {
  std::vector<std::string> parts;
  for (auto& nm : n.names) parts.push_back("name " + nm);
  if (n.container) {
    const Container& c = *n.container;
    parts.push_back("container " + container_label(c) + (c.name.empty() ? "" : " " + short_container_id(c.id)));
    if (!c.pod.empty()) parts.push_back("pod " + c.pod_namespace + "/" + c.pod);
  }
  if (n.initial) parts.push_back("initial");
  if (n.pid) parts.push_back(fmt::format("pid {}", n.pid));
  if (parts.empty()) {
    for (auto& h : n.holders)
      if (h.kind == HolderKind::peer) {
        parts.push_back(fmt::format("veth peer of {}@{}", h.ifname, h.netns));
        break;
      }
  }
  return with_details(std::to_string(n.inode), parts);
}

namespace {

// Opens `path` and checks it is a network namespace; fills *inode.
Result<Fd> open_nsfs(const std::string& path, uint64_t* inode) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::sys(errno, "cannot open " + path);
  int t = ioctl(fd.get(), NS_GET_NSTYPE);
  if (t < 0) return Error{ErrorKind::usage, EINVAL, path + " is not a namespace file"};
  if (t != CLONE_NEWNET) return Error{ErrorKind::usage, EINVAL, path + " is not a network namespace"};
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Error::sys(errno, "cannot stat " + path);
  *inode = st.st_ino;
  return fd;
}

uint64_t own_mntns() {
  struct stat st {};
  return stat("/proc/self/ns/mnt", &st) == 0 ? st.st_ino : 0;
}

// Exactly: a name, pod, namespace/pod or whole id; else, as docker does, the start of an id.
bool container_matches(const Container& c, std::string_view x, bool exact) {
  if (x.empty()) return false;
  if (c.name == x || c.pod == x || c.id == x) return true;
  if (!c.pod.empty() && c.pod_namespace + "/" + c.pod == x) return true;
  return !exact && c.id.starts_with(x);
}

// Every network namespace, those whose names look most like what was typed first.
std::vector<std::string> all_candidates(const ScanResult& scan, std::string_view typed) {
  auto likeness = [&](const Namespace& n) {
    size_t best = 0;
    auto common = [&](std::string_view s) {
      size_t k = 0;
      while (k < s.size() && k < typed.size() && s[k] == typed[k]) ++k;
      best = std::max(best, k);
    };
    for (auto& nm : n.names) common(nm);
    if (n.container) {
      common(n.container->name);
      common(n.container->id);
    }
    return best;
  };
  std::vector<std::pair<size_t, const Namespace*>> ranked;
  for (auto& n : scan.namespaces)
    if (n.type == NsType::net) ranked.emplace_back(likeness(n), &n);
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& [score, n] : ranked) out.push_back(describe_netns(*n));
  constexpr size_t kMax = 40;
  if (out.size() > kMax) {
    size_t more = out.size() - kMax;
    out.resize(kMax);
    out.push_back(fmt::format("... and {} more (nscope list)", more));
  }
  return out;
}

Result<ResolvedNs> fail(NsRefFailure f, NsRefFailure* why) {
  Error e = nsref_error(f);
  if (why) *why = std::move(f);
  return e;
}

}  // namespace

Result<Fd> open_netns(const Namespace& n, std::string* from) {
  std::vector<std::string> paths;
  for (auto& nm : n.names) paths.push_back("/run/netns/" + nm);
  if (n.pid) paths.push_back(fmt::format("/proc/{}/ns/net", n.pid));
  uint64_t mnt = own_mntns();
  for (auto& h : n.holders) {
    switch (h.kind) {
      case HolderKind::process:
        if (h.via.empty()) paths.push_back(fmt::format("/proc/{}/ns/net", h.pid));
        break;
      case HolderKind::thread: paths.push_back(fmt::format("/proc/{}/task/{}/ns/net", h.pid, h.tid)); break;
      case HolderKind::mount:
        if (h.mntns == mnt) paths.push_back(h.path);
        if (h.pid) paths.push_back(fmt::format("/proc/{}/root{}", h.pid, h.path));
        break;
      case HolderKind::fd: paths.push_back(fmt::format("/proc/{}/fd/{}", h.pid, h.fd)); break;
      case HolderKind::socket:
      case HolderKind::peer: break;
    }
    if (paths.size() > 8) break;
  }
  int last = ENOENT;
  for (auto& p : paths) {
    uint64_t ino = 0;
    auto fd = open_nsfs(p, &ino);
    if (!fd) {
      last = fd.error().code ? fd.error().code : EINVAL;
      continue;
    }
    if (ino != n.inode) continue;  // a name or pid reused for another namespace since the scan
    if (from) *from = p;
    return std::move(fd.value());
  }
  // A socket made inside and kept elsewhere: the namespace behind a copy of its fd; a mount
  // in a mount namespace nobody runs in: the mount, opened from inside that namespace.
  auto take = [&](Result<Fd> fd, std::string how) -> std::optional<Fd> {
    if (!fd) {
      last = fd.error().code;
      return std::nullopt;
    }
    struct stat st {};
    if (fstat(fd->get(), &st) != 0 || st.st_ino != n.inode) return std::nullopt;  // the fd was reused
    if (from) *from = std::move(how);
    return std::move(fd.value());
  };
  for (auto& h : n.holders)
    if (h.kind == HolderKind::socket)
      if (auto fd = take(netns_of_process_fd(h.pid, h.fd, SIOCGSKNS), fmt::format("socket fd {} of pid {}", h.fd, h.pid)))
        return std::move(*fd);
  if (const auto& w = n.mount_way_in)
    if (auto fd = take(open_in_mntns(w->mntns_path, w->path), fmt::format("{} in mount namespace {}", w->path, w->mntns)))
      return std::move(*fd);
  if (paths.empty() && last == ENOENT)
    return Error{ErrorKind::gone, ENOENT, fmt::format("network namespace {} has no holder that can be opened", n.inode)};
  return Error::sys(last, fmt::format("cannot open network namespace {}", n.inode));
}

Result<std::optional<ResolvedNs>> resolve_nsref_direct(const NsRef& ref) {
  std::string path;
  switch (ref.kind) {
    case NsRefKind::name:
    case NsRefKind::word:
      if (ref.text.find('/') != std::string::npos || ref.text == "." || ref.text == "..")
        return std::optional<ResolvedNs>();
      path = "/run/netns/" + ref.text;
      if (ref.kind == NsRefKind::word && access(path.c_str(), F_OK) != 0) return std::optional<ResolvedNs>();
      break;
    case NsRefKind::pid: path = fmt::format("/proc/{}/ns/net", ref.number); break;
    case NsRefKind::path: path = ref.text; break;
    default: return std::optional<ResolvedNs>();
  }
  uint64_t ino = 0;
  auto fd = open_nsfs(path, &ino);
  if (!fd) {
    const Error& e = fd.error();
    if (ref.kind == NsRefKind::pid && e.code == ENOENT)
      return nsref_error({NsRefError::unknown, fmt::format("no network namespace for pid {}: no such process", ref.number), {}});
    if (ref.kind == NsRefKind::name && e.code == ENOENT)
      return std::optional<ResolvedNs>();  // not mounted here: the scan may know it elsewhere
    if (ref.kind == NsRefKind::path && e.code == ENOENT)
      return nsref_error({NsRefError::unknown, fmt::format("no network namespace at {}: no such file", path), {}});
    if (ref.kind == NsRefKind::path && e.code == EINVAL)
      return nsref_error({NsRefError::unknown, fmt::format("no network namespace at {}: {}", path,
                                                           e.message.ends_with("is not a network namespace")
                                                               ? "another type of namespace"
                                                               : "not a namespace file"), {}});
    return e;
  }
  ResolvedNs r;
  r.ns.type = NsType::net;
  r.ns.inode = ino;
  uint64_t id = 0;
  if (ioctl(fd->get(), NS_GET_ID, &id) == 0) r.ns.id = id;
  if (ref.kind == NsRefKind::name || ref.kind == NsRefKind::word) {
    r.ns.names.push_back(ref.text);
    r.matched_as = NsRefKind::name;
  } else {
    r.matched_as = ref.kind;
  }
  if (ref.kind == NsRefKind::pid) r.ns.pid = static_cast<int>(ref.number);
  r.opened_from = path;
  r.fd = std::move(fd.value());
  return std::optional<ResolvedNs>(std::move(r));
}

Result<ResolvedNs> resolve_nsref(std::string_view text, const ScanResult& scan, NsRefFailure* why) {
  auto ref = parse_nsref(text);
  if (!ref) {
    if (why) *why = {NsRefError::invalid, ref.error().message, {}};
    return ref.error();
  }
  return resolve_nsref(*ref, scan, why);
}

namespace {

// The end of a resolution by the scan: exactly one namespace matched, or an error that
// lists the candidates.
Result<ResolvedNs> the_one(std::vector<const Namespace*> hits, const NsRef& ref, NsRefKind as, const ScanResult& scan,
                           NsRefFailure* why) {
  // One namespace may be matched through several containers (a pod's containers share one).
  std::sort(hits.begin(), hits.end());
  hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  std::string shown = ref.text.empty() ? std::to_string(ref.number) : ref.text;
  if (hits.empty()) {
    std::string what = ref.kind == NsRefKind::word ? fmt::format("named '{}' (no ip netns name or container)", shown)
                                                  : fmt::format("with {} {}", nsref_kind_name(ref.kind), shown);
    // A kernel without NS_GET_ID (Debian 12's 6.1) gives no namespace an id at all.
    bool ids = std::any_of(scan.namespaces.begin(), scan.namespaces.end(),
                           [](const Namespace& n) { return n.id != 0; });
    if (ref.kind == NsRefKind::id && !ids)
      what += " (this kernel gives namespaces no ids: it has no NS_GET_ID; use the inode or cookie:N)";
    return fail({NsRefError::unknown, "no network namespace " + what, all_candidates(scan, ref.text)}, why);
  }
  if (hits.size() > 1) {
    std::vector<std::string> c;
    for (auto* n : hits) c.push_back(describe_netns(*n));
    return fail({NsRefError::ambiguous,
                 fmt::format("'{}' matches {} network namespaces; use an inode or id:N", shown, hits.size()),
                 std::move(c)},
                why);
  }
  ResolvedNs r;
  r.ns = *hits.front();
  r.from_scan = true;
  r.matched_as = as;
  if (auto f = open_netns(r.ns, &r.opened_from)) r.fd = std::move(f.value());
  return r;
}


}  // namespace

Result<ResolvedNs> resolve_nsref(const NsRef& ref, const ScanResult& scan, NsRefFailure* why) {
  std::vector<const Namespace*> nets;
  for (auto& n : scan.namespaces)
    if (n.type == NsType::net) nets.push_back(&n);
  auto by_inode = [&](uint64_t ino) -> const Namespace* {
    for (auto* n : nets)
      if (n->inode == ino) return n;
    return nullptr;
  };
  std::vector<const Namespace*> hits;
  NsRefKind as = ref.kind;
  Fd fd;
  std::string opened;
  auto match = [&](auto pred) {
    for (auto* n : nets)
      if (pred(*n)) hits.push_back(n);
  };
  auto match_containers = [&](std::string_view x) {
    // An exact name or id wins over ids it merely starts ("web" over "web2").
    match([&](const Namespace& n) { return n.container && container_matches(*n.container, x, true); });
    if (hits.empty()) match([&](const Namespace& n) { return n.container && container_matches(*n.container, x, false); });
  };

  switch (ref.kind) {
    case NsRefKind::inode: {
      match([&](const Namespace& n) { return n.inode == ref.number; });
      // Digits may also be the start of a container id.
      if (hits.empty() && !ref.text.empty()) {
        match_containers(ref.text);
        as = NsRefKind::container;
      }
      break;
    }
    case NsRefKind::id: match([&](const Namespace& n) { return n.id == ref.number; }); break;
    case NsRefKind::cookie: match([&](const Namespace& n) { return n.cookie == ref.number; }); break;
    case NsRefKind::name:
    case NsRefKind::word: {
      match([&](const Namespace& n) {
        return std::find(n.names.begin(), n.names.end(), ref.text) != n.names.end();
      });
      as = NsRefKind::name;
      if (hits.empty() && ref.kind == NsRefKind::word) {
        match_containers(ref.text);
        as = NsRefKind::container;
      }
      break;
    }
    case NsRefKind::container: match_containers(ref.text); break;
    case NsRefKind::pid:
    case NsRefKind::path: {
      auto direct = resolve_nsref_direct(ref);
      if (!direct && ref.kind == NsRefKind::pid && direct.error().code == EACCES) {
        // /proc/PID/ns/net refused (PID 1 on some machines): the scan saw where it runs.
        match([&](const Namespace& n) {
          return std::any_of(n.holders.begin(), n.holders.end(), [&](const Holder& h) {
            return h.kind == HolderKind::process && h.via.empty() && h.pid == static_cast<int>(ref.number);
          });
        });
        break;
      }
      if (!direct && ref.kind == NsRefKind::path) {
        // A path that is none here may be a mount in another mount namespace, as list
        // prints it: the scan knows where to open it.
        match([&](const Namespace& n) {
          return std::any_of(n.holders.begin(), n.holders.end(),
                             [&](const Holder& h) { return h.kind == HolderKind::mount && h.path == ref.text; });
        });
        if (!hits.empty()) break;
      }
      if (!direct) {
        // A pid that is gone or a path that is none: say which namespaces there are.
        auto k = nsref_error_kind(direct.error());
        if (k == NsRefError::unknown) return fail({*k, direct.error().message, all_candidates(scan, "")}, why);
        if (k && why) *why = {*k, direct.error().message, {}};
        return direct.error();
      }
      if (!*direct) break;
      ResolvedNs r = std::move(**direct);
      if (const Namespace* n = by_inode(r.ns.inode)) {
        int pid = r.ns.pid;
        r.ns = *n;
        if (!r.ns.pid && pid) r.ns.pid = pid;
        r.from_scan = true;
      }
      return r;
    }
  }

  return the_one(std::move(hits), ref, as, scan, why);
}

}  // namespace nscope
