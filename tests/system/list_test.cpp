// System tests of `nscope list`: real namespaces held in every way nscope knows, and what a
// user sees for each in `nscope list --json` and in the table. Root only.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "testenv.h"

namespace nst {
namespace {

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

using namespace std::chrono_literals;

// Root is what these tests are about; without it there is nothing to test.
#define REQUIRE_ROOT()                        \
  if (geteuid() != 0) {                       \
    GTEST_SKIP() << "system tests need root"; \
  }

// `nscope list --json` as root: the BPF walk must have been used.
json list_json_bpf(const std::vector<std::string>& extra = {}) {
  json doc = nscope_list_json(extra);
  if (doc.is_object()) {
    EXPECT_EQ(doc.value("source", ""), "bpf")
        << "nscope did not use the BPF walk as root; notes: " << doc.value("notes", json()).dump();
  }
  return doc;
}

// `nscope list` (table, default columns).
std::string list_table(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"list"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = nscope(args);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return r.out;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool has_word(const std::string& s, const std::string& w) {
  for (auto& x : words(s))
    if (x == w) return true;
  return false;
}

// The HOLDERS cell shows "kind:detail" for a single holder of a kind ("pid:N" for a
// process), "plural:N" for N > 1. A concurrent process elsewhere on the machine may copy our
// mount into its own mount namespace: the copy of one path counts once, so it stays
// "mount:PATH".
void expect_holder_cell(const TableRow& row, const std::string& kind, const std::string& detail) {
  const std::string& cell = row["HOLDERS"];
  std::string want = (kind == "process" ? "pid" : kind) + ":" + detail;
  EXPECT_TRUE(has_word(cell, want)) << "HOLDERS should show " << want << "; row: " << row.line;
}

std::string kv_str(const std::map<std::string, std::string>& kv, const std::string& k) {
  auto it = kv.find(k);
  return it == kv.end() ? "" : it->second;
}
uint64_t kv_u64(const std::map<std::string, std::string>& kv, const std::string& k) {
  return std::strtoull(kv_str(kv, k).c_str(), nullptr, 10);
}

// ---- scenarios: each makes one namespace held in one way, and checks nscope's view -----

// 1. `ip netns add NAME`: a mount at /run/netns/NAME in our mount namespace.
struct NamedScenario {
  std::unique_ptr<NamedNetns> ns;
  uint64_t inode = 0;

  void setup() {
    ns = std::make_unique<NamedNetns>(unique_name('n'));
    ASSERT_TRUE(ns->ok()) << ns->error();
    inode = ns_inode(ns->path());
    ASSERT_NE(inode, 0u);
  }
  void check(const json& doc) const {
    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr) << "named netns " << ns->name() << " (inode " << inode << ") not listed";
    auto names = (*n)["names"];
    EXPECT_NE(std::find(names.begin(), names.end(), ns->name()), names.end())
        << "names should contain " << ns->name() << ": " << brief(n);
    // /run/netns propagates into mount namespaces others made meanwhile (`ip netns exec`
    // makes one as a slave), so the same path may show up there too: ours must be there.
    bool found = false;
    for (auto& h : holders_of(*n, "mount"))
      if (h.value("path", "") == ns->path() && as_u64(h["mntns"]) == own_ns_inode("mnt"))
        found = true;
    EXPECT_TRUE(found) << "no mount holder with path " << ns->path() << " in our mount namespace "
                       << own_ns_inode("mnt") << ": " << brief(n);
    EXPECT_EQ((*n)["processes"], 0) << brief(n);
  }
  void check_table(const std::string& table) const {
    auto row = table_row(table, inode);
    ASSERT_TRUE(row) << "no row for " << inode << " in:\n" << table;
    EXPECT_EQ((*row)["TYPE"], "net");
    EXPECT_TRUE(has_word((*row)["NAME"], ns->name()) ||
                (*row)["NAME"].find(ns->name()) != std::string::npos)
        << row->line;
    expect_holder_cell(*row, "mount", ns->path());
  }
};

// 2. A sleeping process that unshared its network namespace.
struct ProcessScenario {
  std::unique_ptr<Child> child;
  uint64_t inode = 0;
  uint64_t id = 0;  // NS_GET_ID

  void setup() {
    child = std::make_unique<Child>([](Channel& c) {
      prctl(PR_SET_NAME, "nstproc");
      if (unshare(CLONE_NEWNET) != 0) child_fail(c, "unshare(CLONE_NEWNET)");
      c.send("ready");
      child_sleep_forever();
    });
    ASSERT_FALSE(child->wait_ready().empty());
    inode = ns_inode("/proc/" + std::to_string(child->pid()) + "/ns/net");
    ASSERT_NE(inode, 0u);
    ASSERT_NE(inode, own_ns_inode("net"));
    id = ns_id("/proc/" + std::to_string(child->pid()) + "/ns/net");
  }
  void check(const json& doc) const {
    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr) << "process-held netns " << inode << " not listed";
    bool found = false;
    for (auto& h : holders_of(*n, "process"))
      if (h.value("pid", 0) == child->pid()) {
        found = true;
        EXPECT_EQ(h.value("command", ""), "nstproc") << brief(n);
        EXPECT_FALSE(h.contains("via")) << brief(n);
      }
    EXPECT_TRUE(found) << "no process holder with pid " << child->pid() << ": " << brief(n);
    EXPECT_GE((*n)["processes"].get<int>(), 1) << brief(n);
    EXPECT_EQ((*n)["pid"], child->pid()) << brief(n);
    EXPECT_EQ((*n)["interfaces"], 1) << "a fresh netns has only lo: " << brief(n);
    if (id) {
      EXPECT_EQ(as_u64((*n)["id"]), id) << "NS_GET_ID: " << brief(n);
    }
    EXPECT_EQ(as_u64((*n)["owner"]), own_ns_inode("user")) << brief(n);
  }
  void check_table(const std::string& table) const {
    auto row = table_row(table, inode);
    ASSERT_TRUE(row) << "no row for " << inode << " in:\n" << table;
    EXPECT_EQ((*row)["NPROCS"], "1") << row->line;
    EXPECT_EQ((*row)["PID"], std::to_string(child->pid())) << row->line;
    EXPECT_EQ((*row)["IFACES"], "1") << row->line;
    expect_holder_cell(*row, "process", std::to_string(child->pid()));
  }
};

// 3. One extra thread of a process unshared; the process itself stays in the host netns.
struct ThreadScenario {
  std::unique_ptr<Child> child;
  int tid = 0;
  uint64_t inode = 0;

  void setup() {
    child = std::make_unique<Child>([](Channel& c) {
      prctl(PR_SET_NAME, "nstthread");
      std::thread t([&c] {
        if (unshare(CLONE_NEWNET) != 0) child_fail(c, "unshare(CLONE_NEWNET) in a thread");
        c.send("ready tid=" + std::to_string(gettid()));
        child_sleep_forever();
      });
      t.detach();
      child_sleep_forever();
    });
    auto kv = child->wait_ready();
    ASSERT_FALSE(kv.empty());
    tid = static_cast<int>(kv_u64(kv, "tid"));
    ASSERT_GT(tid, 0);
    std::string p = "/proc/" + std::to_string(child->pid());
    inode = ns_inode(p + "/task/" + std::to_string(tid) + "/ns/net");
    ASSERT_NE(inode, 0u);
    ASSERT_NE(inode, own_ns_inode("net"));
    ASSERT_EQ(ns_inode(p + "/ns/net"), own_ns_inode("net")) << "the main thread must stay";
  }
  void check(const json& doc) const {
    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr) << "thread-held netns " << inode << " not listed";
    bool found = false;
    for (auto& h : holders_of(*n, "thread"))
      if (h.value("pid", 0) == child->pid() && h.value("tid", 0) == tid) found = true;
    EXPECT_TRUE(found) << "no thread holder " << child->pid() << "/" << tid << ": " << brief(n);
    for (auto& h : holders_of(*n, "process"))
      EXPECT_NE(h.value("pid", 0), child->pid())
          << "the process is not in this netns, only its thread: " << brief(n);
    EXPECT_EQ((*n)["processes"], 0) << brief(n);
    EXPECT_TRUE((*n)["pid"].is_null()) << brief(n);
  }
  void check_table(const std::string& table) const {
    auto row = table_row(table, inode);
    ASSERT_TRUE(row) << "no row for " << inode << " in:\n" << table;
    EXPECT_EQ((*row)["NPROCS"], "0") << row->line;
    expect_holder_cell(*row, "thread", std::to_string(child->pid()) + "/" + std::to_string(tid));
  }
};

