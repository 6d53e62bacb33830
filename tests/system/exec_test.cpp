// System tests for `nscope exec` and `nscope attach`: real named namespaces, a runc container,
// a namespace held only by an fd and one seen only as a veth peer (the show/topo wiring,
// topo_env.h), checked against the tools users trust on the same namespaces: `ip netns exec`,
// `nsenter -t PID -n [-m]`, `ip netns identify`.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/enter.h"
#include "testenv.h"
#include "topo_env.h"

namespace {

using nlohmann::json;
using topoenv::Out;
using topoenv::TopoEnv;
using topoenv::run;
using topoenv::run_nscope;

class Exec : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    env_ = new TopoEnv();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_TRUE(env_->errors.empty()) << "could not build the test wiring:\n" << env_->errors.front();
  }
  static TopoEnv* env_;
};
TopoEnv* Exec::env_ = nullptr;

// What `ip netns exec NAME CMD` and `nscope exec NAME -- CMD` print, side by side.
std::pair<Out, Out> both(const std::string& name, const std::vector<std::string>& cmd) {
  std::vector<std::string> ip{"ip", "netns", "exec", name};
  std::vector<std::string> ns{"exec", name, "--"};
  ip.insert(ip.end(), cmd.begin(), cmd.end());
  ns.insert(ns.end(), cmd.begin(), cmd.end());
  return {run(ip), run_nscope(ns)};
}

// Under exec, CMD sees the namespace as `ip netns exec` shows it: /sys/class/net lists its
// interfaces, `ip addr` its addresses.
TEST_F(Exec, SeesWhatIpNetnsExecSees) {
  for (const auto& cmd : std::vector<std::vector<std::string>>{{"ls", "/sys/class/net"}, {"ip", "-br", "addr"},
                                                               {"ip", "route"}}) {
    auto [ip, ns] = both(env_->a, cmd);
    ASSERT_EQ(ip.code, 0) << ip.describe();
    ASSERT_EQ(ns.code, 0) << ns.describe();
    EXPECT_EQ(ns.out, ip.out) << cmd[0] << " " << cmd.back();
  }
  auto [ip, ns] = both(env_->a, {"ls", "/sys/class/net"});
  EXPECT_NE(ns.out.find(env_->name("ab")), std::string::npos) << ns.out;
}

// The mounts that lived under the host's /sys are still there (ip netns exec loses them):
// cgroup2 at /sys/fs/cgroup, bpffs, tracefs, debugfs, where the host has them.
TEST_F(Exec, MountsUnderSysArePutBack) {
  int checked = 0;
  for (const char* mp : {"/sys/fs/cgroup", "/sys/fs/bpf", "/sys/kernel/tracing", "/sys/kernel/debug"}) {
    Out host = run({"findmnt", "-n", "-o", "FSTYPE", "--mountpoint", mp});
    if (host.code != 0 || host.out.empty()) continue;  // not mounted on this host
    Out in = run_nscope({"exec", env_->a, "--", "findmnt", "-n", "-o", "FSTYPE", "--mountpoint", mp});
    EXPECT_EQ(in.code, 0) << in.describe();
    EXPECT_EQ(in.out, host.out) << mp;
    ++checked;
  }
  EXPECT_GT(checked, 0) << "the host has none of the mounts under /sys";
  Out cg = run_nscope({"exec", env_->a, "--", "stat", "-f", "-c", "%T", "/sys/fs/cgroup"});
  if (run({"stat", "-f", "-c", "%T", "/sys/fs/cgroup"}).out == "cgroup2fs\n") {
    EXPECT_EQ(cg.out, "cgroup2fs\n") << cg.describe();
  }
  // The new /sys is a sysfs of the namespace itself.
  Out sys = run_nscope({"exec", env_->a, "--", "findmnt", "-n", "-o", "FSTYPE", "--mountpoint", "/sys"});
  EXPECT_EQ(sys.out, "sysfs\n") << sys.describe();
}

