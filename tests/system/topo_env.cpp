#include "topo_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

#include "testenv.h"

namespace topoenv {

std::string Out::describe() const {
  return "exit " + std::to_string(code) + "\n--- stdout ---\n" + out.substr(0, 4000) + "\n--- stderr ---\n" + err.substr(0, 4000);
}

namespace {

std::string read_fd(int fd) {
  std::string s;
  lseek(fd, 0, SEEK_SET);
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

std::string find_exe(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const char* d : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string p = std::string(d) + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return name;
}


}  // namespace

Out run(const std::vector<std::string>& argv, int timeout_s) {
  Out r;
  std::vector<char*> a;
  std::string exe = find_exe(argv[0]);
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  int o = memfd_create("out", MFD_CLOEXEC), e = memfd_create("err", MFD_CLOEXEC);
  int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(nul, 0);
    dup2(o, 1);
    dup2(e, 2);
    execve(exe.c_str(), a.data(), environ);
    _exit(127);
  }
  close(nul);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (true) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.err = "timed out\n";
      break;
    }
    usleep(2000);
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_fd(o);
  r.err += read_fd(e);
  close(o);
  close(e);
  return r;
}

bool must(const std::vector<std::string>& argv, std::vector<std::string>* errors) {
  Out r = run(argv);
  if (r.code == 0) return true;
  std::string cmd;
  for (auto& s : argv) cmd += s + " ";
  errors->push_back(cmd + "-> " + r.describe());
  return false;
}

uint64_t inode_of(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

uint64_t as_u64(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) return static_cast<uint64_t>(j.get<int64_t>());
  if (j.is_string()) return std::strtoull(j.get<std::string>().c_str(), nullptr, 10);
  return 0;
}

Out run_nscope(const std::vector<std::string>& args, int timeout_s) {
  std::vector<std::string> argv{nst::nscope_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, timeout_s);
}

json parse(const Out& o) { return json::parse(o.out, nullptr, false); }

const json* topo_node(const json& topo, uint64_t inode) {
  if (!topo.is_object() || !topo.contains("nodes")) return nullptr;
  for (auto& n : topo["nodes"])
    if (as_u64(n["inode"]) == inode) return &n;
  return nullptr;
}

const json* topo_iface(const json& topo, uint64_t inode, const std::string& ifname) {
  const json* n = topo_node(topo, inode);
  if (!n) return nullptr;
  for (auto& f : (*n)["interfaces"])
    if (f.value("name", "") == ifname) return &f;
  return nullptr;
}

const json* veth_edge(const json& topo, uint64_t inode, const std::string& ifname) {
  if (!topo.is_object() || !topo.contains("edges")) return nullptr;
  for (auto& e : topo["edges"]) {
    if (e.value("kind", "") != "veth") continue;
    for (auto* end : {&e["from"], &e["to"]})
      if (as_u64((*end)["netns"]) == inode && (*end).value("ifname", "") == ifname) return &e;
  }
  return nullptr;
}

// ---- the environment ---------------------------------------------------------------------

TopoEnv::TopoEnv() {
  p = "nt" + std::to_string(getpid());
  a = p + "-a";
  b = p + "-b";
  c = p + "-c";
  ino_host = inode_of("/proc/self/ns/net");
  build();
}

