// System tests of `nscope pids` and `nscope identify`, root only: differential against
// `ip netns pids NAME` and `ip netns identify PID` on the same namespaces, the holders ip
// cannot see (an fd, a socket, a thread elsewhere than its process, a mount in a private
// mount namespace), a runc container by name, nsfs paths, threads, and bad input.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "testenv.h"

namespace nst {
namespace {

using namespace std::chrono_literals;

#define REQUIRE_ROOT()                        \
  if (geteuid() != 0) {                       \
    GTEST_SKIP() << "system tests need root"; \
  }

std::set<int> pid_set(const std::string& lines) {
  std::set<int> out;
  for (auto& l : split_lines(lines))
    if (!l.empty()) out.insert(std::atoi(l.c_str()));
  return out;
}

std::string show(const std::set<int>& s) {
  std::string out;
  for (int p : s) out += std::to_string(p) + " ";
  return out;
}

json parse_json(const RunResult& r) {
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "invalid JSON: " << r.describe();
  return j.is_discarded() ? json() : j;
}

// `nscope ARGS` that must succeed.
RunResult ok(const std::vector<std::string>& args) {
  RunResult r = nscope(args);
  std::string line = "nscope";
  for (auto& a : args) line += " " + a;
  EXPECT_EQ(r.exit_code, 0) << line << ": " << r.describe();
  return r;
}

// The pids table (`pids -l`) as rows of cells split by whitespace (DETAIL may hold spaces:
// kept whole as the rest of the line).
struct HolderRow {
  std::string kind, pid, tid, command, detail;
};
std::vector<HolderRow> holder_rows(const std::string& table) {
  std::vector<HolderRow> rows;
  auto lines = split_lines(table);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::istringstream in(lines[i]);
    HolderRow r;
    if (!(in >> r.kind >> r.pid >> r.tid >> r.command)) continue;
    std::getline(in, r.detail);
    r.detail.erase(0, r.detail.find_first_not_of(' '));
    rows.push_back(r);
  }
  return rows;
}

// A child that joins the network namespace at `path` and sleeps there.
std::unique_ptr<Child> child_in(const std::string& path, const char* comm) {
  auto c = std::make_unique<Child>([path, comm](Channel& ch) {
    prctl(PR_SET_NAME, comm);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) child_fail(ch, "setns into " + path);
    close(fd);
    ch.send("ready");
    child_sleep_forever();
  });
  EXPECT_FALSE(c->wait_ready().empty());
  return c;
}

uint64_t kv_u64(const std::map<std::string, std::string>& kv, const std::string& k) {
  auto it = kv.find(k);
  return it == kv.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
}

std::string proc(int pid, const std::string& rest) { return "/proc/" + std::to_string(pid) + "/" + rest; }

// `ip netns pids NAME` and `nscope pids REF` at nearly the same moment; a process of some
// other test on this machine may pass through (`ip -all netns exec`), so up to three tries.
void expect_same_pids_as_ip(const std::string& name, const std::string& ref, const std::set<int>& must) {
  std::set<int> ip, ns;
  for (int attempt = 0; attempt < 3; ++attempt) {
    RunResult a = run({"ip", "netns", "pids", name});
    ASSERT_EQ(a.exit_code, 0) << a.describe();
    RunResult b = nscope({"pids", ref});
    ASSERT_EQ(b.exit_code, 0) << b.describe();
    ip = pid_set(a.out);
    ns = pid_set(b.out);
    if (ip == ns) break;
  }
  EXPECT_EQ(ns, ip) << "nscope pids " << ref << ": " << show(ns) << "\nip netns pids " << name << ": " << show(ip);
  for (int p : must) EXPECT_TRUE(ns.count(p)) << "pid " << p << " missing: " << show(ns);
}

