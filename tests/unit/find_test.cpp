// `nscope find` without root: the option values it takes, the matching of interfaces,
// addresses, sockets and routes made up here, the sock_diag port filter (run by a copy of the
// kernel's interpreter), socket messages built by hand and recorded, socket owners of this
// very process, and the text and JSON of one result.
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "netlink/nl.h"
#include "render/find.h"
#include "topo/find.h"
#include "util/fd.h"

using namespace nscope;

namespace {

IpPrefix prefix(const std::string& s) {
  auto p = parse_ip_prefix(s);
  EXPECT_TRUE(p.ok()) << s << ": " << (p ? "" : p.error().message);
  return p ? *p : IpPrefix{};
}

LinkInfo link(int ifindex, std::string name, std::string mac = "") {
  LinkInfo l;
  l.ifindex = ifindex;
  l.name = std::move(name);
  l.mac = std::move(mac);
  l.kind = "veth";
  return l;
}

AddrInfo addr(int ifindex, std::string a, uint8_t len) {
  AddrInfo x;
  x.ifindex = ifindex;
  x.family = a.find(':') == std::string::npos ? AF_INET : AF_INET6;
  x.address = std::move(a);
  x.prefixlen = len;
  x.scope = "global";
  return x;
}

RouteInfo route(std::string dst, uint8_t len, int oif, std::string type = "unicast", std::string gw = "") {
  RouteInfo r;
  r.family = dst.find(':') == std::string::npos ? AF_INET : AF_INET6;
  r.dst = len == 0 ? "default" : dst + "/" + std::to_string(len);
  r.dst_len = len;
  r.oif = oif;
  r.type = std::move(type);
  r.gateway = std::move(gw);
  r.table = 254;
  r.protocol = "static";
  r.scope = "global";
  return r;
}

InetSock sock(std::string proto, uint8_t state, std::string local, uint16_t lport, std::string remote, uint16_t rport,
              uint64_t inode = 0) {
  InetSock s;
  s.proto = std::move(proto);
  s.family = local.find(':') == std::string::npos ? AF_INET : AF_INET6;
  s.state = state;
  s.local = std::move(local);
  s.lport = lport;
  s.remote = std::move(remote);
  s.rport = rport;
  s.inode = inode;
  return s;
}

FindQuery query(FindQueryText t) {
  auto q = parse_find_query(t);
  EXPECT_TRUE(q.ok()) << (q ? "" : q.error().message);
  return q ? *q : FindQuery{};
}

// ---- values -------------------------------------------------------------------------------

TEST(FindValues, AddressesAndPrefixes) {
  IpPrefix a = prefix("10.0.0.2");
  EXPECT_EQ(a.family, AF_INET);
  EXPECT_EQ(a.len, 32);
  EXPECT_TRUE(a.bare);
  EXPECT_EQ(a.text(), "10.0.0.2");
  IpPrefix n = prefix("10.0.0.0/8");
  EXPECT_EQ(n.len, 8);
  EXPECT_FALSE(n.bare);
  EXPECT_EQ(n.text(), "10.0.0.0/8");
  IpPrefix six = prefix("fd00::/64");
  EXPECT_EQ(six.family, AF_INET6);
  EXPECT_EQ(six.len, 64);
  EXPECT_EQ(prefix("fd00::1").len, 128);
  for (const char* bad : {"10.0.0.300", "10.0.0.0/33", "10.0.0.0/", "fd00::/129", "abc", "", "10.0.0.0/8x", "/8",
                          "10.0.0.0/0008"}) {
    auto p = parse_ip_prefix(bad);
    EXPECT_FALSE(p.ok()) << bad;
    if (!p) {
      EXPECT_EQ(p.error().kind, ErrorKind::usage) << bad;
    }
  }
}

TEST(FindValues, PrefixContains) {
  EXPECT_TRUE(prefix_contains(prefix("10.0.0.0/8"), prefix("10.1.2.3")));
  EXPECT_TRUE(prefix_contains(prefix("10.0.0.0/8"), prefix("10.1.0.0/16")));
  EXPECT_FALSE(prefix_contains(prefix("10.1.0.0/16"), prefix("10.0.0.0/8")));
  EXPECT_FALSE(prefix_contains(prefix("10.0.0.0/8"), prefix("11.0.0.1")));
  EXPECT_TRUE(prefix_contains(prefix("0.0.0.0/0"), prefix("192.0.2.1")));
  EXPECT_FALSE(prefix_contains(prefix("0.0.0.0/0"), prefix("fd00::1")));
  // Not on a byte boundary: 172.16.0.0/12 is 172.16.0.0 to 172.31.255.255.
  EXPECT_TRUE(prefix_contains(prefix("172.16.0.0/12"), prefix("172.31.255.255")));
  EXPECT_FALSE(prefix_contains(prefix("172.16.0.0/12"), prefix("172.32.0.0")));
  EXPECT_TRUE(prefix_contains(prefix("fd00:1::/32"), prefix("fd00:1:2::5")));
  EXPECT_FALSE(prefix_contains(prefix("fd00:1::/48"), prefix("fd00:1:2::5")));
  EXPECT_TRUE(prefix_contains(prefix("10.0.0.2"), prefix("10.0.0.2")));
}

TEST(FindValues, Ports) {
  auto t = parse_port_spec("tcp:8080");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->tcp);
  EXPECT_FALSE(t->udp);
  EXPECT_EQ(t->port, 8080);
  EXPECT_EQ(t->text(), "tcp:8080");
  auto u = parse_port_spec("udp:53");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->udp && !u->tcp);
  auto both = parse_port_spec("53");
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->tcp && both->udp);
  EXPECT_EQ(both->text(), "53");
  for (const char* bad : {"sctp:x", "sctp:80", "tcp:0", "tcp:65536", "tcp:", "", "tcp:80x", "tcp:-1", ":80", "TCP:80"})
    EXPECT_FALSE(parse_port_spec(bad).ok()) << bad;
}

