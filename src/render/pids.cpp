#include "render/pids.h"

#include <fmt/format.h>

#include "render/list.h"

namespace nscope {

namespace {

std::string or_dash(std::string s) { return s.empty() ? "-" : s; }
std::string num_or_dash(int v) { return v ? std::to_string(v) : "-"; }

void add_scan_fields(nlohmann::json& j, const std::vector<std::string>& notes,
                     const std::map<std::string, uint64_t>& skipped, const std::string& source) {
  j["skipped"] = skipped;
  j["source"] = source;
  if (!notes.empty()) j["notes"] = notes;
}

}  // namespace

std::vector<std::string> holder_row(const Holder& h) {
  std::string kind(holder_kind_name(h.kind));
  switch (h.kind) {
    case HolderKind::process:
      return {kind, num_or_dash(h.pid), "-", or_dash(h.command), h.via.empty() ? "-" : "via " + h.via};
    case HolderKind::thread: return {kind, num_or_dash(h.pid), num_or_dash(h.tid), or_dash(h.command), "-"};
    case HolderKind::fd: return {kind, num_or_dash(h.pid), "-", or_dash(h.command), fmt::format("fd {}", h.fd)};
    case HolderKind::socket: {
      std::string d = fmt::format("fd {}", h.fd);
      if (h.sockets > 1) d += fmt::format(" and {} more sockets", h.sockets - 1);
      return {kind, num_or_dash(h.pid), "-", or_dash(h.command), d};
    }
    case HolderKind::mount: {
      // The mount pins the namespace, not a process: the pid is one that lives in its mount
      // namespace (how it was read), so it goes with the detail, not under PID.
      std::string d = fmt::format("{} in mntns {}", h.path, h.mntns);
      if (h.pid) d += fmt::format(" (pid {})", h.pid);
      return {kind, "-", "-", "-", d};
    }
    case HolderKind::peer:
      return {kind, "-", "-", "-",
              fmt::format("{} ifindex {} in netns {}, peer of ifindex {}", h.ifname, h.ifindex, h.netns,
                          h.peer_ifindex)};
  }
  return {kind, "-", "-", "-", "-"};
}

void render_pids_plain(const PidsReport& r, std::ostream& out) {
  std::string text;
  for (int pid : r.pids) text += std::to_string(pid) + '\n';
  out << text;
}

void render_pids_table(const PidsReport& r, bool header, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(r.ns.holders.size() + 1);
  if (header) rows.push_back({"KIND", "PID", "TID", "COMMAND", "DETAIL"});
  for (auto& h : r.ns.holders) rows.push_back(holder_row(h));
  render_columns(rows, out);
}

nlohmann::json pids_to_json(const PidsReport& r) {
  nlohmann::json j = {{"namespace", namespace_to_json(r.ns)}, {"pids", r.pids}};
  add_scan_fields(j, r.notes, r.skipped, r.source);
  return j;
}

void render_identify_table(const IdentifyReport& r, bool header, std::ostream& out) {
  static const std::vector<std::string> cols{"NS", "TYPE", "INITIAL", "NPROCS", "NSID", "NAME", "CONTAINER", "HOLDERS"};
  std::vector<std::vector<std::string>> rows;
  if (header) rows.push_back(cols);
  for (auto& i : r.namespaces) {
    auto& row = rows.emplace_back();
    for (auto& c : cols) {
      if (c == "TYPE") row.push_back(i.link);
      else if (!i.scanned && (c == "INITIAL" || c == "NPROCS" || c == "HOLDERS")) row.push_back("?");
      else row.push_back(list_cell(i.ns, c));
    }
  }
  render_columns(rows, out);
}

nlohmann::json identify_to_json(const IdentifyReport& r) {
  using nlohmann::json;
  const IdentifyTarget& t = r.target;
  json target = {{"kind", identify_kind_name(t.kind)}};
  if (t.kind == IdentifyKind::path) {
    target["path"] = t.path;
  } else {
    target["pid"] = t.pid;
    if (t.kind == IdentifyKind::thread) target["tid"] = t.tid;
    target["command"] = t.command;
  }
  json nss = json::array();
  for (auto& i : r.namespaces) {
    json n = {{"link", i.link}, {"scanned", i.scanned}};
    n.update(namespace_to_json(i.ns));
    nss.push_back(std::move(n));
  }
  json j = {{"target", std::move(target)}, {"namespaces", std::move(nss)}};
  add_scan_fields(j, r.notes, r.skipped, r.source);
  return j;
}

}  // namespace nscope
