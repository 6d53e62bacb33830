// Helpers for the system tests: they run as root, create real kernel objects (network
// namespaces, veth pairs, bind mounts, processes, runc containers) and run the built nscope
// binary against them. Every object carries a per-process prefix ("nst" + pid) and is owned
// by an RAII guard, so it goes away when a test ends, also when an assertion fails. Nothing
// a test did not create is ever touched.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace nst {

using nlohmann::json;

// ---- names ----------------------------------------------------------------------------

// "nst<pid>": every object a test makes starts with it.
const std::string& prefix();
// Whether a name is this process's: the prefix, then no further digit.
bool ours(std::string_view name);
// prefix + tag letter + counter: unique in this process, at most 15 characters for a
// 7-digit pid and a one-letter tag (fits an interface name).
std::string unique_name(char tag);
// The prefix nscope-churn gets: prefix() + "c", short enough for the interfaces it names (one
// churn runs at a time in a test process, and each ends all it made).
std::string churn_prefix();

// ---- running programs -----------------------------------------------------------------

struct RunOptions {
  std::chrono::milliseconds timeout{30000};
  std::optional<uid_t> uid;  // drop to this uid (and gid) in the child before exec
  std::optional<gid_t> gid;
  std::string cwd;  // chdir here before exec when not empty
  std::vector<std::string> env;  // NAME=VALUE added to the child's environment
};

inline RunOptions with_timeout(std::chrono::milliseconds t) {
  RunOptions o;
  o.timeout = t;
  return o;
}

struct RunResult {
  int exit_code = -1;  // exit status, or 128 + signal, or -1 when it could not run
  bool timed_out = false;
  std::string out;
  std::string err;
  std::string describe() const;  // for assertion messages
};

// A program running in the background (its own process group) with stdout and stderr in
// files; the group SIGKILLed and the program reaped on destruction if still running.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::string& out, const std::string& err);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  pid_t pid() const { return pid_; }
  // SIGTERM, then the exit code (128 + signal when killed); -1 after `limit`.
  int stop(std::chrono::milliseconds limit = std::chrono::seconds(20));
  // SIGKILL, then the wait status.
  int kill9();

 private:
  pid_t pid_ = -1;
};
// Whether this runs in tests/kernels' VM (a software-emulated CPU: several times slower).
bool in_vm();
// Whether FILE holds TEXT within LIMIT.
bool wait_for_text(const std::string& file, const std::string& text, std::chrono::milliseconds limit);

// fork + exec argv[0] (searched in PATH plus the sbin directories), stdin from /dev/null,
// stdout and stderr captured (into memfds, so a daemonising child cannot hang us). Safe to
// call from several threads at once.
RunResult run(const std::vector<std::string>& argv, const RunOptions& opts = {});
// Full path of a tool, or empty when missing.
std::string find_tool(const std::string& name);

// The nscope binary the tests run: the build's (NSCOPE_BIN), or $NSCOPE_TEST_BIN where set (the
// sanitizer runs point it at a sanitized build: tests/sanitize/run.sh).
const char* nscope_bin();
// Runs nscope_bin() with these arguments.
RunResult nscope(const std::vector<std::string>& args, const RunOptions& opts = {});
// `nscope list --json ARGS...`, parsed. Fails the current test (via ADD_FAILURE) and returns
// a null json when nscope fails or prints invalid JSON.
json nscope_list_json(const std::vector<std::string>& extra = {});

// ---- the namespaces in nscope's output ------------------------------------------------

// A JSON number or a decimal string (numbers above 2^53 are strings).
uint64_t as_u64(const json& j);
// An event's ICMP echo request, as its (id, seq), from the event's packet data (a made-up or
// real Ethernet header, then IPv4); nullopt for any other packet or an event without one.
std::optional<std::pair<int, int>> echo_request(const json& event);
// The namespace entry of this type and inode, or nullptr.
const json* find_ns(const json& doc, std::string_view type, uint64_t inode);
// Its holders of one kind.
std::vector<json> holders_of(const json& ns, std::string_view kind);
// A short dump of one namespace entry for failure messages.
std::string brief(const json* ns);

// The table output, split by the header's column positions.
struct TableRow {
  std::map<std::string, std::string> cells;
  std::string line;
  const std::string& operator[](const std::string& col) const;
};
// The row whose NS column is `inode`, if any.
std::optional<TableRow> table_row(const std::string& table, uint64_t inode);

// ---- namespaces and processes ---------------------------------------------------------

// st_ino of a path (an nsfs link such as /proc/PID/ns/net, or a bind-mounted nsfs file).
uint64_t ns_inode(const std::string& path);
uint64_t own_ns_inode(std::string_view type);  // of /proc/self/ns/TYPE
// ioctl(NS_GET_ID) on an open nsfs fd or a path; 0 when unknown.
uint64_t ns_id_of_fd(int fd);
uint64_t ns_id(const std::string& path);
// The nsid the initial netns (ours) assigned to the named netns, from `ip netns list`.
std::optional<int> ip_nsid_of(const std::string& name);

