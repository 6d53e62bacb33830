#include "exec/enter.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "discover/container.h"
#include "discover/mountinfo.h"
#include "util/diag.h"
#include "util/strings.h"

namespace nscope {
namespace {

int open_tree(int dirfd, const char* path, unsigned flags) {
  return static_cast<int>(syscall(SYS_open_tree, dirfd, path, flags));
}

int move_mount(int from_fd, const char* to) {
  return static_cast<int>(syscall(SYS_move_mount, from_fd, "", AT_FDCWD, to, MOVE_MOUNT_F_EMPTY_PATH));
}

}  // namespace

std::vector<std::string> mounts_under_sys(const std::string& mountinfo_text) {
  std::vector<std::string> all;
  for (const auto& m : parse_mountinfo(mountinfo_text))
    if (m.mount_point.starts_with("/sys/")) all.push_back(m.mount_point);
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::vector<std::string> out;
  for (const auto& mp : all)
    if (out.empty() || !(mp.starts_with(out.back()) && mp[out.back().size()] == '/')) out.push_back(mp);
  return out;
}

Result<void> SysMounts::remount(const std::string& name) {
  std::vector<std::pair<std::string, Fd>> kept;
  for (const auto& mp : under_sys_) {
    Fd tree(open_tree(AT_FDCWD, mp.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (!tree) diag("{} stays behind: cannot take it along ({})", mp, std::strerror(errno));
    else kept.emplace_back(mp, std::move(tree));
  }
  struct statvfs sv {};
  unsigned long flags = statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY) ? MS_RDONLY : 0;
  if (umount2("/sys", MNT_DETACH) != 0 && errno != EINVAL)
    return Error::sys(errno, "cannot unmount /sys in the private mount namespace");
  if (mount(name.empty() ? "sysfs" : name.c_str(), "/sys", "sysfs", flags, nullptr) != 0)
    return Error::sys(errno, "cannot mount a sysfs of the namespace on /sys");
  for (auto& [mp, tree] : kept)
    if (move_mount(tree.get(), mp.c_str()) != 0)
      diag("{} stays behind: cannot put it back on the new /sys ({})", mp, std::strerror(errno));
  return {};
}

void EtcBinds::bind(const std::string& name) {
  if (name.empty()) return;
  std::string dir = "/etc/netns/" + name;
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    std::string from = dir + "/" + e->d_name, to = std::string("/etc/") + e->d_name;
    if (mount(from.c_str(), to.c_str(), "none", MS_BIND, nullptr) != 0)
      diag("cannot bind {} over {}: {}", from, to, std::strerror(errno));
    else
      bound_.push_back(to);
  }
  closedir(d);
}

void EtcBinds::undo() {
  for (const auto& to : bound_) umount2(to.c_str(), MNT_DETACH);
  bound_.clear();
}

Result<void> private_mount_namespace() {
  if (unshare(CLONE_NEWNS) != 0) return Error::sys(errno, "cannot make a private mount namespace");
  if (mount("", "/", "none", MS_SLAVE | MS_REC, nullptr) != 0)
    return Error::sys(errno, "cannot keep the private mounts from the host (mount --make-rslave /)");
  return {};
}

namespace {

// listmount/statmount as Linux 6.8 defines them (Debian 12's headers predate them).
constexpr long kStatmountSyscall = 457, kListmountSyscall = 458;
constexpr unsigned kStatxMntIdUnique = 0x4000;
constexpr uint64_t kStatmountMntBasic = 0x2, kStatmountMntPoint = 0x10;
struct MntIdReq {
  uint32_t size = sizeof(MntIdReq), spare = 0;
  uint64_t mnt_id = 0, param = 0;
};
// struct statmount's fixed part: the fields read here, at their offsets, then str[] at 512.
struct StatmountHead {
  uint32_t size, spare1;
  uint64_t mask;
  uint32_t sb_dev_major, sb_dev_minor;
  uint64_t sb_magic;
  uint32_t sb_flags, fs_type;
  uint64_t mnt_id, mnt_parent_id;
  uint32_t mnt_id_old, mnt_parent_id_old;
  uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
  uint32_t mnt_root, mnt_point;
  uint64_t spare2[50];
};
static_assert(sizeof(StatmountHead) == 512);

std::optional<uint64_t> unique_mount_id(const char* path) {
  struct statx sx {};
  if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT | AT_SYMLINK_NOFOLLOW, kStatxMntIdUnique, &sx) != 0 ||
      !(sx.stx_mask & kStatxMntIdUnique))
    return std::nullopt;
  return sx.stx_mnt_id;
}