TEST(FindValues, Macs) {
  auto m = parse_mac("02-42-AC-11-00-02");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, "02:42:ac:11:00:02");
  auto short_groups = parse_mac("2:42:ac:11:0:2");
  ASSERT_TRUE(short_groups.ok());
  EXPECT_EQ(*short_groups, "02:42:ac:11:00:02");
  for (const char* bad : {"02:42:ac:11:00", "02:42:ac:11:00:02:03", "zz:42:ac:11:00:02", "024:42:ac:11:00:02", "",
                          "02:42:ac:11::02", "02:42-ac:11:00:02"})
    EXPECT_FALSE(parse_mac(bad).ok()) << bad;
}

TEST(FindValues, QueryNeedsACriterionAndNamesTheBadOption) {
  auto none = parse_find_query({});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::usage);
  for (const char* opt : {"--addr", "--mac", "--ifname", "--ifindex", "--port", "--route"})
    EXPECT_NE(none.error().message.find(opt), std::string::npos) << none.error().message;

  struct Case {
    FindQueryText t;
    const char* option;
    const char* example;
  };
  std::vector<Case> cases;
  cases.push_back({{.addr = "10.0.0.300"}, "--addr", "10.0.0.2"});
  cases.push_back({{.addr = "10.0.0.0/40"}, "--addr", "10.0.0.0/24"});
  cases.push_back({{.mac = "02:42"}, "--mac", "02:42:ac:11:00:02"});
  cases.push_back({{.ifname = ""}, "--ifname", "eth0"});
  cases.push_back({{.ifindex = "x"}, "--ifindex", "2"});
  cases.push_back({{.ifindex = "0"}, "--ifindex", "2"});
  cases.push_back({{.port = "sctp:x"}, "--port", "tcp:8080"});
  cases.push_back({{.route = "10.1.0.0/99"}, "--route", "10.1.0.0/16"});
  for (auto& c : cases) {
    auto q = parse_find_query(c.t);
    ASSERT_FALSE(q.ok()) << c.option;
    EXPECT_EQ(q.error().kind, ErrorKind::usage);
    EXPECT_TRUE(q.error().message.starts_with(std::string(c.option) + ":")) << q.error().message;
    EXPECT_NE(q.error().message.find(c.example), std::string::npos) << q.error().message;
  }

  FindQuery q = query({.addr = "10.0.0.2", .ifname = "veth*", .port = "tcp:80", .route = "10.1.0.0/16"});
  EXPECT_TRUE(q.wants_interfaces() && q.wants_links() && q.wants_sockets() && q.wants_routes());
  EXPECT_EQ(q.describe(), "--addr 10.0.0.2 --ifname 'veth*' --port tcp:80 --route 10.1.0.0/16");
  EXPECT_FALSE(query({.addr = "10.0.0.2"}).wants_links());
}