// Starts `sleep 1000` in a runc container with its own namespaces (runc's default spec);
// returns its init's pid, or 0 after a failure was recorded. Skips are the caller's.
int start_runc(RuncContainer& ctr, TempDir& bundle) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(bundle / "rootfs/bin", ec);
  fs::copy_file(find_tool("busybox"), bundle / "rootfs/bin/busybox", ec);
  fs::create_symlink("busybox", bundle / "rootfs/bin/sleep", ec);
  if (ec) {
    ADD_FAILURE() << "rootfs: " << ec.message();
    return 0;
  }
  RunResult spec = run({"runc", "spec", "--bundle", bundle.path()});
  if (spec.exit_code != 0) {
    ADD_FAILURE() << "runc spec: " << spec.describe();
    return 0;
  }
  json cfg = json::parse(read_file(bundle / "config.json"), nullptr, false);
  cfg["process"].erase("rlimits");  // this machine refuses raising limits
  cfg["process"]["args"] = {"sleep", "1000"};
  cfg["process"]["terminal"] = false;
  std::ofstream(bundle / "config.json") << cfg.dump(2);
  std::string pidfile = bundle / "pid";
  ctr.started();
  RunResult r = run({"runc", "run", "-d", "--bundle", bundle.path(), "--pid-file", pidfile, ctr.name()});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "runc run: " << r.describe();
    return 0;
  }
  int pid = std::atoi(read_file(pidfile).c_str());
  ctr.set_pid(pid);
  return pid;
}

#define REQUIRE_RUNC()                                                                          \
  if (find_tool("runc").empty() || find_tool("busybox").empty()) {                              \
    GTEST_SKIP() << "runc or busybox is not installed (scripts/install-deps.sh test installs them)"; \
  }

}  // namespace

// ---- pids -------------------------------------------------------------------------------

// Two processes that joined a named namespace, one that `ip netns exec` started, and a
// thread in it whose process is elsewhere: the pids are exactly ip's, whatever the NSREF.
TEST(Pids, SamePidsAsIpNetnsPidsByEveryReference) {
  REQUIRE_ROOT();
  NamedNetns ns(unique_name('p'));
  ASSERT_TRUE(ns.ok()) << ns.error();
  uint64_t inode = ns_inode(ns.path());
  auto a = child_in(ns.path(), "nstpidsa");
  auto b = child_in(ns.path(), "nstpidsb");
  Child exec([name = ns.name()](Channel& c) {
    c.send("ready");
    execlp("ip", "ip", "netns", "exec", name.c_str(), "sleep", "1000", nullptr);
    child_fail(c, "exec ip");
  });
  ASSERT_FALSE(exec.wait_ready().empty());
  std::string path = ns.path();
  Child threaded([path](Channel& c) {
    prctl(PR_SET_NAME, "nstpidst");
    std::thread t([&] {
      int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) child_fail(c, "setns in a thread");
      c.send("ready tid=" + std::to_string(gettid()));
      child_sleep_forever();
    });
    t.detach();
    child_sleep_forever();
  });
  auto kv = threaded.wait_ready();
  int tid = static_cast<int>(kv_u64(kv, "tid"));
  ASSERT_GT(tid, 0);
  for (int i = 0; i < 100 && ns_inode(proc(exec.pid(), "ns/net")) != inode; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(ns_inode(proc(exec.pid(), "ns/net")), inode) << "ip netns exec did not get to sleep";

  std::set<int> ours{a->pid(), b->pid(), exec.pid()};
  // A name, pid:N and a path open directly and are answered by a /proc walk; an inode needs
  // the scan: both ways must give ip's pids.
  for (const std::string& ref : {ns.name(), std::to_string(inode), "pid:" + std::to_string(a->pid()), ns.path()}) {
    SCOPED_TRACE("NSREF " + ref);
    expect_same_pids_as_ip(ns.name(), ref, ours);
  }
  EXPECT_FALSE(pid_set(ok({"pids", ns.name()}).out).count(threaded.pid()))
      << "only a thread of that process is there, as ip netns pids sees it";

  // -l: processes first, then the thread, then the mount /run/netns/NAME.
  auto rows = holder_rows(ok({"pids", "-l", ns.name()}).out);
  ASSERT_FALSE(rows.empty());
  size_t first_other = 0;
  while (first_other < rows.size() && rows[first_other].kind == "process") ++first_other;
  for (size_t i = first_other; i < rows.size(); ++i) EXPECT_NE(rows[i].kind, "process") << "processes come first";
  std::set<int> listed;
  for (auto& r : rows)
    if (r.kind == "process") listed.insert(std::atoi(r.pid.c_str()));
  for (int p : ours) EXPECT_TRUE(listed.count(p)) << p;
  auto thread = std::find_if(rows.begin(), rows.end(), [&](const HolderRow& r) { return r.kind == "thread"; });
  ASSERT_NE(thread, rows.end());
  EXPECT_EQ(thread->pid, std::to_string(threaded.pid()));
  EXPECT_EQ(thread->tid, std::to_string(tid));
  bool mount = std::any_of(rows.begin(), rows.end(), [&](const HolderRow& r) {
    return r.kind == "mount" && r.detail.rfind(ns.path() + " in mntns " + std::to_string(own_ns_inode("mnt")), 0) == 0;
  });
  EXPECT_TRUE(mount) << "no mount row for " << ns.path();

  // --json: the namespace as list --json has it, with the same pids.
  json j = parse_json(ok({"pids", "--json", ns.name()}));
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(as_u64(j["namespace"]["inode"]), inode);
  EXPECT_EQ(j["namespace"]["names"][0], ns.name());
  std::set<int> jp;
  for (auto& p : j["pids"]) jp.insert(p.get<int>());
  for (int p : ours) EXPECT_TRUE(jp.count(p)) << p;
  bool jthread = false;
  for (auto& h : j["namespace"]["holders"])
    if (h["kind"] == "thread" && h["pid"] == threaded.pid() && h["tid"] == tid) jthread = true;
  EXPECT_TRUE(jthread) << j.dump();
}

