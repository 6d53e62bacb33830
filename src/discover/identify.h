// `nscope identify PID|TID|PATH`: every namespace a process or a thread is in (all eight
// types, and the pid and time namespaces its children get where those differ), or the one
// namespace an nsfs file is, each with what `list` knows of it: `ip netns` names, nsid,
// container and pod, holders. `ip netns identify PID` gives the `ip netns` name of the
// process's network namespace only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "discover/model.h"
#include "util/result.h"

namespace nscope {

enum class IdentifyKind : uint8_t { process, thread, path };
std::string_view identify_kind_name(IdentifyKind k);  // "process", "thread", "path"

struct IdentifyTarget {
  IdentifyKind kind = IdentifyKind::process;
  int pid = 0;          // process, thread: the process (thread group leader)
  int tid = 0;          // thread: the thread
  std::string path;     // path: as given
  std::string command;  // process, thread: the task's comm
};

// Pure: a decimal number (or pid:N, tid:N) is a process or thread id (which of the two:
// locate_task); anything else is a path. A usage Error for an empty argument, 0, or a number
// too big to be an id.
Result<IdentifyTarget> parse_identify_target(std::string_view arg);

// Which task `id` is, from <proc>/ID/status: a process (its Tgid is ID) or a thread of process
// Tgid. A usage Error "no process or thread ID" when there is none (as `show pid:N` treats a
// pid that names nothing); a `gone` Error for a zombie, which is in no namespace any more.
Result<IdentifyTarget> locate_task(int id, const std::string& proc = "/proc");

// One link of a /proc/.../ns directory: "net", "pid_for_children", ...
struct NsLink {
  std::string link;
  NsType type = NsType::net;
  uint64_t inode = 0;
};

// Pure: links in the order identify shows them (net, mnt, pid, pid_for_children, uts, ipc,
// user, cgroup, time, time_for_children), without a *_for_children link that names the same
// namespace as its own type's link.
std::vector<NsLink> order_links(std::vector<NsLink> links);

// Reads every link of the ns directory `dir` (/proc/PID/ns or /proc/PID/task/TID/ns), ordered
// by order_links. Reading another user's process needs CAP_SYS_PTRACE: a `permission` Error
// that says so. A *_for_children link that cannot be read (a new pid namespace no process has
// entered yet) is left out with a note in *notes.
Result<std::vector<NsLink>> read_ns_links(const std::string& dir, std::vector<std::string>* notes);

// An nsfs file (a /proc/PID/ns link, a bind mount such as /run/netns/NAME, /proc/PID/fd/N):
// its type and inode, from stat, statfs and NS_GET_NSTYPE; link is the type's name. A usage
// Error when the path is missing or is not an nsfs file, naming which.
Result<NsLink> read_nsfs_path(const std::string& path);

struct IdentifiedNs {
  std::string link;      // "net", "pid_for_children", ...
  Namespace ns;          // as the scan saw it, holders included
  bool scanned = false;  // false: the scan did not see it; type and inode (names, id) only
};

struct IdentifyReport {
  IdentifyTarget target;
  std::vector<IdentifiedNs> namespaces;     // in order_links' order
  std::vector<std::string> notes;           // the scan's, and ours
  std::map<std::string, uint64_t> skipped;  // the scan's
  std::string source;                       // "bpf" or "procfs"
};

// Pure: each link with what `scan` knows of its namespace.
std::vector<IdentifiedNs> annotate_links(const std::vector<NsLink>& links, const ScanResult& scan);

// Pure: the links of a process or thread as the scan's holders say them: where a process
// holder of its pid is (a holder "via" pid_for_children gives that link), and for a thread,
// where a thread holder of its tid is instead. For when /proc refuses the links themselves
// (PID 1 of some containers, even to root) but the kernel walk saw the task. Empty when the
// scan did not see it.
std::vector<NsLink> links_from_scan(const IdentifyTarget& t, const ScanResult& scan);

struct IdentifyOptions {
  bool bpf = true;
  std::string proc = "/proc";
};

// Finds the target's namespaces, scans namespaces of every type once, annotates them. When
// /proc refuses a task's links, the namespaces the scan saw it in are used, with a note.
Result<IdentifyReport> build_identify(std::string_view arg, const IdentifyOptions& opts);

}  // namespace nscope
