// Runs the kernel-side walks of bpf/nsiter.bpf.c and returns their records.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nscope.h"
#include "util/result.h"

namespace nscope {

struct KernelWalk {
  std::vector<nscope_task_rec> tasks;  // one per thread
  std::vector<nscope_file_rec> files;  // nsfs fds and cross-netns sockets
  std::vector<nscope_net_rec> nets;    // every live network namespace
  std::vector<nscope_dev_rec> devs;    // their devices
  bool nets_complete = false;          // the net walk closed its circle, nothing dropped
  // The nsids the walk's first namespace (the caller's) gives the others, read from its
  // table; complete when the whole table was read (kernels with its known layout).
  std::vector<nscope_nsid_rec> nsids;
  bool nsids_complete = false;
};

struct KernelWalkOptions {
  bool tasks = true;  // false: the namespaces and devices only (nets must be true)
  bool files = true;
  bool nets = true;
  // The net walk's bound in steps (a namespace or a device each). Tests lower it through
  // NSCOPE_TEST_NET_WALK_STEPS to see what a walk cut short gives.
  uint32_t net_steps = 1u << 20;
};

// Needs root (CAP_BPF + CAP_PERFMON); an Error says what the kernel refused.
Result<KernelWalk> kernel_walk(const KernelWalkOptions& opts);

// The same walk, loaded once and run again and again (`watch` walks at every change; the
// load is most of a walk's time).
class KernelWalker {
 public:
  static Result<KernelWalker> open(const KernelWalkOptions& opts);
  Result<KernelWalk> run();
  KernelWalker(KernelWalker&&) noexcept;
  KernelWalker& operator=(KernelWalker&&) noexcept;
  ~KernelWalker();

 private:
  struct Impl;
  explicit KernelWalker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Where the iterators read in the running kernel's structures, from its BTF.
Result<nscope_kernel_offsets> nsiter_offsets(const std::string& btf_path = "/sys/kernel/btf/vmlinux");

// Parses a buffer of back-to-back records as read from the iterators (exposed for tests).
Result<void> parse_walk_records(const char* data, size_t len, KernelWalk& out);

}  // namespace nscope