// 4. A bind mount of the netns onto a file in a private bind mount of a temp dir, outside
//    /run/netns; the process that made the netns is gone.
struct BindScenario {
  std::unique_ptr<TempDir> dir;
  MountGuard dir_mount;
  MountGuard file_mount;
  std::string name = "netns";  // the file's name inside the temp dir
  std::string file;
  uint64_t inode = 0;

  void setup() {
    dir = std::make_unique<TempDir>();
    const std::string& d = dir->path();
    ASSERT_FALSE(d.empty());
    ASSERT_EQ(mount(d.c_str(), d.c_str(), nullptr, MS_BIND, nullptr), 0) << strerror(errno);
    dir_mount.reset(d);
    ASSERT_EQ(mount(nullptr, d.c_str(), nullptr, MS_PRIVATE, nullptr), 0) << strerror(errno);
    file = d + "/" + name;
    int fd = open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << strerror(errno);
    close(fd);
    Child child([](Channel& c) {
      prctl(PR_SET_NAME, "nstbind");
      if (unshare(CLONE_NEWNET) != 0) child_fail(c, "unshare(CLONE_NEWNET)");
      c.send("ready");
      child_sleep_forever();
    });
    ASSERT_FALSE(child.wait_ready().empty());
    std::string src = "/proc/" + std::to_string(child.pid()) + "/ns/net";
    ASSERT_EQ(mount(src.c_str(), file.c_str(), nullptr, MS_BIND, nullptr), 0) << strerror(errno);
    file_mount.reset(file);
    inode = ns_inode(src);
    child.kill_and_reap();
    ASSERT_NE(inode, 0u);
    ASSERT_EQ(ns_inode(file), inode);
  }
  void check(const json& doc) const {
    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr) << "bind-mounted netns " << inode << " at " << file << " not listed";
    // A mount namespace someone else makes meanwhile copies our mounts: ours must be there.
    bool found = false;
    for (auto& h : holders_of(*n, "mount"))
      if (h.value("path", "") == file && as_u64(h["mntns"]) == own_ns_inode("mnt")) found = true;
    EXPECT_TRUE(found) << "no mount holder with path " << file << " in our mount namespace "
                       << own_ns_inode("mnt") << ": " << brief(n);
    EXPECT_TRUE((*n)["names"].empty()) << "not under /run/netns, so no name: " << brief(n);
    EXPECT_EQ((*n)["processes"], 0) << brief(n);
  }
  void check_table(const std::string& table) const {
    auto row = table_row(table, inode);
    ASSERT_TRUE(row) << "no row for " << inode << " in:\n" << table;
    expect_holder_cell(*row, "mount", file);
  }
};

// A child that unshares its mount namespace (made rprivate), mounts a tmpfs on `dir`, makes
// a new netns from a temporary thread and bind-mounts it onto `file` inside that tmpfs, then
// sleeps, back in the host netns. It reports "ready ino=<netns inode>".
std::function<void(Channel&)> private_mntns_body(std::string d, std::string f) {
  return [d, f](Channel& c) {
    prctl(PR_SET_NAME, "nstmntns");
    if (unshare(CLONE_NEWNS) != 0) child_fail(c, "unshare(CLONE_NEWNS)");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      child_fail(c, "make / rprivate");
    if (mount("tmpfs", d.c_str(), "tmpfs", 0, "size=64k,mode=0700") != 0)
      child_fail(c, "mount tmpfs");
    int fd = open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) child_fail(c, "create " + f);
    close(fd);
    std::string err;
    std::thread t([&] {  // a temporary thread makes the netns and mounts it, then ends
      if (unshare(CLONE_NEWNET) != 0)
        err = "unshare(CLONE_NEWNET)";
      else if (mount("/proc/thread-self/ns/net", f.c_str(), nullptr, MS_BIND, nullptr) != 0)
        err = "bind mount of the netns";
    });
    t.join();
    if (!err.empty()) child_fail(c, err);
    struct stat st {};
    if (stat(f.c_str(), &st) != 0) child_fail(c, "stat " + f);
    c.send("ready ino=" + std::to_string(st.st_ino));
    child_sleep_forever();
  };
}

// 5. A bind mount that exists only in a private mount namespace, whose own process (back in
//    the host netns) keeps the mount namespace alive.
struct PrivateMntnsScenario {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<Child> child;
  std::string file;
  uint64_t inode = 0;
  uint64_t mntns = 0;

  void setup() {
    dir = std::make_unique<TempDir>();
    ASSERT_FALSE(dir->path().empty());
    file = dir->path() + "/netns";
    std::string d = dir->path(), f = file;
    child = std::make_unique<Child>(private_mntns_body(d, f));
    auto kv = child->wait_ready();
    ASSERT_FALSE(kv.empty());
    inode = kv_u64(kv, "ino");
    ASSERT_NE(inode, 0u);
    std::string p = "/proc/" + std::to_string(child->pid());
    mntns = ns_inode(p + "/ns/mnt");
    ASSERT_NE(mntns, 0u);
    ASSERT_NE(mntns, own_ns_inode("mnt"));
    ASSERT_EQ(ns_inode(p + "/ns/net"), own_ns_inode("net")) << "the child is back in the host";
    ASSERT_NE(inode, own_ns_inode("net"));
    // Invisible from here: not in our mountinfo, and the file is not even there.
    ASSERT_EQ(read_file("/proc/self/mountinfo").find(file), std::string::npos);
    ASSERT_EQ(ns_inode(file), 0u);
  }
  void check(const json& doc) const {
    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr) << "netns " << inode << " mounted only in mount namespace " << mntns
                          << " not listed";
    bool found = false;
    for (auto& h : holders_of(*n, "mount"))
      if (as_u64(h["mntns"]) == mntns) {
        found = true;
        EXPECT_EQ(h.value("path", ""), file) << brief(n);
        EXPECT_EQ(h.value("pid", 0), child->pid()) << brief(n);
      }
    EXPECT_TRUE(found) << "no mount holder in mount namespace " << mntns << ": " << brief(n);
    EXPECT_TRUE((*n)["names"].empty()) << brief(n);
    EXPECT_EQ((*n)["processes"], 0) << brief(n);
  }
  void check_table(const std::string& table) const {
    auto row = table_row(table, inode);
    ASSERT_TRUE(row) << "no row for " << inode << " in:\n" << table;
    expect_holder_cell(*row, "mount", file);
  }
};

// 6. Only an open fd of a process in the host netns; the unshared process that made the
//    namespace is gone.
struct FdScenario {
  std::unique_ptr<Child> child;
  int fd = -1;
  uint64_t inode = 0;

  void setup() {
    child = std::make_unique<Child>([](Channel& c) {
      prctl(PR_SET_NAME, "nstfd");
      std::string err;
      int fd = new_netns_fd_from_process(&err);
      if (fd < 0) child_fail(c, err);
      struct stat st {};
      fstat(fd, &st);
      c.send("ready fd=" + std::to_string(fd) + " ino=" + std::to_string(st.st_ino));
      child_sleep_forever();
    });
    auto kv = child->wait_ready();
    ASSERT_FALSE(kv.empty());
    fd = static_cast<int>(kv_u64(kv, "fd"));
    inode = kv_u64(kv, "ino");
    ASSERT_NE(inode, 0u);
    ASSERT_NE(inode, own_ns_inode("net"));
    std::string p = "/proc/" + std::to_string(child->pid());
    ASSERT_EQ(ns_inode(p + "/ns/net"), own_ns_inode("net"));
    ASSERT_EQ(ns_inode(p + "/fd/" + std::to_string(fd)), inode);
  }
  void check(const json& doc) const {
    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr) << "fd-held netns " << inode << " not listed";
    bool found = false;
    for (auto& h : holders_of(*n, "fd"))
      if (h.value("pid", 0) == child->pid()) {
        found = true;
        EXPECT_EQ(h.value("fd", -1), fd) << brief(n);
        EXPECT_EQ(h.value("command", ""), "nstfd") << brief(n);
      }
    EXPECT_TRUE(found) << "no fd holder with pid " << child->pid() << ": " << brief(n);
    EXPECT_EQ((*n)["processes"], 0) << brief(n);
    EXPECT_TRUE(holders_of(*n, "process").empty()) << brief(n);
  }
  void check_table(const std::string& table) const {
    auto row = table_row(table, inode);
    ASSERT_TRUE(row) << "no row for " << inode << " in:\n" << table;
    expect_holder_cell(*row, "fd", std::to_string(child->pid()) + "/" + std::to_string(fd));
  }
};

// 7. Only a UDP socket made inside the netns by a process that went back to the host netns
//    and closed the netns fd.
struct SocketScenario {
  std::unique_ptr<Child> child;
  int sock = -1;
  uint64_t cookie = 0;
  uint64_t inode = 0;

