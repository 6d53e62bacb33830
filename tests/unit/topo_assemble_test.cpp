// The topo graph and show's interface view, assembled from readings made up here: peers from
// the kernel walk, from index pairs, disambiguated by nsid; masters, parents, underlays, tun
// owners; dangling links; and the renderers over the result. No root needed.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "render/render.h"
#include "topo/show.h"
#include "topo/topo.h"

using namespace nscope;

namespace {

LinkInfo link(int ifindex, std::string name, std::string kind, int link = 0, std::optional<int32_t> nsid = {}) {
  LinkInfo l;
  l.ifindex = ifindex;
  l.name = std::move(name);
  l.kind = std::move(kind);
  l.link = link;
  l.link_netnsid = nsid;
  l.flags = 1;  // IFF_UP
  l.operstate = 6;
  return l;
}

Namespace net(uint64_t inode, std::vector<std::string> names = {}) {
  Namespace n;
  n.type = NsType::net;
  n.inode = inode;
  n.names = std::move(names);
  Holder h;
  h.kind = HolderKind::mount;
  h.path = "/run/netns/x";
  n.holders.push_back(h);
  return n;
}

Holder peer(uint64_t netns, int ifindex, std::string ifname, int peer_ifindex) {
  Holder h;
  h.kind = HolderKind::peer;
  h.netns = netns;
  h.ifindex = ifindex;
  h.ifname = std::move(ifname);
  h.peer_ifindex = peer_ifindex;
  return h;
}

const TopoEdge* edge(const TopoModel& m, const std::string& kind, uint64_t ns, const std::string& ifname) {
  for (auto& e : m.edges)
    if (e.kind == kind && ((e.from.netns == ns && e.from.ifname == ifname) || (e.to.netns == ns && e.to.ifname == ifname)))
      return &e;
  return nullptr;
}

// host (1): lo, br0 (bridge), veth0 (master br0) <-> eth0 in A (2); A: eth0; B (3): eth0
// <-> veth1 in host; hidden H (4) only a peer of host's veth2.
struct World {
  ScanResult scan;
  std::vector<NsReading> readings;
};

World world(bool with_walk) {
  World w;
  w.scan.source = with_walk ? "bpf" : "procfs";
  Namespace host = net(1);
  host.initial = true;
  Namespace a = net(2, {"a"}), b = net(3, {"b"});
  if (with_walk) {
    a.holders.push_back(peer(1, 10, "veth0", 2));
    host.holders.push_back(peer(2, 2, "eth0", 10));
    b.holders.push_back(peer(1, 11, "veth1", 2));
    host.holders.push_back(peer(3, 2, "eth0", 11));
  }
  w.scan.namespaces = {host, a, b};
  if (with_walk) {
    Namespace h;
    h.type = NsType::net;
    h.inode = 4;
    h.holders.push_back(peer(1, 12, "veth2", 5));
    w.scan.namespaces.push_back(h);
  }
  NsReading rh, ra, rb;
  rh.links = {link(1, "lo", ""), link(9, "br0", "bridge"), link(10, "veth0", "veth", 2, 0), link(11, "veth1", "veth", 2, 1),
              link(12, "veth2", "veth", 5, 2), link(13, "mv0", "macvlan", 9), link(14, "vx0", "vxlan")};
  rh.links[0].type = 772;  // ARPHRD_LOOPBACK
  rh.links[2].master = 9;
  rh.links[6].vxlan = VxlanInfo{42, 9, "192.0.2.1", false, "", 4789};
  ra.links = {link(2, "eth0", "veth", 10, 0)};
  rb.links = {link(2, "eth0", "veth", 11, 0)};
  AddrInfo ad;
  ad.ifindex = 2;
  ad.address = "10.0.0.2";
  ad.prefixlen = 24;
  ra.addrs = {ad};
  w.readings = {rh, ra, rb};
  if (with_walk) {
    NsReading rx;
    rx.links = {link(5, "hx", "veth", 12, 0)};
    rx.read_via = "nsid 2 of 1";
    w.readings.push_back(rx);
  }
  return w;
}

TEST(TopoAssemble, PeersFromTheKernelWalk) {
  World w = world(true);
  TopoModel m = assemble_topo(w.scan, w.readings, {});
  ASSERT_EQ(m.nodes.size(), 4u);
  const TopoEdge* e = edge(m, "veth", 2, "eth0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->from.netns, 1u);
  EXPECT_EQ(e->from.ifname, "veth0");
  EXPECT_FALSE(e->dangling);
  const TopoEdge* b = edge(m, "veth", 3, "eth0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->from.ifname, "veth1");
  // one edge per pair
  EXPECT_EQ(std::count_if(m.edges.begin(), m.edges.end(), [](auto& x) { return x.kind == "veth"; }), 3);
  // the hidden namespace: a node flagged hidden, its link dangling
  EXPECT_TRUE(m.nodes[3].hidden);
  const TopoEdge* h = edge(m, "veth", 4, "hx");
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->dangling);
  EXPECT_EQ(h->from.ifname, "veth2");
}

TEST(TopoAssemble, PeersByIndexPairsDisambiguatedByNsid) {
  // Without the walk both A and B have eth0 (2): veth0 (10, link 2) matches A's eth0 (link 10)
  // only, veth1 matches B's.
  World w = world(false);
  TopoModel m = assemble_topo(w.scan, w.readings, {});
  const TopoEdge* e = edge(m, "veth", 2, "eth0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->from.ifname, "veth0");
  // veth2's far end is nowhere: dangling, to an unknown namespace
  const TopoEdge* d = edge(m, "veth", 1, "veth2");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->dangling);
  EXPECT_EQ(d->to.netns, 0u);
  EXPECT_EQ(d->to.ifindex, 5);

  // Two candidates for one end: A2 also has an eth0 (2) pointing at 10. The nsid as the host
  // numbers them decides.
  World w2 = world(false);
  Namespace a2 = net(5, {"a2"});
  w2.scan.namespaces.push_back(a2);
  NsReading ra2;
  ra2.links = {link(2, "eth0", "veth", 10, 7)};
  w2.readings.push_back(ra2);
  TopoModel amb = assemble_topo(w2.scan, w2.readings, {});
  const TopoEdge* x = edge(amb, "veth", 1, "veth0");
  ASSERT_TRUE(x);
  EXPECT_TRUE(x->dangling) << "two namespaces could hold the peer";
  w2.readings[0].nsids[0] = "2";  // the host numbers A as 0
  TopoModel ok = assemble_topo(w2.scan, w2.readings, {});
  const TopoEdge* y = edge(ok, "veth", 1, "veth0");
  ASSERT_TRUE(y);
  EXPECT_FALSE(y->dangling);
  EXPECT_EQ(y->to.netns == 2 || y->from.netns == 2, true);
}

TEST(TopoAssemble, MastersParentsUnderlaysAndTun) {
  World w = world(true);
  w.readings[0].links.push_back(link(15, "tap0", "tun"));
  w.readings[0].links.back().tun = TunInfo{true, 1000u, std::nullopt, true, false, 1};
  TunOwner o;
  o.pid = 4711;
  o.fd = 5;
  o.command = "qemu";
  o.ifname = "tap0";
  o.netns = 1;
  TopoModel m = assemble_topo(w.scan, w.readings, {o});
  const TopoEdge* master = edge(m, "master", 1, "veth0");
  ASSERT_TRUE(master);
  EXPECT_EQ(master->to.ifname, "br0");
  const TopoEdge* mv = edge(m, "macvlan", 1, "mv0");
  ASSERT_TRUE(mv);
  EXPECT_EQ(mv->to.ifname, "br0");
  const TopoEdge* vx = edge(m, "vxlan", 1, "vx0");
  ASSERT_TRUE(vx);
  EXPECT_EQ(vx->to.ifname, "br0");
  EXPECT_EQ(vx->note, "remote 192.0.2.1");
  const TopoEdge* t = edge(m, "tun", 1, "tap0");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->owner_pid, 4711);
}

TEST(TopoAssemble, GoneAndUnknownKinds) {
  World w = world(true);
  w.readings[2].gone = true;
  w.readings[2].links.clear();
  w.readings[1].links.push_back(link(3, "odd0", "frobnicator"));
  TopoModel m = assemble_topo(w.scan, w.readings, {});
  EXPECT_TRUE(m.nodes[2].gone);
  bool kept = false;
  for (auto& f : m.nodes[1].ifaces) kept |= f.link.display_kind() == "frobnicator";
  EXPECT_TRUE(kept);
  std::ostringstream text;
  render_topo_text(m, text);
  EXPECT_NE(text.str().find("GONE"), std::string::npos);
  EXPECT_NE(text.str().find("frobnicator"), std::string::npos);
}

TEST(TopoRender, JsonDotAndText) {
  World w = world(true);
  TopoModel m = assemble_topo(w.scan, w.readings, {});
  nlohmann::json j = topo_to_json(m);
  ASSERT_EQ(j["nodes"].size(), 4u);
  // topo --json writes the same text a node at a time, notes and all.
  m.notes.push_back("a note");
  std::ostringstream streamed;
  write_topo_json(m, streamed);
  EXPECT_EQ(streamed.str(), topo_to_json(m).dump());
  m.notes.clear();
  EXPECT_EQ(j["nodes"][1]["names"], nlohmann::json::array({"a"}));
  EXPECT_EQ(j["nodes"][1]["interfaces"][0]["addresses"], nlohmann::json::array({"10.0.0.2/24"}));
  EXPECT_TRUE(j["nodes"][3]["hidden"].get<bool>());
  bool dangling = false;
  for (auto& e : j["edges"]) dangling |= e["dangling"].get<bool>();
  EXPECT_TRUE(dangling);
  std::string dot = topo_to_dot(m);
  EXPECT_EQ(dot.rfind("digraph nscope {", 0), 0u);
  EXPECT_NE(dot.find("subgraph \"cluster_2\""), std::string::npos);
  EXPECT_NE(dot.find("dir=both"), std::string::npos);
  EXPECT_NE(dot.find("HIDDEN"), std::string::npos);
  std::ostringstream text;
  render_topo_text(m, text);
  EXPECT_NE(text.str().find("<-> eth0 in a"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("master br0"), std::string::npos);
}

TEST(ShowAssemble, InterfacesPortsPeersAndParents) {
  std::vector<LinkInfo> links{link(1, "lo", ""), link(9, "br0", "bridge"), link(10, "veth0", "veth", 2, 0),
                              link(11, "veth1", "veth", 12), link(12, "veth2", "veth", 11), link(13, "mv0", "macvlan", 9)};
  links[2].master = 9;
  links[3].master = 9;
  std::map<std::pair<int32_t, int>, FarLink> far;
  far[{0, 2}] = FarLink{link(2, "eth0", "veth", 10, 3), ""};
  auto ifs = assemble_interfaces(links, {}, far);
  ASSERT_EQ(ifs.size(), 6u);
  EXPECT_EQ(ifs[1].ports, (std::vector<std::string>{"veth0", "veth1"}));
  ASSERT_TRUE(ifs[2].peer);
  EXPECT_EQ(ifs[2].peer->ifname, "eth0");
  EXPECT_FALSE(ifs[2].peer->same_ns);
  EXPECT_EQ(ifs[2].peer->nsid, 0);
  EXPECT_EQ(ifs[2].master, "br0");
  ASSERT_TRUE(ifs[3].peer);
  EXPECT_TRUE(ifs[3].peer->same_ns);
  EXPECT_EQ(ifs[3].peer->ifname, "veth2");
  EXPECT_EQ(ifs[3].peer->master, "");
  ASSERT_TRUE(ifs[5].parent);
  EXPECT_EQ(ifs[5].parent->ifname, "br0");
  EXPECT_FALSE(ifs[0].peer);

  ShowModel m;
  m.ns = net(7, {"blue"});
  m.interfaces = ifs;
  nlohmann::json j = show_to_json(m);
  EXPECT_EQ(j["type"], "netns");
  EXPECT_EQ(j["interfaces"][2]["peer"]["ifname"], "eth0");
  EXPECT_EQ(j["interfaces"][1]["ports"].size(), 2u);
  std::ostringstream text;
  render_show_text(m, text);
  EXPECT_NE(text.str().find("veth0: peer eth0 (ifindex 2)"), std::string::npos) << text.str();
}

}  // namespace

// Every edge kind topo emits is in the one list, and the README names each of them.
TEST(TopoEdgeKinds, OneListInTheCodeAndTheReadme) {
  World w = world(true);
  int ifindex = 100;
  for (const char* kind : {"vlan", "macvlan", "macvtap", "ipvlan", "ipvtap", "vxlan", "dummy"})
    w.readings[0].links.push_back(link(ifindex++, std::string("lo-") + kind, kind, 9));
  w.readings[0].links.push_back(link(ifindex, "gn0", "geneve"));
  w.readings[0].links.back().vxlan = VxlanInfo{7, 9, "192.0.2.9", false, "", 6081};
  TunOwner o;
  o.pid = 1;
  o.ifname = "tap0";
  o.netns = 1;
  w.readings[0].links.push_back(link(ifindex + 1, "tap0", "tun"));
  TopoModel m = assemble_topo(w.scan, w.readings, {o});
  std::set<std::string> seen;
  for (auto& e : m.edges) seen.insert(e.kind);
  for (auto& k : seen)
    EXPECT_NE(std::find(std::begin(kTopoEdgeKinds), std::end(kTopoEdgeKinds), k), std::end(kTopoEdgeKinds)) << k;
  for (std::string_view k : kTopoEdgeKinds) EXPECT_TRUE(seen.count(std::string(k))) << "never emitted: " << k;
  EXPECT_EQ(lower_edge_kind("dummy"), "link");

  std::ifstream f(std::string(NSCOPE_FIXTURES) + "/../../README.md");
  std::stringstream text;
  text << f.rdbuf();
  std::string readme = text.str();
  auto at = readme.find("Edge kinds:");
  ASSERT_NE(at, std::string::npos);
  std::string para = readme.substr(at, readme.find("\n\n", at) - at);
  for (std::string_view k : kTopoEdgeKinds)
    EXPECT_NE(para.find("`" + std::string(k) + "`"), std::string::npos) << "README does not name " << k << ": " << para;
}
