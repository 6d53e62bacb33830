// What `nscope list` finds: namespaces and the holders that keep each alive. One model,
// rendered as a table or as JSON by src/render/list.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "discover/container.h"
#include "discover/nstypes.h"

namespace nscope {

enum class HolderKind : uint8_t { process, thread, mount, fd, socket, peer };
std::string_view holder_kind_name(HolderKind k);

struct Holder {
  HolderKind kind = HolderKind::process;
  int pid = 0;            // process, thread, fd, socket; a process in the mount ns for mount
  int tid = 0;            // thread
  std::string command;    // comm of pid
  std::string via;        // process: "pid_for_children" / "time_for_children" when held so
  int fd = -1;            // fd, socket: the fd number in pid
  uint32_t sockets = 0;   // socket: how many sockets of pid live in the namespace
  std::string path;       // mount: mount point as seen inside its mount namespace
  uint64_t mntns = 0;     // mount: inode of the mount namespace the mount lives in
  uint64_t netns = 0;     // peer: inode of the namespace where the veth's other end lives
  int ifindex = 0;        // peer: that other end's ifindex
  std::string ifname;     // peer: that other end's name
  int peer_ifindex = 0;   // peer: the ifindex of the veth end inside this namespace
};

struct Namespace {
  NsType type = NsType::net;
  uint64_t inode = 0;
  uint64_t id = 0;                  // NS_GET_ID, 0 when unknown
  uint64_t cookie = 0;              // net only: SO_NETNS_COOKIE / net->net_cookie, 0 unknown
  std::optional<int32_t> nsid;      // net only: nsid as seen from the initial netns
  std::vector<std::string> names;   // net only: `ip netns` names
  bool initial = false;             // the host's initial namespace of its type
  std::vector<Holder> holders;
  uint32_t processes = 0;           // processes (thread-group leaders) in it
  int pid = 0;                      // the lowest of them, 0 when none
  std::string command;              // that process's command line
  uint64_t owner = 0;               // inode of the owning user namespace, 0 unknown
  std::optional<Container> container;
  std::optional<uint32_t> interfaces;  // net only
  // A mount of it in a mount namespace nobody runs in: a path that opens that mount
  // namespace (an fd or a bind mount of it), and the mount's path inside. One is enough to
  // open the namespace; kept here, not in every Holder, which lists hold by the thousand.
  struct MountWayIn {
    uint64_t mntns = 0;
    std::string mntns_path;
    std::string path;
  };
  std::optional<MountWayIn> mount_way_in;
};

// What the kernel walk saw of the network namespace nscope runs in: its devices, and the nsid
// it gives each other namespace (its whole table). topo reads that namespace's links from it
// and the bridge ports' dump instead of the full link dump (topo/ns_reader.h).
struct WalkedDevice {
  int ifindex = 0;
  bool veth = false;
  bool alias = false;       // has an alias (not read by the walk)
  int peer_ifindex = 0;     // veth: the other end
  uint64_t peer_netns = 0;  // veth: the other end's namespace inode, 0 when not yet paired
};
struct WalkedNetns {
  uint64_t netns = 0;
  std::vector<WalkedDevice> devices;
  std::unordered_map<uint64_t, int32_t> nsids;  // namespace inode -> the nsid this one gives it
                                                // (all, or those known: scan.cpp keep_own_net)
};

struct ScanResult {
  std::vector<Namespace> namespaces;       // sorted by type, then inode
  std::map<std::string, uint64_t> skipped;  // reason -> count ("ESRCH", "EACCES", ...)
  std::vector<std::string> notes;           // one-line notes for the user (e.g. needs root)
  std::string source;                       // "bpf" or "procfs": how processes were walked
  std::optional<WalkedNetns> own_net;       // when the walk of namespaces was whole
};

}  // namespace nscope