  void setup() {
    child = std::make_unique<Child>([](Channel& c) {
      prctl(PR_SET_NAME, "nstsock");
      std::string err;
      int nsfd = new_netns_fd_from_process(&err);
      if (nsfd < 0) child_fail(c, err);
      int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
      if (host < 0) child_fail(c, "open own netns");
      if (setns(nsfd, CLONE_NEWNET) != 0) child_fail(c, "setns into the new netns");
      int s = socket(AF_INET, SOCK_DGRAM, 0);
      if (s < 0) child_fail(c, "socket");
      uint64_t cookie = 0;
      socklen_t len = sizeof cookie;
      if (getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
        child_fail(c, "SO_NETNS_COOKIE");
      if (setns(host, CLONE_NEWNET) != 0) child_fail(c, "setns back");
      struct stat st {};
      fstat(nsfd, &st);
      close(nsfd);
      close(host);
      c.send("ready sock=" + std::to_string(s) + " cookie=" + std::to_string(cookie) +
             " ino=" + std::to_string(st.st_ino));
      child_sleep_forever();
    });
    auto kv = child->wait_ready();
    ASSERT_FALSE(kv.empty());
    sock = static_cast<int>(kv_u64(kv, "sock"));
    cookie = kv_u64(kv, "cookie");
    inode = kv_u64(kv, "ino");
    ASSERT_NE(inode, 0u);
    ASSERT_NE(cookie, 0u);
    ASSERT_EQ(ns_inode("/proc/" + std::to_string(child->pid()) + "/ns/net"), own_ns_inode("net"));
  }
  void check(const json& doc, bool bpf) const {
    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr) << "socket-held netns " << inode << " not listed";
    bool found = false;
    for (auto& h : holders_of(*n, "socket"))
      if (h.value("pid", 0) == child->pid()) {
        found = true;
        EXPECT_EQ(h.value("fd", -1), sock) << brief(n);
        EXPECT_EQ(h.value("sockets", 0), 1) << brief(n);
        EXPECT_EQ(h.value("command", ""), "nstsock") << brief(n);
      }
    EXPECT_TRUE(found) << "no socket holder with pid " << child->pid() << ": " << brief(n);
    // BPF reads net->net_cookie; without BPF the cookie may be unknown, but never wrong.
    if (bpf || !(*n)["cookie"].is_null()) {
      EXPECT_EQ(as_u64((*n)["cookie"]), cookie)
          << "SO_NETNS_COOKIE of the socket: " << cookie << "; " << brief(n);
    }
    EXPECT_EQ((*n)["processes"], 0) << brief(n);
  }
  void check_table(const std::string& table) const {
    auto row = table_row(table, inode);
    ASSERT_TRUE(row) << "no row for " << inode << " in:\n" << table;
    expect_holder_cell(*row, "socket", std::to_string(child->pid()) + "/" + std::to_string(sock));
  }
};

}  // namespace

// ---- one table: every holder kind, seen by the kernel walk and by the /proc walk ---------

template <class Scenario>
class ListHolder : public ::testing::Test {
 protected:
  // Sets a scenario up, lists with `extra` flags, checks the JSON and the table.
  void run(const std::vector<std::string>& extra, bool bpf) {
    REQUIRE_ROOT();
    Scenario s;
    ASSERT_NO_FATAL_FAILURE(s.setup());
    json doc = bpf ? list_json_bpf(extra) : nscope_list_json(extra);
    ASSERT_FALSE(doc.is_null());
    if (!bpf) {
      EXPECT_EQ(doc.value("source", ""), "procfs");
      // The /proc walk says what it cannot see (issue 21).
      EXPECT_NE(doc.value("notes", json::array()).dump().find("only a veth peer or an fd in flight"), std::string::npos)
          << doc.value("notes", json()).dump();
    }
    if constexpr (requires { s.check(doc, bpf); }) s.check(doc, bpf);
    else s.check(doc);
    s.check_table(list_table(extra));
  }
};

// The rows of the table: the way each namespace is held, named as the tests print.
using HolderScenarios = ::testing::Types<NamedScenario, ProcessScenario, ThreadScenario, BindScenario,
                                         PrivateMntnsScenario, FdScenario, SocketScenario>;
struct HolderName {
  template <class T>
  static std::string GetName(int) {
    if (std::is_same_v<T, NamedScenario>) return "NamedNetnsIsAMountHolderWithItsName";
    if (std::is_same_v<T, ProcessScenario>) return "ProcessHolder";
    if (std::is_same_v<T, ThreadScenario>) return "ThreadOnlyHolder";
    if (std::is_same_v<T, BindScenario>) return "BindMountOutsideRunNetns";
    if (std::is_same_v<T, PrivateMntnsScenario>) return "BindMountInPrivateMountNamespace";
    if (std::is_same_v<T, FdScenario>) return "FdOnlyHolder";
    return "SocketOnlyHolderWithCookie";
  }
};
TYPED_TEST_SUITE(ListHolder, HolderScenarios, HolderName);

TYPED_TEST(ListHolder, SeenByTheKernelWalk) { this->run({}, true); }

// Without BPF, /proc and pidfd_getfd (for sockets) find the same holders.
TYPED_TEST(ListHolder, SeenByTheProcfsWalk) { this->run({"--no-bpf"}, false); }

// Whatever holds a namespace, show and topo can read it: never "gone" for a live one.
TYPED_TEST(ListHolder, ShowAndTopoReadIt) {
  REQUIRE_ROOT();
  TypeParam s;
  ASSERT_NO_FATAL_FAILURE(s.setup());
  RunResult shown = nscope({"show", std::to_string(s.inode)});
  EXPECT_EQ(shown.exit_code, 0) << shown.describe();
  EXPECT_NE(shown.out.find(" lo "), std::string::npos) << shown.out;
  for (const char* mode : {"--bpf", "--no-bpf"}) {
    SCOPED_TRACE(mode);
    std::vector<std::string> args{"topo", "--json"};
    if (std::string(mode) == "--no-bpf") args.push_back(mode);
    RunResult r = nscope(args);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    json doc = json::parse(r.out, nullptr, false);
    const json* node = nullptr;
    for (auto& n : doc["nodes"])
      if (as_u64(n["inode"]) == s.inode) node = &n;
    ASSERT_NE(node, nullptr) << "topo has no node " << s.inode;
    EXPECT_FALSE((*node)["gone"].get<bool>()) << node->dump();
    EXPECT_TRUE((*node)["error"].is_null()) << node->dump();
    EXPECT_EQ((*node)["interfaces"].size(), 1u) << "lo only: " << node->dump();
  }
}

// A helper process that makes a netns (from a short-lived unshared grandchild) and holds it
// by an fd. It reports "ready fd= ino= id= cookie=", then on "hide" sends that fd to itself
// over a unix socketpair (SCM_RIGHTS), closes it and keeps the socketpair: the netns stays
// alive, held only by the fd in flight. Then it reports "ready hidden=1".
std::function<void(Channel&)> hidden_netns_helper() {
  return [](Channel& c) {
    prctl(PR_SET_NAME, "nsthidden");
    std::string err;
    int nsfd = new_netns_fd_from_process(&err);
    if (nsfd < 0) child_fail(c, err);
    struct stat st {};
    fstat(nsfd, &st);
    uint64_t id = ns_id_of_fd(nsfd);
    // Its cookie, from a socket made inside (entering and leaving it again).
    int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (host < 0 || setns(nsfd, CLONE_NEWNET) != 0) child_fail(c, "setns into the netns");
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
      child_fail(c, "SO_NETNS_COOKIE");
    close(s);
    if (setns(host, CLONE_NEWNET) != 0) child_fail(c, "setns back");
    close(host);
    c.send("ready fd=" + std::to_string(nsfd) + " ino=" + std::to_string(st.st_ino) +
           " id=" + std::to_string(id) + " cookie=" + std::to_string(cookie));
    auto cmd = c.recv(30s);
    if (!cmd || *cmd != "hide") _exit(1);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) child_fail(c, "socketpair");
    if (!send_fd(sv[0], nsfd)) child_fail(c, "sendmsg SCM_RIGHTS");
    close(nsfd);
    c.send("ready hidden=1");
    child_sleep_forever();  // both ends of the socketpair stay open: the fd stays in flight
  };
}

