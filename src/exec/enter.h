// Running a command inside a network namespace by any NSREF, as `ip netns exec` and
// `nsenter -t PID -n [-m]` do, and naming a namespace as `ip netns attach` does.
#pragma once

#include <string>
#include <vector>

#include "discover/model.h"
#include "util/fd.h"
#include "util/result.h"

namespace nscope {

// Where a command runs: the network namespace, and what it sees of the file system.
struct EnterTarget {
  int netns_fd = -1;
  // `ip netns exec`'s view: a private mount namespace with /sys a sysfs of the target (the
  // mounts that were under /sys put back on it) and /etc/netns/NAME/* over /etc/* when the
  // namespace has an `ip netns` name.
  std::string name;
  // --mount: instead, the mount namespace this opens (a holder process's, as `nsenter -m`),
  // root and working directory at its root.
  int mntns_fd = -1;
};

// The mounts under /sys of this mount namespace that a fresh sysfs would hide, outermost
// only (each is taken with what is mounted below it): /sys/fs/cgroup, /sys/fs/bpf,
// /sys/kernel/tracing, /sys/kernel/debug, ... Read once, before entering anything.
std::vector<std::string> mounts_under_sys(const std::string& mountinfo_text);
// The same, asked of the kernel mount by mount (listmount and statmount, Linux 6.8): a few
// syscalls where mountinfo is a line for every mount of the host (800 on a host with 400
// ip netns names, 0.28 ms to read here). Falls back to mountinfo where the kernel has no
// listmount, or says anything it cannot check.
std::vector<std::string> mounts_under_sys();

// The mounts that were under /sys, taken along each time /sys is replaced: copied from where
// they are (open_tree), /sys replaced, the copies moved onto it (move_mount). Copied from the
// live mounts each time, since kernels before 6.15 refuse to copy a detached one.
class SysMounts {
 public:
  explicit SysMounts(std::vector<std::string> under_sys) : under_sys_(std::move(under_sys)) {}
  // /sys a new sysfs of the calling thread's network namespace (`name` shows as its source),
  // with the mounts that were under the old one on it; what cannot be taken along is said
  // (diag) and left behind.
  Result<void> remount(const std::string& name);

 private:
  std::vector<std::string> under_sys_;
};

// /etc/netns/NAME/X bound over /etc/X for each X there, as `ip netns exec` does; undone for
// the next namespace when one thread serves several.
class EtcBinds {
 public:
  void bind(const std::string& name);
  void undo();

 private:
  std::vector<std::string> bound_;
};

// A private mount namespace for the calling thread (its own copy of the host's, a slave of it
// so that nothing propagates back).
Result<void> private_mount_namespace();

// Enters `t` in the calling process, which must be single-threaded (nscope about to exec):
// a private mount namespace, the network namespace, /sys and /etc/netns as ip netns exec
// has them; or with t.mntns_fd that mount namespace. Nothing outside the process changes.
// `under_sys`: mounts_under_sys() of the host's mount namespace.
Result<void> enter_for_exec(const EnterTarget& t, const std::vector<std::string>& under_sys);

// execvp(argv): returns only when it could not run, with why.
Error exec_argv(const std::vector<std::string>& argv);

// The mount namespace to enter for --mount: a process's in the namespace (the lowest pid), or
// where a bind mount of it lives. An Error says why there is none.
Result<Fd> holder_mntns(const Namespace& ns);

// "web" (an ip netns name), "runc:web-1" (a container), or the inode: how --all labels it.
std::string netns_short_label(const Namespace& ns);

// Gives the namespace behind `netns_fd` the `ip netns` name `name`: a bind mount at
// /run/netns/NAME, as `ip netns attach` makes it (/run/netns a shared mount point), so that
// `ip netns` sees it and `ip netns del NAME` removes it. A usage Error for a name ip would not
// take; an Error (EEXIST) when the name is taken.
Result<void> attach_netns_name(const std::string& name, int netns_fd);

}  // namespace nscope