void TopoEnv::build() {
  auto& E = errors;
  for (auto* n : {&a, &b, &c}) {
    if (!must({"ip", "netns", "add", *n}, &E)) return;
    netns_.push_back(*n);
  }
  ino_a = inode_of("/run/netns/" + a);
  ino_b = inode_of("/run/netns/" + b);
  ino_c = inode_of("/run/netns/" + c);
  auto ipn = [&](const std::string& ns, std::vector<std::string> rest) {
    std::vector<std::string> argv{"ip", "-n", ns};
    argv.insert(argv.end(), rest.begin(), rest.end());
    return must(argv, &E);
  };
  // a <-> b
  must({"ip", "link", "add", name("ab"), "netns", a, "type", "veth", "peer", "name", name("ba"), "netns", b}, &E);
  ipn(a, {"addr", "add", "10.201.0.1/24", "dev", name("ab")});
  ipn(b, {"addr", "add", "10.201.0.2/24", "dev", name("ba")});
  ipn(a, {"link", "set", name("ab"), "up"});
  ipn(b, {"link", "set", name("ba"), "up"});
  ipn(a, {"route", "add", "default", "via", "10.201.0.2"});
  // the bridge in c and its ports
  ipn(c, {"link", "add", name("br"), "type", "bridge"});
  ipn(c, {"link", "set", name("br"), "up"});
  must({"ip", "link", "add", name("p1"), "netns", c, "type", "veth", "peer", "name", name("a1"), "netns", a}, &E);
  must({"ip", "link", "add", name("p2"), "netns", c, "type", "veth", "peer", "name", name("b1"), "netns", b}, &E);
  if (must({"ip", "link", "add", name("h3"), "type", "veth", "peer", "name", name("p3"), "netns", c}, &E))
    links_.push_back(name("h3"));
  for (auto port : {"p1", "p2", "p3"}) {
    ipn(c, {"link", "set", name(port), "master", name("br")});
    ipn(c, {"link", "set", name(port), "up"});
  }
  // a parent with a macvlan (and a vlan) on it, and a vxlan using it as underlay
  parent_kind = "dummy";
  if (run({"ip", "-n", c, "link", "add", name("par"), "type", "dummy"}).code != 0) {
    parent_kind = "ifb";
    skipped.push_back("no dummy devices in this kernel: the parent is an ifb device");
    ipn(c, {"link", "add", name("par"), "type", "ifb"});
  }
  ipn(c, {"link", "set", name("par"), "up"});
  ipn(c, {"addr", "add", "10.203.0.1/24", "dev", name("par")});
  ipn(c, {"link", "add", name("mv"), "link", name("par"), "type", "macvlan", "mode", "bridge"});
  have_vlan = run({"ip", "-n", c, "link", "add", name("vl"), "link", name("par"), "type", "vlan", "id", "7"}).code == 0;
  if (!have_vlan) skipped.push_back("no 802.1Q (CONFIG_VLAN_8021Q) in this kernel: no vlan device");
  ipn(c, {"link", "add", name("vx"), "type", "vxlan", "id", "42", "remote", "192.0.2.77", "dstport", "4789",
          "dev", name("par")});
  build_host_bridge();
  build_tap();
  build_container();
  build_hidden();
}

void TopoEnv::build_host_bridge() {
  auto& E = errors;
  auto add = [&](std::vector<std::string> argv, const std::string& link) {
    if (must(argv, &E)) links_.push_back(link);
  };
  add({"ip", "link", "add", name("hb"), "type", "bridge"}, name("hb"));
  add({"ip", "link", "add", name("q1"), "type", "veth", "peer", "name", name("a2"), "netns", a}, name("q1"));
  add({"ip", "link", "add", name("q2"), "type", "veth", "peer", "name", name("b2"), "netns", b}, name("q2"));
  add({"ip", "link", "add", name("q3"), "type", "veth", "peer", "name", name("q4")}, name("q3"));
  add({"ip", "link", "add", name("qd"), "type", parent_kind}, name("qd"));
  must({"ip", "link", "set", name("q2"), "alias", "nscope test alias"}, &E);
  for (auto port : {"q1", "q2", "q3", "qd"}) {
    must({"ip", "link", "set", name(port), "master", name("hb")}, &E);
    must({"ip", "link", "set", name(port), "up"}, &E);
  }
  must({"ip", "link", "set", name("hb"), "up"}, &E);
}

void TopoEnv::build_tap() {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    errors.push_back("pipe for the tap holder");
    return;
  }
  std::string ns = "/run/netns/" + c, tap = name("tap");
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int nsfd = open(ns.c_str(), O_RDONLY);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) _exit(1);
    int fd = open("/dev/net/tun", O_RDWR);
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) _exit(2);
    if (write(pipefd[1], "k", 1) != 1) _exit(3);
    while (true) pause();
  }
  close(pipefd[1]);
  char ok = 0;
  if (pid < 0 || read(pipefd[0], &ok, 1) != 1) errors.push_back("the tap holder did not start");
  close(pipefd[0]);
  tap_child_ = pid;
  tap_pid = pid;
}