// 8. A netns held only by an fd in flight in a unix socket: no process, mount or fd shows it;
//    only the kernel's list of namespaces does, with the veth that leads there.
TEST(List, VethPeerOnlyNamespace) {
  REQUIRE_ROOT();
  Child helper(hidden_netns_helper());
  auto kv = helper.wait_ready();
  ASSERT_FALSE(kv.empty());
  int fd = static_cast<int>(kv_u64(kv, "fd"));
  uint64_t inode = kv_u64(kv, "ino");
  uint64_t id = kv_u64(kv, "id");
  uint64_t cookie = kv_u64(kv, "cookie");
  ASSERT_NE(inode, 0u);
  std::string fdpath = "/proc/" + std::to_string(helper.pid()) + "/fd/" + std::to_string(fd);
  ASSERT_EQ(ns_inode(fdpath), inode);

  Veth veth(unique_name('v'), unique_name('v'));
  ASSERT_TRUE(veth.ok()) << veth.error();
  RunResult mv = run({"ip", "link", "set", "dev", veth.b(), "netns", fdpath});
  ASSERT_EQ(mv.exit_code, 0) << "moving " << veth.b() << " into the netns: " << mv.describe();
  unsigned host_ifindex = if_nametoindex(veth.a().c_str());
  ASSERT_NE(host_ifindex, 0u);

  ASSERT_TRUE(helper.chan().send("hide"));
  ASSERT_FALSE(helper.wait_ready().empty());
  ASSERT_EQ(ns_inode(fdpath), 0u) << "the helper must no longer hold the netns fd";

  json doc = list_json_bpf();
  ASSERT_FALSE(doc.is_null());
  const json* n = find_ns(doc, "net", inode);
  ASSERT_NE(n, nullptr) << "netns " << inode << " (held only by an in-flight fd, reachable by "
                        << "veth " << veth.a() << ") not listed";
  bool found = false;
  for (auto& h : holders_of(*n, "peer"))
    if (h.value("ifname", "") == veth.a()) {
      found = true;
      EXPECT_EQ(as_u64(h["netns"]), own_ns_inode("net")) << brief(n);
      EXPECT_EQ(h.value("ifindex", 0), static_cast<int>(host_ifindex)) << brief(n);
      EXPECT_GT(h.value("peer_ifindex", 0), 0) << brief(n);
    }
  EXPECT_TRUE(found) << "no peer holder " << veth.a() << ": " << brief(n);
  EXPECT_EQ((*n)["processes"], 0) << brief(n);
  EXPECT_TRUE(holders_of(*n, "fd").empty()) << brief(n);
  EXPECT_EQ((*n)["interfaces"], 2) << "lo and " << veth.b() << ": " << brief(n);
  EXPECT_EQ(as_u64((*n)["cookie"]), cookie) << "SO_NETNS_COOKIE inside: " << brief(n);
  if (id) {
    EXPECT_EQ(as_u64((*n)["id"]), id) << "NS_GET_ID: " << brief(n);
  }
  EXPECT_EQ(as_u64((*n)["owner"]), own_ns_inode("user")) << brief(n);

  std::string table = list_table();
  auto row = table_row(table, inode);
  ASSERT_TRUE(row) << "no row for " << inode << " in:\n" << table;
  expect_holder_cell(*row, "peer", veth.a() + "@" + std::to_string(own_ns_inode("net")));
  EXPECT_EQ((*row)["IFACES"], "2") << row->line;
}

// A netns held only by an fd in flight, with no device but lo and no veth leading there:
// nothing in /proc shows it, the kernel's list of namespaces still does.
TEST(List, HiddenNamespaceWithNoHolderAtAll) {
  REQUIRE_ROOT();
  Child helper(hidden_netns_helper());
  auto kv = helper.wait_ready();
  ASSERT_FALSE(kv.empty());
  uint64_t inode = kv_u64(kv, "ino");
  uint64_t id = kv_u64(kv, "id");
  uint64_t cookie = kv_u64(kv, "cookie");
  ASSERT_NE(inode, 0u);
  ASSERT_TRUE(helper.chan().send("hide"));
  ASSERT_FALSE(helper.wait_ready().empty());
  std::string fdpath = "/proc/" + std::to_string(helper.pid()) + "/fd/" + kv_str(kv, "fd");
  ASSERT_EQ(ns_inode(fdpath), 0u);

  json doc = list_json_bpf();
  ASSERT_FALSE(doc.is_null());
  const json* n = find_ns(doc, "net", inode);
  ASSERT_NE(n, nullptr) << "netns " << inode << " held only by an in-flight fd not listed";
  EXPECT_TRUE((*n)["holders"].empty()) << brief(n);
  EXPECT_EQ((*n)["processes"], 0) << brief(n);
  EXPECT_EQ((*n)["interfaces"], 1) << brief(n);
  EXPECT_EQ(as_u64((*n)["cookie"]), cookie) << brief(n);
  if (id) {
    EXPECT_EQ(as_u64((*n)["id"]), id) << brief(n);
  }
  std::string table = list_table();
  auto row = table_row(table, inode);
  ASSERT_TRUE(row) << "no row for " << inode;
  EXPECT_EQ((*row)["HOLDERS"], "-") << row->line;
}

// mountinfo escapes blanks and backslashes in mount points (\040, \134): the holder's path
// is the real one.
// A kernel walk cut short (here: bounded to a few steps) must not give numbers that look
// whole: the interface counts come from netlink instead, and the notes say what happened.
TEST(List, AWalkCutShortCountsInterfacesThroughNetlink) {
  REQUIRE_ROOT();
  NamedNetns ns(unique_name('n'));
  ASSERT_TRUE(ns.ok()) << ns.error();
  Veth veth(unique_name('v'), unique_name('v'));
  ASSERT_TRUE(veth.ok()) << veth.error();
  RunResult mv = run({"ip", "link", "set", "dev", veth.b(), "netns", ns.name()});
  ASSERT_EQ(mv.exit_code, 0) << mv.describe();
  uint64_t inode = ns_inode(ns.path());

  RunOptions cut;
  cut.env = {"NSCOPE_TEST_NET_WALK_STEPS=3"};
  RunResult r = nscope({"list", "--json"}, cut);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << r.out;
  EXPECT_EQ(doc.value("source", ""), "bpf");
  std::string notes = doc.value("notes", json::array()).dump();
  EXPECT_NE(notes.find("cut short"), std::string::npos) << notes;
  const json* n = find_ns(doc, "net", inode);
  ASSERT_NE(n, nullptr) << "netns " << ns.name() << " not listed";
  EXPECT_EQ((*n)["interfaces"], 2) << "lo and " << veth.b() << ": " << brief(n);
  const json* init = find_ns(doc, "net", own_ns_inode("net"));
  ASSERT_NE(init, nullptr);
  RunResult links = run({"ip", "-o", "link", "show"});
  ASSERT_EQ(links.exit_code, 0) << links.describe();
  size_t count = static_cast<size_t>(std::count(links.out.begin(), links.out.end(), '\n'));
  EXPECT_EQ((*init)["interfaces"], count) << brief(init);

  // The same host, walked whole: no note, the same counts.
  json whole = list_json_bpf();
  ASSERT_TRUE(whole.is_object());
  EXPECT_EQ(whole.value("notes", json::array()).dump().find("cut short"), std::string::npos);
  const json* w = find_ns(whole, "net", inode);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ((*w)["interfaces"], 2) << brief(w);
}

TEST(List, BindMountPathWithBlankAndBackslash) {
  REQUIRE_ROOT();
  BindScenario s;
  s.name = "net ns\\x";
  ASSERT_NO_FATAL_FAILURE(s.setup());
  ASSERT_NE(read_file("/proc/self/mountinfo").find("net\\040ns\\134x"), std::string::npos);
  for (bool bpf : {true, false}) {
    SCOPED_TRACE(bpf ? "BPF walk" : "--no-bpf");
    json doc = bpf ? list_json_bpf() : nscope_list_json({"--no-bpf"});
    ASSERT_FALSE(doc.is_null());
    s.check(doc);
  }
}

