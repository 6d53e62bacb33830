// `nscope show NSREF`: everything inside one network namespace, and where its links lead.
//
// An `ip netns` name, pid:N or a path is opened directly and read at once; other references
// (inode, id:, cookie:, containers) and far ends nscope cannot place cheaply need the full
// scan of namespaces, which is then run once.
#pragma once

#include <string_view>

#include "discover/nsref.h"
#include "topo/model.h"

namespace nscope {

struct ShowOptions {
  bool bpf = true;  // the scan, when one is needed, may walk the kernel
};

// Errors from the reference itself are those of nsref_error (see nsref_error_kind); any
// other Error is a runtime failure (the namespace could not be entered at all).
Result<ShowModel> build_show(std::string_view nsref, const ShowOptions& opts);

// Pure: the interfaces of a namespace with their addresses, masters, bridge ports and, for
// links whose far end lives here, that end. `far` holds what was learnt about far ends in
// other namespaces, keyed by (nsid, ifindex).
struct FarLink {
  LinkInfo link;
  std::string master;  // the far device's master name
};
std::vector<ShowIface> assemble_interfaces(const std::vector<LinkInfo>& links,
                                           const std::vector<AddrInfo>& addrs,
                                           const std::map<std::pair<int32_t, int>, FarLink>& far);

}  // namespace nscope
