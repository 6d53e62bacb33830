// Text and JSON of `nscope find`: one FindResult each.
#include "render/find.h"

#include <sys/socket.h>

#include <map>

#include <fmt/format.h>

#include "render/list.h"
#include "render/render.h"
#include "util/strings.h"

namespace nscope {

using nlohmann::json;

namespace {

// "10.0.0.2:8080", "[fd00::2]:8080", "0.0.0.0:*" (port 0: any).
std::string endpoint(int family, const std::string& addr, uint16_t port) {
  std::string a = family == AF_INET6 ? "[" + addr + "]" : addr;
  return a + ":" + (port ? std::to_string(port) : std::string("*"));
}

std::string netns_head(const FindNsHits& h) {
  std::string s = netns_label(h.ns);
  if (h.ns.pid) s += fmt::format(" pid {}", h.ns.pid);
  if (h.ns.cookie) s += fmt::format(" cookie {}", h.ns.cookie);
  if (!h.read_via.empty()) s += " [read through " + h.read_via + "]";
  return s;
}

std::string iface_line(const FindIfaceHit& f) {
  const LinkInfo& l = f.link;
  std::vector<std::string> d{fmt::format("ifindex {}", l.ifindex), l.display_kind()};
  if (!l.mac.empty()) d.push_back(l.mac);
  d.push_back(l.state());
  std::string s = "interface " + with_details(l.name, d);
  std::string addrs;
  for (auto& a : f.addrs)
    addrs += fmt::format("{}{} {}/{}", addrs.empty() ? "" : ", ", a.family == AF_INET6 ? "inet6" : "inet", a.address,
                         a.prefixlen);
  if (!addrs.empty()) s += ": " + addrs;
  return s;
}

std::string socket_line(const FindSockHit& h) {
  const InetSock& k = h.sock;
  std::string s = fmt::format("socket {}{} {} {} peer {}", k.proto, k.family == AF_INET6 ? "6" : "", k.state_name(),
                              endpoint(k.family, k.local, k.lport), endpoint(k.family, k.remote, k.rport));
  if (k.ifindex) s += fmt::format(" bound to ifindex {}", k.ifindex);
  std::string owners;
  for (auto& o : h.owners)
    owners += fmt::format("{}pid {} ({}) fd {}", owners.empty() ? "" : ", ", o.pid, o.command, o.fd);
  if (!owners.empty()) s += ": " + owners;
  else s += k.inode ? ": no process found holding it" : ": no process holds it";
  return s;
}

std::string route_line(const FindRouteHit& h) {
  return fmt::format("route {} table {} ({})", route_to_text(h.route, h.devs), rt_table_name(h.route.table),
                     h.relation);
}

json netns_json(const FindNsHits& h) {
  const Namespace& n = h.ns;
  json j = {{"inode", n.inode},
            {"id", n.id ? json_u64(n.id) : json(nullptr)},
            {"cookie", n.cookie ? json_u64(n.cookie) : json(nullptr)},
            {"nsid", n.nsid ? json(*n.nsid) : json(nullptr)},
            {"names", n.names},
            {"container", n.container ? json(container_label(*n.container)) : json(nullptr)},
            {"pid", n.pid ? json(n.pid) : json(nullptr)},
            {"command", n.command.empty() ? json(nullptr) : json(n.command)},
            {"initial", n.initial}};
  if (!h.read_via.empty()) j["read_via"] = h.read_via;
  return j;
}

json iface_json(const FindIfaceHit& f) {
  const LinkInfo& l = f.link;
  json addrs = json::array();
  for (auto& a : f.addrs) addrs.push_back(addr_to_json(a));
  return {{"interface",
           {{"name", l.name},
            {"ifindex", l.ifindex},
            {"kind", l.display_kind()},
            {"mac", l.mac.empty() ? json(nullptr) : json(l.mac)},
            {"state", l.state()}}},
          {"addresses", std::move(addrs)},
          {"matched", f.matched}};
}

json socket_json(const FindSockHit& h) {
  const InetSock& k = h.sock;
  json owners = json::array();
  for (auto& o : h.owners) owners.push_back({{"pid", o.pid}, {"command", o.command}, {"fd", o.fd}});
  return {{"protocol", k.proto},
          {"family", k.family == AF_INET6 ? "inet6" : "inet"},
          {"state", k.state_name()},
          {"local", {{"address", k.local}, {"port", k.lport}}},
          {"remote", {{"address", k.remote}, {"port", k.rport}}},
          {"inode", k.inode ? json(k.inode) : json(nullptr)},
          {"uid", k.uid},
          {"bound_ifindex", k.ifindex ? json(k.ifindex) : json(nullptr)},
          {"matched", h.side},
          {"processes", std::move(owners)}};
}

json route_json(const FindRouteHit& h) {
  json devs = json::array();
  for (auto& [ifindex, name] : h.devs) devs.push_back({{"ifindex", ifindex}, {"name", name}});
  return {{"route", route_to_json(h.route)}, {"devices", std::move(devs)}, {"relation", h.relation}};
}

}  // namespace

void render_find_text(const FindResult& r, std::ostream& out) {
  for (auto& h : r.found) {
    out << netns_head(h) << '\n';
    for (auto& f : h.ifaces) out << "  " << iface_line(f) << '\n';
    for (auto& s : h.sockets) out << "  " << socket_line(s) << '\n';
    for (auto& rt : h.routes) out << "  " << route_line(rt) << '\n';
  }
}

json find_to_json(const FindResult& r) {
  json out = json::array();
  auto add = [&](const FindNsHits& h, const char* type, json hit) {
    json j = {{"type", type}, {"netns", netns_json(h)}};
    j.update(hit);
    out.push_back(std::move(j));
  };
  for (auto& h : r.found) {
    for (auto& f : h.ifaces) add(h, "interface", iface_json(f));
    for (auto& s : h.sockets) add(h, "socket", socket_json(s));
    for (auto& rt : h.routes) add(h, "route", route_json(rt));
  }
  return out;
}

std::vector<std::string> find_skip_notes(const FindResult& r) {
  std::map<std::string, std::vector<std::string>> by_why;
  for (auto& s : r.skipped) by_why[s.why].push_back(netns_label(s.ns));
  std::vector<std::string> out;
  for (auto& [why, which] : by_why) {
    std::string list;
    for (auto& w : which) list += (list.empty() ? "" : ", ") + w;
    out.push_back(fmt::format("skipped {} network namespace{} ({}): {}", which.size(), which.size() == 1 ? "" : "s",
                              why, list));
  }
  return out;
}

std::string find_no_match_note(const FindResult& r) {
  std::string s = fmt::format("no match for {} in {} network namespace{}", r.query.describe(), r.searched,
                              r.searched == 1 ? "" : "s");
  if (!r.skipped.empty()) s += fmt::format(" ({} skipped)", r.skipped.size());
  return s;
}

}  // namespace nscope