// 9. A real runc container, recognised as such.
TEST(List, RuncContainer) {
  REQUIRE_ROOT();
  if (find_tool("runc").empty())
    GTEST_SKIP() << "runc is not installed (scripts/install-deps.sh test installs it)";
  std::string busybox = find_tool("busybox");
  ASSERT_FALSE(busybox.empty())
      << "busybox is missing: install busybox-static (scripts/install-deps.sh test)";

  TempDir bundle;
  ASSERT_FALSE(bundle.path().empty());
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(bundle / "rootfs/bin", ec);
  ASSERT_FALSE(ec) << ec.message();
  fs::copy_file(busybox, bundle / "rootfs/bin/busybox", ec);
  ASSERT_FALSE(ec) << ec.message();
  fs::create_symlink("busybox", bundle / "rootfs/bin/sh", ec);
  fs::create_symlink("busybox", bundle / "rootfs/bin/sleep", ec);
  ASSERT_FALSE(ec) << ec.message();

  RunResult spec = run({"runc", "spec", "--bundle", bundle.path()});
  ASSERT_EQ(spec.exit_code, 0) << spec.describe();
  json cfg = json::parse(read_file(bundle / "config.json"), nullptr, false);
  ASSERT_FALSE(cfg.is_discarded());
  cfg["process"].erase("rlimits");  // this machine refuses raising limits
  cfg["process"]["args"] = {"sleep", "1000"};
  cfg["process"]["terminal"] = false;
  bool has_netns = false;
  for (auto& ns : cfg["linux"]["namespaces"])
    if (ns.value("type", "") == "network") has_netns = true;
  ASSERT_TRUE(has_netns) << "runc's default spec should give the container its own netns";
  {
    std::ofstream out(bundle / "config.json");
    out << cfg.dump(2);
  }

  RuncContainer ctr(unique_name('r'));
  std::string pidfile = bundle / "pid";
  ctr.started();
  RunResult r =
      run({"runc", "run", "-d", "--bundle", bundle.path(), "--pid-file", pidfile, ctr.name()});
  ASSERT_EQ(r.exit_code, 0) << "runc run: " << r.describe();
  int pid = std::atoi(read_file(pidfile).c_str());
  ASSERT_GT(pid, 0);
  ctr.set_pid(pid);
  uint64_t inode = ns_inode("/proc/" + std::to_string(pid) + "/ns/net");
  ASSERT_NE(inode, 0u);
  ASSERT_NE(inode, own_ns_inode("net"));

  json doc = list_json_bpf();
  ASSERT_FALSE(doc.is_null());
  const json* n = find_ns(doc, "net", inode);
  ASSERT_NE(n, nullptr) << "container netns " << inode << " not listed";
  ASSERT_TRUE((*n)["container"].is_object()) << "no container identified: " << brief(n);
  EXPECT_EQ((*n)["container"].value("runtime", ""), "runc") << brief(n);
  EXPECT_EQ((*n)["container"].value("id", ""), ctr.name()) << brief(n);
  EXPECT_EQ((*n)["pid"], pid) << brief(n);
  bool found = false;
  for (auto& h : holders_of(*n, "process"))
    if (h.value("pid", 0) == pid) found = true;
  EXPECT_TRUE(found) << brief(n);

  std::string table = list_table();
  auto row = table_row(table, inode);
  ASSERT_TRUE(row) << "no row for " << inode << " in:\n" << table;
  EXPECT_EQ((*row)["CONTAINER"], "runc:" + ctr.name()) << row->line;
}

// 10. The host's own namespaces: exactly one initial namespace of each type, those of PID 2.
TEST(List, InitialNamespaces) {
  REQUIRE_ROOT();
  json doc = list_json_bpf({"-t", "all"});
  ASSERT_FALSE(doc.is_null());
  const std::vector<std::string> types{"net", "mnt", "pid", "uts", "ipc", "user", "cgroup", "time"};
  std::map<std::string, std::vector<uint64_t>> initial;
  std::set<std::string> seen_types;
  for (auto& n : doc["namespaces"]) {
    seen_types.insert(n.value("type", ""));
    if (n.value("initial", false)) initial[n.value("type", "")].push_back(as_u64(n["inode"]));
  }
  for (auto& t : types) {
    EXPECT_TRUE(seen_types.count(t)) << "-t all lists no " << t << " namespace";
    ASSERT_EQ(initial[t].size(), 1u) << "initial " << t << " namespaces: " << initial[t].size();
    EXPECT_EQ(initial[t][0], ns_inode("/proc/2/ns/" + t)) << "initial " << t << " namespace";
  }
  EXPECT_EQ(initial.size(), types.size());
  EXPECT_EQ(initial["net"][0], ns_inode("/proc/2/ns/net"));

  // The default (-t net) agrees.
  json net = list_json_bpf();
  ASSERT_FALSE(net.is_null());
  int n_initial = 0;
  for (auto& n : net["namespaces"]) {
    EXPECT_EQ(n.value("type", ""), "net");
    if (n.value("initial", false)) {
      ++n_initial;
      EXPECT_EQ(as_u64(n["inode"]), ns_inode("/proc/2/ns/net"));
    }
  }
  EXPECT_EQ(n_initial, 1);
}

// 11. Without BPF, the /proc walk finds every holder that /proc shows.
// 12. Usage errors: exit 2, and the message names what is valid.
TEST(List, BadInputExitsTwoAndNamesTheValidChoices) {
  RunResult t = nscope({"list", "-t", "bogus"});
  EXPECT_EQ(t.exit_code, 2) << t.describe();
  EXPECT_NE(t.err.find("bogus"), std::string::npos) << t.err;
  for (auto name : {"net", "mnt", "pid", "uts", "ipc", "user", "cgroup", "time", "all"})
    EXPECT_NE(t.err.find(name), std::string::npos)
        << "valid type " << name << " not named: " << t.err;
  EXPECT_TRUE(t.out.empty()) << t.out;

  RunResult o = nscope({"list", "-o", "NOPE"});
  EXPECT_EQ(o.exit_code, 2) << o.describe();
  EXPECT_NE(o.err.find("NOPE"), std::string::npos) << o.err;
  for (auto col : {"NS", "TYPE", "ID", "COOKIE", "NSID", "NPROCS", "PID", "IFACES", "HOLDERS",
                   "NAME", "CONTAINER", "OWNER", "INITIAL", "COMMAND"})
    EXPECT_NE(o.err.find(col), std::string::npos)
        << "valid column " << col << " not named: " << o.err;
  EXPECT_TRUE(o.out.empty()) << o.out;
  // An empty list of columns is no silent default either.
  o = nscope({"list", "-o", ""});
  EXPECT_EQ(o.exit_code, 2) << o.describe();
  EXPECT_NE(o.err.find("--output: no column given; valid columns: NS"), std::string::npos) << o.err;
  EXPECT_TRUE(o.out.empty()) << o.out;

  RunResult none = nscope({});
  EXPECT_EQ(none.exit_code, 2) << none.describe();
  EXPECT_FALSE(none.err.empty());

  RunResult mixed = nscope({"list", "-t", "net,bogus2"});
  EXPECT_EQ(mixed.exit_code, 2) << mixed.describe();
  EXPECT_NE(mixed.err.find("bogus2"), std::string::npos) << mixed.err;
}