// ---- interfaces ---------------------------------------------------------------------------

struct Box {
  std::vector<LinkInfo> links{link(1, "lo"), link(2, "eth0", "02:42:ac:11:00:02"),
                              link(3, "veth1", "aa:bb:cc:00:00:01"), link(4, "veth2", "aa:bb:cc:00:00:02")};
  std::vector<AddrInfo> addrs{addr(1, "127.0.0.1", 8),   addr(2, "10.0.0.2", 24), addr(2, "fd00::2", 64),
                              addr(2, "fe80::1", 64),     addr(3, "10.0.0.3", 24), addr(4, "192.168.1.1", 24)};
};

TEST(FindMatch, AddressExactPrefixAndIpv6) {
  Box b;
  auto one = match_interfaces(query({.addr = "10.0.0.2"}), b.links, b.addrs);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].link.name, "eth0");
  ASSERT_EQ(one[0].addrs.size(), 1u) << "only the address that matched";
  EXPECT_EQ(one[0].addrs[0].address, "10.0.0.2");
  EXPECT_EQ(one[0].matched, std::vector<std::string>{"addr"});

  auto net = match_interfaces(query({.addr = "10.0.0.0/24"}), b.links, b.addrs);
  ASSERT_EQ(net.size(), 2u);
  EXPECT_EQ(net[0].link.name, "eth0");
  EXPECT_EQ(net[1].link.name, "veth1");

  auto six = match_interfaces(query({.addr = "fd00::/16"}), b.links, b.addrs);
  ASSERT_EQ(six.size(), 1u);
  EXPECT_EQ(six[0].addrs.size(), 1u);
  EXPECT_EQ(six[0].addrs[0].address, "fd00::2");

  EXPECT_TRUE(match_interfaces(query({.addr = "10.0.0.9"}), b.links, b.addrs).empty());
  // A host address does not match the interface whose subnet holds it.
  EXPECT_TRUE(match_interfaces(query({.addr = "10.0.0.0"}), b.links, b.addrs).empty());
}

TEST(FindMatch, MacNameGlobIndexAndAllOfThemOnOneInterface) {
  Box b;
  auto mac = match_interfaces(query({.mac = "02:42:AC:11:00:02"}), b.links, b.addrs);
  ASSERT_EQ(mac.size(), 1u);
  EXPECT_EQ(mac[0].link.name, "eth0");
  EXPECT_EQ(mac[0].addrs.size(), 3u) << "without --addr: every address of the interface";

  auto glob = match_interfaces(query({.ifname = "veth*"}), b.links, b.addrs);
  ASSERT_EQ(glob.size(), 2u);
  EXPECT_EQ(glob[1].link.name, "veth2");
  EXPECT_EQ(match_interfaces(query({.ifname = "eth?"}), b.links, b.addrs).size(), 1u);

  auto idx = match_interfaces(query({.ifindex = "3"}), b.links, b.addrs);
  ASSERT_EQ(idx.size(), 1u);
  EXPECT_EQ(idx[0].link.name, "veth1");

  // Every interface criterion on the same interface: eth0 does not hold 10.0.0.3.
  EXPECT_TRUE(match_interfaces(query({.addr = "10.0.0.3", .ifname = "eth0"}), b.links, b.addrs).empty());
  auto both = match_interfaces(query({.addr = "10.0.0.0/24", .ifname = "veth*"}), b.links, b.addrs);
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(both[0].link.name, "veth1");
  EXPECT_EQ(both[0].matched, (std::vector<std::string>{"addr", "ifname"}));
}

// ---- sockets ------------------------------------------------------------------------------