// Namespaces ip netns cannot name: held by an fd only, by a socket only, by a thread only,
// by a mount in a private mount namespace only. No process is in them (no pid line), and
// -l / --json say who holds each.
TEST(Pids, HoldersIpCannotSee) {
  REQUIRE_ROOT();
  Child fdholder([](Channel& c) {
    prctl(PR_SET_NAME, "nstpfd");
    std::string err;
    int fd = new_netns_fd_from_process(&err);
    if (fd < 0) child_fail(c, err);
    struct stat st {};
    fstat(fd, &st);
    c.send("ready fd=" + std::to_string(fd) + " ino=" + std::to_string(st.st_ino));
    child_sleep_forever();
  });
  auto fkv = fdholder.wait_ready();
  Child sockholder([](Channel& c) {
    prctl(PR_SET_NAME, "nstpsock");
    std::string err;
    int nsfd = new_netns_fd_from_process(&err);
    if (nsfd < 0) child_fail(c, err);
    int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (host < 0 || setns(nsfd, CLONE_NEWNET) != 0) child_fail(c, "setns");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || setns(host, CLONE_NEWNET) != 0) child_fail(c, "socket or setns back");
    struct stat st {};
    fstat(nsfd, &st);
    close(nsfd);
    close(host);
    c.send("ready sock=" + std::to_string(s) + " ino=" + std::to_string(st.st_ino));
    child_sleep_forever();
  });
  auto skv = sockholder.wait_ready();
  TempDir dir;
  std::string file = dir.path() + "/netns";
  Child mntholder([d = dir.path(), file](Channel& c) {
    prctl(PR_SET_NAME, "nstpmnt");
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      child_fail(c, "private mount namespace");
    if (mount("tmpfs", d.c_str(), "tmpfs", 0, "size=64k,mode=0700") != 0) child_fail(c, "tmpfs");
    close(open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    std::string err;
    std::thread t([&] {
      if (unshare(CLONE_NEWNET) != 0 || mount("/proc/thread-self/ns/net", file.c_str(), nullptr, MS_BIND, nullptr) != 0)
        err = "bind mount of a new netns";
    });
    t.join();
    if (!err.empty()) child_fail(c, err);
    struct stat st {};
    stat(file.c_str(), &st);
    c.send("ready ino=" + std::to_string(st.st_ino));
    child_sleep_forever();
  });
  auto mkv = mntholder.wait_ready();
  ASSERT_FALSE(fkv.empty() || skv.empty() || mkv.empty());

  struct Case {
    std::string kind;
    uint64_t inode;
    int pid;
    std::string detail;  // the start of the DETAIL cell
  };
  std::vector<Case> cases{
      {"fd", kv_u64(fkv, "ino"), fdholder.pid(), "fd " + std::to_string(kv_u64(fkv, "fd"))},
      {"socket", kv_u64(skv, "ino"), sockholder.pid(), "fd " + std::to_string(kv_u64(skv, "sock"))},
      {"mount", kv_u64(mkv, "ino"), 0, file + " in mntns " + std::to_string(ns_inode(proc(mntholder.pid(), "ns/mnt")))}};
  for (auto& c : cases) {
    SCOPED_TRACE(c.kind + "-held netns " + std::to_string(c.inode));
    ASSERT_NE(c.inode, 0u);
    std::string ref = std::to_string(c.inode);
    EXPECT_EQ(ok({"pids", ref}).out, "") << "no process is in it";
    // The kernel walk and the /proc walk both see every one of these.
    for (std::string walk : {"", "--no-bpf"}) {
      std::vector<std::string> args{"pids", "-l", ref};
      if (!walk.empty()) args.push_back(walk);
      auto rows = holder_rows(ok(args).out);
      bool found = std::any_of(rows.begin(), rows.end(), [&](const HolderRow& r) {
        return r.kind == c.kind && r.pid == (c.pid ? std::to_string(c.pid) : "-") && r.detail.rfind(c.detail, 0) == 0;
      });
      EXPECT_TRUE(found) << "no " << c.kind << " row with " << c.detail << " " << walk;
    }
    json j = parse_json(ok({"pids", "--json", ref}));
    ASSERT_TRUE(j.is_object());
    EXPECT_TRUE(j["pids"].empty()) << j.dump();
    bool jfound = false;
    for (auto& h : j["namespace"]["holders"])
      if (h["kind"] == c.kind && (c.kind == "mount" ? h["path"] == file : h["pid"] == c.pid)) jfound = true;
    EXPECT_TRUE(jfound) << j.dump();
  }
}