// 13. Not root: still a valid answer from /proc, and a word about what root would show.
TEST(List, NonRootFallsBackToProcfsWithANote) {
  REQUIRE_ROOT();  // to become nobody
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  std::string bin = dir / "nscope";
  std::error_code ec;
  std::filesystem::copy_file(nst::nscope_bin(), bin, ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(chmod(bin.c_str(), 0755), 0);
  RunOptions nobody;
  nobody.uid = 65534;
  nobody.gid = 65534;
  nobody.cwd = "/";

  RunResult j = run({bin, "list", "--json"}, nobody);
  ASSERT_EQ(j.exit_code, 0) << j.describe();
  json doc = json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.describe();
  EXPECT_EQ(doc.value("source", ""), "procfs");
  ASSERT_TRUE(doc["namespaces"].is_array());
  EXPECT_FALSE(doc["namespaces"].empty()) << "nobody can see at least its own netns";
  bool note = false;
  if (doc.contains("notes"))
    for (auto& n : doc["notes"])
      if (n.get<std::string>().find("root") != std::string::npos) note = true;
  EXPECT_TRUE(note) << "no note saying root is needed: " << doc.value("notes", json()).dump();
  // Its own netns (the host's) is there.
  EXPECT_NE(find_ns(doc, "net", own_ns_inode("net")), nullptr);
  // What it skipped is said by kind and why: "processes' namespaces (permission denied)".
  EXPECT_FALSE(doc["skipped"].empty());
  for (auto& [why, n] : doc["skipped"].items())
    EXPECT_TRUE(why.ends_with("(permission denied)") || why.ends_with("(vanished)")) << why;
  EXPECT_TRUE(doc["skipped"].contains("processes' namespaces (permission denied)")) << doc["skipped"].dump();

  RunResult t = run({bin, "list"}, nobody);
  ASSERT_EQ(t.exit_code, 0) << t.describe();
  EXPECT_TRUE(t.out.starts_with("NS ")) << t.out;
  int root_lines = 0;
  std::istringstream err(t.err);
  std::string line;
  while (std::getline(err, line))
    if (line.find("root") != std::string::npos) ++root_lines;
  EXPECT_EQ(root_lines, 1) << "stderr:\n" << t.err;

  // topo and show read the namespace nobody is in without entering it (issue 21: every
  // namespace read "cannot read", 0 links).
  RunResult topo = run({bin, "topo", "--json"}, nobody);
  ASSERT_EQ(topo.exit_code, 0) << topo.describe();
  json tj = json::parse(topo.out, nullptr, false);
  bool own = false;
  for (auto& n : tj["nodes"])
    if (as_u64(n["inode"]) == own_ns_inode("net")) {
      own = true;
      EXPECT_TRUE(n["error"].is_null()) << n.dump();
      EXPECT_FALSE(n["interfaces"].empty()) << n.dump();
    }
  EXPECT_TRUE(own) << topo.out;
  RunResult show = run({bin, "show", "/proc/self/ns/net"}, nobody);
  EXPECT_EQ(show.exit_code, 0) << show.describe();
  EXPECT_NE(show.out.find(" lo "), std::string::npos) << show.out;
}

// 14. Namespaces and processes come and go while nscope runs: every run still succeeds.
TEST(List, ChurnWhileListing) {
  REQUIRE_ROOT();
  int fds_before = open_fd_count();
  std::atomic<bool> stop{false};
  std::atomic<int> made{0};
  std::mutex mu;
  std::vector<std::string> churn_errors;

  std::thread churn([&] {
    pid_t parent = getpid();
    while (!stop) {
      std::string name = unique_name('c');
      RunResult a = run({"ip", "netns", "add", name}, with_timeout(10s));
      RunResult d = run({"ip", "netns", "del", name}, with_timeout(10s));
      if (a.exit_code != 0 || d.exit_code != 0) {
        std::lock_guard<std::mutex> g(mu);
        churn_errors.push_back("ip netns add/del " + name + ": " + a.describe() + d.describe());
      }
      pid_t p = fork();  // only syscalls between fork and _exit: the test is threaded here
      if (p == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        if (unshare(CLONE_NEWNET) != 0) _exit(2);
        usleep(20000);
        _exit(0);
      }
      if (p > 0) {
        int st = 0;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
          std::lock_guard<std::mutex> g(mu);
          churn_errors.push_back("unshared child failed, status " + std::to_string(st));
        }
      }
      ++made;
    }
  });

  const std::vector<std::vector<std::string>> modes{
      {"list"},
      {"list", "--json"},
      {"list", "--no-bpf"},
      {"list", "--json", "--no-bpf"},
      {"list", "-t", "all", "--json"},
  };
  auto deadline = std::chrono::steady_clock::now() + 10s;
  int runs = 0, truncated_notes = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& m : modes) {
      RunResult r = nscope(m, with_timeout(20s));
      ++runs;
      std::string what;
      for (auto& a : m) what += a + " ";
      EXPECT_EQ(r.exit_code, 0) << what << r.describe();
      bool json_mode = std::find(m.begin(), m.end(), "--json") != m.end();
      bool bpf = std::find(m.begin(), m.end(), "--no-bpf") == m.end();
      if (json_mode) {
        json doc = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(doc.is_discarded()) << what << "printed invalid JSON: " << r.describe();
        if (!doc.is_discarded()) {
          EXPECT_TRUE(doc["namespaces"].is_array()) << what;
          EXPECT_EQ(doc.value("source", ""), bpf ? "bpf" : "procfs")
              << what << doc.value("notes", json());
          EXPECT_NE(find_ns(doc, "net", own_ns_inode("net")), nullptr)
              << what << "lost the host netns";
          if (doc.contains("notes"))
            for (auto& n : doc["notes"])
              if (n.get<std::string>().find("stopped early") != std::string::npos)
                ++truncated_notes;
        }
      } else {
        EXPECT_TRUE(r.out.starts_with("NS ")) << what << r.describe();
        EXPECT_NE(table_row(r.out, own_ns_inode("net")), std::nullopt)
            << what << "lost the host netns";
      }
      if (::testing::Test::HasFailure()) break;
    }
    if (::testing::Test::HasFailure()) break;
  }
  stop = true;
  churn.join();
  RecordProperty("nscope_runs", runs);
  RecordProperty("churn_iterations", made.load());
  EXPECT_GE(runs, static_cast<int>(modes.size()));
  EXPECT_GT(made.load(), 0);
  EXPECT_EQ(truncated_notes, 0) << "the BPF walk of network namespaces stopped early under churn";
  for (auto& e : churn_errors) ADD_FAILURE() << "churn: " << e;

  EXPECT_EQ(open_fd_count(), fds_before) << "the test process leaked fds";
  // Orphans other tests' commands left to this subreaper are reaped first; then any child
  // or object left is this test's.
  auto left = leftovers_after_reaping();
  EXPECT_TRUE(own_children().empty()) << "children left";
  std::string all;
  for (auto& l : left) all += "\n  " + l;
  EXPECT_TRUE(left.empty()) << "left behind:" << all;
}

// show and topo read a namespace mounted only where nobody runs: from inside that mount
// namespace (issue 21: it read as "gone").
void expect_readable_through_mntns(uint64_t inode, uint64_t mntns, const std::string& path) {
  RunResult shown = nscope({"show", std::to_string(inode)});
  EXPECT_EQ(shown.exit_code, 0) << shown.describe();
  EXPECT_NE(shown.out.find("in mount namespace " + std::to_string(mntns)), std::string::npos) << shown.out;
  // The path list prints for that mount is a reference too, though it is none here.
  RunResult by_path = nscope({"show", path, "--json"});
  EXPECT_EQ(by_path.exit_code, 0) << by_path.describe();
  EXPECT_NE(by_path.out.find("\"inode\":" + std::to_string(inode)), std::string::npos) << by_path.out;
  RunResult topo = nscope({"topo", "--json"});
  ASSERT_EQ(topo.exit_code, 0) << topo.describe();
  json doc = json::parse(topo.out, nullptr, false);
  bool seen = false;
  for (auto& n : doc["nodes"])
    if (as_u64(n["inode"]) == inode) {
      seen = true;
      EXPECT_FALSE(n["gone"].get<bool>()) << n.dump();
      EXPECT_TRUE(n["error"].is_null()) << n.dump();
      EXPECT_EQ(n["interfaces"].size(), 1u) << n.dump();
    }
  EXPECT_TRUE(seen) << "topo has no node " << inode;
}

// ---- beyond the basic holder kinds ----------------------------------------------------

// -t all keeps the net columns (issue 21: NAME, NSID and IFACES went missing), and added
// columns come before COMMAND without repeating one that is there.
TEST(List, AllTypesKeepTheNetColumnsAndAddedOnesComeBeforeCommand) {
  REQUIRE_ROOT();
  NamedNetns ns(unique_name('c'));
  ASSERT_TRUE(ns.ok()) << ns.error();
  uint64_t inode = ns_inode(ns.path());
  auto row = table_row(list_table({"-t", "all", "-o", "+ID,+COOKIE,+NAME"}), inode);
  ASSERT_TRUE(row);
  EXPECT_EQ((*row)["NAME"], ns.name()) << row->line;
  EXPECT_EQ((*row)["IFACES"], "1") << row->line;
  EXPECT_NE((*row)["COOKIE"], "-") << row->line;
  RunResult r = nscope({"list", "-t", "all", "-o", "+ID,+COOKIE,+NAME"});
  std::string header = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(words(header), (std::vector<std::string>{"NS", "TYPE", "NPROCS", "PID", "NSID", "IFACES", "HOLDERS",
                                                     "NAME", "CONTAINER", "ID", "COOKIE", "COMMAND"}))
      << header;
}

