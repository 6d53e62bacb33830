#include "discover/identify.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "discover/caps.h"
#include "discover/mountinfo.h"
#include "discover/netns.h"
#include "discover/scan.h"
#include "util/fd.h"
#include "util/strings.h"

#ifndef NS_GET_ID
#define NS_GET_ID _IOR(NSIO, 0xd, __u64)
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

namespace nscope {

std::string_view identify_kind_name(IdentifyKind k) {
  switch (k) {
    case IdentifyKind::process: return "process";
    case IdentifyKind::thread: return "thread";
    case IdentifyKind::path: return "path";
  }
  return "?";
}

Result<IdentifyTarget> parse_identify_target(std::string_view arg) {
  if (arg.empty()) return Error::usage("identify needs a pid, a thread id or the path of a namespace file");
  IdentifyTarget t;
  // "pid:N" as NSREFs write it, and "tid:N", are the number too.
  std::string_view num = arg;
  if (num.starts_with("pid:") || num.starts_with("tid:")) num.remove_prefix(4);
  if (!num.empty() && num.find_first_not_of("0123456789") == std::string_view::npos) {
    auto n = parse_u64(num);
    if (!n || *n == 0 || *n > INT_MAX)
      return Error::usage(fmt::format("'{}' is not a process or thread id", arg));
    t.pid = static_cast<int>(*n);
    return t;
  }
  t.kind = IdentifyKind::path;
  t.path = std::string(arg);
  return t;
}

namespace {

struct TaskStatus {
  std::string name;
  char state = '?';
  int tgid = 0;
};

// The Name, State and Tgid lines of /proc/ID/status.
TaskStatus parse_status(std::string_view text) {
  TaskStatus s;
  for (auto line : split(text, '\n')) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto key = line.substr(0, colon);
    auto val = trim(line.substr(colon + 1));
    if (key == "Name") s.name = std::string(val);
    else if (key == "State" && !val.empty()) s.state = val.front();
    else if (key == "Tgid") s.tgid = static_cast<int>(parse_u64(val).value_or(0));
  }
  return s;
}

// A permission Error for a path under /proc/PID that the kernel guards with ptrace rights.
Error ptrace_denied(const std::string& path, int err) {
  return Error{ErrorKind::permission, err,
               fmt::format("cannot read {}: {}: {}", path, std::strerror(err), ptrace_refusal_reason())};
}

bool is_for_children(std::string_view link) { return link.ends_with("_for_children"); }

}  // namespace

Result<IdentifyTarget> locate_task(int id, const std::string& proc) {
  std::string path = fmt::format("{}/{}/status", proc, id);
  auto text = read_file(path);
  if (!text) {
    int err = errno;
    if (err == ENOENT || err == ESRCH)
      return Error{ErrorKind::usage, ENOENT, fmt::format("no process or thread {}", id)};
    if (err == EACCES || err == EPERM)
      return Error{ErrorKind::permission, err,
                   fmt::format("cannot read {}: {} (/proc hides other users' processes: hidepid)", path,
                               std::strerror(err))};
    return Error::sys(err, "cannot read " + path);
  }
  TaskStatus s = parse_status(*text);
  if (s.tgid <= 0) return Error::msg(fmt::format("{} has no Tgid line", path));
  if (s.state == 'Z' || s.state == 'X')
    return Error{ErrorKind::gone, ESRCH,
                 fmt::format("{} {} has exited (a zombie its parent has not reaped): it is in no namespace",
                             s.tgid == id ? "process" : "thread", id)};
  IdentifyTarget t;
  t.kind = s.tgid == id ? IdentifyKind::process : IdentifyKind::thread;
  t.pid = s.tgid;
  t.tid = s.tgid == id ? 0 : id;
  t.command = std::move(s.name);
  return t;
}

std::vector<NsLink> order_links(std::vector<NsLink> links) {
  auto rank = [](const NsLink& l) {
    auto own = ns_type_from_name(l.link);
    if (!own && !is_for_children(l.link)) return 2 * kNsTypeCount;  // a link nscope does not know
    return 2 * static_cast<int>(l.type) + (is_for_children(l.link) ? 1 : 0);
  };
  std::stable_sort(links.begin(), links.end(), [&](const NsLink& a, const NsLink& b) { return rank(a) < rank(b); });
  // pid_for_children and time_for_children only where the children get another namespace.
  std::vector<NsLink> out;
  for (auto& l : links) {
    if (is_for_children(l.link)) {
      auto same = std::find_if(out.begin(), out.end(), [&](const NsLink& o) {
        return !is_for_children(o.link) && o.type == l.type && o.inode == l.inode;
      });
      if (same != out.end()) continue;
    }
    out.push_back(l);
  }
  return out;
}

