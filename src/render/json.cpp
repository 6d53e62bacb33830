// JSON of show and topo: one document each. Numbers above 2^53 (ids, cookies, counters) are
// strings, as in `nscope list --json`.
#include <sys/socket.h>

#include "render/list.h"
#include "render/render.h"

namespace nscope {

using nlohmann::json;

namespace {
json opt_str(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
}  // namespace

json link_to_json(const LinkInfo& l) {
  json j = {{"ifindex", l.ifindex},
            {"name", l.name},
            {"kind", l.display_kind()},
            {"state", l.state()},
            {"up", l.up()},
            {"mtu", l.mtu},
            {"mac", opt_str(l.mac)},
            {"master", l.master ? json(l.master) : json(nullptr)},
            {"link", l.link ? json(l.link) : json(nullptr)},
            {"link_netnsid", l.link_netnsid ? json(*l.link_netnsid) : json(nullptr)}};
  if (!l.kind.empty() && l.kind != l.display_kind()) j["driver_kind"] = l.kind;
  if (!l.slave_kind.empty()) j["slave_kind"] = l.slave_kind;
  if (l.port_state) {
    static const char* names[] = {"disabled", "listening", "learning", "forwarding", "blocking"};
    j["port_state"] = *l.port_state < 5 ? json(names[*l.port_state]) : json(*l.port_state);
  }
  if (l.vlan_id) j["vlan"] = {{"id", *l.vlan_id}, {"protocol", l.vlan_protocol}};
  if (!l.macvlan_mode.empty()) j["macvlan_mode"] = l.macvlan_mode;
  if (!l.ipvlan_mode.empty()) j["ipvlan_mode"] = l.ipvlan_mode;
  if (l.vxlan) {
    const VxlanInfo& v = *l.vxlan;
    j["vxlan"] = {{"id", v.id},
                  {"underlay", v.link ? json(v.link) : json(nullptr)},
                  {v.group ? "group" : "remote", opt_str(v.remote)},
                  {"local", opt_str(v.local)},
                  {"port", v.port}};
  }
  if (l.tun) {
    const TunInfo& t = *l.tun;
    j["tun"] = {{"type", t.tap ? "tap" : "tun"},
                {"owner_uid", t.owner ? json(*t.owner) : json(nullptr)},
                {"group_gid", t.group ? json(*t.group) : json(nullptr)},
                {"persist", t.persist},
                {"multi_queue", t.multi_queue},
                {"queues", t.queues}};
  }
  if (l.vrf_table) j["vrf_table"] = *l.vrf_table;
  if (l.stp) j["stp"] = *l.stp;
  if (l.vlan_filtering) j["vlan_filtering"] = *l.vlan_filtering;
  if (!l.alias.empty()) j["alias"] = l.alias;
  if (l.stats) {
    const LinkStats& s = *l.stats;
    j["stats"] = {{"rx_packets", json_u64(s.rx_packets)}, {"rx_bytes", json_u64(s.rx_bytes)},
                  {"rx_errors", json_u64(s.rx_errors)},   {"rx_dropped", json_u64(s.rx_dropped)},
                  {"tx_packets", json_u64(s.tx_packets)}, {"tx_bytes", json_u64(s.tx_bytes)},
                  {"tx_errors", json_u64(s.tx_errors)},   {"tx_dropped", json_u64(s.tx_dropped)}};
  }
  return j;
}

json link_end_to_json(const LinkEnd& e) {
  return {{"netns", e.netns ? json(e.netns) : json(nullptr)},
          {"ifindex", e.ifindex},
          {"ifname", opt_str(e.ifname)},
          {"kind", opt_str(e.kind)},
          {"same_netns", e.same_ns},
          {"nsid", e.nsid ? json(*e.nsid) : json(nullptr)},
          {"netns_names", e.netns_names},
          {"container", opt_str(e.container)},
          {"initial", e.initial},
          {"hidden", e.hidden},
          {"master", opt_str(e.master)}};
}

json netns_to_json(const Namespace& n) {
  json j = {{"inode", n.inode},
            {"id", n.id ? json_u64(n.id) : json(nullptr)},
            {"cookie", n.cookie ? json_u64(n.cookie) : json(nullptr)},
            {"nsid", n.nsid ? json(*n.nsid) : json(nullptr)},
            {"names", n.names},
            {"initial", n.initial},
            {"processes", n.processes},
            {"pid", n.pid ? json(n.pid) : json(nullptr)},
            {"command", opt_str(n.command)}};
  j["container"] = container_json(n.container);
  return j;
}

json addr_to_json(const AddrInfo& a) {
  json j = {{"family", a.family == AF_INET6 ? "inet6" : "inet"},
            {"address", a.address},
            {"prefixlen", a.prefixlen},
            {"scope", a.scope}};
  if (!a.peer.empty()) j["peer"] = a.peer;
  if (!a.label.empty()) j["label"] = a.label;
  return j;
}

json route_to_json(const RouteInfo& r) {
  json j = {{"family", r.family == AF_INET6 ? "inet6" : "inet"},
            {"dst", r.dst},
            {"type", r.type},
            {"gateway", opt_str(r.gateway)},
            {"oif", r.oif ? json(r.oif) : json(nullptr)},
            {"prefsrc", opt_str(r.prefsrc)},
            {"metric", r.priority},
            {"protocol", r.protocol},
            {"scope", r.scope},
            {"table", rt_table_name(r.table)}};
  if (!r.src.empty()) j["src"] = r.src;
  if (!r.nexthops.empty()) {
    json hops = json::array();
    for (auto& h : r.nexthops) hops.push_back({{"gateway", opt_str(h.gateway)}, {"oif", h.oif}, {"weight", h.weight}});
    j["nexthops"] = std::move(hops);
  }
  return j;
}

json show_to_json(const ShowModel& m) {
  json ifaces = json::array();
  for (auto& f : m.interfaces) {
    json j = link_to_json(f.link);
    json addrs = json::array();
    for (auto& a : f.addrs) addrs.push_back(addr_to_json(a));
    j["addresses"] = std::move(addrs);
    j["master_name"] = opt_str(f.master);
    if (f.link.kind == "bridge" || f.link.kind == "bond" || !f.ports.empty()) j["ports"] = f.ports;
    j["peer"] = f.peer ? link_end_to_json(*f.peer) : json(nullptr);
    j["parent"] = f.parent ? link_end_to_json(*f.parent) : json(nullptr);
    if (f.underlay) j["underlay"] = link_end_to_json(*f.underlay);
    if (f.link.kind == "tun") {
      json owners = json::array();
      for (auto& o : f.tun_owners) owners.push_back({{"pid", o.pid}, {"fd", o.fd}, {"command", o.command}});
      j["owners"] = std::move(owners);
    }
    ifaces.push_back(std::move(j));
  }
  json routes = json::array(), defaults = json::array(), rules = json::array();
  for (auto& r : m.routes) routes.push_back(route_to_json(r));
  for (auto& r : m.default_routes) defaults.push_back(route_to_json(r));
  for (auto& r : m.rules)
    rules.push_back({{"family", r.family == AF_INET6 ? "inet6" : "inet"},
                     {"priority", r.priority},
                     {"rule", r.text()},
                     {"action", r.action},
                     {"table", rt_table_name(r.table)}});
  json neigh = nullptr;
  if (m.neighbours) {
    const NeighSummary& n = *m.neighbours;
    neigh = {{"total", n.ipv4 + n.ipv6}, {"ipv4", n.ipv4},          {"ipv6", n.ipv6},
             {"reachable", n.reachable}, {"stale", n.stale},        {"failed", n.failed},
             {"permanent", n.permanent}, {"other", n.other},        {"fdb", n.fdb}};
  }
  json socks = json::object();
  for (auto& s : m.sockets)
    socks[s.proto] = {{"listening", s.listening}, {"connected", s.connected}, {"other", s.other}, {"total", s.total()}};
  json fw = nullptr;
  if (m.firewall) {
    json tables = json::array();
    for (auto& t : m.firewall->tables) {
      json chains = json::array();
      for (auto& c : t.chains) {
        json cj = {{"name", c.name}, {"hook", opt_str(c.hook)}, {"rules", c.rules}};
        if (!c.hook.empty() && t.backend == "nft") {
          cj["priority"] = c.priority;
          cj["policy"] = opt_str(c.policy);
          cj["type"] = opt_str(c.type);
        }
        chains.push_back(std::move(cj));
      }
      tables.push_back({{"backend", t.backend}, {"family", t.family}, {"name", t.name}, {"chains", std::move(chains)}});
    }
    fw = {{"tables", std::move(tables)}, {"notes", m.firewall->notes}};
  }
  json procs = json::array();
  for (auto& p : m.processes) procs.push_back({{"pid", p.pid}, {"command", p.command}});
  json out = {{"type", "netns"},
              {"netns", netns_to_json(m.ns)},
              {"opened_from", opt_str(m.opened_from)},
              {"interfaces", std::move(ifaces)},
              {"routes", m.errors.count("routes") ? json(nullptr) : std::move(routes)},
              {"default_routes", m.errors.count("routes") ? json(nullptr) : std::move(defaults)},
              {"other_tables", m.errors.count("routes") ? json(nullptr) : json(m.other_tables)},
              {"rules", m.errors.count("rules") ? json(nullptr) : std::move(rules)},
              {"neighbours", std::move(neigh)},
              {"sockets", m.errors.count("sockets") ? json(nullptr) : std::move(socks)},
              {"firewall", std::move(fw)},
              {"processes", std::move(procs)},
              {"errors", m.errors}};
  if (!m.notes.empty()) out["notes"] = m.notes;
  return out;
}

namespace {

json topo_node_json(const TopoNode& n) {
  json j = netns_to_json(n.ns);
  j["node"] = n.id;
  j["hidden"] = n.hidden;
  j["gone"] = n.gone;
  j["read_via"] = opt_str(n.read_via);
  j["error"] = opt_str(n.error);
  json ifaces = json::array();
  for (auto& f : n.ifaces) {
    json fj = link_to_json(f.link);
    fj["addresses"] = f.addrs;
    ifaces.push_back(std::move(fj));
  }
  j["interfaces"] = std::move(ifaces);
  return j;
}

json topo_end_json(const TopoEndpoint& e) {
  return json{{"node", opt_str(e.node)},
              {"netns", e.netns ? json(e.netns) : json(nullptr)},
              {"ifindex", e.ifindex ? json(e.ifindex) : json(nullptr)},
              {"ifname", opt_str(e.ifname)}};
}

json topo_edge_json(const TopoEdge& e) {
  json j = {{"kind", e.kind}, {"from", topo_end_json(e.from)}, {"dangling", e.dangling}};
  if (e.kind == "tun") j["to"] = {{"pid", e.owner_pid}};
  else j["to"] = topo_end_json(e.to);
  if (!e.note.empty()) j["note"] = e.note;
  return j;
}

}  // namespace

json topo_to_json(const TopoModel& m) {
  json nodes = json::array();
  for (auto& n : m.nodes) nodes.push_back(topo_node_json(n));
  json edges = json::array();
  for (auto& e : m.edges) edges.push_back(topo_edge_json(e));
  json out = {{"nodes", std::move(nodes)}, {"edges", std::move(edges)}, {"skipped", m.skipped}, {"source", m.source}};
  if (!m.notes.empty()) out["notes"] = m.notes;
  return out;
}

// The members in the order nlohmann's object (a std::map) dumps them: edges, nodes, notes,
// skipped, source.
void write_topo_json(const TopoModel& m, std::ostream& out) {
  out << "{\"edges\":[";
  for (size_t i = 0; i < m.edges.size(); ++i) out << (i ? "," : "") << topo_edge_json(m.edges[i]).dump();
  out << "],\"nodes\":[";
  for (size_t i = 0; i < m.nodes.size(); ++i) out << (i ? "," : "") << topo_node_json(m.nodes[i]).dump();
  out << ']';
  if (!m.notes.empty()) out << ",\"notes\":" << json(m.notes).dump();
  out << ",\"skipped\":" << json(m.skipped).dump() << ",\"source\":" << json(m.source).dump() << '}';
}

}  // namespace nscope