// HOLDERS: a count never reads as a pid ("processes:2" beside "pid:N"), and the copies of
// /run/netns/NAME that each `ip netns exec` leaves in its mount namespace count once
// (issue 21).
TEST(List, HoldersSayCountsAndIdsApart) {
  REQUIRE_ROOT();
  NamedNetns ns(unique_name('h'));
  ASSERT_TRUE(ns.ok()) << ns.error();
  uint64_t inode = ns_inode(ns.path());
  std::string name = ns.name();
  auto in_netns = [name](Channel& c) {
    c.send("ready");
    execlp("ip", "ip", "netns", "exec", name.c_str(), "sleep", "30", static_cast<char*>(nullptr));
    child_fail(c, "exec ip netns exec");
  };
  auto holders = [&](size_t want_procs) {
    for (int i = 0; i < 100; ++i) {  // until `ip netns exec` has entered and exec'd
      auto row = table_row(list_table(), inode);
      if (row && (*row)["NPROCS"] == std::to_string(want_procs)) return (*row)["HOLDERS"];
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::string("(never ") + std::to_string(want_procs) + " processes)";
  };
  Child a(in_netns);
  ASSERT_FALSE(a.wait_ready().empty());
  std::string one = holders(1);
  EXPECT_TRUE(has_word(one, "pid:" + std::to_string(a.pid()))) << one;
  EXPECT_TRUE(has_word(one, "mount:" + ns.path())) << "the copy in ip netns exec's mount namespace counts once: " << one;
  Child b(in_netns);
  ASSERT_FALSE(b.wait_ready().empty());
  std::string two = holders(2);
  EXPECT_TRUE(has_word(two, "processes:2")) << two;
  EXPECT_TRUE(has_word(two, "mount:" + ns.path())) << two;
}

// An fd opened through a bind mount reads as the mount's path in /proc/PID/fd, not as
// "net:[N]": the /proc walk still sees it as an fd holder (issue 21).
TEST(List, FdOpenedThroughABindMountIsAnFdHolderWithoutBpf) {
  REQUIRE_ROOT();
  NamedNetns ns(unique_name('f'));
  ASSERT_TRUE(ns.ok()) << ns.error();
  uint64_t inode = ns_inode(ns.path());
  std::string path = ns.path();
  Child keeper([path](Channel& c) {
    prctl(PR_SET_NAME, "nstpathfd");
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) child_fail(c, "open " + path);
    c.send("ready fd=" + std::to_string(fd));
    child_sleep_forever();
  });
  auto kv = keeper.wait_ready();
  ASSERT_FALSE(kv.empty());
  int fd = static_cast<int>(kv_u64(kv, "fd"));
  char link[256] = {};
  std::string fdpath = "/proc/" + std::to_string(keeper.pid()) + "/fd/" + std::to_string(fd);
  ASSERT_GT(readlink(fdpath.c_str(), link, sizeof link - 1), 0);
  ASSERT_EQ(std::string(link), path) << "the fd reads as the mount's path";
  for (bool bpf : {true, false}) {
    SCOPED_TRACE(bpf ? "BPF walk" : "--no-bpf");
    json doc = bpf ? list_json_bpf() : nscope_list_json({"--no-bpf"});
    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr);
    bool found = false;
    for (auto& h : holders_of(*n, "fd"))
      if (h.value("pid", 0) == keeper.pid() && h.value("fd", -1) == fd) found = true;
    EXPECT_TRUE(found) << "no fd holder " << keeper.pid() << "/" << fd << ": " << brief(n);
  }
}

// A netns bind-mounted in a mount namespace no process runs in any more: only an fd of
// another process keeps that mount namespace, so nscope has to enter it to read its mounts.
TEST(List, BindMountInMountNamespaceNobodyRunsIn) {
  REQUIRE_ROOT();
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string file = dir / "netns";
  Child builder(private_mntns_body(dir.path(), file));
  auto kv = builder.wait_ready();
  ASSERT_FALSE(kv.empty());
  uint64_t inode = kv_u64(kv, "ino");
  uint64_t mntns = ns_inode("/proc/" + std::to_string(builder.pid()) + "/ns/mnt");
  ASSERT_NE(inode, 0u);
  ASSERT_NE(mntns, own_ns_inode("mnt"));
  pid_t bpid = builder.pid();
  Child keeper([bpid](Channel& c) {
    prctl(PR_SET_NAME, "nstmntfd");
    int fd = open(("/proc/" + std::to_string(bpid) + "/ns/mnt").c_str(), O_RDONLY);
    if (fd < 0) child_fail(c, "open the mount namespace");
    c.send("ready fd=" + std::to_string(fd));
    child_sleep_forever();
  });
  auto kv2 = keeper.wait_ready();
  ASSERT_FALSE(kv2.empty());
  int mfd = static_cast<int>(kv_u64(kv2, "fd"));
  builder.kill_and_reap();
  ASSERT_EQ(ns_inode("/proc/" + std::to_string(keeper.pid()) + "/fd/" + std::to_string(mfd)),
            mntns);

  for (bool bpf : {true, false}) {
    SCOPED_TRACE(bpf ? "BPF walk" : "--no-bpf");
    json doc =
        bpf ? list_json_bpf({"-t", "net,mnt"}) : nscope_list_json({"-t", "net,mnt", "--no-bpf"});
    ASSERT_FALSE(doc.is_null());
    const json* m = find_ns(doc, "mnt", mntns);
    ASSERT_NE(m, nullptr) << "mount namespace " << mntns << " held by fd not listed";
    bool fd_found = false;
    for (auto& h : holders_of(*m, "fd"))
      if (h.value("pid", 0) == keeper.pid() && h.value("fd", -1) == mfd) fd_found = true;
    EXPECT_TRUE(fd_found) << brief(m);
    EXPECT_EQ((*m)["processes"], 0) << brief(m);

    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr) << "netns " << inode << " mounted only in mount namespace " << mntns
                          << " (nobody runs there) not listed; skipped: " << doc["skipped"].dump();
    bool found = false;
    for (auto& h : holders_of(*n, "mount"))
      if (as_u64(h["mntns"]) == mntns) {
        found = true;
        EXPECT_EQ(h.value("path", ""), file) << brief(n);
        EXPECT_EQ(h.value("pid", 0), 0) << "nobody runs in that mount namespace: " << brief(n);
      }
    EXPECT_TRUE(found) << "no mount holder in mount namespace " << mntns << ": " << brief(n);
  }
  expect_readable_through_mntns(inode, mntns, file);
}

// A mount namespace nobody runs in and no fd holds, kept only by an nsfs bind mount in our
// mount namespace; inside it, the only mount of a netns. nscope follows the mount into it.
TEST(List, BindMountInMountNamespaceHeldOnlyByABindMount) {
  REQUIRE_ROOT();
  TempDir inner;  // where the other mount namespace mounts its tmpfs
  TempDir outer;  // our private bind mount, holding that mount namespace
  ASSERT_FALSE(inner.path().empty());
  ASSERT_FALSE(outer.path().empty());
  std::string file = inner / "netns";
  std::string mntfile = outer / "mntns";
  const std::string& o = outer.path();
  ASSERT_EQ(mount(o.c_str(), o.c_str(), nullptr, MS_BIND, nullptr), 0) << strerror(errno);
  MountGuard outer_mount(o);
  ASSERT_EQ(mount(nullptr, o.c_str(), nullptr, MS_PRIVATE, nullptr), 0) << strerror(errno);
  int fd = open(mntfile.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  close(fd);

  Child builder(private_mntns_body(inner.path(), file));
  auto kv = builder.wait_ready();
  ASSERT_FALSE(kv.empty());
  uint64_t inode = kv_u64(kv, "ino");
  std::string src = "/proc/" + std::to_string(builder.pid()) + "/ns/mnt";
  uint64_t mntns = ns_inode(src);
  ASSERT_NE(mntns, own_ns_inode("mnt"));
  ASSERT_EQ(mount(src.c_str(), mntfile.c_str(), nullptr, MS_BIND, nullptr), 0) << strerror(errno);
  MountGuard mntns_mount(mntfile);
  builder.kill_and_reap();
  ASSERT_EQ(ns_inode(mntfile), mntns);

  for (bool bpf : {true, false}) {
    SCOPED_TRACE(bpf ? "BPF walk" : "--no-bpf");
    json doc =
        bpf ? list_json_bpf({"-t", "net,mnt"}) : nscope_list_json({"-t", "net,mnt", "--no-bpf"});
    ASSERT_FALSE(doc.is_null());
    const json* m = find_ns(doc, "mnt", mntns);
    ASSERT_NE(m, nullptr) << "mount namespace " << mntns << " bind-mounted at " << mntfile
                          << " not listed";
    bool outer_found = false;
    for (auto& h : holders_of(*m, "mount"))
      if (h.value("path", "") == mntfile && as_u64(h["mntns"]) == own_ns_inode("mnt"))
        outer_found = true;
    EXPECT_TRUE(outer_found) << brief(m);

    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr) << "netns " << inode << " mounted only inside mount namespace " << mntns
                          << " (held by the bind mount " << mntfile
                          << ") not listed; skipped: " << doc["skipped"].dump();
    bool found = false;
    for (auto& h : holders_of(*n, "mount"))
      if (as_u64(h["mntns"]) == mntns && h.value("path", "") == file) found = true;
    EXPECT_TRUE(found) << brief(n);
  }
  expect_readable_through_mntns(inode, mntns, file);
}

// A netns made together with a user namespace: its owner is that user namespace.
TEST(List, OwnerIsTheOwningUserNamespace) {
  REQUIRE_ROOT();
  Child c([](Channel& ch) {
    prctl(PR_SET_NAME, "nstuserns");
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) child_fail(ch, "unshare(USER|NET)");
    ch.send("ready");
    child_sleep_forever();
  });
  ASSERT_FALSE(c.wait_ready().empty());
  std::string p = "/proc/" + std::to_string(c.pid());
  uint64_t inode = ns_inode(p + "/ns/net");
  uint64_t user = ns_inode(p + "/ns/user");
  ASSERT_NE(user, own_ns_inode("user"));
  for (bool bpf : {true, false}) {
    SCOPED_TRACE(bpf ? "BPF walk" : "--no-bpf");
    json doc =
        bpf ? list_json_bpf({"-t", "net,user"}) : nscope_list_json({"-t", "net,user", "--no-bpf"});
    ASSERT_FALSE(doc.is_null());
    const json* n = find_ns(doc, "net", inode);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(as_u64((*n)["owner"]), user) << brief(n);
    const json* u = find_ns(doc, "user", user);
    ASSERT_NE(u, nullptr) << "user namespace " << user << " not listed";
    EXPECT_EQ(as_u64((*u)["owner"]), own_ns_inode("user")) << "its parent: " << brief(u);
    bool found = false;
    for (auto& h : holders_of(*u, "process"))
      if (h.value("pid", 0) == c.pid()) found = true;
    EXPECT_TRUE(found) << brief(u);
  }
}

