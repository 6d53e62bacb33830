// `nscope topo`: every network namespace and how they are wired.
//
// Gathering (build_topo) and assembly (assemble_topo) are apart so the graph logic is tested
// on readings made up in the unit tests, without root.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "topo/model.h"

namespace nscope {

struct TopoOptions {
  bool bpf = true;        // let the scan walk the kernel (authoritative veth peers)
  unsigned threads = 2;   // helper threads that enter namespaces
};

TopoModel build_topo(const TopoOptions& opts);

// What was read in, or about, one namespace.
struct NsReading {
  std::string id;                       // node id: the inode, or "nsid5@4026531833"
  bool read = false;                    // links were read
  bool gone = false;                    // it vanished before it could be read
  std::string error;
  std::string read_via;                 // read through IFLA_TARGET_NETNSID from another ns
  std::vector<LinkInfo> links;
  std::vector<AddrInfo> addrs;
  std::map<int32_t, std::string> nsids;  // nsid (as this ns numbers it) -> node id
};

// Builds nodes and edges. `readings[i]` belongs to the i-th network namespace of `scan`;
// readings past those are namespaces found only through a dangling veth (procfs mode), with
// their own ids. Veth peers come, in this order, from the kernel walk (peer holders in the
// scan), from same-namespace pairs, and from matching ends by index pairs; what stays
// unmatched is a dangling edge to an unknown end.
TopoModel assemble_topo(const ScanResult& scan, std::vector<NsReading> readings,
                        std::vector<TunOwner> tun_owners);

// The node id of a namespace inode ("4026531833").
std::string node_id(uint64_t inode);

}  // namespace nscope
