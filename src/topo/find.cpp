#include "topo/find.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "discover/netns.h"
#include "discover/nsref.h"
#include "discover/scan.h"
#include "topo/ns_reader.h"
#include "util/fd.h"
#include "util/strings.h"

namespace nscope {

// ---- what is asked ------------------------------------------------------------------------

std::string IpPrefix::text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes.data(), buf, sizeof buf);
  return bare ? std::string(buf) : fmt::format("{}/{}", buf, len);
}

Result<IpPrefix> parse_ip_prefix(std::string_view s) {
  IpPrefix p;
  std::string addr(s.substr(0, s.find('/')));
  if (inet_pton(AF_INET, addr.c_str(), p.bytes.data()) == 1) p.family = AF_INET;
  else if (inet_pton(AF_INET6, addr.c_str(), p.bytes.data()) == 1) p.family = AF_INET6;
  else return Error::usage(fmt::format("'{}' is not an IPv4 or IPv6 address", addr));
  uint8_t max = p.family == AF_INET ? 32 : 128;
  p.len = max;
  p.bare = s.find('/') == std::string_view::npos;
  if (!p.bare) {
    std::string_view len = s.substr(s.find('/') + 1);
    auto v = len.empty() || len.size() > 3 ? std::nullopt : parse_u64(len);
    if (!v || *v > max)
      return Error::usage(fmt::format("'{}' is not a prefix length for {} (0 to {})", len,
                                      p.family == AF_INET ? "IPv4" : "IPv6", max));
    p.len = static_cast<uint8_t>(*v);
  }
  return p;
}

bool prefix_contains(const IpPrefix& outer, const IpPrefix& inner) {
  if (outer.family != inner.family || outer.len > inner.len) return false;
  size_t full = outer.len / 8;
  if (std::memcmp(outer.bytes.data(), inner.bytes.data(), full) != 0) return false;
  if (unsigned rest = outer.len % 8) {
    auto mask = static_cast<uint8_t>(0xff << (8 - rest));
    if ((outer.bytes[full] & mask) != (inner.bytes[full] & mask)) return false;
  }
  return true;
}

std::optional<IpPrefix> ip_prefix_of(std::string_view address, uint8_t len) {
  IpPrefix p;
  std::string a(address);
  if (inet_pton(AF_INET, a.c_str(), p.bytes.data()) == 1) p.family = AF_INET;
  else if (inet_pton(AF_INET6, a.c_str(), p.bytes.data()) == 1) p.family = AF_INET6;
  else return std::nullopt;
  p.len = std::min<uint8_t>(len, p.family == AF_INET ? 32 : 128);
  return p;
}

std::string PortSpec::text() const {
  if (tcp && udp) return std::to_string(port);
  return fmt::format("{}:{}", tcp ? "tcp" : "udp", port);
}

Result<PortSpec> parse_port_spec(std::string_view s) {
  PortSpec p;
  std::string_view num = s;
  if (auto colon = s.find(':'); colon != std::string_view::npos) {
    std::string_view proto = s.substr(0, colon);
    num = s.substr(colon + 1);
    if (proto == "tcp") p.tcp = true;
    else if (proto == "udp") p.udp = true;
    else return Error::usage(fmt::format("'{}' is not a protocol nscope finds (tcp or udp)", proto));
  } else {
    p.tcp = p.udp = true;
  }
  auto v = num.empty() || num.size() > 5 ? std::nullopt : parse_u64(num);
  if (!v || *v == 0 || *v > 65535) return Error::usage(fmt::format("'{}' is not a port (1 to 65535)", num));
  p.port = static_cast<uint16_t>(*v);
  return p;
}

Result<std::string> parse_mac(std::string_view s) {
  std::string out;
  auto groups = split(s, s.find('-') != std::string_view::npos ? '-' : ':');
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  bool ok = groups.size() == 6;
  for (auto g : groups) {
    ok = ok && !g.empty() && g.size() <= 2 && std::all_of(g.begin(), g.end(), hex);
    if (!ok) break;
    if (!out.empty()) out += ':';
    if (g.size() == 1) out += '0';
    for (char c : g) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!ok) return Error::usage(fmt::format("'{}' is not a MAC address (six hex bytes)", s));
  return out;
}