void TopoEnv::build_container() {
  container = p + "-ct";
  char tmpl[] = "/tmp/ntbundleXXXXXX";
  if (!mkdtemp(tmpl)) {
    errors.push_back("mkdtemp");
    return;
  }
  bundle_ = tmpl;
  std::string rootfs = bundle_ + "/rootfs";
  mkdir(rootfs.c_str(), 0755);
  mkdir((rootfs + "/bin").c_str(), 0755);
  for (auto d : {"/proc", "/dev", "/sys", "/tmp"}) mkdir((rootfs + d).c_str(), 0755);
  if (!must({"cp", "/bin/busybox", rootfs + "/bin/busybox"}, &errors)) return;
  mkdir((rootfs + "/etc").c_str(), 0755);
  container_resolv_marker = "search " + p + ".inside.test";
  std::ofstream(rootfs + "/etc/resolv.conf") << container_resolv_marker << "\nnameserver 192.0.2.53\n";
  if (!must({"runc", "spec", "--bundle", bundle_}, &errors)) return;
  std::ifstream in(bundle_ + "/config.json");
  json cfg = json::parse(in, nullptr, false);
  if (cfg.is_discarded()) {
    errors.push_back("runc spec wrote no JSON");
    return;
  }
  cfg["process"]["terminal"] = false;
  cfg["process"]["args"] = {"/bin/busybox", "sleep", "3600"};
  cfg["process"].erase("rlimits");  // this machine refuses to raise limits
  std::ofstream(bundle_ + "/config.json") << cfg.dump(2);
  if (!must({"runc", "run", "-d", "--bundle", bundle_, container}, &errors)) {
    container.clear();
    return;
  }
  Out st = run({"runc", "state", container});
  json s = json::parse(st.out, nullptr, false);
  if (s.is_discarded() || !s.contains("pid")) {
    errors.push_back("runc state: " + st.describe());
    return;
  }
  container_pid = s["pid"].get<pid_t>();
  ino_container = inode_of("/proc/" + std::to_string(container_pid) + "/ns/net");
  if (must({"ip", "link", "add", name("rc"), "type", "veth", "peer", "name", "eth0", "netns",
            std::to_string(container_pid)},
           &errors))
    links_.push_back(name("rc"));
  must({"ip", "link", "set", name("rc"), "up"}, &errors);
}

void TopoEnv::build_hidden() {
  int pass[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pass) != 0 ||
      socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, hidden_sock_) != 0) {
    errors.push_back("socketpair");
    return;
  }
  // A child makes the namespace and hands its fd over, then exits.
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(1);
    int fd = open("/proc/self/ns/net", O_RDONLY);
    _exit(fd >= 0 && nst::send_fd(pass[1], fd) ? 0 : 2);
  }
  int fd = nst::recv_fd(pass[0]);
  waitpid(pid, nullptr, 0);
  close(pass[0]);
  close(pass[1]);
  if (fd < 0) {
    errors.push_back("no fd from the hidden namespace's maker");
    return;
  }
  ino_hidden = [&] {
    struct stat st {};
    return fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
  }();
  std::string path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd);
  if (must({"ip", "link", "add", name("hd"), "type", "veth", "peer", "name", name("hx"), "netns", path}, &errors))
    links_.push_back(name("hd"));
  must({"ip", "link", "set", name("hd"), "up"}, &errors);
  must({"nsenter", "--net=" + path, "ip", "link", "set", name("hx"), "up"}, &errors);
  must({"nsenter", "--net=" + path, "ip", "addr", "add", "10.202.0.2/24", "dev", name("hx")}, &errors);
  // Hide it: the fd goes into a socket's queue and our copy is closed. No process, mount or
  // open fd holds the namespace now; only the in-flight fd and the veth keep it.
  if (!nst::send_fd(hidden_sock_[0], fd)) errors.push_back("cannot put the hidden namespace's fd in flight");
  close(fd);
}

TopoEnv::~TopoEnv() {
  if (!container.empty()) {
    run({"runc", "kill", container, "KILL"}, 10);
    for (int i = 0; i < 50; ++i) {
      if (run({"runc", "delete", "-f", container}, 10).code == 0) break;
      usleep(100000);
    }
    // A subreaper test process inherits the container's process: reap it.
    for (int i = 0; i < 50 && container_pid > 0; ++i) {
      pid_t w = waitpid(container_pid, nullptr, WNOHANG);
      if (w == container_pid || (w < 0 && errno == ECHILD)) break;
      usleep(20000);
    }
  }
  if (tap_child_ > 0) {
    kill(tap_child_, SIGKILL);
    waitpid(tap_child_, nullptr, 0);
  }
  for (int& s : hidden_sock_)
    if (s >= 0) close(s);
  for (auto& l : links_) run({"ip", "link", "del", l}, 10);
  for (auto& n : netns_) run({"ip", "netns", "del", n}, 10);
  if (!bundle_.empty()) run({"rm", "-rf", "--one-file-system", bundle_}, 30);
  // Anything left with our prefix (a half-built run): links here, named namespaces.
  if (DIR* d = opendir("/sys/class/net")) {
    while (dirent* e = readdir(d))
      if (std::strncmp(e->d_name, p.c_str(), p.size()) == 0) run({"ip", "link", "del", e->d_name}, 10);
    closedir(d);
  }
  if (DIR* d = opendir("/run/netns")) {
    while (dirent* e = readdir(d))
      if (std::strncmp(e->d_name, p.c_str(), p.size()) == 0) run({"ip", "netns", "del", e->d_name}, 10);
    closedir(d);
  }
}

}  // namespace topoenv