// What the kernel lists under /sys (listmount, where it has it) is what mountinfo says: the
// outermost mounts only.
TEST(ExecSys, MountsUnderSysAsMountinfoSaysThem) {
  std::string mi = nst::read_file("/proc/self/mountinfo");
  EXPECT_EQ(nscope::mounts_under_sys(), nscope::mounts_under_sys(mi));
  auto fixture = nscope::mounts_under_sys(
      "30 25 0:26 / /sys rw - sysfs sysfs rw\n"
      "31 30 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
      "32 31 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
      "33 30 0:7 / /sys/kernel/debug rw - debugfs debugfs rw\n"
      "34 33 0:12 / /sys/kernel/debug/tracing rw - tracefs tracefs rw\n"
      "35 30 0:29 / /sys/fs/bpf rw - bpf bpf rw\n"
      "36 25 0:30 / /system rw - tmpfs tmpfs rw\n");
  EXPECT_EQ(fixture, (std::vector<std::string>{"/sys/fs/bpf", "/sys/fs/cgroup", "/sys/kernel/debug"}));
}

// /etc/netns/NAME/* is bound over /etc/* for a named namespace, as ip netns exec does.
TEST_F(Exec, EtcNetnsOfTheNameIsBoundOverEtc) {
  std::string dir = "/etc/netns/" + env_->a;
  bool made_parent = mkdir("/etc/netns", 0755) == 0;
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << dir;
  std::ofstream(dir + "/hosts") << "192.0.2.7 " << env_->p << "-only-inside\n";
  auto [ip, ns] = both(env_->a, {"cat", "/etc/hosts"});
  std::filesystem::remove_all(dir);
  if (made_parent) rmdir("/etc/netns");
  EXPECT_EQ(ns.code, 0) << ns.describe();
  EXPECT_EQ(ns.out, ip.out);
  EXPECT_NE(ns.out.find(env_->p + "-only-inside"), std::string::npos) << ns.out;
}

// A process's namespace, as nsenter -t PID -n; with --mount also its mount namespace, as
// nsenter -t PID -n -m: the container's own files (its resolv.conf).
TEST_F(Exec, ContainerByNameAsNsenter) {
  ASSERT_GT(env_->container_pid, 0);
  std::string pid = std::to_string(env_->container_pid);
  Out ns = run_nscope({"exec", env_->container, "--", "ip", "-br", "link"});
  Out ne = run({"nsenter", "-t", pid, "-n", "ip", "-br", "link"});
  ASSERT_EQ(ns.code, 0) << ns.describe();
  EXPECT_EQ(ns.out, ne.out);
  EXPECT_NE(ns.out.find("eth0"), std::string::npos) << ns.out;
  Out byid = run_nscope({"exec", "pid:" + pid, "--", "ip", "-br", "link"});
  EXPECT_EQ(byid.out, ne.out) << byid.describe();

  Out m = run_nscope({"exec", "--mount", env_->container, "--", "/bin/busybox", "cat", "/etc/resolv.conf"});
  Out nm = run({"nsenter", "-t", pid, "-n", "-m", "/bin/busybox", "cat", "/etc/resolv.conf"});
  ASSERT_EQ(m.code, 0) << m.describe();
  EXPECT_EQ(m.out, nm.out);
  EXPECT_NE(m.out.find(env_->container_resolv_marker), std::string::npos) << m.out;
}

// A namespace held only by an fd, reached by its inode; one seen only as a veth peer cannot
// be entered, and the error says why.
TEST_F(Exec, FdHeldEnteredPeerOnlyRefusedWithWhy) {
  nst::Child holder([](nst::Channel& c) {
    std::string err;
    int fd = nst::new_netns_fd_from_process(&err);
    if (fd < 0) nst::child_fail(c, err);
    struct stat st {};
    fstat(fd, &st);
    c.send("ready ino=" + std::to_string(st.st_ino));
    nst::child_sleep_forever();
  });
  auto kv = holder.wait_ready();
  ASSERT_FALSE(kv["ino"].empty());
  Out in = run_nscope({"exec", kv["ino"], "--", "readlink", "/proc/self/ns/net"});
  EXPECT_EQ(in.code, 0) << in.describe();
  EXPECT_EQ(in.out, "net:[" + kv["ino"] + "]\n");

  Out hidden = run_nscope({"exec", std::to_string(env_->ino_hidden), "--", "true"});
  EXPECT_EQ(hidden.code, 1) << hidden.describe();
  EXPECT_NE(hidden.err.find("seen only as a veth peer"), std::string::npos) << hidden.err;
}

