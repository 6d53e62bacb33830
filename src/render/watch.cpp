#include "render/watch.h"

#include <time.h>

#include <fmt/format.h>

#include "render/list.h"

namespace nscope {
namespace {

std::string clock_text(int64_t ns, bool utc) {
  time_t s = static_cast<time_t>(ns / 1'000'000'000);
  tm t{};
  if (utc)
    gmtime_r(&s, &t);
  else
    localtime_r(&s, &t);
  return fmt::format("{:02}:{:02}:{:02}.{:06}", t.tm_hour, t.tm_min, t.tm_sec, (ns % 1'000'000'000) / 1000);
}

std::string ns_text(NsType t, uint64_t inode) { return fmt::format("{}:{}", ns_type_name(t), inode); }

}  // namespace

std::string rfc3339_ns(int64_t ns) {
  time_t s = static_cast<time_t>(ns / 1'000'000'000);
  tm t{};
  gmtime_r(&s, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                     t.tm_hour, t.tm_min, t.tm_sec, ns % 1'000'000'000);
}

std::string watch_event_text(const WatchEvent& e, bool utc) {
  std::string s = fmt::format("{} #{} {:<17}", clock_text(e.time_ns, utc), e.seq, watch_event_name(e.kind));
  if (e.kind == WatchEventKind::lost)
    return s + fmt::format(" {} changes lost by the kernel side; a fresh snapshot follows", e.count);
  s += " " + ns_text(e.type, e.inode);
  for (const auto& n : e.names) s += " name=" + n;
  if (e.container) s += " container=" + container_label(*e.container);
  switch (e.kind) {
    case WatchEventKind::named:
    case WatchEventKind::unnamed:
      s += fmt::format(" mount {} (mnt:{})", e.path, e.mntns);
      break;
    case WatchEventKind::hidden:
      s += " held by " + e.holders;
      break;
    case WatchEventKind::iface_created:
    case WatchEventKind::iface_deleted:
      s += fmt::format(" {} (ifindex {})", e.ifname, e.ifindex);
      break;
    case WatchEventKind::iface_renamed:
      s += fmt::format(" {} -> {} (ifindex {})", e.old_ifname, e.ifname, e.ifindex);
      break;
    case WatchEventKind::iface_moved:
      s += fmt::format(" {}{} from {} ifindex {} to ifindex {}",
                       e.old_ifname.empty() ? "" : e.old_ifname + " -> ", e.ifname,
                       ns_text(NsType::net, e.old_inode), e.old_ifindex, e.ifindex);
      break;
    case WatchEventKind::veth_created:
      s += fmt::format(" {} (ifindex {}) <-> {} (ifindex {}) in {}", e.ifname, e.ifindex, e.peer_ifname,
                       e.peer_ifindex, ns_text(NsType::net, e.peer_inode));
      break;
    default:
      break;
  }
  if (!e.how.empty()) s += " via " + e.how;
  if (e.pid) {
    s += e.tid ? fmt::format(" by pid {} tid {}", e.pid, e.tid) : fmt::format(" by pid {}", e.pid);
    if (!e.comm.empty()) s += " (" + e.comm + ")";
  }
  return s;
}

nlohmann::json watch_event_json(const WatchEvent& e) {
  using nlohmann::json;
  json j = {{"seq", e.seq}, {"time", rfc3339_ns(e.time_ns)}, {"event", watch_event_name(e.kind)}};
  if (e.kind == WatchEventKind::lost) {
    j["count"] = e.count;
    return j;
  }
  j["type"] = ns_type_name(e.type);
  j["inode"] = e.inode;
  j["cookie"] = e.cookie ? json_u64(e.cookie) : json(nullptr);
  j["names"] = e.names;
  j["container"] = container_json(e.container);
  if (e.pid) {
    j["pid"] = e.pid;
    if (e.tid) j["tid"] = e.tid;
    j["comm"] = e.comm;
  }
  if (!e.how.empty()) j["how"] = e.how;
  switch (e.kind) {
    case WatchEventKind::named:
    case WatchEventKind::unnamed:
      j["path"] = e.path;
      j["mntns"] = e.mntns;
      break;
    case WatchEventKind::hidden:
      j["holders"] = e.holders;
      break;
    case WatchEventKind::iface_created:
    case WatchEventKind::iface_deleted:
      j["ifname"] = e.ifname;
      j["ifindex"] = e.ifindex;
      break;
    case WatchEventKind::iface_renamed:
      j["ifname"] = e.ifname;
      j["old_ifname"] = e.old_ifname;
      j["ifindex"] = e.ifindex;
      break;
    case WatchEventKind::iface_moved:
      j["ifname"] = e.ifname;
      j["ifindex"] = e.ifindex;
      j["old_inode"] = e.old_inode;
      j["old_ifindex"] = e.old_ifindex;
      j["old_ifname"] = e.old_ifname.empty() ? e.ifname : e.old_ifname;
      break;
    case WatchEventKind::veth_created:
      j["ifname"] = e.ifname;
      j["ifindex"] = e.ifindex;
      j["peer"] = {{"ifname", e.peer_ifname}, {"ifindex", e.peer_ifindex}, {"inode", e.peer_inode}};
      break;
    default:
      break;
  }
  return j;
}

nlohmann::json watch_snapshot_json(const ScanResult& r, uint64_t seq, int64_t time_ns) {
  return {{"seq", seq}, {"time", rfc3339_ns(time_ns)}, {"event", "snapshot"}, {"list", list_to_json(r)}};
}

}  // namespace nscope
