// System tests of `nscope find` against real namespaces: an address (IPv4, IPv6, a CIDR), a
// MAC and an interface glob in the right namespace and interface; a TCP listener inside a
// runc container with its process; a UDP socket and a connection between two namespaces,
// seen from both ends with their owner; a /16 routed through a device; a namespace only a
// veth leads to; bad input (exit 2) and no match (exit 1). Every run's JSON is parsed. Root
// only; traffic stays inside the test's own namespaces.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "testenv.h"

namespace nst {
namespace {

using namespace std::chrono_literals;

#define REQUIRE_ROOT()                        \
  if (geteuid() != 0) {                       \
    GTEST_SKIP() << "system tests need root"; \
  }

// A port of this test process's own, away from the usual services.
uint16_t test_port(int k) { return static_cast<uint16_t>(20000 + (getpid() * 7 + k) % 30000); }

// `nscope find --json ARGS`: exit 0 and a JSON array, or the test fails.
json find_json(const std::vector<std::string>& args) {
  std::vector<std::string> a{"find", "--json"};
  a.insert(a.end(), args.begin(), args.end());
  RunResult r = nscope(a);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  json j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_array()) << r.describe();
  return j.is_array() ? j : json::array();
}

// The hits of one type in one namespace.
std::vector<json> hits(const json& doc, uint64_t inode, const std::string& type) {
  std::vector<json> out;
  for (auto& h : doc)
    if (h.value("type", "") == type && as_u64(h["netns"]["inode"]) == inode) out.push_back(h);
  return out;
}

bool has_owner(const json& hit, pid_t pid) {
  for (auto& p : hit["processes"])
    if (p.value("pid", 0) == pid) return true;
  return false;
}

// Enters the named namespace (in a child only).
void enter(Channel& c, const std::string& name) {
  int fd = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) child_fail(c, "enter " + name);
  close(fd);
}

int bound_socket(Channel& c, int type, uint16_t port) {
  int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) child_fail(c, "bind");
  return s;
}

