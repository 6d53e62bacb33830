// `nscope watch`: one change to the host's namespaces. One model, rendered as a line of text
// or a JSON object by src/render/watch.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discover/container.h"
#include "discover/nstypes.h"

namespace nscope {

enum class WatchEventKind : uint8_t {
  created,            // a namespace was made (how: clone, unshare; "seen": found by a walk)
  destroyed,          // it died
  named,              // an nsfs bind mount of it appeared (path, mntns)
  unnamed,            // one went away
  entered,            // a process or thread moved in (how: setns)
  left,               // one moved out (how: setns, unshare) or exited (how: exit)
  hidden,             // its last process left; something else still holds it (holders)
  iface_created,      // ifname, ifindex
  iface_deleted,
  iface_renamed,      // old_ifname -> ifname
  iface_moved,        // from (old_inode, old_ifindex) to (inode, ifindex)
  veth_created,       // ifname/ifindex here, peer_* at the other end
  container_started,  // the namespace now belongs to a container
  container_stopped,
  lost,               // the kernel side could not record `count` changes; a snapshot follows
};
std::string_view watch_event_name(WatchEventKind k);

struct WatchEvent {
  uint64_t seq = 0;
  int64_t time_ns = 0;  // CLOCK_REALTIME
  WatchEventKind kind = WatchEventKind::created;

  // The namespace it is about, as watch knew it then.
  NsType type = NsType::net;
  uint64_t inode = 0;
  uint64_t cookie = 0;  // net: net->net_cookie; 0 unknown
  std::vector<std::string> names;
  std::optional<Container> container;

  // Who did it, where known.
  int pid = 0;
  int tid = 0;  // set when a thread other than the process's main one did it
  std::string comm;
  std::string how;  // clone, unshare, setns, exit, seen

  // Interfaces.
  std::string ifname;
  int ifindex = 0;
  std::string old_ifname;
  int old_ifindex = 0;
  uint64_t old_inode = 0;  // iface_moved: the namespace it left
  std::string peer_ifname;  // veth_created
  int peer_ifindex = 0;
  uint64_t peer_inode = 0;

  // Mounts (named, unnamed).
  std::string path;
  uint64_t mntns = 0;

  std::string holders;  // hidden: what holds it now, as list's HOLDERS
  uint64_t count = 0;   // lost
};

}  // namespace nscope