// nscope's status is the command's (128 + N when signal N ended it), and a signal sent to
// nscope reaches the command: nscope became it.
TEST_F(Exec, ExitStatusAndSignalsAreTheCommands) {
  EXPECT_EQ(run_nscope({"exec", env_->a, "--", "sh", "-c", "exit 7"}).code, 7);
  EXPECT_EQ(run_nscope({"exec", env_->a, "sh", "-c", "kill -TERM $$"}).code, 128 + SIGTERM);
  nst::TempDir dir;
  std::string mark = dir / "trapped";
  pid_t pid = fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    std::string script = "trap 'echo yes > " + mark + "; exit 42' TERM HUP INT; echo > " + mark +
                         ".up; while :; do sleep 0.05; done";
    execl(nst::nscope_bin(), "nscope", "exec", env_->a.c_str(), "--", "sh", "-c", script.c_str(),
          static_cast<char*>(nullptr));
    _exit(126);
  }
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 100 && access((mark + ".up").c_str(), F_OK) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42);
  EXPECT_EQ(nst::read_file(mark), "yes\n");
}

// Bad input: a reference that names nothing is a usage error with the candidates; a command
// that cannot be run exits 127 with why; no command, or --json without --all, exit 2.
TEST_F(Exec, BadInput) {
  Out unknown = run_nscope({"exec", env_->p + "-nosuch", "--", "true"});
  EXPECT_EQ(unknown.code, 2) << unknown.describe();
  EXPECT_NE(unknown.err.find(env_->p + "-nosuch"), std::string::npos) << unknown.err;
  Out missing = run_nscope({"exec", env_->a, "--", env_->p + "-no-such-command"});
  EXPECT_EQ(missing.code, 127) << missing.describe();
  EXPECT_NE(missing.err.find("cannot run '" + env_->p + "-no-such-command'"), std::string::npos) << missing.err;
  // Without root: the capability that is missing, by name.
  Out nobody = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", nst::nscope_bin(), "exec", env_->a,
                    "--", "true"});
  EXPECT_EQ(nobody.code, 1) << nobody.describe();
  EXPECT_NE(nobody.err.find("needs CAP_SYS_ADMIN"), std::string::npos) << nobody.describe();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"exec", env_->a}, {"exec", "--json", env_->a, "--", "true"}, {"exec", "--all"}}) {
    Out o = run_nscope(args);
    EXPECT_EQ(o.code, 2) << o.describe();
  }
}