TEST(Find, AddressIpv4InTheRightNamespaceAndInterface) {
  REQUIRE_ROOT();
  VethPair p;
  ASSERT_TRUE(p.ok) << p.error;
  json doc = find_json({"--addr", p.ip_b});
  auto mine = hits(doc, p.ino_b, "interface");
  ASSERT_EQ(mine.size(), 1u) << doc.dump(1);
  EXPECT_EQ(mine[0]["interface"]["name"], p.vb);
  EXPECT_EQ(mine[0]["addresses"].size(), 1u);
  EXPECT_EQ(mine[0]["addresses"][0]["address"], p.ip_b);
  EXPECT_EQ(mine[0]["addresses"][0]["prefixlen"], 24);
  EXPECT_EQ(mine[0]["netns"]["names"], json::array({p.b.name()}));
  EXPECT_TRUE(hits(doc, p.ino_a, "interface").empty()) << "the other end holds " << p.ip_a << ", not " << p.ip_b;

  RunResult text = nscope({"find", "--addr", p.ip_b});
  ASSERT_EQ(text.exit_code, 0) << text.describe();
  EXPECT_NE(text.out.find("netns " + std::to_string(p.ino_b) + " (" + p.b.name() + ")"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("interface " + p.vb + " (ifindex"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("inet " + p.ip_b + "/24"), std::string::npos) << text.out;
}

TEST(Find, AddressIpv6AndACidr) {
  REQUIRE_ROOT();
  VethPair p;
  ASSERT_TRUE(p.ok) << p.error;
  std::string v6 = "fd00:" + std::to_string(getpid() % 9000 + 1000) + "::2";
  RunResult add = run({"ip", "-n", p.b.name(), "addr", "add", v6 + "/64", "dev", p.vb, "nodad"});
  ASSERT_EQ(add.exit_code, 0) << add.describe();

  json six = find_json({"--addr", v6});
  auto mine = hits(six, p.ino_b, "interface");
  ASSERT_EQ(mine.size(), 1u) << six.dump(1);
  EXPECT_EQ(mine[0]["interface"]["name"], p.vb);
  EXPECT_EQ(mine[0]["addresses"][0]["family"], "inet6");
  EXPECT_EQ(mine[0]["addresses"][0]["address"], v6);
  json six_net = find_json({"--addr", v6.substr(0, v6.size() - 1) + "/64"});
  EXPECT_EQ(hits(six_net, p.ino_b, "interface").size(), 1u) << six_net.dump(1);

  // The /24 both ends share: each namespace with its own end.
  std::string net = p.ip_a.substr(0, p.ip_a.rfind('.')) + ".0/24";
  json cidr = find_json({"--addr", net});
  auto a = hits(cidr, p.ino_a, "interface"), b = hits(cidr, p.ino_b, "interface");
  ASSERT_EQ(a.size(), 1u) << cidr.dump(1);
  ASSERT_EQ(b.size(), 1u) << cidr.dump(1);
  EXPECT_EQ(a[0]["interface"]["name"], p.va);
  EXPECT_EQ(a[0]["addresses"][0]["address"], p.ip_a);
  EXPECT_EQ(b[0]["interface"]["name"], p.vb);
  EXPECT_EQ(b[0]["addresses"].size(), 1u) << "only the IPv4 address lies in " << net;
}

TEST(Find, MacAndIfnameGlob) {
  REQUIRE_ROOT();
  VethPair p;
  ASSERT_TRUE(p.ok) << p.error;
  char mac[32];
  snprintf(mac, sizeof mac, "02:6e:%02x:%02x:%02x:%02x", (getpid() >> 16) & 0xff, (getpid() >> 8) & 0xff,
           getpid() & 0xff, 0x5a);
  RunResult set = run({"ip", "-n", p.b.name(), "link", "set", p.vb, "address", mac});
  ASSERT_EQ(set.exit_code, 0) << set.describe();

  std::string upper = mac;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  json byMac = find_json({"--mac", upper});
  auto m = hits(byMac, p.ino_b, "interface");
  ASSERT_EQ(m.size(), 1u) << byMac.dump(1);
  EXPECT_EQ(m[0]["interface"]["name"], p.vb);
  EXPECT_EQ(m[0]["interface"]["mac"], mac);
  EXPECT_EQ(m[0]["addresses"][0]["address"], p.ip_b) << "an interface found by MAC shows its addresses";
  EXPECT_EQ(byMac.size(), 1u) << "the MAC is this test's own: " << byMac.dump(1);

  // va and vb: the prefix, 'v' or 'w', a counter.
  json glob = find_json({"--ifname", prefix() + "[vw]*"});
  auto a = hits(glob, p.ino_a, "interface"), b = hits(glob, p.ino_b, "interface");
  ASSERT_EQ(a.size(), 1u) << glob.dump(1);
  ASSERT_EQ(b.size(), 1u) << glob.dump(1);
  EXPECT_EQ(a[0]["interface"]["name"], p.va);
  EXPECT_EQ(b[0]["interface"]["name"], p.vb);
  EXPECT_EQ(b[0]["matched"], json::array({"ifname"}));

  // Interface criteria hold for one interface: vb has ip_b, va does not.
  json both = find_json({"--ifname", p.vb, "--addr", p.ip_b});
  EXPECT_EQ(hits(both, p.ino_b, "interface").size(), 1u) << both.dump(1);
  RunResult none = nscope({"find", "--ifname", p.va, "--addr", p.ip_b});
  EXPECT_EQ(none.exit_code, 1) << none.describe();
  EXPECT_EQ(none.out, "");
  EXPECT_NE(none.err.find("no match for --addr " + p.ip_b + " --ifname " + p.va), std::string::npos) << none.err;

  // By index: lo is 1 everywhere, so ask for vb's and check its namespace is among the hits.
  RunResult show = run({"ip", "-n", p.b.name(), "-o", "link", "show", p.vb});
  ASSERT_EQ(show.exit_code, 0) << show.describe();
  std::string ifindex = show.out.substr(0, show.out.find(':'));
  json byIndex = find_json({"--ifindex", ifindex, "--ifname", p.vb});
  ASSERT_EQ(hits(byIndex, p.ino_b, "interface").size(), 1u) << byIndex.dump(1);
}

// Whether `pid`'s namespace has a TCP socket listening on `port` (/proc/PID/net/tcp{,6}).
bool listening(pid_t pid, uint16_t port) {
  char want[16];
  snprintf(want, sizeof want, ":%04X ", port);
  for (const char* f : {"tcp", "tcp6"})
    for (auto& line : split_lines(read_file("/proc/" + std::to_string(pid) + "/net/" + f))) {
      auto at = line.find(want);
      if (at != std::string::npos && at < 60 && line.find(" 0A ") != std::string::npos) return true;
    }
  return false;
}

TEST(Find, ListeningTcpPortInsideARuncContainer) {
  REQUIRE_ROOT();
  if (find_tool("runc").empty()) GTEST_SKIP() << "runc is not installed (scripts/install-deps.sh test installs it)";
  std::string busybox = find_tool("busybox");
  ASSERT_FALSE(busybox.empty()) << "busybox is missing: install busybox-static (scripts/install-deps.sh test)";
  TempDir bundle;
  ASSERT_FALSE(bundle.path().empty());
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(bundle / "rootfs/bin", ec);
  fs::copy_file(busybox, bundle / "rootfs/bin/busybox", ec);
  ASSERT_FALSE(ec) << ec.message();
  fs::create_symlink("busybox", bundle / "rootfs/bin/nc", ec);
  ASSERT_FALSE(ec) << ec.message();
  RunResult spec = run({"runc", "spec", "--bundle", bundle.path()});
  ASSERT_EQ(spec.exit_code, 0) << spec.describe();
  json cfg = json::parse(read_file(bundle / "config.json"), nullptr, false);
  ASSERT_FALSE(cfg.is_discarded());
  uint16_t port = test_port(1);
  cfg["process"].erase("rlimits");  // this machine refuses raising limits
  cfg["process"]["args"] = {"nc", "-l", "-p", std::to_string(port)};
  cfg["process"]["terminal"] = false;
  write_file(bundle / "config.json", cfg.dump(2));

  RuncContainer ctr(unique_name('r'));
  ctr.started();
  RunResult r = run({"runc", "run", "-d", "--bundle", bundle.path(), "--pid-file", bundle / "pid", ctr.name()});
  ASSERT_EQ(r.exit_code, 0) << "runc run: " << r.describe();
  pid_t pid = std::atoi(read_file(bundle / "pid").c_str());
  ASSERT_GT(pid, 0);
  ctr.set_pid(pid);
  uint64_t inode = ns_inode("/proc/" + std::to_string(pid) + "/ns/net");
  ASSERT_NE(inode, own_ns_inode("net"));
  for (int i = 0; i < 100 && !listening(pid, port); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(listening(pid, port)) << "nc never listened on " << port;

  json doc = find_json({"--port", "tcp:" + std::to_string(port)});
  auto mine = hits(doc, inode, "socket");
  ASSERT_EQ(mine.size(), 1u) << doc.dump(1);
  EXPECT_EQ(mine[0]["protocol"], "tcp");
  EXPECT_EQ(mine[0]["state"], "LISTEN");
  EXPECT_EQ(mine[0]["local"]["port"], port);
  EXPECT_EQ(mine[0]["matched"], "local");
  EXPECT_TRUE(has_owner(mine[0], pid)) << mine[0].dump(1);
  EXPECT_EQ(mine[0]["processes"][0].value("command", ""), "nc");
  EXPECT_EQ(mine[0]["netns"]["container"], "runc:" + ctr.name());
  EXPECT_EQ(mine[0]["netns"]["pid"], pid);
  EXPECT_FALSE(mine[0]["netns"]["cookie"].is_null());
  RunResult udp = nscope({"find", "--json", "--port", "udp:" + std::to_string(port)});
  EXPECT_EQ(udp.out.find(std::to_string(inode)), std::string::npos) << "no UDP there: " << udp.describe();

  // With an interface criterion too: the namespace needs a hit of each kind.
  json lo = find_json({"--port", "tcp:" + std::to_string(port), "--ifname", "lo"});
  EXPECT_EQ(hits(lo, inode, "socket").size(), 1u) << lo.dump(1);
  EXPECT_EQ(hits(lo, inode, "interface").size(), 1u) << lo.dump(1);
  RunResult none = nscope({"find", "--port", "tcp:" + std::to_string(port), "--ifname", "eth*"});
  EXPECT_TRUE(none.out.find(std::to_string(inode)) == std::string::npos) << none.describe();

  RunResult text = nscope({"find", "--port", "tcp:" + std::to_string(port)});
  ASSERT_EQ(text.exit_code, 0) << text.describe();
  EXPECT_NE(text.out.find("runc:" + ctr.name()), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(":" + std::to_string(port) + " peer "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(" LISTEN "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("pid " + std::to_string(pid) + " (nc) fd "), std::string::npos) << text.out;
}

TEST(Find, UdpSocketAndAConnectionSeenFromBothEnds) {
  REQUIRE_ROOT();
  VethPair p;
  ASSERT_TRUE(p.ok) << p.error;
  uint16_t udp = test_port(2), tcp = test_port(3);
  std::string b = p.b.name(), a = p.a.name(), ip_b = p.ip_b;
  // One process: a UDP socket and a listener in b, then a client from a connected to it
  // (so it lives in a, and holds b's sockets from there).
  Child child([&](Channel& c) {
    enter(c, b);
    bound_socket(c, SOCK_DGRAM, udp);
    int l = bound_socket(c, SOCK_STREAM, tcp);
    if (listen(l, 4) != 0) child_fail(c, "listen");
    enter(c, a);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(tcp);
    inet_pton(AF_INET, ip_b.c_str(), &to.sin_addr);
    if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) child_fail(c, "connect");
    if (accept4(l, nullptr, nullptr, SOCK_CLOEXEC) < 0) child_fail(c, "accept");
    c.send("ready");
    child_sleep_forever();
  });
  ASSERT_FALSE(child.wait_ready().empty());

  json u = find_json({"--port", "udp:" + std::to_string(udp)});
  auto us = hits(u, p.ino_b, "socket");
  ASSERT_EQ(us.size(), 1u) << u.dump(1);
  EXPECT_EQ(us[0]["protocol"], "udp");
  EXPECT_EQ(us[0]["state"], "UNCONN");
  EXPECT_EQ(us[0]["local"]["address"], "0.0.0.0");
  EXPECT_TRUE(has_owner(us[0], child.pid())) << us[0].dump(1);

  json t = find_json({"--port", "tcp:" + std::to_string(tcp)});
  auto in_b = hits(t, p.ino_b, "socket"), in_a = hits(t, p.ino_a, "socket");
  ASSERT_EQ(in_b.size(), 2u) << "the listener and the accepted end: " << t.dump(1);
  std::set<std::string> states;
  for (auto& h : in_b) {
    states.insert(h.value("state", ""));
    EXPECT_EQ(h["matched"], "local");
    EXPECT_TRUE(has_owner(h, child.pid())) << h.dump(1);
  }
  EXPECT_EQ(states, (std::set<std::string>{"LISTEN", "ESTAB"}));
  ASSERT_EQ(in_a.size(), 1u) << "the client: " << t.dump(1);
  EXPECT_EQ(in_a[0]["state"], "ESTAB");
  EXPECT_EQ(in_a[0]["matched"], "remote");
  EXPECT_EQ(in_a[0]["local"]["address"], p.ip_a);
  EXPECT_EQ(in_a[0]["remote"]["address"], p.ip_b);
  EXPECT_EQ(in_a[0]["remote"]["port"], tcp);
  EXPECT_TRUE(has_owner(in_a[0], child.pid())) << in_a[0].dump(1);

  // A bare port is both protocols.
  json both = find_json({"--port", std::to_string(udp)});
  EXPECT_EQ(hits(both, p.ino_b, "socket").size(), 1u) << both.dump(1);
}

TEST(Find, RouteViaADevice) {
  REQUIRE_ROOT();
  VethPair p;
  ASSERT_TRUE(p.ok) << p.error;
  int second = 150 + getpid() % 50;  // away from VethPair's 10.213.x.0/24
  std::string net = "10." + std::to_string(second) + ".0.0/16";
  RunResult add = run({"ip", "-n", p.a.name(), "route", "add", net, "via", p.ip_b, "dev", p.va});
  ASSERT_EQ(add.exit_code, 0) << add.describe();

  json doc = find_json({"--route", net});
  auto mine = hits(doc, p.ino_a, "route");
  ASSERT_EQ(mine.size(), 1u) << doc.dump(1);
  EXPECT_EQ(mine[0]["route"]["dst"], net);
  EXPECT_EQ(mine[0]["route"]["gateway"], p.ip_b);
  EXPECT_EQ(mine[0]["route"]["table"], "main");
  EXPECT_EQ(mine[0]["devices"][0]["name"], p.va);
  EXPECT_EQ(mine[0]["relation"], "exact");
  EXPECT_TRUE(hits(doc, p.ino_b, "route").empty()) << doc.dump(1);

  // A smaller prefix inside it is covered by the route; a bigger one holds it.
  std::string sub = net.substr(0, net.find(".0.0/")) + ".5.0/24";
  json covered = find_json({"--route", sub});
  auto c = hits(covered, p.ino_a, "route");
  ASSERT_EQ(c.size(), 1u) << covered.dump(1);
  EXPECT_EQ(c[0]["relation"], "covers");
  json within = find_json({"--route", "10." + std::to_string(second & ~1) + ".0.0/15"});
  auto w = hits(within, p.ino_a, "route");
  ASSERT_EQ(w.size(), 1u) << within.dump(1);
  EXPECT_EQ(w[0]["relation"], "within");

  RunResult text = nscope({"find", "--route", net});
  ASSERT_EQ(text.exit_code, 0) << text.describe();
  EXPECT_NE(text.out.find("route " + net + " via " + p.ip_b + " dev " + p.va), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("table main (exact)"), std::string::npos) << text.out;
}

// A namespace nothing holds but a veth into it (its one fd in flight in a unix socket):
// read through the veth for an address; skipped, and said so, for a route.
TEST(Find, NamespaceOnlyAVethLeadsTo) {
  REQUIRE_ROOT();
  NamedNetns near(unique_name('a'));
  ASSERT_TRUE(near.ok()) << near.error();
  int pass[2], flight[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pass), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, flight), 0);
  struct Closer {
    int* fds;
    ~Closer() {
      for (int i = 0; i < 4; ++i) close(fds[i]);
    }
  };
  int all[4] = {pass[0], pass[1], flight[0], flight[1]};
  Closer closer{all};  // closing the in-flight fd ends the namespace and its veth
  pid_t maker = fork();
  if (maker == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(1);
    int fd = open("/proc/self/ns/net", O_RDONLY);
    _exit(fd >= 0 && send_fd(pass[1], fd) ? 0 : 2);
  }
  int fd = recv_fd(pass[0]);
  waitpid(maker, nullptr, 0);
  ASSERT_GE(fd, 0);
  uint64_t inode = [&] {
    struct stat st {};
    return fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
  }();
  std::string path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd);
  std::string hd = unique_name('v'), hx = unique_name('w');
  std::string ip = "10.203." + std::to_string(getpid() % 250) + ".2";
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ip", "-n", near.name(), "link", "add", hd, "type", "veth", "peer", "name", hx, "netns", path},
           {"nsenter", "--net=" + path, "ip", "link", "set", hx, "up"},
           {"nsenter", "--net=" + path, "ip", "addr", "add", ip + "/24", "dev", hx}}) {
    RunResult r = run(argv);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }
  ASSERT_TRUE(send_fd(flight[0], fd));
  close(fd);

  json doc = find_json({"--addr", ip});
  auto mine = hits(doc, inode, "interface");
  ASSERT_EQ(mine.size(), 1u) << doc.dump(1);
  EXPECT_EQ(mine[0]["interface"]["name"], hx);
  EXPECT_TRUE(mine[0]["netns"]["read_via"].is_string()) << mine[0].dump(1);

  RunResult route = nscope({"find", "--route", "10.203.0.0/16"});
  EXPECT_NE(route.err.find(std::to_string(inode)), std::string::npos)
      << "the hidden namespace is named among those skipped: " << route.describe();
  EXPECT_NE(route.err.find("skipped"), std::string::npos) << route.describe();
}