// The mounts right under /sys's mount, each checked: its path is under /sys and leads to it.
// Kernels differ in whether listmount gives a mount's children or all below it: the deeper
// ones must hang from one it gave. nullopt when any of that does not hold.
std::optional<std::vector<std::string>> listmount_under_sys() {
  auto sys = unique_mount_id("/sys");
  if (!sys) return std::nullopt;
  MntIdReq req;
  req.mnt_id = *sys;
  uint64_t ids[512];
  long n = syscall(kListmountSyscall, &req, ids, std::size(ids), 0);
  if (n < 0 || n >= static_cast<long>(std::size(ids))) return std::nullopt;
  std::vector<std::string> out;
  std::vector<uint64_t> parents;
  alignas(8) char buf[sizeof(StatmountHead) + 4096];
  for (long i = 0; i < n; ++i) {
    MntIdReq r;
    r.mnt_id = ids[i];
    r.param = kStatmountMntBasic | kStatmountMntPoint;
    if (syscall(kStatmountSyscall, &r, buf, sizeof buf, 0) != 0) return std::nullopt;
    StatmountHead h;
    std::memcpy(&h, buf, sizeof h);
    if ((h.mask & (kStatmountMntBasic | kStatmountMntPoint)) != (kStatmountMntBasic | kStatmountMntPoint) ||
        h.mnt_id != ids[i] || h.size > sizeof buf ||
        sizeof h + h.mnt_point >= h.size)
      return std::nullopt;
    if (h.mnt_parent_id != *sys) {
      parents.push_back(h.mnt_parent_id);
      continue;
    }
    const char* at = buf + sizeof h + h.mnt_point;
    std::string path(at, strnlen(at, h.size - sizeof h - h.mnt_point));
    if (!path.starts_with("/sys/") || unique_mount_id(path.c_str()) != ids[i]) return std::nullopt;
    out.push_back(std::move(path));
  }
  for (uint64_t p : parents)
    if (std::find(ids, ids + n, p) == ids + n) return std::nullopt;
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> mounts_under_sys() {
  if (auto fast = listmount_under_sys()) return *fast;
  auto mi = read_file("/proc/self/mountinfo");
  return mounts_under_sys(mi ? *mi : "");
}

Result<void> enter_for_exec(const EnterTarget& t, const std::vector<std::string>& under_sys) {
  if (t.mntns_fd >= 0) {
    // As nsenter -n -m: the network namespace first (its fd was opened from the host's view),
    // then the mount namespace, which also moves root and working directory to its root.
    if (setns(t.netns_fd, CLONE_NEWNET) != 0) return Error::sys(errno, "cannot enter the network namespace");
    if (setns(t.mntns_fd, CLONE_NEWNS) != 0) return Error::sys(errno, "cannot enter the mount namespace");
    return {};
  }
  if (auto r = private_mount_namespace(); !r) return r.error();
  SysMounts sys(under_sys);  // taken along from the private copy
  if (setns(t.netns_fd, CLONE_NEWNET) != 0) return Error::sys(errno, "cannot enter the network namespace");
  if (auto r = sys.remount(t.name); !r) return r.error();
  EtcBinds etc;
  etc.bind(t.name);
  return {};
}

Error exec_argv(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // What nscope changed for itself is not the command's.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  execvp(args[0], args.data());
  return Error::sys(errno, fmt::format("cannot run '{}'", argv[0]));
}

Result<Fd> holder_mntns(const Namespace& ns) {
  if (ns.pid) {
    Fd fd(::open(fmt::format("/proc/{}/ns/mnt", ns.pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) return fd;
    if (errno != ENOENT && errno != ESRCH)
      return Error::sys(errno, fmt::format("cannot open the mount namespace of process {}", ns.pid));
  }
  if (ns.mount_way_in) {
    Fd fd(::open(ns.mount_way_in->mntns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) return fd;
    return Error::sys(errno, "cannot open the mount namespace of its bind mount");
  }
  return Error::msg(fmt::format("no process holds network namespace {}, and no mount of it lives in "
                                "another mount namespace: --mount has no mount namespace to enter",
                                ns.inode),
                    ErrorKind::not_found);
}

std::string netns_short_label(const Namespace& ns) {
  if (!ns.names.empty()) return ns.names.front();
  if (ns.container) return container_label(*ns.container);
  if (ns.initial) return "host";
  return std::to_string(ns.inode);
}

Result<void> attach_netns_name(const std::string& name, int netns_fd) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos || name.size() > 255)
    return Error::usage(fmt::format("'{}' cannot be an ip netns name: give a file name, such as web-1", name));
  const char* dir = "/run/netns";
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return Error::sys(errno, "cannot make /run/netns");
  // As ip netns add/attach: /run/netns a shared mount point, so that the names reach every
  // mount namespace that shares it (and a name made inside `ip netns exec` is seen outside).
  bool made_mount_point = false;
  while (mount("", dir, "none", MS_SHARED | MS_REC, nullptr) != 0) {
    if (errno != EINVAL || made_mount_point) return Error::sys(errno, "cannot make /run/netns shared");
    if (mount(dir, dir, "none", MS_BIND | MS_REC, nullptr) != 0)
      return Error::sys(errno, "cannot make /run/netns a mount point");
    made_mount_point = true;
  }
  std::string path = std::string(dir) + "/" + name;
  Fd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
  if (!file) {
    if (errno == EEXIST)
      return Error{ErrorKind::usage, EEXIST,
                   fmt::format("an ip netns name '{}' exists already ({}): choose another, or "
                               "`ip netns del {}` first",
                               name, path, name)};
    return Error::sys(errno, "cannot make " + path);
  }
  std::string from = fmt::format("/proc/self/fd/{}", netns_fd);
  if (mount(from.c_str(), path.c_str(), "none", MS_BIND, nullptr) != 0) {
    int err = errno;
    unlink(path.c_str());
    return Error::sys(err, "cannot bind the namespace at " + path);
  }
  return {};
}

}  // namespace nscope