// A process that unshared its pid namespace without entering it holds the new one for its
// children; its first child runs inside.
TEST(List, PidForChildrenHolder) {
  REQUIRE_ROOT();
  Child c([](Channel& ch) {
    prctl(PR_SET_NAME, "nstpidns");
    if (unshare(CLONE_NEWPID) != 0) child_fail(ch, "unshare(CLONE_NEWPID)");
    pid_t gc = fork();
    if (gc == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      prctl(PR_SET_NAME, "nstpidinit");
      child_sleep_forever();
    }
    if (gc < 0) child_fail(ch, "fork");
    ch.send("ready gc=" + std::to_string(gc));
    child_sleep_forever();
  });
  auto kv = c.wait_ready();
  ASSERT_FALSE(kv.empty());
  int gc = static_cast<int>(kv_u64(kv, "gc"));
  ASSERT_GT(gc, 0);
  std::string p = "/proc/" + std::to_string(c.pid());
  uint64_t inode = ns_inode(p + "/ns/pid_for_children");
  ASSERT_NE(inode, 0u);
  ASSERT_EQ(ns_inode(p + "/ns/pid"), own_ns_inode("pid"));
  ASSERT_EQ(ns_inode("/proc/" + std::to_string(gc) + "/ns/pid"), inode);

  for (bool bpf : {true, false}) {
    SCOPED_TRACE(bpf ? "BPF walk" : "--no-bpf");
    json doc = bpf ? list_json_bpf({"-t", "pid"}) : nscope_list_json({"-t", "pid", "--no-bpf"});
    ASSERT_FALSE(doc.is_null());
    const json* n = find_ns(doc, "pid", inode);
    ASSERT_NE(n, nullptr) << "pid namespace " << inode << " not listed";
    bool via = false, init = false;
    for (auto& h : holders_of(*n, "process")) {
      if (h.value("pid", 0) == c.pid()) {
        via = true;
        EXPECT_EQ(h.value("via", ""), "pid_for_children") << brief(n);
      }
      if (h.value("pid", 0) == gc) {
        init = true;
        EXPECT_FALSE(h.contains("via")) << brief(n);
      }
    }
    EXPECT_TRUE(via) << "no pid_for_children holder " << c.pid() << ": " << brief(n);
    EXPECT_TRUE(init) << "no process holder " << gc << ": " << brief(n);
    EXPECT_EQ((*n)["processes"], 1) << "only " << gc << " runs inside: " << brief(n);
    EXPECT_EQ((*n)["pid"], gc) << brief(n);
  }
}

// The nsid the host assigned to a named netns (`ip netns set NAME auto`), as `ip netns
// list` shows it, also when the machine has many network namespaces.
TEST(List, NsidOfNamedNetnsWithManyNamespaces) {
  REQUIRE_ROOT();
  NamedNetns ns(unique_name('n'));
  ASSERT_TRUE(ns.ok()) << ns.error();
  RunResult set = run({"ip", "netns", "set", ns.name(), "auto"});
  ASSERT_EQ(set.exit_code, 0) << set.describe();
  auto want = ip_nsid_of(ns.name());
  ASSERT_TRUE(want) << "ip netns list shows no nsid for " << ns.name();
  uint64_t inode = ns_inode(ns.path());

  // As the machine is: only meaningful while it has few namespaces.
  json doc = list_json_bpf();
  ASSERT_FALSE(doc.is_null());
  size_t before = doc["namespaces"].size();
  const json* n = find_ns(doc, "net", inode);
  ASSERT_NE(n, nullptr);
  if (before < 100) {
    EXPECT_EQ((*n)["nsid"], *want) << "with " << before << " network namespaces: " << brief(n);
  }

  // With 200 more, held by one process's fds.
  constexpr int kMore = 200;
  Child many([](Channel& c) {
    prctl(PR_SET_NAME, "nstmany");
    int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    for (int i = 0; i < kMore; ++i) {
      if (unshare(CLONE_NEWNET) != 0) child_fail(c, "unshare(CLONE_NEWNET)");
      if (open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) < 0) child_fail(c, "open netns");
    }
    if (setns(host, CLONE_NEWNET) != 0) child_fail(c, "setns back");
    c.send("ready");
    child_sleep_forever();
  });
  ASSERT_FALSE(many.wait_ready(30s).empty());
  for (bool bpf : {true, false}) {
    SCOPED_TRACE(bpf ? "BPF walk" : "--no-bpf");
    json d = bpf ? list_json_bpf() : nscope_list_json({"--no-bpf"});
    ASSERT_FALSE(d.is_null());
    const json* m = find_ns(d, "net", inode);
    ASSERT_NE(m, nullptr);
    size_t total = d["namespaces"].size();
    EXPECT_GE(total, static_cast<size_t>(kMore));
    EXPECT_EQ((*m)["nsid"], *want)
        << "`ip netns list` says nsid " << *want << " for " << ns.name() << "; nscope, with "
        << total << " network namespaces on the machine: " << brief(m);
  }
  std::string table = list_table();
  auto row = table_row(table, inode);
  ASSERT_TRUE(row);
  EXPECT_EQ((*row)["NSID"], std::to_string(*want)) << row->line;
}

// nsids come from the host's own table, read in the kernel walk (asking netlink costs a scan
// of the table per namespace): 130 named namespaces, each given an nsid, more than one node of
// the table holds (64), each as `ip netns list` says; the same without BPF. The walk's ring
// buffer, started at one page, grows until it holds everything: no "cut short".
TEST(List, NsidsOfEveryNamedNetnsFromTheKernelsTable) {
  REQUIRE_ROOT();
  constexpr int kNamed = 130;
  std::vector<std::unique_ptr<NamedNetns>> named;
  TempDir dir;
  std::string batch;
  for (int i = 0; i < kNamed; ++i) {
    named.push_back(std::make_unique<NamedNetns>(unique_name('i')));
    ASSERT_TRUE(named.back()->ok()) << named.back()->error();
    batch += "netns set " + named.back()->name() + " auto\n";
  }
  write_file(dir / "nsids.batch", batch);
  RunResult set = run({"ip", "-batch", dir / "nsids.batch"});
  ASSERT_EQ(set.exit_code, 0) << set.describe();
  RunResult ipl = run({"ip", "netns", "list"});
  ASSERT_EQ(ipl.exit_code, 0) << ipl.describe();
  std::map<std::string, int> want;  // name -> nsid, as ip netns list prints "NAME (id: N)"
  std::istringstream lines(ipl.out);
  for (std::string line; std::getline(lines, line);) {
    auto at = line.find(" (id: ");
    if (at != std::string::npos) want[line.substr(0, at)] = std::stoi(line.substr(at + 6));
  }
  RunOptions small_ring;
  small_ring.env = {"NSCOPE_TEST_NET_RING_BYTES=4096"};
  RunResult grown = nscope({"list", "--json"}, small_ring);
  ASSERT_EQ(grown.exit_code, 0) << grown.describe();
  for (int way = 0; way < 3; ++way) {
    SCOPED_TRACE(way == 0 ? "BPF walk, a ring grown from one page" : way == 1 ? "BPF walk" : "--no-bpf");
    json d = way == 0 ? json::parse(grown.out, nullptr, false) : way == 1 ? list_json_bpf() : nscope_list_json({"--no-bpf"});
    ASSERT_TRUE(d.is_object());
    if (way < 2) {
      EXPECT_EQ(d.value("source", ""), "bpf");
      EXPECT_EQ(d.value("notes", json::array()).dump().find("cut short"), std::string::npos) << d["notes"];
    }
    int checked = 0;
    for (auto& ns : named) {
      auto it = want.find(ns->name());
      ASSERT_NE(it, want.end()) << "ip netns list shows no nsid for " << ns->name();
      const json* n = find_ns(d, "net", ns_inode(ns->path()));
      ASSERT_NE(n, nullptr) << ns->name();
      EXPECT_EQ((*n)["nsid"], it->second) << ns->name() << ": " << brief(n);
      ++checked;
    }
    EXPECT_EQ(checked, kNamed);
  }
}

}  // namespace nst
