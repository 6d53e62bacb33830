// `nscope show` and `nscope topo` against real wiring (topo_env.h): each veth's peer resolves
// to the right interface and namespace, bridge ports and parents are right, the hidden
// namespace's link is flagged dangling, --dot is accepted by Graphviz and the SVG names every
// namespace. Root only.
#include <fcntl.h>
#include <sched.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "bpfload/nsiter.h"
#include "discover/netns.h"
#include "discover/scan.h"
#include "render/render.h"
#include "topo/ns_reader.h"
#include "netlink/firewall.h"
#include "netlink/rtnl.h"
#include "netlink/sockdiag.h"
#include "testenv.h"
#include "topo_env.h"
#include "util/fd.h"

using namespace topoenv;
using namespace nscope;

namespace {

class ShowTopo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    env_ = new TopoEnv();
    Out t = run_nscope({"topo", "--json"});
    topo_ = new json(parse(t));
    topo_out_ = new Out(t);
  }
  static void TearDownTestSuite() {
    delete topo_;
    delete topo_out_;
    delete env_;  // removes everything the suite made
    topo_ = nullptr;
    env_ = nullptr;
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_TRUE(env_->errors.empty()) << "could not build the test wiring:\n" << env_->errors.front();
    ASSERT_EQ(topo_out_->code, 0) << topo_out_->describe();
    ASSERT_TRUE(topo_->is_object()) << topo_out_->describe();
  }
  static json show(const std::string& ref) {
    Out o = run_nscope({"show", ref, "--json"});
    EXPECT_EQ(o.code, 0) << o.describe();
    json j = parse(o);
    EXPECT_TRUE(j.is_object()) << o.describe();
    return j;
  }
  static const json* iface(const json& shown, const std::string& name) {
    for (auto& f : shown["interfaces"])
      if (f.value("name", "") == name) return &f;
    return nullptr;
  }
  // The other end of a veth edge touching (inode, ifname).
  static std::pair<uint64_t, std::string> far_end(uint64_t inode, const std::string& ifname) {
    const json* e = veth_edge(*topo_, inode, ifname);
    if (!e) return {0, ""};
    const json& from = (*e)["from"];
    bool from_here = as_u64(from["netns"]) == inode && from.value("ifname", "") == ifname;
    const json& o = from_here ? (*e)["to"] : from;
    return {as_u64(o["netns"]), o["ifname"].is_string() ? o["ifname"].get<std::string>() : ""};
  }

  static TopoEnv* env_;
  static json* topo_;
  static Out* topo_out_;
};
TopoEnv* ShowTopo::env_ = nullptr;
json* ShowTopo::topo_ = nullptr;
Out* ShowTopo::topo_out_ = nullptr;

TEST_F(ShowTopo, EveryVethPeerResolvesToItsInterfaceAndNamespace) {
  const TopoEnv& E = *env_;
  struct Pair {
    uint64_t ns1;
    std::string if1;
    uint64_t ns2;
    std::string if2;
  };
  std::vector<Pair> pairs{{E.ino_a, E.name("ab"), E.ino_b, E.name("ba")},
                          {E.ino_c, E.name("p1"), E.ino_a, E.name("a1")},
                          {E.ino_c, E.name("p2"), E.ino_b, E.name("b1")},
                          {E.ino_c, E.name("p3"), E.ino_host, E.name("h3")},
                          {E.ino_host, E.name("rc"), E.ino_container, "eth0"},
                          {E.ino_host, E.name("hd"), E.ino_hidden, E.name("hx")}};
  for (auto& p : pairs) {
    SCOPED_TRACE(p.if1 + " <-> " + p.if2);
    EXPECT_EQ(far_end(p.ns1, p.if1), std::make_pair(p.ns2, p.if2));
    EXPECT_EQ(far_end(p.ns2, p.if2), std::make_pair(p.ns1, p.if1));
  }
}

