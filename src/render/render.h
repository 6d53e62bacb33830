// Renderers of the show and topo models: text for people, JSON for programs, DOT for
// Graphviz. Each renders the same model; none gathers anything.
#pragma once

#include <map>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "topo/model.h"
#include "util/result.h"

namespace nscope {

// One interface, as both show and topo print it in JSON.
nlohmann::json link_to_json(const LinkInfo& l);
nlohmann::json link_end_to_json(const LinkEnd& e);
// An address and a route, as show prints them in JSON.
nlohmann::json addr_to_json(const AddrInfo& a);
nlohmann::json route_to_json(const RouteInfo& r);
// A route as `ip route` prints it ("10.1.0.0/16 via 10.0.0.1 dev eth0 proto static"), its
// devices named from `names` (ifindex -> name; the number when missing).
std::string route_to_text(const RouteInfo& r, const std::map<int, std::string>& names);
// The namespace's identity: inode, id, cookie, nsid, names, initial, container, pid, command.
nlohmann::json netns_to_json(const Namespace& n);

nlohmann::json show_to_json(const ShowModel& m);
void render_show_text(const ShowModel& m, std::ostream& out);

nlohmann::json topo_to_json(const TopoModel& m);
// The same text as topo_to_json(m).dump(), written a node and an edge at a time: with 10,000
// namespaces the whole document in memory took more than the model itself.
void write_topo_json(const TopoModel& m, std::ostream& out);
void render_topo_text(const TopoModel& m, std::ostream& out);
std::string topo_to_dot(const TopoModel& m);

// Pipes DOT through Graphviz's `dot -Tsvg` into `file` (Debian package graphviz).
Result<void> render_svg(const std::string& dot, const std::string& file);

// "ns 4026532281 (tpb-n0, runc:web)": a namespace in one phrase.
std::string netns_label(const Namespace& n);

}  // namespace nscope