std::string FindQuery::describe() const {
  std::vector<std::string> parts;
  if (addr) parts.push_back("--addr " + addr->text());
  if (!mac.empty()) parts.push_back("--mac " + mac);
  if (!ifname.empty()) parts.push_back("--ifname " + shell_quote(ifname));
  if (ifindex) parts.push_back(fmt::format("--ifindex {}", *ifindex));
  if (port) parts.push_back("--port " + port->text());
  if (route) parts.push_back("--route " + route->text());
  std::string s;
  for (auto& p : parts) s += (s.empty() ? "" : " ") + p;
  return s;
}

namespace {

// "--addr: '10.0.0.300' is not ... (e.g. 10.0.0.2, ...)".
Error option_error(std::string_view option, const Error& e, std::string_view examples) {
  return Error::usage(fmt::format("{}: {} (e.g. {})", option, e.message, examples));
}

}  // namespace

Result<FindQuery> parse_find_query(const FindQueryText& t) {
  FindQuery q;
  if (!t.addr && !t.mac && !t.ifname && !t.ifindex && !t.port && !t.route)
    return Error::usage("find needs at least one of --addr, --mac, --ifname, --ifindex, --port, --route");
  if (t.addr) {
    auto p = parse_ip_prefix(*t.addr);
    if (!p) return option_error("--addr", p.error(), "10.0.0.2, 10.0.0.0/24, fd00::2, fd00::/64");
    q.addr = *p;
  }
  if (t.mac) {
    auto m = parse_mac(*t.mac);
    if (!m) return option_error("--mac", m.error(), "02:42:ac:11:00:02");
    q.mac = *m;
  }
  if (t.ifname) {
    if (t.ifname->empty()) return Error::usage("--ifname: an empty name matches nothing (e.g. eth0, 'veth*')");
    q.ifname = *t.ifname;
  }
  if (t.ifindex) {
    auto v = t.ifindex->size() > 10 ? std::nullopt : parse_u64(*t.ifindex);
    if (!v || *v == 0 || *v > 0x7fffffff)
      return Error::usage(
          fmt::format("--ifindex: '{}' is not an interface index, a number from 1 (e.g. 2)", *t.ifindex));
    q.ifindex = static_cast<int>(*v);
  }
  if (t.port) {
    auto p = parse_port_spec(*t.port);
    if (!p) return option_error("--port", p.error(), "tcp:8080, udp:53, or 53 for both");
    q.port = *p;
  }
  if (t.route) {
    auto p = parse_ip_prefix(*t.route);
    if (!p) return option_error("--route", p.error(), "10.1.0.0/16, 10.1.2.3, fd00:1::/64");
    q.route = *p;
  }
  return q;
}

// ---- matching -----------------------------------------------------------------------------

bool link_matches(const FindQuery& q, const LinkInfo& l) {
  if (!q.mac.empty() && l.mac != q.mac) return false;
  if (!q.ifname.empty() && fnmatch(q.ifname.c_str(), l.name.c_str(), 0) != 0) return false;
  if (q.ifindex && l.ifindex != *q.ifindex) return false;
  return true;
}

bool addr_matches(const IpPrefix& want, const AddrInfo& a) {
  auto have = ip_prefix_of(a.address, 128);
  return have && prefix_contains(want, *have);
}