TEST_F(ShowTopo, ShowNamesThePeerInAnotherNamespace) {
  const TopoEnv& E = *env_;
  json a = show(E.a);
  ASSERT_TRUE(a.is_object());
  EXPECT_EQ(as_u64(a["netns"]["inode"]), E.ino_a);
  const json* ab = iface(a, E.name("ab"));
  ASSERT_TRUE(ab) << a.dump(1);
  EXPECT_EQ((*ab)["kind"], "veth");
  EXPECT_EQ((*ab)["peer"]["ifname"], E.name("ba"));
  EXPECT_EQ(as_u64((*ab)["peer"]["netns"]), E.ino_b);
  EXPECT_EQ((*ab)["peer"]["netns_names"], json::array({E.b}));
  EXPECT_FALSE((*ab)["peer"]["same_netns"].get<bool>());
  const json* a1 = iface(a, E.name("a1"));
  ASSERT_TRUE(a1);
  EXPECT_EQ((*a1)["peer"]["ifname"], E.name("p1"));
  EXPECT_EQ(as_u64((*a1)["peer"]["netns"]), E.ino_c);
  EXPECT_EQ((*a1)["peer"]["master"], E.name("br"));
  // addresses, routes, the default route
  bool has_addr = false;
  for (auto& ad : (*ab)["addresses"]) has_addr |= ad["address"] == "10.201.0.1";
  EXPECT_TRUE(has_addr) << ab->dump();
  ASSERT_EQ(a["default_routes"].size(), 1u) << a["routes"].dump();
  EXPECT_EQ(a["default_routes"][0]["gateway"], "10.201.0.2");
  EXPECT_TRUE(a["sockets"].contains("tcp"));
  EXPECT_TRUE(a["neighbours"].is_object());
  EXPECT_FALSE(a["rules"].empty());
  // the host side of the container's veth: peer in the container, with its identity
  json host = show("pid:" + std::to_string(getpid()));
  const json* rc = iface(host, E.name("rc"));
  ASSERT_TRUE(rc);
  EXPECT_EQ((*rc)["peer"]["ifname"], "eth0");
  EXPECT_EQ(as_u64((*rc)["peer"]["netns"]), E.ino_container);
}

TEST_F(ShowTopo, BridgePortsAndMasters) {
  const TopoEnv& E = *env_;
  json c = show(E.c);
  const json* br = iface(c, E.name("br"));
  ASSERT_TRUE(br);
  EXPECT_EQ((*br)["kind"], "bridge");
  std::set<std::string> ports((*br)["ports"].begin(), (*br)["ports"].end());
  EXPECT_EQ(ports, (std::set<std::string>{E.name("p1"), E.name("p2"), E.name("p3")}));
  for (auto port : {"p1", "p2", "p3"}) {
    const json* f = iface(c, E.name(port));
    ASSERT_TRUE(f);
    EXPECT_EQ((*f)["master_name"], E.name("br"));
  }
  // topo: a master edge from each port to the bridge
  std::set<std::string> seen;
  for (auto& e : (*topo_)["edges"])
    if (e["kind"] == "master" && as_u64(e["to"]["netns"]) == E.ino_c && e["to"]["ifname"] == E.name("br"))
      seen.insert(e["from"]["ifname"].get<std::string>());
  EXPECT_EQ(seen, ports);
}