TEST(FindMatch, SocketsByProtocolAndEitherPort) {
  std::vector<InetSock> socks{sock("tcp", 10, "0.0.0.0", 8080, "0.0.0.0", 0, 11),
                              sock("tcp", 1, "10.0.0.2", 8080, "10.0.0.1", 40000, 12),
                              sock("tcp", 1, "10.0.0.1", 40000, "10.0.0.2", 8080, 13),
                              sock("tcp", 10, "::", 22, "::", 0, 14),
                              sock("udp", 7, "0.0.0.0", 8080, "0.0.0.0", 0, 15)};
  auto tcp = match_sockets(*parse_port_spec("tcp:8080"), socks);
  ASSERT_EQ(tcp.size(), 3u);
  EXPECT_EQ(tcp[0].sock.state_name(), "LISTEN");
  EXPECT_EQ(tcp[0].side, "local");
  EXPECT_EQ(tcp[1].sock.state_name(), "ESTAB");
  EXPECT_EQ(tcp[2].side, "remote") << "a client connected to :8080";
  auto udp = match_sockets(*parse_port_spec("udp:8080"), socks);
  ASSERT_EQ(udp.size(), 1u);
  EXPECT_EQ(udp[0].sock.state_name(), "UNCONN");
  EXPECT_EQ(match_sockets(*parse_port_spec("8080"), socks).size(), 4u);
  EXPECT_TRUE(match_sockets(*parse_port_spec("udp:22"), socks).empty());
}

// The kernel's inet_diag_bc_run (net/ipv4/inet_diag.c), for the port operations only.
bool kernel_bc_run(const std::string& bc, uint16_t sport, uint16_t dport) {
  const char* p = bc.data();
  int len = static_cast<int>(bc.size());
  while (len > 0) {
    inet_diag_bc_op op[2];
    std::memcpy(op, p, std::min<size_t>(sizeof op, static_cast<size_t>(len)));
    bool yes = true;
    switch (op[0].code) {
      case INET_DIAG_BC_NOP: break;
      case INET_DIAG_BC_JMP: yes = false; break;
      case INET_DIAG_BC_S_EQ: yes = sport == op[1].no; break;
      case INET_DIAG_BC_D_EQ: yes = dport == op[1].no; break;
      default: ADD_FAILURE() << "unexpected op " << int(op[0].code); return false;
    }
    int step = yes ? op[0].yes : op[0].no;
    len -= step;
    p += step;
  }
  return len == 0;
}

TEST(FindMatch, PortFilterBytecodeKeepsEitherPort) {
  std::string bc = port_filter_bytecode(8080);
  EXPECT_EQ(bc.size(), 20u);
  EXPECT_TRUE(kernel_bc_run(bc, 8080, 0));
  EXPECT_TRUE(kernel_bc_run(bc, 40000, 8080));
  EXPECT_TRUE(kernel_bc_run(bc, 8080, 8080));
  EXPECT_FALSE(kernel_bc_run(bc, 8081, 80));
  EXPECT_FALSE(kernel_bc_run(bc, 0, 0));
}

// An inet_diag_msg reply as the kernel sends it.
void put_inet(std::string& buf, uint8_t family, uint8_t state, const char* src, uint16_t sport, const char* dst,
              uint16_t dport, uint32_t inode) {
  char m[256] = {};
  nlmsghdr* nlh = nl::put_header(m);
  nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  auto* d = static_cast<inet_diag_msg*>(nl::put_extra_header(nlh, sizeof(inet_diag_msg)));
  d->idiag_family = family;
  d->idiag_state = state;
  inet_pton(family, src, d->id.idiag_src);
  inet_pton(family, dst, d->id.idiag_dst);
  d->id.idiag_sport = htons(sport);
  d->id.idiag_dport = htons(dport);
  d->idiag_inode = inode;
  d->idiag_uid = 1000;
  buf.append(m, nlh->nlmsg_len);
}