std::vector<FindIfaceHit> match_interfaces(const FindQuery& q, const std::vector<LinkInfo>& links,
                                           const std::vector<AddrInfo>& addrs) {
  std::vector<FindIfaceHit> out;
  for (auto& l : links) {
    if (!link_matches(q, l)) continue;
    FindIfaceHit h;
    for (auto& a : addrs)
      if (a.ifindex == l.ifindex && (!q.addr || addr_matches(*q.addr, a))) h.addrs.push_back(a);
    if (q.addr && h.addrs.empty()) continue;
    h.link = l;
    if (q.addr) h.matched.push_back("addr");
    if (!q.mac.empty()) h.matched.push_back("mac");
    if (!q.ifname.empty()) h.matched.push_back("ifname");
    if (q.ifindex) h.matched.push_back("ifindex");
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<FindSockHit> match_sockets(const PortSpec& p, const std::vector<InetSock>& socks) {
  std::vector<FindSockHit> out;
  for (auto& s : socks) {
    if (!(s.proto == "tcp" ? p.tcp : s.proto == "udp" ? p.udp : false)) continue;
    if (s.lport != p.port && s.rport != p.port) continue;
    FindSockHit h;
    h.sock = s;
    h.side = s.lport == p.port ? "local" : "remote";
    out.push_back(std::move(h));
  }
  return out;
}

std::optional<std::string> route_relation(const IpPrefix& want, const RouteInfo& r) {
  static const std::set<std::string, std::less<>> address_kinds = {"local", "broadcast", "anycast", "multicast"};
  if (r.family != want.family || address_kinds.count(r.type)) return std::nullopt;
  std::string dst = r.dst == "default" ? (r.family == AF_INET ? "0.0.0.0" : "::") : r.dst.substr(0, r.dst.find('/'));
  auto have = ip_prefix_of(dst, r.dst_len);
  if (!have) return std::nullopt;
  if (have->len == want.len && prefix_contains(*have, want)) return "exact";
  if (have->len > 0 && prefix_contains(*have, want)) return "covers";
  if (prefix_contains(want, *have)) return "within";
  return std::nullopt;
}

std::vector<FindRouteHit> match_routes(const IpPrefix& want, const std::vector<RouteInfo>& routes,
                                       const std::vector<LinkInfo>& links) {
  auto name = [&](int oif) {
    for (auto& l : links)
      if (l.ifindex == oif) return l.name;
    return fmt::format("ifindex {}", oif);
  };
  std::vector<FindRouteHit> out;
  for (auto& r : routes) {
    auto rel = route_relation(want, r);
    if (!rel) continue;
    FindRouteHit h;
    h.route = r;
    h.relation = *rel;
    if (r.oif) h.devs[r.oif] = name(r.oif);
    for (auto& nh : r.nexthops)
      if (nh.oif) h.devs[nh.oif] = name(nh.oif);
    out.push_back(std::move(h));
  }
  return out;
}

std::optional<uint64_t> socket_inode_of_link(std::string_view link) {
  if (!link.starts_with("socket:[") || !link.ends_with("]")) return std::nullopt;
  return parse_u64(link.substr(8, link.size() - 9));
}

std::vector<std::pair<uint64_t, SockOwner>> socket_owners(const std::vector<int>& pids,
                                                          const std::vector<uint64_t>& inodes,
                                                          const std::string& proc) {
  std::unordered_set<uint64_t> want(inodes.begin(), inodes.end());
  std::vector<std::pair<uint64_t, SockOwner>> out;
  char link[64];
  for (int pid : pids) {
    Fd dir(::open(fmt::format("{}/{}/fd", proc, pid).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) continue;  // gone, or not ours to read: the owner stays unknown
    std::unique_ptr<DIR, int (*)(DIR*)> d(fdopendir(::dup(dir.get())), closedir);
    if (!d) continue;
    std::string comm;
    while (dirent* e = readdir(d.get())) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      ssize_t n = readlinkat(dir.get(), e->d_name, link, sizeof link - 1);
      if (n <= 0) continue;
      auto ino = socket_inode_of_link(std::string_view(link, static_cast<size_t>(n)));
      if (!ino || !want.count(*ino)) continue;
      if (comm.empty())
        if (auto c = read_file(fmt::format("{}/{}/comm", proc, pid))) comm = std::string(trim(*c));
      out.push_back({*ino, SockOwner{pid, comm, std::atoi(e->d_name)}});
    }
  }
  return out;
}

// ---- searching ----------------------------------------------------------------------------

namespace {

// What one namespace gave: hits, or why it could not be searched.
struct NsSearch {
  FindNsHits hits;
  bool searched = false;
  bool matched = false;
  std::string why;     // not searched: the reason
  uint64_t cookie = 0;  // read from inside
};

// The interface part of the query, inside a namespace (or through an nsid from it): true
// when some interface matched. Reads addresses first when --addr is asked (no links then
// unless an address matched), one link when --ifindex is, else every link.
Result<bool> search_interfaces(Rtnl& rt, const FindQuery& q, std::optional<int32_t> nsid, FindNsHits& out) {
  std::optional<std::vector<AddrInfo>> addrs;
  if (q.addr) {
    auto a = rt.addresses_in(nsid);
    if (!a) return a.error().prefixed("addresses: ");
    if (std::none_of(a->begin(), a->end(), [&](const AddrInfo& x) { return addr_matches(*q.addr, x); })) return false;
    addrs = std::move(a.value());
  }
  std::vector<LinkInfo> links;
  if (q.ifindex) {
    auto l = rt.link(*q.ifindex, nsid);
    if (!l) return l.error().prefixed("links: ");
    if (*l) links.push_back(std::move(**l));
  } else {
    auto l = rt.links_in(nsid, false);
    if (!l) return l.error().prefixed("links: ");
    links = std::move(l.value());
  }
  std::erase_if(links, [&](const LinkInfo& l) { return !link_matches(q, l); });
  if (links.empty()) return false;
  if (!addrs) {
    // Only to show them: an interface found by name or MAC is still found without them.
    auto a = rt.addresses_in(nsid);
    addrs = a ? std::move(a.value()) : std::vector<AddrInfo>{};
  }
  out.ifaces = match_interfaces(q, links, *addrs);
  return !out.ifaces.empty();
}

Result<bool> search_routes(Rtnl& rt, const IpPrefix& want, FindNsHits& out) {
  auto routes = rt.routes();
  if (!routes) return routes.error().prefixed("routes: ");
  std::erase_if(*routes, [&](const RouteInfo& r) { return !route_relation(want, r); });
  if (routes->empty()) return false;
  // Name the devices: the few routes that matched ask one link each.
  std::set<int> oifs;
  for (auto& r : *routes) {
    if (r.oif) oifs.insert(r.oif);
    for (auto& nh : r.nexthops)
      if (nh.oif) oifs.insert(nh.oif);
  }
  std::vector<LinkInfo> links;
  for (int oif : oifs)
    if (auto l = rt.link(oif); l && *l) links.push_back(std::move(**l));
  out.routes = match_routes(want, *routes, links);
  return true;
}

Result<bool> search_sockets(const PortSpec& p, FindNsHits& out) {
  for (auto [asked, proto] : {std::pair{p.tcp, IPPROTO_TCP}, std::pair{p.udp, IPPROTO_UDP}}) {
    if (!asked) continue;
    auto socks = list_inet_sockets(proto, p.port);
    if (!socks) return socks.error().prefixed("sockets: ");
    for (auto& h : match_sockets(p, *socks)) out.sockets.push_back(std::move(h));
  }
  return !out.sockets.empty();
}

// The whole query in the calling thread's namespace, cheapest part first (a link or address
// dump, then routes, then sockets); stops at the first part without a hit.
void search_here(Rtnl& rt, const FindQuery& q, NsSearch& s) {
  s.searched = true;
  auto step = [&](const Result<bool>& r) {
    if (!r) s.why = "cannot read its " + r.error().message;
    return r && *r;
  };
  if (q.wants_interfaces() && !step(search_interfaces(rt, q, std::nullopt, s.hits))) return;
  if (q.route && !step(search_routes(rt, *q.route, s.hits))) return;
  if (q.port && !step(search_sockets(*q.port, s.hits))) return;
  s.matched = true;
}

// find_everywhere, step by step: scan, open every namespace that has a holder, search each
// from inside (and a hidden one through a veth into it, when only interfaces are asked),
// then name the processes that hold the sockets found.
class Searcher {
 public:
  Searcher(const FindQuery& q, const FindOptions& opts) : q_(q), opts_(opts), on_(scan(opts)) {
    results_.resize(nets_.size());
  }

  FindResult run() {
    open_all();
    plan_hidden_reads();
    search_all();
    name_owners();
    return collect();
  }

 private:
  static ScanResult scan(const FindOptions& opts) {
    ScanOptions so;
    so.types = {NsType::net};
    so.bpf = opts.bpf;
    so.proc = opts.proc;
    return scan_namespaces(so);
  }

  // Every namespace that has a holder we can open was opened (OpenNets): say why the others
  // were not.
  void open_all() {
    for (size_t i = 0; i < nets_.size(); ++i)
      if (on_.gone[i]) results_[i].why = "went away before it could be opened";
      else if (!on_.error[i].empty()) results_[i].why = on_.error[i];
  }

  // A namespace with no fd is read through a veth into it (links and addresses by nsid,
  // as topo does), when interfaces are all the query asks about.
  void plan_hidden_reads() {
    bool by_nsid = q_.wants_interfaces() && !q_.wants_routes() && !q_.wants_sockets();
    on_.plan_hidden_reads([&](size_t x) {
      if (!results_[x].why.empty()) return false;
      results_[x].why = by_nsid ? "no holder to open it, and no namespace nscope could enter has a veth into it"
                                : "no holder to open it (only a veth leads there): its routes and sockets cannot be "
                                  "read from outside";
      return by_nsid;
    });
  }

  void search_one(size_t i) {
    NsSearch& s = results_[i];
    auto rt = Rtnl::open();
    if (!rt) {
      s.why = "cannot read it: " + rt.error().message;
      return;
    }
    if (!nets_[i]->cookie)
      if (auto k = rt->netns_cookie()) s.cookie = *k;
    search_here(*rt, q_, s);
    for (auto& [ifindex, x] : remote_[i]) search_through(*rt, i, ifindex, results_[x]);
  }

  // Namespace x, seen from i through i's veth `ifindex` whose peer lives in x.
  void search_through(Rtnl& rt, size_t i, int ifindex, NsSearch& x) {
    auto veth = rt.link(ifindex);
    if (!veth || !*veth || !(*veth)->link_netnsid) return;  // the veth went away: x stays skipped
    int32_t nsid = *(*veth)->link_netnsid;
    auto r = search_interfaces(rt, q_, nsid, x.hits);
    if (!r) {
      x.why = fmt::format("cannot read it through nsid {} of netns {}: {}", nsid, nets_[i]->inode, r.error().message);
      return;
    }
    x.why.clear();
    x.searched = true;
    x.matched = *r;
    x.hits.read_via = fmt::format("nsid {} of netns {}", nsid, nets_[i]->inode);
  }

  void search_all() {
    auto entered = in_each_netns(raw_, opts_.threads, [&](size_t i) { search_one(i); });
    for (size_t i = 0; i < entered.size(); ++i)
      if (!entered[i] && raw_[i] >= 0) {
        int code = entered[i].error().code;
        results_[i].why = code == ENOENT || code == EINVAL ? "went away before it could be entered"
                                                           : entered[i].error().message;  // "cannot enter ..."
      }
  }

  // Who holds each socket found: only processes that can hold one there are asked, those in
  // the namespace and those the scan saw holding a socket of it from elsewhere.
  void name_owners() {
    for (size_t i = 0; i < results_.size(); ++i) {
      auto& socks = results_[i].hits.sockets;
      if (!results_[i].matched || socks.empty()) continue;
      std::vector<uint64_t> inodes;
      for (auto& h : socks)
        if (h.sock.inode) inodes.push_back(h.sock.inode);
      if (inodes.empty()) continue;
      std::set<int> pids;
      for (auto& h : nets_[i]->holders)
        if (h.kind == HolderKind::process || h.kind == HolderKind::thread || h.kind == HolderKind::socket)
          if (h.via.empty()) pids.insert(h.pid);
      for (auto& [ino, owner] : socket_owners({pids.begin(), pids.end()}, inodes, opts_.proc))
        for (auto& h : socks)
          if (h.sock.inode == ino) h.owners.push_back(owner);
    }
  }

  FindResult collect() {
    FindResult r;
    r.query = q_;
    r.notes = scan_.notes;
    for (size_t i = 0; i < nets_.size(); ++i) {
      NsSearch& s = results_[i];
      if (!s.searched) {
        r.skipped.push_back({*nets_[i], s.why.empty() ? "not searched" : s.why});
        continue;
      }
      if (!s.why.empty()) {  // entered, but a part of it could not be read
        r.skipped.push_back({*nets_[i], s.why});
        continue;
      }
      ++r.searched;
      if (!s.matched) continue;
      s.hits.ns = *nets_[i];
      if (!s.hits.ns.cookie) s.hits.ns.cookie = s.cookie;
      r.found.push_back(std::move(s.hits));
    }
    return r;
  }

  const FindQuery& q_;
  const FindOptions& opts_;
  OpenNets on_;
  const ScanResult& scan_ = on_.scan;
  const std::vector<const Namespace*>& nets_ = on_.nets;
  const std::vector<int>& raw_ = on_.raw;  // fds as ints, -1 where none
  const std::vector<std::vector<std::pair<int, size_t>>>& remote_ = on_.through;  // (ifindex, hidden x)
  std::vector<NsSearch> results_;
};

}  // namespace

FindResult find_everywhere(const FindQuery& q, const FindOptions& opts) { return Searcher(q, opts).run(); }

}  // namespace nscope
