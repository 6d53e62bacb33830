// The wiring the show/topo system tests look at: namespaces joined by veth pairs, a bridge
// with several ports, a macvlan (and a vlan where the kernel has 8021q) on a dummy (or ifb)
// parent, a vxlan, a tap held by a process, a runc container, and a namespace reachable only
// as a veth peer. Built once for the suite; every object carries the prefix "nt<pid>" and is
// removed in the destructor, also after a failed assertion or an exception.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace topoenv {

using nlohmann::json;

struct Out {
  int code = -1;
  std::string out, err;
  std::string describe() const;
};
// Runs argv (PATH plus the sbin directories), stdin /dev/null, output captured.
Out run(const std::vector<std::string>& argv, int timeout_s = 60);
// Runs argv and records a failure message in *errors when it does not exit 0.
bool must(const std::vector<std::string>& argv, std::vector<std::string>* errors);

uint64_t inode_of(const std::string& path);

class TopoEnv {
 public:
  TopoEnv();
  ~TopoEnv();
  TopoEnv(const TopoEnv&) = delete;
  TopoEnv& operator=(const TopoEnv&) = delete;

  std::string p;                    // prefix "nt<pid>"
  std::vector<std::string> errors;  // what could not be built
  std::vector<std::string> skipped; // what the kernel does not offer here (e.g. vlan)

  // Named namespaces "<p>-a", "-b", "-c" and their inodes.
  std::string a, b, c;
  uint64_t ino_a = 0, ino_b = 0, ino_c = 0, ino_host = 0;
  // Veths: a:"<p>ab" <-> b:"<p>ba"; bridge "<p>br" in c with ports "<p>p1" (peer a:"<p>a1"),
  // "<p>p2" (peer b:"<p>b1"), "<p>p3" (peer host:"<p>h3").
  std::string parent_kind;          // "dummy" or "ifb"
  bool have_vlan = false;
  // The runc container (busybox sleeping), with host:"<p>rc" <-> container:"eth0".
  std::string container;            // runc name
  pid_t container_pid = 0;
  std::string container_resolv_marker;  // in the container's own /etc/resolv.conf
  uint64_t ino_container = 0;
  // The hidden namespace: host:"<p>hd" <-> hidden:"<p>hx"; its only fd is in flight in a
  // unix socketpair we hold.
  uint64_t ino_hidden = 0;
  // A bridge on the host, "<p>hb", with ports "<p>q1" (veth, peer a:"<p>a2"), "<p>q2" (veth
  // with an alias, peer b:"<p>b2"), "<p>q3" (veth, peer host:"<p>q4") and "<p>qd" (a
  // parent_kind device): the host's links are read from the bridge ports' dump there.
  // The tap "<p>tap" in c, held by process tap_pid.
  pid_t tap_pid = 0;

  std::string name(const std::string& tag) const { return p + tag; }

 private:
  void build();
  void build_container();
  void build_hidden();
  void build_host_bridge();
  void build_tap();
  std::vector<std::string> netns_;    // to delete
  std::vector<std::string> links_;    // host links to delete
  std::string bundle_;                // runc bundle dir
  int hidden_sock_[2] = {-1, -1};
  pid_t tap_child_ = 0;
};

// `nscope ARGS...` (the built binary).
Out run_nscope(const std::vector<std::string>& args, int timeout_s = 120);
json parse(const Out& o);

// What topo --json says about interface `ifname` of namespace `inode` (null when missing).
const json* topo_iface(const json& topo, uint64_t inode, const std::string& ifname);
const json* topo_node(const json& topo, uint64_t inode);
// The veth edge touching (inode, ifname), from either end; null when none.
const json* veth_edge(const json& topo, uint64_t inode, const std::string& ifname);
uint64_t as_u64(const json& j);

}  // namespace topoenv