// --all --mount: each command in the mount namespace of a process in its network namespace
// (the container's own files); a namespace no process holds says why it was not run.
TEST_F(Exec, AllWithMountSeesEachContainersFiles) {
  Out o = run_nscope({"exec", "--all", "--mount", "--json", "--", "/bin/busybox", "cat", "/etc/resolv.conf"});
  EXPECT_LE(o.code, 1) << o.describe();
  bool container = false, named = false;
  std::istringstream lines(o.out);
  std::string line;
  while (std::getline(lines, line)) {
    json r = json::parse(line, nullptr, false);
    ASSERT_FALSE(r.is_discarded()) << line;
    uint64_t ino = nst::as_u64(r["netns"]["inode"]);
    if (ino == env_->ino_container) {
      container = true;
      EXPECT_NE(r["stdout"].get<std::string>().find(env_->container_resolv_marker), std::string::npos) << line;
    }
    if (ino == env_->ino_a) {  // only a name holds it
      named = true;
      EXPECT_TRUE(r["exit"].is_null()) << line;
      EXPECT_NE(r.value("error", "").find("--mount has no mount namespace to enter"), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(container && named) << o.out;
}

// The host keeps no trace: no mount, no nsid, no /run/netns entry.
TEST_F(Exec, LeavesNoTraceOnTheHost) {
  auto state = [] {
    return nst::read_file("/proc/1/mountinfo") + run({"ip", "netns", "list"}).out +
           run({"ip", "netns", "list-id"}).out + run({"ls", "/run/netns"}).out;
  };
  std::string before = state();
  EXPECT_EQ(run_nscope({"exec", env_->a, "--", "true"}).code, 0);
  EXPECT_EQ(run_nscope({"exec", std::to_string(env_->ino_container), "--", "true"}).code, 0);
  EXPECT_EQ(run_nscope({"exec", "--mount", env_->container, "--", "/bin/busybox", "true"}).code, 0);
  EXPECT_EQ(state(), before);
}

// `attach`: an ip netns name for a namespace named any other way, as ip netns attach makes
// it: ip netns identify and ip netns exec then know it; ip netns del removes it.
TEST_F(Exec, AttachNamesItForIpNetns) {
  std::string name = env_->p + "-att";
  std::string pid = std::to_string(env_->container_pid);
  Out o = run_nscope({"attach", name, env_->container});
  ASSERT_EQ(o.code, 0) << o.describe();
  Out id = run({"ip", "netns", "identify", pid});
  Out in = run({"ip", "netns", "exec", name, "readlink", "/proc/self/ns/net"});
  Out again = run_nscope({"attach", name, env_->a});
  Out bad = run_nscope({"attach", "a/b", env_->a});
  Out del = run({"ip", "netns", "del", name});
  EXPECT_EQ(del.code, 0) << del.describe();
  EXPECT_NE(id.out.find(name), std::string::npos) << id.describe();
  EXPECT_EQ(in.out, fmt::format("net:[{}]\n", env_->ino_container)) << in.describe();
  EXPECT_EQ(again.code, 2) << again.describe();
  EXPECT_NE(again.err.find("exists already"), std::string::npos) << again.err;
  EXPECT_EQ(bad.code, 2) << bad.describe();
  EXPECT_EQ(access(("/run/netns/" + name).c_str(), F_OK), -1);
}

// --all over 50 namespaces: each answers once, in namespace order, JSON valid; text lines
// carry the namespace's label.
TEST(ExecAll, FiftyNamespacesEachAnswerOnce) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::vector<std::unique_ptr<nst::NamedNetns>> nss;
  std::map<std::string, uint64_t> inode;
  for (int i = 0; i < 50; ++i) {
    auto n = std::make_unique<nst::NamedNetns>(nst::unique_name('x'));
    ASSERT_TRUE(n->ok()) << n->error();
    inode[n->name()] = nst::ns_inode(n->path());
    nss.push_back(std::move(n));
  }
  // Other namespaces may come and go meanwhile (and make the status 1): only ours are checked.
  Out j = run_nscope({"exec", "--all", "-j", "4", "--json", "--", "readlink", "/proc/self/ns/net"});
  EXPECT_LE(j.code, 1) << j.describe();
  std::map<std::string, int> seen;
  std::istringstream lines(j.out);
  std::string line;
  uint64_t last = 0;
  while (std::getline(lines, line)) {
    json r = json::parse(line, nullptr, false);
    ASSERT_FALSE(r.is_discarded()) << line;
    uint64_t ino = nst::as_u64(r["netns"]["inode"]);
    EXPECT_GT(ino, last) << "namespace order";
    last = ino;
    for (const auto& n : r["netns"]["names"]) {
      if (!inode.count(n.get<std::string>())) continue;
      seen[n.get<std::string>()]++;
      EXPECT_EQ(r["stdout"], fmt::format("net:[{}]\n", ino)) << line;
      EXPECT_EQ(r["exit"], 0) << line;
    }
  }
  for (const auto& [name, ino] : inode) EXPECT_EQ(seen[name], 1) << name;

  // One worker remakes /sys for one namespace after another: each still has the mounts that
  // were under the host's /sys.
  Out host = run({"findmnt", "-n", "-o", "FSTYPE", "--mountpoint", "/sys/fs/cgroup"});
  if (host.code == 0 && !host.out.empty()) {
    Out m = run_nscope({"exec", "--all", "-j", "1", "--json", "--", "findmnt", "-n", "-o", "FSTYPE",
                        "--mountpoint", "/sys/fs/cgroup"});
    std::istringstream ml(m.out);
    int ours = 0;
    while (std::getline(ml, line)) {
      json r = json::parse(line, nullptr, false);
      ASSERT_FALSE(r.is_discarded()) << line;
      for (const auto& n : r["netns"]["names"])
        if (inode.count(n.get<std::string>())) {
          ++ours;
          EXPECT_EQ(r["stdout"], host.out) << line;
        }
    }
    EXPECT_EQ(ours, 50);
  }

  Out t = run_nscope({"exec", "--all", "--", "readlink", "/proc/self/ns/net"});
  EXPECT_LE(t.code, 1) << t.describe();
  for (const auto& [name, ino] : inode)
    EXPECT_NE(t.out.find(fmt::format("{}: net:[{}]\n", name, ino)), std::string::npos) << name;
}

}  // namespace