Result<std::vector<NsLink>> read_ns_links(const std::string& dir, std::vector<std::string>* notes) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) {
    int err = errno;
    if (err == ENOENT || err == ESRCH) return Error{ErrorKind::gone, err, fmt::format("cannot read {}: the task exited", dir)};
    if (err == EACCES || err == EPERM) return ptrace_denied(dir, err);
    return Error::sys(err, "cannot read " + dir);
  }
  std::vector<NsLink> links;
  char buf[128];
  while (dirent* de = readdir(d.get())) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    ssize_t n = readlinkat(dirfd(d.get()), de->d_name, buf, sizeof buf);
    if (n < 0) {
      int err = errno;
      if (err == EACCES || err == EPERM) return ptrace_denied(path, err);
      if (err == ENOENT && is_for_children(name)) {
        // The kernel gives no pid_for_children before a first process enters that namespace.
        if (notes) notes->push_back(fmt::format("{}: unreadable (a new namespace no process has entered yet)", name));
        continue;
      }
      if (err == ENOENT) return Error{ErrorKind::gone, err, fmt::format("cannot read {}: the task exited", path)};
      return Error::sys(err, "cannot read " + path);
    }
    NsLink l;
    l.link = name;
    if (!parse_ns_link(std::string_view(buf, static_cast<size_t>(n)), &l.type, &l.inode)) {
      if (notes) notes->push_back(fmt::format("{}: a namespace type nscope does not know ({})", name,
                                              std::string_view(buf, static_cast<size_t>(n))));
      continue;
    }
    links.push_back(std::move(l));
  }
  return order_links(std::move(links));
}

Result<NsLink> read_nsfs_path(const std::string& path) {
  auto not_nsfs = [&](std::string_view why) {
    return Error::usage(fmt::format("{} is not a namespace file: {} (identify takes a pid, a thread id, or an nsfs "
                                    "file such as /proc/PID/ns/net or /run/netns/NAME)",
                                    path, why));
  };
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return not_nsfs("no such file");
    if ((err == EACCES || err == EPERM) && path.starts_with("/proc/")) return ptrace_denied(path, err);
    return Error::sys(err, "cannot stat " + path);
  }
  if (S_ISDIR(st.st_mode)) return not_nsfs("a directory");
  struct statfs fs {};
  if (!S_ISREG(st.st_mode) || statfs(path.c_str(), &fs) != 0 || fs.f_type != NSFS_MAGIC)
    return not_nsfs("not on nsfs");
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return Error::sys(errno, "cannot open " + path);
  int t = ioctl(fd.get(), NS_GET_NSTYPE);
  auto type = t > 0 ? ns_type_from_clone_flag(static_cast<uint64_t>(t)) : std::nullopt;
  if (!type) return not_nsfs(t < 0 ? "NS_GET_NSTYPE refused" : "a namespace type nscope does not know");
  NsLink l;
  l.link = std::string(ns_type_name(*type));
  l.type = *type;
  l.inode = st.st_ino;
  return l;
}

std::vector<IdentifiedNs> annotate_links(const std::vector<NsLink>& links, const ScanResult& scan) {
  std::vector<IdentifiedNs> out;
  for (auto& l : links) {
    IdentifiedNs i;
    i.link = l.link;
    auto it = std::find_if(scan.namespaces.begin(), scan.namespaces.end(),
                           [&](const Namespace& n) { return n.type == l.type && n.inode == l.inode; });
    if (it != scan.namespaces.end()) {
      i.ns = *it;
      i.scanned = true;
    } else {
      i.ns.type = l.type;
      i.ns.inode = l.inode;
    }
    out.push_back(std::move(i));
  }
  return out;
}

