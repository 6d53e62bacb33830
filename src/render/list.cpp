#include "render/list.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include <fmt/format.h>

#include "util/strings.h"

namespace nscope {
namespace {

constexpr std::array<std::string_view, 14> kColumns{
    "NS", "TYPE", "ID", "COOKIE", "NSID", "NPROCS", "PID", "IFACES", "HOLDERS",
    "NAME", "CONTAINER", "OWNER", "INITIAL", "COMMAND"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

// One holder of a kind says who it is ("pid:27308", "mount:/run/netns/a", "fd:PID/FD");
// several say how many under the plural ("processes:74", "mounts:2"), so a count never
// reads as a pid. The copies of one mount that other mount namespaces hold (each
// `ip netns exec` makes one) count once.
std::string holder_summary(const Namespace& n) {
  std::map<HolderKind, std::vector<const Holder*>> by;
  std::set<std::string> mount_paths;
  for (auto& h : n.holders) {
    if (h.kind == HolderKind::mount && !mount_paths.insert(h.path).second) continue;
    by[h.kind].push_back(&h);
  }
  static const std::map<HolderKind, const char*> plural{
      {HolderKind::process, "processes"}, {HolderKind::thread, "threads"}, {HolderKind::mount, "mounts"},
      {HolderKind::fd, "fds"}, {HolderKind::socket, "sockets"}, {HolderKind::peer, "peers"}};
  std::string out;
  for (auto& [kind, hs] : by) {
    if (!out.empty()) out += ' ';
    const Holder& h = *hs.front();
    if (hs.size() > 1) {
      out += fmt::format("{}:{}", plural.at(kind), hs.size());
      continue;
    }
    switch (kind) {
      case HolderKind::process: out += fmt::format("pid:{}", h.pid); break;
      case HolderKind::thread: out += fmt::format("thread:{}/{}", h.pid, h.tid); break;
      case HolderKind::mount: out += fmt::format("mount:{}", h.path); break;
      case HolderKind::fd: out += fmt::format("fd:{}/{}", h.pid, h.fd); break;
      case HolderKind::socket: out += fmt::format("socket:{}/{}", h.pid, h.fd); break;
      case HolderKind::peer: out += fmt::format("peer:{}@{}", h.ifname, h.netns); break;
    }
  }
  return out.empty() ? "-" : out;
}

namespace {

std::string container_text(const Namespace& n) {
  if (!n.container) return "-";
  const Container& c = *n.container;
  std::string out = container_label(c);
  if (!c.pod.empty()) out += " pod:" + c.pod_namespace + "/" + c.pod;
  return out;
}

}  // namespace

std::string list_cell(const Namespace& n, std::string_view col) {
  auto opt = [](uint64_t v) { return v ? std::to_string(v) : std::string("-"); };
  if (col == "NS") return std::to_string(n.inode);
  if (col == "TYPE") return std::string(ns_type_name(n.type));
  if (col == "ID") return opt(n.id);
  if (col == "COOKIE") return n.type == NsType::net ? opt(n.cookie) : "-";
  if (col == "NSID") return n.nsid ? std::to_string(*n.nsid) : "-";
  if (col == "NPROCS") return std::to_string(n.processes);
  if (col == "PID") return n.pid ? std::to_string(n.pid) : "-";
  if (col == "IFACES") return n.interfaces ? std::to_string(*n.interfaces) : "-";
  if (col == "HOLDERS") return holder_summary(n);
  if (col == "NAME") {
    std::string s;
    for (auto& nm : n.names) s += (s.empty() ? "" : ",") + nm;
    return s.empty() ? "-" : s;
  }
  if (col == "CONTAINER") return container_text(n);
  if (col == "OWNER") return opt(n.owner);
  if (col == "INITIAL") return n.initial ? "yes" : "no";
  if (col == "COMMAND") return n.command.empty() ? "-" : n.command;
  return "?";
}

std::string_view list_column_names() {
  return "NS, TYPE, ID, COOKIE, NSID, NPROCS, PID, IFACES, HOLDERS, NAME, CONTAINER, OWNER, "
         "INITIAL, COMMAND";
}

std::vector<std::string> default_list_columns() {
  // The net columns stay with other types too: their rows show "-" there.
  return {"NS", "TYPE", "NPROCS", "PID", "NSID", "IFACES", "HOLDERS", "NAME", "CONTAINER", "COMMAND"};
}

bool parse_list_columns(std::string_view spec, std::vector<std::string>* cols, std::string* bad) {
  // "+A,+B" or "+A,B" add to the columns there are; "A,B" replaces them.
  bool add = trim(spec).starts_with('+');
  if (!add) cols->clear();
  // Added columns go before COMMAND, which stays last: it is free text, as wide as it gets.
  auto at = [&] {
    auto cmd = std::find(cols->begin(), cols->end(), "COMMAND");
    return add ? cmd : cols->end();
  };
  for (auto part : split(spec, ',')) {
    part = trim(part);
    if (part.starts_with('+')) part.remove_prefix(1);
    std::string c = upper(trim(part));
    if (std::find(kColumns.begin(), kColumns.end(), c) == kColumns.end()) {
      *bad = std::string(part);
      return false;
    }
    if (std::find(cols->begin(), cols->end(), c) == cols->end()) cols->insert(at(), c);
  }
  return true;
}

void render_columns(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> width;
  for (auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string line;
  for (auto& row : rows) {
    line.clear();
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 1, ' ');
    }
    line += '\n';
    out << line;
  }
}

void render_list_table(const ScanResult& r, const std::vector<std::string>& cols, bool header,
                       std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(r.namespaces.size() + 1);
  if (header) rows.emplace_back(cols.begin(), cols.end());
  for (auto& n : r.namespaces) {
    auto& row = rows.emplace_back();
    row.reserve(cols.size());
    for (auto& c : cols) row.push_back(list_cell(n, c));
  }
  render_columns(rows, out);
}

nlohmann::json json_u64(uint64_t v) {
  if (v > (1ULL << 53)) return std::to_string(v);
  return v;
}

nlohmann::json container_json(const std::optional<Container>& c) {
  if (!c) return nullptr;
  nlohmann::json cj = {{"runtime", c->runtime}, {"id", c->id}, {"name", c->name}};
  if (!c->pod.empty()) {
    cj["pod"] = c->pod;
    cj["pod_namespace"] = c->pod_namespace;
    cj["pod_uid"] = c->pod_uid;
  }
  return cj;
}

nlohmann::json holder_to_json(const Holder& h) {
  nlohmann::json j = {{"kind", holder_kind_name(h.kind)}};
  switch (h.kind) {
    case HolderKind::process:
      j["pid"] = h.pid;
      j["command"] = h.command;
      if (!h.via.empty()) j["via"] = h.via;
      break;
    case HolderKind::thread:
      j["pid"] = h.pid;
      j["tid"] = h.tid;
      j["command"] = h.command;
      break;
    case HolderKind::mount:
      j["path"] = h.path;
      j["mntns"] = h.mntns;
      if (h.pid) j["pid"] = h.pid;
      break;
    case HolderKind::fd:
      j["pid"] = h.pid;
      j["fd"] = h.fd;
      j["command"] = h.command;
      break;
    case HolderKind::socket:
      j["pid"] = h.pid;
      j["fd"] = h.fd;
      j["sockets"] = h.sockets;
      j["command"] = h.command;
      break;
    case HolderKind::peer:
      j["netns"] = h.netns;
      j["ifindex"] = h.ifindex;
      j["ifname"] = h.ifname;
      j["peer_ifindex"] = h.peer_ifindex;
      break;
  }
  return j;
}

nlohmann::json namespace_to_json(const Namespace& n) {
  using nlohmann::json;
  json holders = json::array();
  for (auto& h : n.holders) holders.push_back(holder_to_json(h));
  json j = {{"type", ns_type_name(n.type)},
            {"inode", n.inode},
            {"id", n.id ? json_u64(n.id) : json(nullptr)},
            {"initial", n.initial},
            {"holders", std::move(holders)},
            {"processes", n.processes},
            {"pid", n.pid ? json(n.pid) : json(nullptr)},
            {"command", n.command},
            {"owner", n.owner ? json(n.owner) : json(nullptr)}};
  if (n.type == NsType::net) {
    j["cookie"] = n.cookie ? json_u64(n.cookie) : json(nullptr);
    j["nsid"] = n.nsid ? json(*n.nsid) : json(nullptr);
    j["names"] = n.names;
    j["interfaces"] = n.interfaces ? json(*n.interfaces) : json(nullptr);
  }
  j["container"] = container_json(n.container);
  return j;
}

nlohmann::json list_to_json(const ScanResult& r) {
  using nlohmann::json;
  json nss = json::array();
  for (auto& n : r.namespaces) nss.push_back(namespace_to_json(n));
  json out = {{"namespaces", std::move(nss)}, {"skipped", r.skipped}, {"source", r.source}};
  if (!r.notes.empty()) out["notes"] = r.notes;
  return out;
}

// The members in the order nlohmann's object (a std::map) dumps them.
void write_list_json(const ScanResult& r, std::ostream& out) {
  using nlohmann::json;
  out << "{\"namespaces\":[";
  for (size_t i = 0; i < r.namespaces.size(); ++i) out << (i ? "," : "") << namespace_to_json(r.namespaces[i]).dump();
  out << ']';
  if (!r.notes.empty()) out << ",\"notes\":" << json(r.notes).dump();
  out << ",\"skipped\":" << json(r.skipped).dump() << ",\"source\":" << json(r.source).dump() << '}';
}

}  // namespace nscope
