#include "discover/pids.h"

#include <algorithm>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "discover/caps.h"
#include "discover/netns.h"
#include "discover/nsref.h"
#include "discover/pidwalk.h"
#include "discover/scan.h"

namespace nscope {

namespace {

// Where a kind comes in pids' order (HolderKind's own order puts mounts before fds).
int rank(HolderKind k) {
  switch (k) {
    case HolderKind::process: return 0;
    case HolderKind::thread: return 1;
    case HolderKind::fd: return 2;
    case HolderKind::socket: return 3;
    case HolderKind::mount: return 4;
    case HolderKind::peer: return 5;
  }
  return 6;
}

}  // namespace

void order_holders(std::vector<Holder>& holders) {
  auto key = [](const Holder& h) {
    return std::tuple(rank(h.kind), h.kind == HolderKind::mount ? 0 : h.pid, h.tid, h.fd, std::string_view(h.path),
                      h.mntns, h.netns, h.ifindex);
  };
  std::stable_sort(holders.begin(), holders.end(), [&](const Holder& a, const Holder& b) { return key(a) < key(b); });
}

std::vector<int> process_pids(const Namespace& ns) {
  std::vector<int> out;
  for (auto& h : ns.holders)
    if (h.kind == HolderKind::process && h.via.empty()) out.push_back(h.pid);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<PidsReport> pids_report(std::string_view ref, const ScanResult& scan) {
  auto r = resolve_nsref(ref, scan);
  if (!r) return r.error();
  PidsReport rep;
  rep.ns = std::move(r->ns);
  rep.holders_known = r->from_scan;
  order_holders(rep.ns.holders);
  rep.pids = process_pids(rep.ns);
  rep.notes = scan.notes;
  rep.skipped = scan.skipped;
  rep.source = scan.source;
  if (!rep.holders_known)
    rep.notes.push_back(fmt::format("network namespace {} was made after the scan: who holds it is unknown; "
                                    "run again", rep.ns.inode));
  return rep;
}

namespace {

// The pids of a namespace opened directly, from /proc: no scan, no holders.
PidsReport walk_report(ResolvedNs r) {
  PidsReport rep;
  rep.ns = std::move(r.ns);
  rep.holders_known = false;
  rep.source = "procfs";
  uint64_t initial = initial_netns_inode();
  PidWalk walk(rep.ns.inode);
  walk.list(initial != 0 && rep.ns.inode != initial, 0);
  // As show does: a second thread pays off only on a busy host.
  std::jthread more;
  if (walk.size() > 256) more = std::jthread([&] { walk.help(); });
  walk.help();
  if (more.joinable()) more.join();
  rep.pids = walk.pids();
  if (size_t n = walk.refused())
    rep.notes.push_back(fmt::format("not seen: {} {} whose /proc/PID/ns/net could not be read: {}", n,
                                    n == 1 ? "process" : "processes", ptrace_refusal_reason()));
  return rep;
}

}  // namespace

Result<PidsReport> build_pids(std::string_view ref, const PidsOptions& opts) {
  if (!opts.holders)
    if (auto parsed = parse_nsref(ref))
      if (auto direct = resolve_nsref_direct(*parsed); direct && *direct) return walk_report(std::move(**direct));
  // Everything else, errors included (the scan lists the candidates), goes through the scan.
  ScanOptions so;
  so.types = {NsType::net};
  so.bpf = opts.bpf;
  return pids_report(ref, scan_namespaces(so));
}

}  // namespace nscope