TEST(FindSockDiag, DecodesBuiltAndRecordedSockets) {
  std::string buf;
  put_inet(buf, AF_INET, 10, "0.0.0.0", 8080, "0.0.0.0", 0, 4242);
  put_inet(buf, AF_INET6, 1, "fd00::2", 443, "fd00::1", 50000, 4343);
  std::vector<InetSock> out;
  ASSERT_TRUE(parse_inet_diag_sockets(buf.data(), buf.size(), "tcp", out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].proto, "tcp");
  EXPECT_EQ(out[0].family, AF_INET);
  EXPECT_EQ(out[0].local, "0.0.0.0");
  EXPECT_EQ(out[0].lport, 8080);
  EXPECT_EQ(out[0].inode, 4242u);
  EXPECT_EQ(out[0].state_name(), "LISTEN");
  EXPECT_EQ(out[1].local, "fd00::2");
  EXPECT_EQ(out[1].remote, "fd00::1");
  EXPECT_EQ(out[1].rport, 50000);
  EXPECT_EQ(out[1].uid, 1000u);
  std::vector<InetSock> v6;
  ASSERT_TRUE(parse_inet_diag_sockets(buf.data(), buf.size(), "tcp", v6, AF_INET6).ok());
  EXPECT_EQ(v6.size(), 1u);

  std::ifstream in(std::string(NSCOPE_FIXTURES) + "/netlink/tcp_host.bin", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string rec = ss.str();
  ASSERT_FALSE(rec.empty());
  std::vector<InetSock> host;
  ASSERT_TRUE(parse_inet_diag_sockets(rec.data(), rec.size(), "tcp", host).ok());
  bool listener = false;
  for (auto& s : host) listener |= s.state_name() == "LISTEN" && s.lport != 0 && !s.local.empty();
  EXPECT_TRUE(listener) << "the recording host listens on a TCP port";
}

TEST(FindSockDiag, OwnersOfThisProcessSocket) {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(s);
  struct stat st {};
  ASSERT_EQ(fstat(s.get(), &st), 0);
  EXPECT_EQ(socket_inode_of_link("socket:[" + std::to_string(st.st_ino) + "]"), st.st_ino);
  EXPECT_FALSE(socket_inode_of_link("pipe:[12]"));
  EXPECT_FALSE(socket_inode_of_link("socket:[12"));
  auto owners = socket_owners({getpid()}, {st.st_ino});
  ASSERT_EQ(owners.size(), 1u);
  EXPECT_EQ(owners[0].first, st.st_ino);
  EXPECT_EQ(owners[0].second.pid, getpid());
  EXPECT_EQ(owners[0].second.fd, s.get());
  EXPECT_FALSE(owners[0].second.command.empty());
  EXPECT_TRUE(socket_owners({getpid()}, {1}).empty());
}

// ---- routes -------------------------------------------------------------------------------

TEST(FindMatch, RoutesExactCoveringWithinAndNotDefault) {
  IpPrefix want = prefix("10.1.0.0/16");
  EXPECT_EQ(route_relation(want, route("10.1.0.0", 16, 2)), "exact");
  EXPECT_EQ(route_relation(want, route("10.0.0.0", 8, 2)), "covers");
  EXPECT_EQ(route_relation(want, route("10.1.2.0", 24, 2)), "within");
  EXPECT_FALSE(route_relation(want, route("10.2.0.0", 16, 2)));
  EXPECT_FALSE(route_relation(want, route("0.0.0.0", 0, 2))) << "a default route covers everything";
  EXPECT_EQ(route_relation(prefix("0.0.0.0/0"), route("0.0.0.0", 0, 2)), "exact");
  EXPECT_FALSE(route_relation(want, route("10.1.0.0", 16, 2, "local"))) << "--addr finds addresses";
  EXPECT_FALSE(route_relation(want, route("10.1.0.0", 16, 2, "broadcast")));
  EXPECT_EQ(route_relation(want, route("10.1.0.0", 16, 0, "blackhole")), "exact");
  EXPECT_FALSE(route_relation(prefix("fd00::/16"), route("10.1.0.0", 16, 2)));
  EXPECT_EQ(route_relation(prefix("10.1.2.3"), route("10.1.0.0", 16, 2)), "covers");
  EXPECT_EQ(route_relation(prefix("fd00:1::/64"), route("fd00:1::", 64, 2)), "exact");

  Box b;
  RouteInfo multi = route("10.1.0.0", 16, 0, "unicast");
  multi.nexthops = {{"10.0.0.1", 2, 1}, {"10.0.0.9", 9, 1}};
  std::vector<RouteInfo> routes{route("10.1.0.0", 16, 3, "unicast", "10.0.0.254"), route("192.168.0.0", 16, 2),
                                multi};
  auto hits = match_routes(want, routes, b.links);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].devs, (std::map<int, std::string>{{3, "veth1"}}));
  EXPECT_EQ(hits[0].relation, "exact");
  EXPECT_EQ(hits[1].devs, (std::map<int, std::string>{{2, "eth0"}, {9, "ifindex 9"}}));
}

// ---- output -------------------------------------------------------------------------------