// A forked child that runs `body` and never returns into the test. The child gets one end
// of a socketpair (Channel) to talk to the test in lines. It dies with the test process
// (PR_SET_PDEATHSIG) and is SIGKILLed with its process group and reaped by the destructor.
class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  bool send(const std::string& line) const;  // adds '\n'
  // One line, without '\n'; nullopt on EOF, error or timeout.
  std::optional<std::string> recv(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  int fd_;
  std::string buf_;
};

class Child {
 public:
  explicit Child(std::function<void(Channel&)> body);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  Channel& chan() { return chan_; }
  // Reads lines "key=value key2=value2 ..." until one starting with "ready" (returned parsed)
  // or with "error" (test fails). Empty map on failure.
  std::map<std::string, std::string> wait_ready(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void kill_and_reap();

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  Channel chan_{-1};
};

// In a child only: report a failure to the test and exit.
[[noreturn]] void child_fail(Channel& c, const std::string& what);
// In a child only: sleep until killed.
[[noreturn]] void child_sleep_forever();
// In a child only: an fd to a brand new network namespace, made by a short-lived grandchild
// that unshares and is killed and reaped right after the fd is opened. -1 on failure
// (with *err set). The calling process stays where it is.
int new_netns_fd_from_process(std::string* err);

// ---- passing fds ----------------------------------------------------------------------

// One fd over a unix socket (SCM_RIGHTS); recv_fd returns it (close-on-exec) or -1.
bool send_fd(int sock, int fd);
int recv_fd(int sock);

// ---- RAII guards ----------------------------------------------------------------------

// mkdtemp("/tmp/nst<pid>...."); removed recursively (not crossing mounts) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// A mount made by the test: umount2(MNT_DETACH) on destruction.
class MountGuard {
 public:
  MountGuard() = default;
  explicit MountGuard(std::string target) : target_(std::move(target)) {}
  ~MountGuard();
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;
  void reset(std::string target);

 private:
  std::string target_;
};

// `ip netns add NAME` / `ip netns del NAME`.
class NamedNetns {
 public:
  explicit NamedNetns(std::string name);
  ~NamedNetns();
  NamedNetns(const NamedNetns&) = delete;
  NamedNetns& operator=(const NamedNetns&) = delete;
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }
  const std::string& error() const { return error_; }

 private:
  std::string name_;
  bool ok_ = false;
  std::string error_;
};

// `ip link add A type veth peer name B`; `ip link del A` (if it still exists) on destruction.
class Veth {
 public:
  Veth(std::string a, std::string b);
  ~Veth();
  Veth(const Veth&) = delete;
  Veth& operator=(const Veth&) = delete;
  bool ok() const { return ok_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }
  const std::string& error() const { return error_; }

 private:
  std::string a_, b_;
  bool ok_ = false;
  std::string error_;
};

// Two named network namespaces joined by a veth pair made directly inside them, with
// addresses 10.<net>.<n>.1 and .2 (a /24 of the test's own); deleting the namespaces deletes
// the pair. ino_a/ino_b: the namespaces' inodes.
struct VethPair {
  explicit VethPair(int net = 213);
  NamedNetns a, b;
  std::string va, vb;
  std::string ip_a, ip_b;
  uint64_t ino_a = 0, ino_b = 0;
  bool ok = false;
  std::string error;
};

// A runc container created by the test: `runc kill NAME KILL` + `runc delete -f NAME`.
class RuncContainer {
 public:
  explicit RuncContainer(std::string name) : name_(std::move(name)) {}
  ~RuncContainer();
  RuncContainer(const RuncContainer&) = delete;
  RuncContainer& operator=(const RuncContainer&) = delete;
  const std::string& name() const { return name_; }
  void started() { started_ = true; }      // call before `runc run`: cleanup is due from then on
  void set_pid(pid_t pid) { pid_ = pid; }  // the container's init, reaped after the kill

 private:
  std::string name_;
  bool started_ = false;
  pid_t pid_ = -1;
};

// ---- leak checks ----------------------------------------------------------------------

// What is left on the machine with this process's prefix: named netns, links, mounts,
// runc containers, temp dirs; one line each. Empty when clean.
std::vector<std::string> leftovers();
// leftovers(), after reaping the orphans this subreaper adopted (a --cmd's grandchild that
// nscope's SIGTERM ended) for up to `wait`: a process still alive then is a leak. Call it
// only where no test-owned Child is alive (it reaps any exited child).
std::vector<std::string> leftovers_after_reaping(
    std::chrono::milliseconds wait = std::chrono::milliseconds(2000));
// Live or zombie children of this process.
std::vector<pid_t> own_children();
// Number of open fds of this process.
int open_fd_count();

// The BPF objects a process holds, by kernel id, from its fds' fdinfo (prog_id, map_id,
// link_id): exact where bpftool would also list other processes' programs.
struct BpfObjects {
  std::set<uint32_t> progs, maps, links;
  size_t size() const { return progs.size() + maps.size() + links.size(); }
};
BpfObjects bpf_objects_of(pid_t pid);
// Those of `objs` the kernel still has (bpftool prog/map/link show id N), one line each
// ("prog 42"); waits up to `wait` for the kernel to free them.
std::vector<std::string> bpf_objects_alive(const BpfObjects& objs,
                                           std::chrono::milliseconds wait = std::chrono::milliseconds(3000));

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);
std::vector<std::string> split_lines(const std::string& s);

}  // namespace nst
