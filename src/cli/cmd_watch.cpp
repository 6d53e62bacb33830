// `nscope watch`: the inventory, then every change to the host's namespaces as it happens.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/scan_notes.h"
#include "cli/units.h"
#include "discover/nsref.h"
#include "discover/scan.h"
#include "render/list.h"
#include "render/watch.h"
#include "util/diag.h"
#include "util/fd.h"
#include "util/strings.h"
#include "watch/watcher.h"

namespace nscope::cli {

namespace {
struct WatchArgs {
  std::string types = "net";
  bool json = false;
  bool no_snapshot = false;
  bool utc = false;
  std::vector<std::string> netns;
  std::string duration;
};

// Writes a line and flushes it (a consumer reads each event as it comes); false once the
// output is gone (EPIPE: `| head`).
bool put_line(const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fputc('\n', stdout) == EOF ||
      std::fflush(stdout) != 0) {
    if (errno == EPIPE) std::clearerr(stdout);  // the reader left: watch ends quietly
    return false;
  }
  return true;
}

int run_watch(const WatchArgs& a) {
  std::string bad;
  auto types = parse_ns_types(a.types, &bad);
  if (!types)
    throw UsageError(fmt::format("unknown namespace type '{}'; valid types: {}, or all", bad,
                                 all_ns_type_names()));
  if (geteuid() != 0)
    fail(Error::msg("watch needs root: it loads BPF programs on tracepoints (CAP_BPF, CAP_PERFMON, "
                    "CAP_SYS_ADMIN); run it with sudo"));

  WatcherOptions o;
  o.state.types = *types;
  if (!a.netns.empty()) {
    std::optional<ScanResult> scan;
    for (const auto& text : a.netns) {
      for (const auto& word : split(text, ',')) {
        if (word.empty()) continue;
        auto ref = parse_nsref(word);
        if (!ref) throw UsageError("--netns: " + ref.error().message);
        auto r = resolve_nsref_lazily(*ref, [&]() -> const ScanResult& {
          if (!scan) scan = scan_namespaces({});
          return *scan;
        });
        if (!r) throw UsageError("--netns " + std::string(word) + ": " + r.error().message);
        o.state.netns.insert(r->ns.inode);
      }
    }
  }
  o.snapshot = !a.no_snapshot;
  o.duration_s = a.duration.empty() ? 0 : static_cast<double>(*time_ns(a.duration)) / 1e9;

  // SIGINT/SIGTERM through a signalfd: the loop stops, the programs are detached on return.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Fd sfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) fail(Error::sys(errno, "signalfd"));
  o.stop_fd = sfd.get();

  o.on_snapshot = [&](const ScanResult& r, uint64_t seq, int64_t time_ns) {
    if (a.json) {
      put_line(watch_snapshot_json(r, seq, time_ns).dump());
      return;
    }
    put_line(fmt::format("# snapshot #{} at {}: {} namespaces", seq, rfc3339_ns(time_ns), r.namespaces.size()));
    render_list_table(r, default_list_columns(), true, std::cout);
    std::cout.flush();
    print_scan_notes(r.notes, r.skipped);
  };
  o.on_event = [&](const WatchEvent& e) {
    return put_line(a.json ? watch_event_json(e).dump() : watch_event_text(e, a.utc));
  };
  o.on_ready = [&](const std::vector<std::string>& hooks) {
    std::string list;
    for (const auto& h : hooks) list += (list.empty() ? "" : ", ") + h;
    diag("watching {} (tracepoints: {})", a.types, list);
  };
  auto stats = run_watcher(o);
  if (!stats) fail(stats.error());
  if (stats->lost) diag("{} changes were lost by the kernel side (each told as a lost event)", stats->lost);
  diag("watch ended: {} events told; {} walks of the namespaces and {} full scans", stats->events, stats->walks,
       stats->scans);
  return 0;
}
}  // namespace

Runner register_watch(CLI::App& app) {
  auto a = std::make_shared<WatchArgs>();
  auto* w = app.add_subcommand("watch", "Every namespace's life as a live stream: the inventory, then each change");
  w->add_option("-t,--type", a->types, "Types: net,mnt,pid,uts,ipc,user,cgroup,time or all")
      ->capture_default_str();
  w->add_flag("-J,--json", a->json, "One JSON object per line");
  w->add_flag("--no-snapshot", a->no_snapshot, "Changes only, no inventory first");
  w->add_option("--netns", a->netns, "Only events about these network namespaces (NSREF,...)");
  w->add_option("--duration", a->duration, "Stop after this long (10s, 500ms, 2m)")
      ->check(time_check("10s"));
  w->add_flag("--utc", a->utc, "Times in UTC, not local time");
  return [a, w]() { return w->parsed() ? run_watch(*a) : -1; };
}

}  // namespace nscope::cli
