// Network namespaces as places: entering one (always from a thread that leaves it, or comes
// back), the initial one, the `ip netns` names, and what "hidden" means. The scan, `show`
// and `topo` all ask these the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discover/model.h"
#include "util/fd.h"
#include "util/result.h"

namespace nscope {

// Runs `fn` on a short-lived thread that has entered the network namespace `netns_fd`, so
// the caller's threads never change namespace. Returns fn's result or the setns error.
Result<void> in_netns(int netns_fd, const std::function<void()>& fn);

// Runs `fn` on the calling thread inside the network namespace `netns_fd`, then returns the
// thread to the namespace it came from: no thread to start, for one short visit. Sockets fn
// opens stay in the visited namespace. If the way back fails (it does not for root in its
// own namespace), nscope cannot go on in the wrong namespace: it says so and exits 1.
Result<void> visit_netns(int netns_fd, const std::function<void()>& fn);

// Runs fn(i) for every i in [0, fds.size()) on up to `threads` short-lived threads; each
// enters fds[i] before fn(i) and the threads end afterwards, so no other thread ever changes
// namespace. results[i] is the setns error for fds[i] when it could not be entered (fn(i) is
// then not called). fds[i] < 0 skips i with EBADF.
std::vector<Result<void>> in_each_netns(const std::vector<int>& fds, unsigned threads,
                                        const std::function<void(size_t)>& fn);

// The network namespace behind another process's fd: a copy of the fd (pidfd_open and
// pidfd_getfd, which need ptrace rights over pid), asked with `request`: SIOCGSKNS for a
// socket, TUNGETDEVNETNS for a tun/tap device.
Result<Fd> netns_of_process_fd(int pid, int fd, unsigned long request);

// Opens `path` as seen inside the mount namespace that `mntns_path` opens, from a short-lived
// thread that enters it (no other thread changes its mount namespace).
Result<Fd> open_in_mntns(const std::string& mntns_path, const std::string& path);

// The inode of the initial network namespace (kthreadd's, /proc/2/ns/net); 0 when /proc
// does not say.
uint64_t initial_netns_inode();

// The `ip netns` name a bind mount at `path` gives its namespace: "blue" for
// /run/netns/blue or /var/run/netns/blue; nothing for other paths.
std::optional<std::string> netns_name_of_mount(std::string_view path);

// `ip netns` names of a namespace, from this mount namespace's nsfs mounts.
std::vector<std::string> netns_names(uint64_t inode);

// Hidden: not the initial namespace, and nothing holds it but veth peers in other
// namespaces (no process, mount or fd to open it by).
bool is_hidden(const Namespace& n);

}  // namespace nscope
