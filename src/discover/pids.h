// `nscope pids NSREF`: the processes in one network namespace, and everyone else who keeps it
// alive (threads elsewhere than their process, open fds, sockets, bind mounts in any mount
// namespace, veth peers), for any reference `show` takes. `ip netns pids NAME` answers the
// first part, for an `ip netns` name only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "discover/model.h"
#include "util/result.h"

namespace nscope {

struct PidsOptions {
  bool bpf = true;      // the scan may walk the kernel with BPF iterators
  bool holders = true;  // false: the pids only; a reference that opens directly (an `ip netns`
                        // name, pid:N, a path) is then answered by a /proc walk, no scan
};

struct PidsReport {
  Namespace ns;                              // holders in the order pids shows them
  std::vector<int> pids;                     // its processes, ascending: `ip netns pids`
  bool holders_known = true;                 // false: found without a scan, or made after it
  std::vector<std::string> notes;            // the scan's, and ours
  std::map<std::string, uint64_t> skipped;   // the scan's
  std::string source;                        // "bpf" or "procfs"
};

// Pure: processes first (by pid), then threads (pid, tid), fds, sockets, mounts (path, mount
// namespace), veth peers: who runs there before what merely pins it.
void order_holders(std::vector<Holder>& holders);

// Pure: the pids of the processes in the namespace (process holders not held "via" a
// *_for_children link), ascending, each once. For a network namespace this is the set
// `ip netns pids` prints: the processes whose /proc/PID/ns/net is it.
std::vector<int> process_pids(const Namespace& ns);

// The report for `ref` resolved against `scan` (a scan of network namespaces). An unknown or
// ambiguous reference is the usage Error of nsref_error, candidates included.
Result<PidsReport> pids_report(std::string_view ref, const ScanResult& scan);

// Scans the network namespaces, then pids_report; with opts.holders false and a reference
// that opens directly, walks /proc as `ip netns pids` does instead (the same pids, in a
// third of the time on a host with 2,000 processes and 400 namespaces).
Result<PidsReport> build_pids(std::string_view ref, const PidsOptions& opts);

}  // namespace nscope