// A runc container by its name: its pids are those whose /proc/PID/ns/net is its namespace
// (what ip netns pids would print, had the namespace a name).
TEST(Pids, RuncContainerByName) {
  REQUIRE_ROOT();
  REQUIRE_RUNC();
  TempDir bundle;
  RuncContainer ctr(unique_name('r'));
  int pid = start_runc(ctr, bundle);
  ASSERT_GT(pid, 0);
  uint64_t inode = ns_inode(proc(pid, "ns/net"));
  ASSERT_NE(inode, own_ns_inode("net"));
  std::set<int> truth;
  for (auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string n = e.path().filename();
    if (n.find_first_not_of("0123456789") == std::string::npos && ns_inode(e.path().string() + "/ns/net") == inode)
      truth.insert(std::atoi(n.c_str()));
  }
  EXPECT_EQ(truth, std::set<int>{pid});
  EXPECT_EQ(pid_set(ok({"pids", ctr.name()}).out), truth);
  EXPECT_EQ(pid_set(ok({"pids", "container:" + ctr.name()}).out), truth);
  json j = parse_json(ok({"pids", "--json", ctr.name()}));
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["namespace"]["container"]["runtime"], "runc");
  EXPECT_EQ(j["namespace"]["container"]["id"], ctr.name());
}

// ---- identify ---------------------------------------------------------------------------

