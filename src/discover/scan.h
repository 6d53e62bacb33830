// `nscope list`: every namespace of the requested types, and whoever keeps each alive.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bpfload/nsiter.h"
#include "discover/model.h"

namespace nscope {

struct ScanOptions {
  std::vector<NsType> types{NsType::net};
  bool bpf = true;              // walk tasks/files/nets with BPF iterators when we can
  std::string proc = "/proc";
  std::string host_root = "/";  // where container runtimes keep their state
  // The kernel walk to use instead of loading the iterators afresh (watch keeps them loaded:
  // KernelWalker); it must walk files, and nets when net is among the types.
  std::function<Result<KernelWalk>()> walk;
};

// Never fails as a whole: what could not be read is counted in ScanResult::skipped and
// explained in ScanResult::notes.
ScanResult scan_namespaces(const ScanOptions& opts);

}  // namespace nscope