TEST_F(ShowTopo, ParentsVxlanAndTap) {
  const TopoEnv& E = *env_;
  for (auto& s : E.skipped) std::cerr << "[ note     ] " << s << '\n';
  json c = show(E.c);
  const json* mv = iface(c, E.name("mv"));
  ASSERT_TRUE(mv);
  EXPECT_EQ((*mv)["kind"], "macvlan");
  EXPECT_EQ((*mv)["macvlan_mode"], "bridge");
  EXPECT_EQ((*mv)["parent"]["ifname"], E.name("par"));
  EXPECT_TRUE((*mv)["parent"]["same_netns"].get<bool>());
  if (E.have_vlan) {
    const json* vl = iface(c, E.name("vl"));
    ASSERT_TRUE(vl);
    EXPECT_EQ((*vl)["vlan"]["id"], 7);
    EXPECT_EQ((*vl)["parent"]["ifname"], E.name("par"));
  }
  const json* vx = iface(c, E.name("vx"));
  ASSERT_TRUE(vx);
  EXPECT_EQ((*vx)["kind"], "vxlan");
  EXPECT_EQ((*vx)["vxlan"]["id"], 42);
  EXPECT_EQ((*vx)["vxlan"]["remote"], "192.0.2.77");
  EXPECT_EQ((*vx)["vxlan"]["port"], 4789);
  EXPECT_EQ((*vx)["underlay"]["ifname"], E.name("par"));
  const json* tap = iface(c, E.name("tap"));
  ASSERT_TRUE(tap);
  EXPECT_EQ((*tap)["kind"], "tap");
  ASSERT_EQ((*tap)["owners"].size(), 1u) << tap->dump();
  EXPECT_EQ((*tap)["owners"][0]["pid"], E.tap_pid);
  // the same in topo's edges
  bool mv_edge = false, vx_edge = false, tun_edge = false;
  for (auto& e : (*topo_)["edges"]) {
    if (as_u64(e["from"]["netns"]) != E.ino_c) continue;
    if (e["kind"] == "macvlan" && e["from"]["ifname"] == E.name("mv")) mv_edge = e["to"]["ifname"] == E.name("par");
    if (e["kind"] == "vxlan" && e["from"]["ifname"] == E.name("vx")) vx_edge = e["to"]["ifname"] == E.name("par");
    if (e["kind"] == "tun" && e["from"]["ifname"] == E.name("tap")) tun_edge = e["to"]["pid"] == E.tap_pid;
  }
  EXPECT_TRUE(mv_edge);
  EXPECT_TRUE(vx_edge);
  EXPECT_TRUE(tun_edge);
}

TEST_F(ShowTopo, TheContainerIsNamed) {
  const TopoEnv& E = *env_;
  ASSERT_NE(E.ino_container, 0u);
  const json* n = topo_node(*topo_, E.ino_container);
  ASSERT_TRUE(n);
  ASSERT_TRUE((*n)["container"].is_object()) << n->dump();
  EXPECT_EQ((*n)["container"]["runtime"], "runc");
  EXPECT_EQ((*n)["container"]["id"], E.container);
  // show by container name, and its eth0 leads to the host
  json s = show(E.container);
  EXPECT_EQ(as_u64(s["netns"]["inode"]), E.ino_container);
  const json* eth0 = iface(s, "eth0");
  ASSERT_TRUE(eth0);
  EXPECT_EQ((*eth0)["peer"]["ifname"], E.name("rc"));
  EXPECT_EQ(as_u64((*eth0)["peer"]["netns"]), E.ino_host);
  EXPECT_FALSE(s["processes"].empty());
  // and from the host, its veth leads into the container: with the kernel walk and without
  // it, as topo says (one reader, one answer)
  for (bool bpf : {true, false}) {
    SCOPED_TRACE(bpf ? "BPF walk" : "--no-bpf");
    std::vector<std::string> args{"show", std::to_string(E.ino_host), "--json"};
    if (!bpf) args.push_back("--no-bpf");
    json h = parse(run_nscope(args));
    const json* rc = iface(h, E.name("rc"));
    ASSERT_TRUE(rc) << h.dump();
    EXPECT_EQ(as_u64((*rc)["peer"]["netns"]), E.ino_container) << rc->dump();
    EXPECT_EQ((*rc)["peer"]["container"], "runc:" + E.container) << rc->dump();
  }
}

