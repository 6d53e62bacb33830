// `nscope exec --all`: one command in every network namespace, up to N at once, each one's
// output kept whole and handed back in namespace order.
//
// N worker threads each make one private mount namespace of their own and then, namespace by
// namespace: enter the network namespace, put a sysfs of it on /sys (with what was under the
// host's /sys), bind /etc/netns/NAME, and spawn the command (posix_spawn: a vfork from the
// thread, so the child has the thread's namespaces). The commands one worker runs share its
// mount namespace, one after another, instead of each copying the host's: on a host with 400
// named namespaces that copy (800 mounts) cost more than the command.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "discover/model.h"
#include "util/result.h"

namespace nscope {

struct RunAllOptions {
  std::vector<std::string> argv;
  unsigned jobs = 1;
  bool mount = false;  // enter a holder's mount namespace too (--mount)
};

struct NsRun {
  const Namespace* ns = nullptr;
  std::optional<int> exit;     // the command's status (128 + N for signal N); none: not run
  std::string out, err;        // what it wrote
  std::optional<Error> error;  // why it did not run: gone, cannot enter, cannot run
};

// Runs opts.argv in each of `nss` (stdin /dev/null, stdout and stderr captured), at most
// opts.jobs at once; done(i, run) is called for 0, 1, 2... in order, each as soon as it and
// every one before it have finished.
void run_in_each(const std::vector<const Namespace*>& nss, const RunAllOptions& opts,
                 const std::function<void(size_t, NsRun&)>& done);

}  // namespace nscope