TEST(Find, BadInputExitsTwoNamingTheOption) {
  REQUIRE_ROOT();
  RunResult none = nscope({"find"});
  EXPECT_EQ(none.exit_code, 2) << none.describe();
  for (const char* opt : {"--addr", "--mac", "--ifname", "--ifindex", "--port", "--route"})
    EXPECT_NE(none.err.find(opt), std::string::npos) << none.describe();
  struct Case {
    std::vector<std::string> args;
    std::string option, example;
  };
  for (const Case& c : std::vector<Case>{{{"--addr", "10.0.0.300"}, "--addr", "10.0.0.2"},
                                         {{"--addr", "10.0.0.0/33"}, "--addr", "10.0.0.0/24"},
                                         {{"--route", "fd00::/129"}, "--route", "10.1.0.0/16"},
                                         {{"--route", "nowhere"}, "--route", "10.1.0.0/16"},
                                         {{"--mac", "02:42:zz:11:00:02"}, "--mac", "02:42:ac:11:00:02"},
                                         {{"--port", "sctp:x"}, "--port", "tcp:8080"},
                                         {{"--port", "tcp:70000"}, "--port", "udp:53"},
                                         {{"--ifindex", "eth0"}, "--ifindex", "e.g. 2"},
                                         {{"--ifname", ""}, "--ifname", "eth0"}}) {
    std::vector<std::string> args{"find"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    RunResult r = nscope(args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.args[1] << ": " << r.describe();
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("nscope: " + c.option + ": "), std::string::npos) << r.describe();
    EXPECT_NE(r.err.find(c.example), std::string::npos) << r.describe();
  }
}

TEST(Find, NoMatchExitsOneWithANote) {
  REQUIRE_ROOT();
  // TEST-NET-1, but not an address this host has (this VM's eth0 is 192.0.2.2/24).
  std::string own = nst::run({"ip", "-o", "addr"}).out, nowhere;
  for (int i = getpid() % 250 + 1; nowhere.empty() || own.find(" " + nowhere + "/") != std::string::npos; i = i % 250 + 1)
    nowhere = "192.0.2." + std::to_string(i);
  RunResult text = nscope({"find", "--addr", nowhere});
  EXPECT_EQ(text.exit_code, 1) << text.describe();
  EXPECT_EQ(text.out, "");
  EXPECT_NE(text.err.find("nscope: no match for --addr " + nowhere + " in "), std::string::npos) << text.describe();
  RunResult j = nscope({"find", "--json", "--addr", nowhere});
  EXPECT_EQ(j.exit_code, 1) << j.describe();
  json doc = json::parse(j.out, nullptr, false);
  EXPECT_TRUE(doc.is_array() && doc.empty()) << j.describe();
}

}  // namespace
}  // namespace nst
