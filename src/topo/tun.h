// Who holds each tun/tap device: processes with /dev/net/tun open, the device each fd is
// attached to ("iff:" in /proc/PID/fdinfo/FD), and the device's namespace (TUNGETDEVNETNS on
// a copy of the fd taken with pidfd_getfd).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "topo/model.h"

namespace nscope {

// Walks PROC/*/fd. Processes that vanish or refuse are skipped silently: an owner that
// cannot be seen is reported by the device's IFLA_TUN_OWNER instead.
std::vector<TunOwner> find_tun_owners(const std::string& proc = "/proc");

// Pure: the attached device name from an fdinfo text ("iff:\ttap0"), empty when detached.
std::string tun_iff_from_fdinfo(std::string_view fdinfo);

}  // namespace nscope