std::vector<NsLink> links_from_scan(const IdentifyTarget& t, const ScanResult& scan) {
  std::vector<NsLink> out;
  if (t.kind == IdentifyKind::path) return out;
  for (auto& n : scan.namespaces)
    for (auto& h : n.holders)
      if (h.kind == HolderKind::process && h.pid == t.pid)
        out.push_back({h.via.empty() ? std::string(ns_type_name(n.type)) : h.via, n.type, n.inode});
  if (t.kind == IdentifyKind::thread)
    for (auto& n : scan.namespaces)
      for (auto& h : n.holders)
        if (h.kind == HolderKind::thread && h.pid == t.pid && h.tid == t.tid)
          for (auto& l : out)
            if (l.link == ns_type_name(n.type)) l.inode = n.inode;
  return order_links(std::move(out));
}

namespace {

// What an nsfs file tells of a namespace the scan did not see: its id, owner and, for a
// network namespace, its `ip netns` names.
void describe_unscanned(Namespace& n, const std::string& path) {
  if (n.type == NsType::net) n.names = netns_names(n.inode);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || fstat(fd.get(), &st) != 0 || st.st_ino != n.inode) return;  // replaced meanwhile
  uint64_t id = 0;
  if (ioctl(fd.get(), NS_GET_ID, &id) == 0) n.id = id;
  Fd user(ioctl(fd.get(), NS_GET_USERNS));
  if (user && fstat(user.get(), &st) == 0) n.owner = st.st_ino;
}

// The target's namespaces, and the directory (or file) each was read from.
Result<std::vector<NsLink>> target_links(IdentifyTarget& t, const IdentifyOptions& opts, std::string* dir,
                                         std::vector<std::string>* notes) {
  if (t.kind == IdentifyKind::path) {
    auto l = read_nsfs_path(t.path);
    if (!l) return l.error();
    return std::vector<NsLink>{std::move(l.value())};
  }
  auto located = locate_task(t.pid, opts.proc);
  if (!located) return located.error();
  t = std::move(located.value());
  *dir = t.kind == IdentifyKind::thread ? fmt::format("{}/{}/task/{}/ns", opts.proc, t.pid, t.tid)
                                        : fmt::format("{}/{}/ns", opts.proc, t.pid);
  return read_ns_links(*dir, notes);
}

// Namespaces the scan did not see get what their nsfs file tells, and a note.
void note_unscanned(IdentifyReport& rep, const std::string& dir) {
  std::string unseen;
  size_t count = 0;
  for (auto& i : rep.namespaces) {
    if (i.scanned) continue;
    if (!dir.empty() || rep.target.kind == IdentifyKind::path)
      describe_unscanned(i.ns, dir.empty() ? rep.target.path : dir + "/" + i.link);
    unseen += fmt::format("{}{} {}", unseen.empty() ? "" : ", ", i.link, i.ns.inode);
    ++count;
  }
  if (count)
    rep.notes.push_back(fmt::format("the scan did not see {}: names, container and holders of {} are unknown", unseen,
                                    count == 1 ? "it" : "them"));
}

}  // namespace

Result<IdentifyReport> build_identify(std::string_view arg, const IdentifyOptions& opts) {
  auto target = parse_identify_target(arg);
  if (!target) return target.error();
  IdentifyReport rep;
  rep.target = std::move(target.value());
  std::string dir;
  auto links = target_links(rep.target, opts, &dir, &rep.notes);
  bool refused = !links && links.error().kind == ErrorKind::permission && rep.target.kind != IdentifyKind::path;
  if (!links && !refused) return links.error();

  ScanOptions so;
  so.types = {NsType::net, NsType::mnt, NsType::pid, NsType::uts, NsType::ipc, NsType::user, NsType::cgroup, NsType::time};
  so.bpf = opts.bpf;
  so.proc = opts.proc;
  ScanResult scan = scan_namespaces(so);
  if (refused) {
    // The kernel walk sees tasks whose /proc links refuse even root.
    auto seen = links_from_scan(rep.target, scan);
    if (seen.empty()) return links.error();
    rep.notes.push_back(links.error().message + "; shown: the namespaces the kernel walk saw it in");
    links = std::move(seen);
    dir.clear();
  }
  rep.namespaces = annotate_links(*links, scan);
  note_unscanned(rep, dir);
  rep.notes.insert(rep.notes.end(), scan.notes.begin(), scan.notes.end());
  rep.skipped = std::move(scan.skipped);
  rep.source = std::move(scan.source);
  return rep;
}

}  // namespace nscope