TEST_F(ShowTopo, TheHiddenNamespaceIsFlaggedAndRead) {
  const TopoEnv& E = *env_;
  ASSERT_NE(E.ino_hidden, 0u);
  const json* n = topo_node(*topo_, E.ino_hidden);
  ASSERT_TRUE(n) << "the hidden namespace is not a node";
  EXPECT_TRUE((*n)["hidden"].get<bool>());
  EXPECT_TRUE((*n)["read_via"].is_string()) << n->dump();
  const json* e = veth_edge(*topo_, E.ino_host, E.name("hd"));
  ASSERT_TRUE(e);
  EXPECT_TRUE((*e)["dangling"].get<bool>());
  const json* hx = topo_iface(*topo_, E.ino_hidden, E.name("hx"));
  ASSERT_TRUE(hx) << "its interfaces were not read through the nsid";
  bool has = false;
  for (auto& ad : (*hx)["addresses"]) has |= ad == "10.202.0.2/24";
  EXPECT_TRUE(has) << hx->dump();
  // show by inode works too, through the peer
  json s = show(std::to_string(E.ino_hidden));
  EXPECT_TRUE(iface(s, E.name("hx")));
  // what a peer cannot show is unknown, not empty
  for (const char* what : {"routes", "default_routes", "rules", "sockets"}) EXPECT_TRUE(s[what].is_null()) << what << ": " << s.dump();
  EXPECT_TRUE(s["errors"]["routes"].is_string()) << s.dump();
  Out st = run_nscope({"show", std::to_string(E.ino_hidden)});
  EXPECT_NE(st.out.find("default route: unknown"), std::string::npos) << st.out;
  EXPECT_EQ(st.out.find("Routes (main table)\n  none"), std::string::npos) << st.out;
  // the text tree says so
  Out t = run_nscope({"topo"});
  ASSERT_EQ(t.code, 0);
  EXPECT_NE(t.out.find("DANGLING"), std::string::npos);
  EXPECT_NE(t.out.find("HIDDEN"), std::string::npos);
}

TEST_F(ShowTopo, EveryReferenceFormResolvesToTheSameNamespace) {
  const TopoEnv& E = *env_;
  Out idq = run_nscope({"show", E.a, "--json"});
  json a = parse(idq);
  ASSERT_TRUE(a.is_object());
  uint64_t id = as_u64(a["netns"]["id"]);
  std::string cookie = std::to_string(as_u64(a["netns"]["cookie"]));
  std::vector<std::string> refs = {std::to_string(E.ino_a), "inode:" + std::to_string(E.ino_a),
                                   "cookie:" + cookie, "/run/netns/" + E.a, "netns:" + E.a};
  // A namespace has an id only where the kernel has NS_GET_ID (6.7+): Debian 12's 6.1 has not.
  if (id) {
    refs.push_back("id:" + std::to_string(id));
  } else {  // the form is refused with the reason
    Out o = run_nscope({"show", "id:1"});
    EXPECT_EQ(o.code, 2);
    EXPECT_NE(o.err.find("it has no NS_GET_ID"), std::string::npos) << o.err;
  }
  EXPECT_EQ(id != 0, nst::ns_id("/run/netns/" + E.a) != 0) << "show's id and NS_GET_ID disagree";
  for (const auto& ref : refs) {
    SCOPED_TRACE(ref);
    json s = show(ref);
    EXPECT_EQ(as_u64(s["netns"]["inode"]), E.ino_a);
  }
  json viapid = show("pid:" + std::to_string(E.tap_pid));
  EXPECT_EQ(as_u64(viapid["netns"]["inode"]), E.ino_c);
  json viaproc = show("/proc/" + std::to_string(E.container_pid) + "/ns/net");
  EXPECT_EQ(as_u64(viaproc["netns"]["inode"]), E.ino_container);
}

