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

// Enters `t` in the calling process, which must be single-threaded (a child just forked, or
// nscope itself about to exec). Nothing outside the process changes: the mount namespace it
// changes is its own copy, a slave of the host's so that nothing propagates back.
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