FindResult made_up_result() {
  FindResult r;
  r.query = query({.addr = "10.0.0.2", .port = "tcp:8080", .route = "10.1.0.0/16"});
  FindNsHits h;
  h.ns.inode = 4026532281;
  h.ns.cookie = 8195;
  h.ns.names = {"blue"};
  h.ns.pid = 4711;
  h.ns.container = Container{"runc", "web", "", "", "", ""};
  Box b;
  h.ifaces = match_interfaces(r.query, b.links, b.addrs);
  h.sockets = match_sockets(*r.query.port, {sock("tcp", 10, "0.0.0.0", 8080, "0.0.0.0", 0, 77)});
  h.sockets[0].owners.push_back({4711, "nc", 3});
  h.routes = match_routes(*r.query.route, {route("10.1.0.0", 16, 2, "unicast", "10.0.0.1")}, b.links);
  r.found.push_back(h);
  r.searched = 3;
  Namespace gone;
  gone.inode = 4026532999;
  r.skipped.push_back({gone, "went away before it could be entered"});
  Namespace locked;
  locked.inode = 4026533000;
  locked.names = {"red"};
  r.skipped.push_back({locked, "cannot enter network namespace: Operation not permitted"});
  Namespace locked2 = locked;
  locked2.inode = 4026533001;
  locked2.names = {};
  r.skipped.push_back({locked2, "cannot enter network namespace: Operation not permitted"});
  return r;
}

TEST(FindRender, TextNamesTheNamespaceAndEachHit) {
  std::ostringstream out;
  render_find_text(made_up_result(), out);
  std::string t = out.str();
  EXPECT_NE(t.find("netns 4026532281 (blue, runc:web) pid 4711 cookie 8195\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  interface eth0 (ifindex 2, veth, 02:42:ac:11:00:02"), std::string::npos) << t;
  EXPECT_NE(t.find("inet 10.0.0.2/24"), std::string::npos) << t;
  EXPECT_NE(t.find("  socket tcp LISTEN 0.0.0.0:8080 peer 0.0.0.0:*: pid 4711 (nc) fd 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  route 10.1.0.0/16 via 10.0.0.1 dev eth0 proto static table main (exact)\n"), std::string::npos)
      << t;
}

TEST(FindRender, JsonIsOneObjectPerHitWithItsNamespace) {
  nlohmann::json j = find_to_json(made_up_result());
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  for (auto& hit : j) {
    EXPECT_EQ(hit["netns"]["inode"], 4026532281u);
    EXPECT_EQ(hit["netns"]["cookie"], 8195u);
    EXPECT_EQ(hit["netns"]["names"], nlohmann::json::array({"blue"}));
    EXPECT_EQ(hit["netns"]["container"], "runc:web");
    EXPECT_EQ(hit["netns"]["pid"], 4711);
  }
  EXPECT_EQ(j[0]["type"], "interface");
  EXPECT_EQ(j[0]["interface"]["name"], "eth0");
  EXPECT_EQ(j[0]["interface"]["ifindex"], 2);
  EXPECT_EQ(j[0]["addresses"][0]["address"], "10.0.0.2");
  EXPECT_EQ(j[1]["type"], "socket");
  EXPECT_EQ(j[1]["protocol"], "tcp");
  EXPECT_EQ(j[1]["state"], "LISTEN");
  EXPECT_EQ(j[1]["local"]["port"], 8080);
  EXPECT_EQ(j[1]["processes"][0]["pid"], 4711);
  EXPECT_EQ(j[1]["processes"][0]["command"], "nc");
  EXPECT_EQ(j[2]["type"], "route");
  EXPECT_EQ(j[2]["route"]["dst"], "10.1.0.0/16");
  EXPECT_EQ(j[2]["route"]["table"], "main");
  EXPECT_EQ(j[2]["devices"][0]["name"], "eth0");
  EXPECT_EQ(j[2]["relation"], "exact");
  EXPECT_EQ(find_to_json(FindResult{}), nlohmann::json::array());
}

TEST(FindRender, SkippedNamespacesByReasonAndTheNoMatchLine) {
  FindResult r = made_up_result();
  auto notes = find_skip_notes(r);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0],
            "skipped 2 network namespaces (cannot enter network namespace: Operation not permitted): netns "
            "4026533000 (red), "
            "netns 4026533001");
  EXPECT_EQ(notes[1], "skipped 1 network namespace (went away before it could be entered): netns 4026532999");
  EXPECT_EQ(find_no_match_note(r),
            "no match for --addr 10.0.0.2 --port tcp:8080 --route 10.1.0.0/16 in 3 network namespaces (3 skipped)");
}

}  // namespace