TEST_F(ShowTopo, UnknownReferenceExitsTwoListingCandidates) {
  const TopoEnv& E = *env_;
  Out o = run_nscope({"show", E.p + "-nosuch"});
  EXPECT_EQ(o.code, 2) << o.describe();
  EXPECT_NE(o.err.find("no network namespace"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find(E.a), std::string::npos) << "candidates should be listed: " << o.err;
  Out bad = run_nscope({"show", "id:x"});
  EXPECT_EQ(bad.code, 2) << bad.describe();
  // A pid or path that names nothing: one plain sentence, then the candidates, as for names.
  struct Case {
    const char* ref;
    const char* says;
  };
  for (const Case& c : {Case{"pid:999999999", "no network namespace for pid 999999999: no such process; network namespaces here:"},
                        Case{"/etc/hostname", "no network namespace at /etc/hostname: not a namespace file; network namespaces here:"},
                        Case{"/proc/self/ns/mnt", "no network namespace at /proc/self/ns/mnt: another type of namespace; network namespaces here:"},
                        Case{"/nonexistent-nst", "no network namespace at /nonexistent-nst: no such file; network namespaces here:"}}) {
    Out o2 = run_nscope({"show", c.ref});
    EXPECT_EQ(o2.code, 2) << o2.describe();
    EXPECT_TRUE(o2.err.starts_with(std::string("nscope: ") + c.says)) << o2.err;
    EXPECT_NE(o2.err.find(E.a), std::string::npos) << "candidates should be listed: " << o2.err;
  }
}

TEST_F(ShowTopo, DotIsAcceptedAndTheSvgNamesEveryNamespace) {
  Out dot = run_nscope({"topo", "--dot"});
  ASSERT_EQ(dot.code, 0) << dot.describe();
  char tmpl[] = "/tmp/nttopoXXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  std::string dotfile = tmpl;
  ASSERT_EQ(write(fd, dot.out.data(), dot.out.size()), static_cast<ssize_t>(dot.out.size()));
  close(fd);
  Out check = run({"dot", "-Tsvg", "-o/dev/null", dotfile});
  EXPECT_EQ(check.code, 0) << check.describe();
  unlink(dotfile.c_str());

  std::string svg = dotfile + ".svg";
  Out r = run_nscope({"topo", "--svg", svg});
  ASSERT_EQ(r.code, 0) << r.describe();
  std::ifstream in(svg);
  std::stringstream ss;
  ss << in.rdbuf();
  unlink(svg.c_str());
  std::string text = ss.str();
  EXPECT_NE(text.find("<svg"), std::string::npos);
  // Every namespace the test made (others on the host may come and go meanwhile).
  for (uint64_t ino : {env_->ino_a, env_->ino_b, env_->ino_c, env_->ino_host, env_->ino_container,
                       env_->ino_hidden}) {
    if (!ino) continue;
    EXPECT_NE(text.find(std::to_string(ino)), std::string::npos) << "namespace " << ino << " not in the SVG";
  }
}

TEST_F(ShowTopo, WithoutBpfPeersAreMatchedByIndex) {
  const TopoEnv& E = *env_;
  Out o = run_nscope({"topo", "--json", "--no-bpf"});
  ASSERT_EQ(o.code, 0) << o.describe();
  json t = parse(o);
  ASSERT_TRUE(t.is_object());
  EXPECT_EQ(t["source"], "procfs");
  const json* e = veth_edge(t, E.ino_a, E.name("ab"));
  ASSERT_TRUE(e);
  EXPECT_FALSE((*e)["dangling"].get<bool>());
  const json* p3 = veth_edge(t, E.ino_c, E.name("p3"));
  ASSERT_TRUE(p3);
  // the hidden namespace is invisible to /proc: its veth is dangling, read through the nsid
  const json* hd = veth_edge(t, E.ino_host, E.name("hd"));
  ASSERT_TRUE(hd) << "the host end of the hidden veth has no edge";
  EXPECT_TRUE((*hd)["dangling"].get<bool>());
  EXPECT_EQ((*hd)["to"]["ifname"], E.name("hx"));
}

// The host's links, which topo reads from the kernel walk and the bridge ports' dump
// (read_links_walked), are the full dump's, field by field: veth ports with their peers'
// nsids, one with an alias, a veth whose peer is on the host too, a port that is no veth.
// topo --json and topo --json --no-bpf (the full dump) give the host's interfaces alike.
TEST_F(ShowTopo, TheHostsLinksFromTheWalkAreTheFullDumps) {
  const TopoEnv& E = *env_;
  ScanOptions so;
  so.types = {NsType::net};
  ScanResult scan = scan_namespaces(so);
  ASSERT_EQ(scan.source, "bpf") << "the kernel walk did not run";
  ASSERT_TRUE(scan.own_net) << "the walk of namespaces was cut short";
  {
    // Which nsids the walk read: its table (the kernels nscope knows its layout of) or, else,
    // those netlink gave for the namespaces mounted here.
    auto w = kernel_walk({.tasks = false, .files = false, .nets = true});
    ASSERT_TRUE(w) << w.error().message;
    std::cout << "[          ] the host's nsid table read by the walk: " << (w->nsids_complete ? "whole" : "not whole")
              << " (" << w->nsids.size() << " entries emitted)\n";
  }
  EXPECT_EQ(scan.own_net->netns, E.ino_host);
  auto rt = Rtnl::open();
  ASSERT_TRUE(rt) << rt.error().message;
  WalkedRead how;
  auto walked = read_links_walked(*rt, *scan.own_net, &how);
  ASSERT_TRUE(walked) << walked.error().message;
  auto full = rt->links_in(std::nullopt, false);
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_FALSE(how.full_dump);
  EXPECT_GE(how.from_bridge_dump, 2u) << "q1 and q3 come from the bridge ports' dump";
  auto ours = [&](const std::vector<LinkInfo>& links) {
    std::map<std::string, json> m;
    for (auto l : links)
      if (l.name.starts_with(E.p)) {
        l.stats.reset();
        m[l.name] = link_to_json(l);
      }
    return m;
  };
  auto w = ours(*walked), f = ours(*full);
  for (auto port : {"hb", "q1", "q2", "q3", "q4", "qd", "h3", "rc", "hd"})
    EXPECT_TRUE(w.count(E.name(port))) << E.name(port) << " missing from the walked read";
  EXPECT_EQ(w, f);
  EXPECT_EQ(w[E.name("q1")]["slave_kind"], "bridge");
  EXPECT_EQ(w[E.name("q2")]["alias"], "nscope test alias");
  EXPECT_TRUE(w[E.name("q1")]["link_netnsid"].is_number());
  EXPECT_TRUE(w[E.name("q3")]["link_netnsid"].is_null()) << "its peer is on the host too";

  Out o = run_nscope({"topo", "--json", "--no-bpf"});
  ASSERT_EQ(o.code, 0) << o.describe();
  json t = parse(o);
  auto host_ifaces = [&](const json& topo) {
    std::map<std::string, json> m;
    for (auto& n : topo["nodes"])
      if (as_u64(n["inode"]) == E.ino_host)
        for (auto& f : n["interfaces"])
          if (f["name"].get<std::string>().starts_with(E.p)) m[f["name"]] = f;
    return m;
  };
  auto with_bpf = host_ifaces(*topo_), without = host_ifaces(t);
  EXPECT_EQ(with_bpf.size(), 9u);
  EXPECT_EQ(with_bpf, without);
  for (auto& [name, f] : with_bpf) EXPECT_FALSE(f.contains("stats")) << name << ": topo shows no counters";
}

// show finds a namespace's processes by walking /proc; past 256 processes a second thread
// shares the walk. With 300 extra sleepers on the host, show of a test namespace still lists
// exactly the three processes placed in it.
TEST_F(ShowTopo, ShowListsExactlyTheProcessesOfItsNamespaceOnABusyHost) {
  const TopoEnv& E = *env_;
  std::vector<std::unique_ptr<nst::Child>> crowd;
  for (int i = 0; i < 300; ++i)
    crowd.push_back(std::make_unique<nst::Child>([](nst::Channel&) { nst::child_sleep_forever(); }));
  std::set<int> placed;
  std::vector<std::unique_ptr<nst::Child>> inside;
  for (int i = 0; i < 3; ++i) {
    inside.push_back(std::make_unique<nst::Child>([&](nst::Channel& c) {
      int fd = open(("/run/netns/" + E.a).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) nst::child_fail(c, "setns");
      c.send("ready");
      nst::child_sleep_forever();
    }));
    ASSERT_FALSE(inside.back()->wait_ready().empty());
    placed.insert(inside.back()->pid());
  }
  json s = show(E.a);
  std::set<int> listed;
  for (auto& p : s["processes"]) listed.insert(p["pid"].get<int>());
  EXPECT_EQ(listed, placed) << s["processes"].dump();
}

TEST_F(ShowTopo, HelperThreadsEnterAndTheMainThreadComesBack) {
  const TopoEnv& E = *env_;
  uint64_t before = inode_of("/proc/thread-self/ns/net");
  nscope::Fd fa(open(("/run/netns/" + E.a).c_str(), O_RDONLY | O_CLOEXEC));
  nscope::Fd fb(open(("/run/netns/" + E.b).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fa && fb);
  std::vector<int> fds{fa.get(), fb.get(), -1, fa.get()};
  std::vector<uint64_t> seen(fds.size());
  auto r = nscope::in_each_netns(fds, 2, [&](size_t i) { seen[i] = inode_of("/proc/thread-self/ns/net"); });
  EXPECT_EQ(seen[0], E.ino_a);
  EXPECT_EQ(seen[1], E.ino_b);
  EXPECT_FALSE(r[2].ok());
  EXPECT_EQ(seen[3], E.ino_a);
  EXPECT_EQ(inode_of("/proc/thread-self/ns/net"), before);
  // A visit runs on the calling thread and brings it back, also when the visit throws.
  uint64_t visited = 0;
  EXPECT_TRUE(nscope::visit_netns(fb.get(), [&] { visited = inode_of("/proc/thread-self/ns/net"); }).ok());
  EXPECT_EQ(visited, E.ino_b);
  EXPECT_EQ(inode_of("/proc/thread-self/ns/net"), before);
  EXPECT_THROW((void)nscope::visit_netns(fa.get(), [] { throw std::runtime_error("visit"); }), std::runtime_error);
  EXPECT_EQ(inode_of("/proc/thread-self/ns/net"), before);
  EXPECT_FALSE(nscope::visit_netns(-1, [&] { visited = 0; }).ok());
  EXPECT_EQ(visited, E.ino_b);
}

// Records the netlink replies the unit tests decode (tests/fixtures/netlink/). Run by hand:
//   build/tests/system_tests --gtest_also_run_disabled_tests --gtest_filter='*Record*'
TEST_F(ShowTopo, DISABLED_RecordNetlinkFixtures) {
  const TopoEnv& E = *env_;
  std::string dir = std::string(NSCOPE_FIXTURES) + "/netlink/";
  auto save = [&](const std::string& name, const nscope::Result<std::string>& raw) {
    ASSERT_TRUE(raw.ok()) << name << ": " << raw.error().message;
    std::ofstream(dir + name, std::ios::binary) << raw.value();
  };
  nscope::Fd c(open(("/run/netns/" + E.c).c_str(), O_RDONLY | O_CLOEXEC));
  nscope::Fd a(open(("/run/netns/" + E.a).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(c && a);
  ASSERT_TRUE(nscope::in_netns(c.get(), [&] {
    auto rt = nscope::Rtnl::open();
    ASSERT_TRUE(rt.ok());
    save("links_c.bin", rt->dump_raw(RTM_GETLINK, AF_UNSPEC));
    save("addrs_c.bin", rt->dump_raw(RTM_GETADDR, AF_UNSPEC));
  }).ok());
  ASSERT_TRUE(nscope::in_netns(a.get(), [&] {
    auto rt = nscope::Rtnl::open();
    ASSERT_TRUE(rt.ok());
    save("links_a.bin", rt->dump_raw(RTM_GETLINK, AF_UNSPEC));
    save("routes_a.bin", rt->dump_raw(RTM_GETROUTE, AF_UNSPEC));
    save("rules_a.bin", rt->dump_raw(RTM_GETRULE, AF_UNSPEC));
    save("neigh_a.bin", rt->dump_raw(RTM_GETNEIGH, AF_UNSPEC));
  }).ok());
  save("unix_host.bin", nscope::sock_diag_dump_raw(AF_UNIX, 0));
  save("tcp_host.bin", nscope::sock_diag_dump_raw(AF_INET, IPPROTO_TCP));
  std::ofstream(dir + "README.md") << "Netlink replies recorded on Debian 12, kernel 6.18, by the system test\n"
                                      "ShowTopo.DISABLED_RecordNetlinkFixtures (tests/system/show_topo_test.cpp)\n"
                                      "from the wiring of tests/system/topo_env.cpp, prefix " << E.p << ".\n"
                                      "The unit tests in tests/unit/netlink_parse_test.cpp decode them.\n";
}

}  // namespace
