// Text of show (sections, as `ip` prints them) and topo (namespace -> interfaces -> where
// each leads).
#include <sys/socket.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "render/render.h"
#include "util/strings.h"

namespace nscope {

std::string netns_label(const Namespace& n) {
  std::vector<std::string> parts;
  for (auto& nm : n.names) parts.push_back(nm);
  if (n.container) parts.push_back(container_label(*n.container));
  if (n.initial) parts.push_back("initial");
  return with_details(n.inode ? fmt::format("netns {}", n.inode) : std::string("netns ?"), parts);
}

namespace {

// Columns padded to the widest cell; the last column is not padded.
void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out, const std::string& indent) {
  std::vector<size_t> w;
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.resize(i + 1);
      w[i] = std::max(w[i], r[i].size());
    }
  for (auto& r : rows) {
    std::string line = indent;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

std::string where(const LinkEnd& e) {
  std::string name = e.ifname.empty() ? fmt::format("ifindex {}", e.ifindex) : fmt::format("{} (ifindex {})", e.ifname, e.ifindex);
  if (e.same_ns) return name + " here";
  std::string ns;
  if (e.netns) {
    std::vector<std::string> parts;
    for (auto& nm : e.netns_names) parts.push_back(nm);
    if (!e.container.empty()) parts.push_back(e.container);
    if (e.initial) parts.push_back("initial");
    if (e.hidden) parts.push_back("hidden: no holder but this link");
    ns = fmt::format("netns {}", e.netns);
    if (!parts.empty()) {
      ns += " (";
      for (size_t i = 0; i < parts.size(); ++i) ns += (i ? ", " : "") + parts[i];
      ns += ")";
    }
  } else {
    ns = fmt::format("an unidentified netns (nsid {})", e.nsid.value_or(-1));
  }
  std::string s = name + " in " + ns;
  if (!e.master.empty()) s += ", master " + e.master;
  return s;
}

std::string iface_details(const ShowIface& f) {
  std::vector<std::string> d;
  const LinkInfo& l = f.link;
  if (f.peer) d.push_back("peer " + where(*f.peer));
  if (f.parent) {
    std::string what = l.vlan_id ? fmt::format("vlan {} on ", *l.vlan_id) : std::string("parent ");
    d.push_back(what + where(*f.parent));
  }
  if (!l.macvlan_mode.empty()) d.push_back("mode " + l.macvlan_mode);
  if (!l.ipvlan_mode.empty()) d.push_back("mode " + l.ipvlan_mode);
  if (l.vxlan) {
    std::string v = fmt::format("vni {}", l.vxlan->id);
    if (!l.vxlan->remote.empty()) v += (l.vxlan->group ? " group " : " remote ") + l.vxlan->remote;
    if (!l.vxlan->local.empty()) v += " local " + l.vxlan->local;
    if (l.vxlan->port) v += fmt::format(" port {}", l.vxlan->port);
    d.push_back(v);
  }
  if (f.underlay) d.push_back("underlay " + where(*f.underlay));
  if (!f.master.empty()) d.push_back("master " + f.master);
  if (!f.ports.empty()) {
    std::string p = fmt::format("ports ({}):", f.ports.size());
    size_t shown = std::min<size_t>(f.ports.size(), 8);
    for (size_t i = 0; i < shown; ++i) p += " " + f.ports[i];
    if (shown < f.ports.size()) p += " ...";
    d.push_back(p);
  } else if (l.kind == "bridge") {
    d.push_back("no ports");
  }
  if (l.tun) {
    std::string t = l.tun->owner ? fmt::format("owner uid {}", *l.tun->owner) : std::string("no owner uid");
    if (l.tun->persist) t += ", persistent";
    for (auto& o : f.tun_owners) t += fmt::format(", held by pid {} ({})", o.pid, o.command);
    if (f.tun_owners.empty()) t += ", no process holds it";
    d.push_back(t);
  }
  std::string s;
  for (auto& x : d) s += (s.empty() ? "" : "; ") + x;
  return s;
}

}  // namespace

std::string route_to_text(const RouteInfo& r, const std::map<int, std::string>& names) {
  auto dev = [&](int oif) {
    auto it = names.find(oif);
    return it == names.end() ? std::to_string(oif) : it->second;
  };
  std::string s = r.type == "unicast" ? r.dst : r.type + " " + r.dst;
  if (!r.src.empty()) s += " from " + r.src;
  if (!r.gateway.empty()) s += " via " + r.gateway;
  if (r.oif) s += " dev " + dev(r.oif);
  for (auto& h : r.nexthops) {
    s += " nexthop";
    if (!h.gateway.empty()) s += " via " + h.gateway;
    if (h.oif) s += " dev " + dev(h.oif);
    s += fmt::format(" weight {}", h.weight);
  }
  if (r.protocol != "boot" && r.protocol != "unspec") s += " proto " + r.protocol;
  if (r.scope != "global") s += " scope " + r.scope;
  if (!r.prefsrc.empty()) s += " src " + r.prefsrc;
  if (r.priority) s += fmt::format(" metric {}", r.priority);
  return s;
}

namespace {

std::string human(uint64_t v) {
  if (v < 10000) return std::to_string(v);
  const char* units[] = {"K", "M", "G", "T", "P"};
  double d = static_cast<double>(v);
  int u = -1;
  while (d >= 1000 && u < 4) {
    d /= 1000;
    ++u;
  }
  return fmt::format("{:.1f}{}", d, units[u]);
}

}  // namespace

namespace {

// The namespace: label, ids, container, where it was opened from, notes.
void show_header(const ShowModel& m, std::ostream& out) {
  const Namespace& n = m.ns;
  out << netns_label(n) << '\n';
  std::vector<std::vector<std::string>> head;
  auto opt = [](uint64_t v) { return v ? std::to_string(v) : std::string("-"); };
  head.push_back({"id", opt(n.id), "cookie", opt(n.cookie), "nsid", n.nsid ? std::to_string(*n.nsid) : "-"});
  if (n.container) {
    const Container& c = *n.container;
    std::string pod = c.pod.empty() ? "" : " pod " + c.pod_namespace + "/" + c.pod;
    out << "  container " << c.runtime << " " << (c.name.empty() ? "" : c.name + " ") << c.id << pod << '\n';
  }
  print_table(head, out, "  ");
  if (!m.opened_from.empty()) out << "  opened from " << m.opened_from << '\n';
  for (auto& note : m.notes) out << "  note: " << note << '\n';

}

// Interfaces, where they lead, their counters.
void show_interfaces(const ShowModel& m, std::ostream& out) {
  out << "\nInterfaces\n";
  std::vector<std::vector<std::string>> rows{{"IDX", "NAME", "KIND", "STATE", "MTU", "MAC", "ADDRESSES"}};
  std::vector<std::string> details;
  for (auto& f : m.interfaces) {
    std::string addrs;
    for (auto& a : f.addrs) addrs += (addrs.empty() ? "" : " ") + a.address + "/" + std::to_string(a.prefixlen);
    const LinkInfo& l = f.link;
    std::string state = l.state();
    if (!l.up()) state += ",admin-down";
    rows.push_back({std::to_string(l.ifindex), l.name, l.display_kind(), state, std::to_string(l.mtu),
                    l.mac.empty() ? "-" : l.mac, addrs.empty() ? "-" : addrs});
    details.push_back(iface_details(f));
  }
  print_table(rows, out, "  ");
  bool any = std::any_of(details.begin(), details.end(), [](auto& d) { return !d.empty(); });
  if (any) {
    out << "\nWhere they lead\n";
    for (size_t i = 0; i < m.interfaces.size(); ++i)
      if (!details[i].empty()) out << "  " << m.interfaces[i].link.name << ": " << details[i] << '\n';
  }

  out << "\nCounters\n";
  std::vector<std::vector<std::string>> crow{{"NAME", "RX-PKTS", "RX-BYTES", "RX-ERR", "RX-DROP", "TX-PKTS", "TX-BYTES", "TX-ERR", "TX-DROP"}};
  for (auto& f : m.interfaces) {
    if (!f.link.stats) continue;
    const LinkStats& s = *f.link.stats;
    crow.push_back({f.link.name, human(s.rx_packets), human(s.rx_bytes), human(s.rx_errors), human(s.rx_dropped),
                    human(s.tx_packets), human(s.tx_bytes), human(s.tx_errors), human(s.tx_dropped)});
  }
  print_table(crow, out, "  ");

}

void show_routes(const ShowModel& m, std::ostream& out) {
  std::map<int, std::string> names;
  for (auto& f : m.interfaces) names[f.link.ifindex] = f.link.name;
  out << "\nRoutes (main table)\n";
  if (auto it = m.errors.find("routes"); it != m.errors.end()) out << "  cannot read: " << it->second << '\n';
  else if (m.routes.empty()) out << "  none\n";
  for (auto& r : m.routes) out << "  " << (r.family == AF_INET6 ? "inet6 " : "") << route_to_text(r, names) << '\n';
  out << "  default route: ";
  if (m.errors.count("routes")) out << "unknown\n";
  else if (m.default_routes.empty()) out << "none\n";
  else {
    std::string s;
    for (auto& r : m.default_routes) s += (s.empty() ? "" : "; ") + route_to_text(r, names);
    out << s << '\n';
  }
  if (!m.other_tables.empty()) {
    out << "  other tables:";
    for (auto& [t, c] : m.other_tables) out << fmt::format(" {} ({} routes)", t, c);
    out << '\n';
  }

  out << "\nPolicy rules\n";
  if (auto it = m.errors.find("rules"); it != m.errors.end()) out << "  cannot read: " << it->second << '\n';
  for (auto& r : m.rules) out << fmt::format("  {}{}:\t{}\n", r.family == AF_INET6 ? "inet6 " : "", r.priority, r.text());

}

void show_neighbours_and_sockets(const ShowModel& m, std::ostream& out) {
  out << "\nNeighbours: ";
  if (m.neighbours) {
    const NeighSummary& s = *m.neighbours;
    out << fmt::format("{} (ipv4 {}, ipv6 {}; reachable {}, stale {}, failed {}, permanent {}); bridge fdb entries {}\n",
                       s.ipv4 + s.ipv6, s.ipv4, s.ipv6, s.reachable, s.stale, s.failed, s.permanent, s.fdb);
  } else {
    auto it = m.errors.find("neighbours");
    out << (it == m.errors.end() ? std::string("not read") : "cannot read: " + it->second) << '\n';
  }

  out << "\nSockets\n";
  if (auto it = m.errors.find("sockets"); it != m.errors.end()) out << "  cannot read: " << it->second << '\n';
  std::vector<std::vector<std::string>> srow{{"PROTO", "LISTENING", "CONNECTED", "OTHER"}};
  for (auto& s : m.sockets)
    srow.push_back({s.proto, std::to_string(s.listening), std::to_string(s.connected), std::to_string(s.other)});
  if (!m.sockets.empty()) print_table(srow, out, "  ");

}

void show_firewall(const ShowModel& m, std::ostream& out) {
  out << "\nFirewall\n";
  if (m.firewall) {
    if (m.firewall->tables.empty()) out << "  no nft or iptables tables\n";
    for (auto& t : m.firewall->tables) {
      out << fmt::format("  {} {} {}:", t.backend, t.family, t.name);
      if (t.chains.empty()) out << " no chains";
      for (size_t i = 0; i < t.chains.size(); ++i) {
        auto& c = t.chains[i];
        out << (i ? ", " : " ") << c.name;
        std::vector<std::string> p;
        if (!c.hook.empty() && c.hook != c.name) p.push_back("hook " + c.hook);
        if (!c.policy.empty()) p.push_back("policy " + c.policy);
        p.push_back(fmt::format("{} rule{}", c.rules, c.rules == 1 ? "" : "s"));
        out << " (";
        for (size_t k = 0; k < p.size(); ++k) out << (k ? ", " : "") << p[k];
        out << ")";
      }
      out << '\n';
    }
    for (auto& note : m.firewall->notes) out << "  note: " << note << '\n';
  } else {
    out << "  not read\n";
  }

}

void show_processes_and_errors(const ShowModel& m, std::ostream& out) {
  out << fmt::format("\nProcesses ({})\n", m.processes.size());
  for (auto& p : m.processes) out << fmt::format("  {:>7} {}\n", p.pid, p.command);
  for (auto& [what, why] : m.errors)
    if (what != "routes" && what != "rules" && what != "neighbours" && what != "sockets")
      out << "\nnote: cannot read " << what << ": " << why << '\n';
}

}  // namespace

void render_show_text(const ShowModel& m, std::ostream& out) {
  show_header(m, out);
  show_interfaces(m, out);
  show_routes(m, out);
  show_neighbours_and_sockets(m, out);
  show_firewall(m, out);
  show_processes_and_errors(m, out);
}

// ---- topo ------------------------------------------------------------------------------

namespace {

struct EdgeIndex {
  // (node, ifindex) -> edges that start or end there
  std::map<std::pair<std::string, int>, std::vector<const TopoEdge*>> at;
  explicit EdgeIndex(const TopoModel& m) {
    for (auto& e : m.edges) {
      at[{e.from.node, e.from.ifindex}].push_back(&e);
      if (e.kind == "veth" && !e.to.node.empty()) at[{e.to.node, e.to.ifindex}].push_back(&e);
    }
  }
};

std::string node_short(const TopoModel& m, const std::string& id) {
  for (auto& n : m.nodes)
    if (n.id == id) {
      if (!n.ns.names.empty()) return n.ns.names.front();
      if (n.ns.container) return container_label(*n.ns.container);
      if (n.ns.initial) return "initial";
      return n.ns.inode ? std::to_string(n.ns.inode) : n.id;
    }
  return id;
}

}  // namespace

void render_topo_text(const TopoModel& m, std::ostream& out) {
  EdgeIndex idx(m);
  for (auto& n : m.nodes) {
    std::string head = n.ns.inode ? netns_label(n.ns) : "netns ? (" + n.id + ")";
    std::vector<std::string> tags;
    if (n.ns.pid) tags.push_back(fmt::format("pid {} {}", n.ns.pid, n.ns.command.substr(0, 40)));
    if (n.hidden) tags.push_back("HIDDEN: no holder but a veth");
    if (!n.read_via.empty()) tags.push_back("read through " + n.read_via);
    if (n.gone) tags.push_back("GONE: vanished while topo ran");
    if (!n.error.empty()) tags.push_back("cannot read: " + n.error);
    for (auto& t : tags) head += "  [" + t + "]";
    out << head << '\n';
    std::vector<std::vector<std::string>> rows;
    for (auto& f : n.ifaces) {
      const LinkInfo& l = f.link;
      std::string addrs;
      for (auto& a : f.addrs) addrs += (addrs.empty() ? "" : " ") + a;
      std::string leads;
      if (l.kind == "bridge" || l.kind == "bond" || l.kind == "team" || l.kind == "vrf") {
        std::vector<std::string> ports;
        for (auto& p : n.ifaces)
          if (p.link.master == l.ifindex) ports.push_back(p.link.name);
        std::string s = fmt::format("ports ({}):", ports.size());
        for (size_t i = 0; i < ports.size() && i < 6; ++i) s += " " + ports[i];
        if (ports.size() > 6) s += " ...";
        leads = ports.empty() ? "no ports" : s;
      }
      auto it = idx.at.find({n.id, l.ifindex});
      if (it != idx.at.end()) {
        for (auto* e : it->second) {
          std::string s;
          if (e->kind == "veth") {
            bool from_here = e->from.node == n.id && e->from.ifindex == l.ifindex;
            const TopoEndpoint& o = from_here ? e->to : e->from;
            if (o.node.empty()) s = fmt::format("<-> ifindex {} in an unknown netns", o.ifindex);
            else if (o.node == n.id) s = fmt::format("<-> {} here", o.ifname);
            else s = fmt::format("<-> {} in {}", o.ifname.empty() ? "ifindex " + std::to_string(o.ifindex) : o.ifname, node_short(m, o.node));
            if (e->dangling) s += " [DANGLING]";
          } else if (e->kind == "master") {
            s = "master " + e->to.ifname;
          } else if (e->kind == "tun") {
            s = e->note;
          } else {
            std::string far = e->to.ifname.empty() ? "ifindex " + std::to_string(e->to.ifindex) : e->to.ifname;
            if (!e->to.node.empty() && e->to.node != n.id) far += " in " + node_short(m, e->to.node);
            s = e->kind + " on " + far;
            if (!e->note.empty()) s += " (" + e->note + ")";
          }
          leads += (leads.empty() ? "" : "; ") + s;
        }
      }
      rows.push_back({std::to_string(l.ifindex), l.name, l.display_kind(), l.state(), addrs.empty() ? "-" : addrs, leads});
    }
    print_table(rows, out, "  ");
  }
  size_t dangling = std::count_if(m.edges.begin(), m.edges.end(), [](auto& e) { return e.dangling; });
  out << fmt::format("\n{} network namespaces, {} links ({} dangling)\n", m.nodes.size(), m.edges.size(), dangling);
}

}  // namespace nscope