namespace {

// `ip netns attach NAME PID`, deleted again with `ip netns del NAME`.
struct AttachedName {
  std::string name;
  bool ok = false;
  AttachedName(std::string n, int pid) : name(std::move(n)) {
    RunResult r = run({"ip", "netns", "attach", name, std::to_string(pid)});
    ok = r.exit_code == 0;
    EXPECT_TRUE(ok) << r.describe();
  }
  ~AttachedName() {
    if (ok) run({"ip", "netns", "del", name});
  }
};

const json* link_of(const json& doc, const std::string& link) {
  for (auto& n : doc["namespaces"])
    if (n["link"] == link) return &n;
  return nullptr;
}

std::set<std::string> names_of(const json* n) {
  std::set<std::string> out;
  if (n)
    for (auto& x : (*n)["names"]) out.insert(x.get<std::string>());
  return out;
}

std::set<std::string> word_set(const std::string& s) {
  std::istringstream in(s);
  std::set<std::string> out;
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

// Every link nscope shows names the namespace /proc shows for it.
void expect_links_match_proc(const json& doc, const std::string& ns_dir) {
  std::set<std::string> shown;
  for (auto& n : doc["namespaces"]) {
    std::string link = n["link"];
    shown.insert(link);
    EXPECT_EQ(as_u64(n["inode"]), ns_inode(ns_dir + "/" + link)) << link;
  }
  for (std::string t : {"net", "mnt", "pid", "uts", "ipc", "user", "cgroup"}) EXPECT_TRUE(shown.count(t)) << t;
  if (access((ns_dir + "/time").c_str(), F_OK) == 0) {
    EXPECT_TRUE(shown.count("time"));
  }
}

}  // namespace

// The net row's NAME is what `ip netns identify PID` prints (ip prints one name of several;
// nscope all of them), for a process in a named namespace and for one in the host's.
TEST(Identify, NetNamesAsIpNetnsIdentify) {
  REQUIRE_ROOT();
  NamedNetns ns(unique_name('i'));
  ASSERT_TRUE(ns.ok()) << ns.error();
  auto child = child_in(ns.path(), "nstident");
  AttachedName second(unique_name('j'), child->pid());
  ASSERT_TRUE(second.ok);
  for (int pid : {child->pid(), static_cast<int>(getpid())}) {
    SCOPED_TRACE("pid " + std::to_string(pid));
    RunResult ip = run({"ip", "netns", "identify", std::to_string(pid)});
    ASSERT_EQ(ip.exit_code, 0) << ip.describe();
    json doc = parse_json(ok({"identify", "--json", std::to_string(pid)}));
    ASSERT_TRUE(doc.is_object());
    EXPECT_EQ(doc["target"]["kind"], "process");
    EXPECT_EQ(doc["target"]["pid"], pid);
    std::set<std::string> ours = names_of(link_of(doc, "net")), ips = word_set(ip.out);
    for (auto& n : ips) EXPECT_TRUE(ours.count(n)) << "ip netns identify says " << n;
    if (ips.empty()) {
      EXPECT_TRUE(ours.empty()) << "ip netns identify names none";
    }
    if (pid == child->pid()) {
      EXPECT_EQ(ours, (std::set<std::string>{ns.name(), second.name}));
    }
    expect_links_match_proc(doc, proc(pid, "ns"));

    auto row = table_row(ok({"identify", std::to_string(pid)}).out, ns_inode(proc(pid, "ns/net")));
    ASSERT_TRUE(row);
    EXPECT_EQ((*row)["TYPE"], "net") << row->line;
    for (auto& n : ips) EXPECT_NE((*row)["NAME"].find(n), std::string::npos) << row->line;
  }
}

// A thread in another network namespace than its process: identify TID shows the thread's,
// identify PID the process's; the thread's namespace lists the thread as its holder.
TEST(Identify, ThreadInAnotherNetnsThanItsProcess) {
  REQUIRE_ROOT();
  Child child([](Channel& c) {
    prctl(PR_SET_NAME, "nstidthr");
    std::thread t([&c] {
      if (unshare(CLONE_NEWNET) != 0) child_fail(c, "unshare in a thread");
      c.send("ready tid=" + std::to_string(gettid()));
      child_sleep_forever();
    });
    t.detach();
    child_sleep_forever();
  });
  int tid = static_cast<int>(kv_u64(child.wait_ready(), "tid"));
  ASSERT_GT(tid, 0);
  std::string task_ns = proc(child.pid(), "task/" + std::to_string(tid) + "/ns");
  uint64_t thread_net = ns_inode(task_ns + "/net");
  ASSERT_NE(thread_net, own_ns_inode("net"));

  json nobpf = parse_json(ok({"identify", "--json", "--no-bpf", std::to_string(tid)}));
  ASSERT_TRUE(nobpf.is_object());
  EXPECT_EQ(nobpf["source"], "procfs");
  ASSERT_NE(link_of(nobpf, "net"), nullptr);
  EXPECT_EQ(as_u64((*link_of(nobpf, "net"))["inode"]), thread_net);
  EXPECT_TRUE((*link_of(nobpf, "net"))["scanned"].get<bool>()) << "the /proc walk sees threads too";

  json t = parse_json(ok({"identify", "--json", std::to_string(tid)}));
  ASSERT_TRUE(t.is_object());
  EXPECT_EQ(t["source"], "bpf");
  EXPECT_EQ(t["target"]["kind"], "thread");
  EXPECT_EQ(t["target"]["pid"], child.pid());
  EXPECT_EQ(t["target"]["tid"], tid);
  const json* net = link_of(t, "net");
  ASSERT_NE(net, nullptr);
  EXPECT_EQ(as_u64((*net)["inode"]), thread_net);
  expect_links_match_proc(t, task_ns);
  bool holder = false;
  for (auto& h : holders_of(*net, "thread"))
    if (h["pid"] == child.pid() && h["tid"] == tid) holder = true;
  EXPECT_TRUE(holder) << brief(net);
  auto row = table_row(ok({"identify", std::to_string(tid)}).out, thread_net);
  ASSERT_TRUE(row);
  EXPECT_NE((*row)["HOLDERS"].find("thread:" + std::to_string(child.pid()) + "/" + std::to_string(tid)),
            std::string::npos)
      << row->line;

  json p = parse_json(ok({"identify", "--json", std::to_string(child.pid())}));
  ASSERT_TRUE(p.is_object());
  EXPECT_EQ(p["target"]["kind"], "process");
  ASSERT_NE(link_of(p, "net"), nullptr);
  EXPECT_EQ(as_u64((*link_of(p, "net"))["inode"]), own_ns_inode("net"));
}

// nsfs files: an `ip netns` mount, a /proc/PID/ns link of another type, a process's fd.
TEST(Identify, NsfsPaths) {
  REQUIRE_ROOT();
  NamedNetns ns(unique_name('f'));
  ASSERT_TRUE(ns.ok()) << ns.error();
  Child fdholder([](Channel& c) {
    std::string err;
    int fd = new_netns_fd_from_process(&err);
    if (fd < 0) child_fail(c, err);
    c.send("ready fd=" + std::to_string(fd));
    child_sleep_forever();
  });
  auto kv = fdholder.wait_ready();
  ASSERT_FALSE(kv.empty());
  std::string fd_path = proc(fdholder.pid(), "fd/" + std::to_string(kv_u64(kv, "fd")));
  struct Case {
    std::string path, type;
    std::set<std::string> names;
  };
  for (auto& c : std::vector<Case>{{ns.path(), "net", {ns.name()}},
                                   {proc(fdholder.pid(), "ns/uts"), "uts", {}},
                                   {fd_path, "net", {}}}) {
    SCOPED_TRACE(c.path);
    json doc = parse_json(ok({"identify", "--json", c.path}));
    ASSERT_TRUE(doc.is_object());
    EXPECT_EQ(doc["target"]["kind"], "path");
    EXPECT_EQ(doc["target"]["path"], c.path);
    ASSERT_EQ(doc["namespaces"].size(), 1u) << doc.dump();
    const json& n = doc["namespaces"][0];
    EXPECT_EQ(n["type"], c.type);
    EXPECT_EQ(n["link"], c.type);
    EXPECT_EQ(as_u64(n["inode"]), ns_inode(c.path));
    EXPECT_TRUE(n["scanned"].get<bool>());
    if (c.type == "net") {
      EXPECT_EQ(names_of(&n), c.names);
    }
    if (c.path == fd_path) {
      bool holder = false;
      for (auto& h : holders_of(n, "fd"))
        if (h["pid"] == fdholder.pid()) holder = true;
      EXPECT_TRUE(holder) << brief(&n);
    }
  }
}

// A runc container's process: the namespaces runc made are not ours, and the net row names
// the container.
TEST(Identify, RuncContainerProcess) {
  REQUIRE_ROOT();
  REQUIRE_RUNC();
  TempDir bundle;
  RuncContainer ctr(unique_name('r'));
  int pid = start_runc(ctr, bundle);
  ASSERT_GT(pid, 0);
  json doc = parse_json(ok({"identify", "--json", std::to_string(pid)}));
  ASSERT_TRUE(doc.is_object());
  expect_links_match_proc(doc, proc(pid, "ns"));
  for (std::string t : {"net", "mnt", "pid", "uts", "ipc"}) {
    const json* n = link_of(doc, t);
    ASSERT_NE(n, nullptr) << t;
    EXPECT_NE(as_u64((*n)["inode"]), own_ns_inode(t)) << t;
    EXPECT_FALSE((*n)["initial"].get<bool>()) << t;
  }
  const json* net = link_of(doc, "net");
  ASSERT_TRUE((*net)["container"].is_object()) << brief(net);
  EXPECT_EQ((*net)["container"]["id"], ctr.name());
  auto row = table_row(ok({"identify", std::to_string(pid)}).out, as_u64((*net)["inode"]));
  ASSERT_TRUE(row);
  EXPECT_EQ((*row)["CONTAINER"], "runc:" + ctr.name()) << row->line;
}

TEST(Identify, BadInputExitCodes) {
  REQUIRE_ROOT();
  TempDir dir;
  write_file(dir / "plain", "x");
  struct Case {
    std::string arg, says;
    int exit;
  };
  for (auto& c : std::vector<Case>{{"2147483647", "no process or thread 2147483647", 2},
                                   {"0", "not a process or thread id", 2},
                                   {dir / "plain", "is not a namespace file: not on nsfs", 2},
                                   {dir.path(), "is not a namespace file: a directory", 2},
                                   {dir / "missing", "is not a namespace file: no such file", 2}}) {
    RunResult r = nscope({"identify", c.arg});
    EXPECT_EQ(r.exit_code, c.exit) << c.arg << ": " << r.describe();
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(nscope({"identify"}).exit_code, 2);

  // A zombie is in no namespace: it was there, and is gone (exit 1).
  pid_t z = fork();
  if (z == 0) _exit(0);
  ASSERT_GT(z, 0);
  for (int i = 0; i < 200 && read_file(proc(z, "status")).find("State:\tZ") == std::string::npos; ++i)
    std::this_thread::sleep_for(5ms);
  RunResult zr = nscope({"identify", std::to_string(z)});
  waitpid(z, nullptr, 0);
  EXPECT_EQ(zr.exit_code, 1) << zr.describe();
  EXPECT_NE(zr.err.find("zombie"), std::string::npos) << zr.err;
}

// Without root: another user's process is refused by name of the capability; one's own
// namespaces are shown, and what the scan could not see is said.
TEST(Identify, WithoutRootNamesTheCapability) {
  REQUIRE_ROOT();
  Child root_child([](Channel& c) {
    c.send("ready");
    child_sleep_forever();
  });
  ASSERT_FALSE(root_child.wait_ready().empty());
  RunOptions nobody;
  nobody.uid = 65534;
  nobody.gid = 65534;
  RunResult r = nscope({"identify", std::to_string(root_child.pid())}, nobody);
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("CAP_SYS_PTRACE"), std::string::npos) << r.err;

  RunResult self = nscope({"identify", "/proc/self/ns/net"}, nobody);
  EXPECT_EQ(self.exit_code, 0) << self.describe();
  EXPECT_NE(self.err.find("not root"), std::string::npos) << self.err;
  EXPECT_NE(self.err.find("CAP_SYS_PTRACE"), std::string::npos) << self.err;

  NamedNetns ns(unique_name('w'));
  ASSERT_TRUE(ns.ok()) << ns.error();
  auto inside = child_in(ns.path(), "nstnobody");
  RunResult pids = nscope({"pids", ns.name()}, nobody);
  EXPECT_EQ(pids.exit_code, 0) << pids.describe();
  EXPECT_EQ(pids.out, "") << "root's process is not visible to nobody";
  EXPECT_NE(pids.err.find("CAP_SYS_PTRACE"), std::string::npos) << pids.err;
}

// ---- bad input ------------------------------------------------------------------------

TEST(Pids, UnknownReferenceExits2WithCandidates) {
  REQUIRE_ROOT();
  std::string name = unique_name('u');
  RunResult r = nscope({"pids", name});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("no network namespace named '" + name + "'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("network namespaces here:"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  RunResult gone = nscope({"pids", "pid:2147483647"});
  EXPECT_EQ(gone.exit_code, 2) << gone.describe();
  EXPECT_NE(gone.err.find("no such process"), std::string::npos) << gone.err;
  RunResult none = nscope({"pids"});
  EXPECT_EQ(none.exit_code, 2) << none.describe();
}

}  // namespace nst
