#include "watch/watcher.h"

#include <poll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "bpfload/nsiter.h"
#include "discover/scan.h"
#include "util/fd.h"
#include "util/strings.h"
#include "watch/probe.h"

namespace nscope {
namespace {

int64_t clock_ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// How soon after a record the walk or scan it asks for runs, and how often at most: a burst
// of changes is read in one pass, and a churn of them costs a bounded share of a CPU.
constexpr int64_t kWalkDelay = 0;                // a device changed, namespaces died
constexpr int64_t kWalkGap = 5'000'000;
constexpr int64_t kScanDelay = 20'000'000;       // a mount changed, a process exited
constexpr int64_t kScanGap = 100'000'000;
constexpr int64_t kDrainGap = 2'000'000;         // records are read at most this often
constexpr int64_t kBackstop = 1'000'000'000;     // while busy, a scan at least this often
constexpr int64_t kBusyFor = 5'000'000'000;      // "busy": a record in the last 5 s

class Watcher {
 public:
  explicit Watcher(const WatcherOptions& o) : o_(o), state_(o.state) {}

  Result<WatcherStats> run() {
    bool others = std::any_of(o_.state.types.begin(), o_.state.types.end(),
                              [](NsType t) { return t != NsType::net; });
    auto probe = WatchProbe::open({.all_exits = others});
    if (!probe) return probe.error();
    probe_ = std::move(*probe);
    bool net = std::find(o_.state.types.begin(), o_.state.types.end(), NsType::net) != o_.state.types.end();
    auto full = KernelWalker::open({.files = true, .nets = net});
    if (!full) return full.error();
    full_ = std::move(*full);
    auto fast = KernelWalker::open({.tasks = false, .files = false, .nets = true});
    if (!fast) return fast.error();
    fast_ = std::move(*fast);
    timer_ = Fd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!timer_) return Error::sys(errno, "cannot create a timer");

    // Attached first, snapshot second: a change during the snapshot is in the ring, and is
    // told once (state knows what the snapshot showed).
    if (auto r = snapshot(); !r) return r.error();
    if (o_.on_ready) o_.on_ready(probe_->hooks());
    const int64_t start = clock_ns(CLOCK_MONOTONIC);
    const int64_t end = o_.duration_s > 0 ? start + static_cast<int64_t>(o_.duration_s * 1e9) : 0;

    while (!stop_) {
      int64_t now = clock_ns(CLOCK_MONOTONIC);
      if (end && now >= end) break;
      int64_t due = next_due(now);
      if (end) due = due ? std::min(due, end) : end;
      arm(due);
      pollfd fds[3] = {{probe_->fd(), POLLIN, 0}, {timer_.get(), POLLIN, 0}, {o_.stop_fd, POLLIN, 0}};
      int n = poll(fds, o_.stop_fd >= 0 ? 3 : 2, -1);
      if (n < 0 && errno != EINTR) return Error::sys(errno, "poll");
      if (o_.stop_fd >= 0 && (fds[2].revents & POLLIN)) break;
      if (fds[1].revents & POLLIN) {
        uint64_t ticks;
        (void)!read(timer_.get(), &ticks, sizeof ticks);
      }
      // The ring wakes us at each record: under a churn, read them in batches, a few
      // milliseconds apart, not one wakeup each.
      if (fds[0].revents & POLLIN) {
        int64_t gap = clock_ns(CLOCK_MONOTONIC) - last_drain_;
        if (gap < kDrainGap) {
          timespec ts{0, static_cast<long>(kDrainGap - gap)};
          nanosleep(&ts, nullptr);
        }
        last_drain_ = clock_ns(CLOCK_MONOTONIC);
      }
      if (auto r = read_records(); !r) return r.error();
      if (auto r = work(clock_ns(CLOCK_MONOTONIC)); !r) return r.error();
    }
    // What happened before the stop is told.
    if (!stop_) {
      if (auto r = read_records(); !r) return r.error();
    }
    stats_.lost = probe_->lost();
    return stats_;
  }

 private:
  void emit(WatchEvent e) {
    if (stop_) return;
    e.seq = ++seq_;
    // Records carry CLOCK_MONOTONIC (bpf_ktime_get_ns); the rest happened just now.
    int64_t real = clock_ns(CLOCK_REALTIME), mono = clock_ns(CLOCK_MONOTONIC);
    e.time_ns = e.time_ns ? e.time_ns + (real - mono) : real;
    stats_.events++;
    if (o_.on_event && !o_.on_event(e)) stop_ = true;
  }
  void emit_all(std::vector<WatchEvent> events) {
    for (auto& e : events) emit(std::move(e));
  }

  Result<void> snapshot() {
    KernelWalk walk;
    auto scan = full_scan(walk);
    if (!scan) return scan.error();
    state_.reset(*scan, walk);
    if (o_.snapshot && o_.on_snapshot) o_.on_snapshot(*scan, ++seq_, clock_ns(CLOCK_REALTIME));
    return {};
  }

  Result<ScanResult> full_scan(KernelWalk& walk) {
    ScanOptions so;
    so.types = o_.state.types;
    std::optional<Error> failed;
    so.walk = [&]() -> Result<KernelWalk> {
      auto w = full_->run();
      if (!w) {
        failed = w.error();
        return w.error();
      }
      walk = *w;
      return w;
    };
    ScanResult r = scan_namespaces(so);
    if (failed) return Error::msg("the kernel walk failed: " + failed->message);
    stats_.scans++;
    return r;
  }

  Result<void> read_records() {
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    std::function<void(const nscope_watch_rec&)> fn = [&](const nscope_watch_rec& r) {
      emit_all(state_.on_record(r));
      last_record_ = now;
      switch (r.kind) {
        case NSCOPE_WATCH_NETDEV:
          kickers_.insert({static_cast<int>(r.pid), from_fixed(r.comm)});
          want_walk(now + kWalkDelay);
          break;
        case NSCOPE_WATCH_NET_CLEANUP:
          want_walk(now);
          break;
        case NSCOPE_WATCH_MOUNT:
        case NSCOPE_WATCH_EXIT:
        case NSCOPE_WATCH_CLONE:
        case NSCOPE_WATCH_UNSHARE:
        case NSCOPE_WATCH_SETNS:
          want_scan(now + kScanDelay);
          break;
      }
    };
    if (auto r = probe_->drain(fn); !r) return r;
    if (uint64_t lost = probe_->lost(); lost > lost_told_) {
      WatchEvent e;
      e.kind = WatchEventKind::lost;
      e.count = lost - lost_told_;
      lost_told_ = lost;
      emit(std::move(e));
      // The consumer's picture is wrong now: a fresh one.
      if (auto r = snapshot(); !r) return r;
    }
    return {};
  }

  void want_walk(int64_t at) { walk_at_ = walk_at_ ? std::min(walk_at_, at) : at; }
  void want_scan(int64_t at) { scan_at_ = scan_at_ ? std::min(scan_at_, at) : at; }

  int64_t next_due(int64_t now) const {
    int64_t due = 0;
    auto take = [&](int64_t t) { due = due ? std::min(due, t) : t; };
    if (walk_at_) take(std::max(walk_at_, last_walk_ + kWalkGap));
    if (scan_at_) take(std::max(scan_at_, last_scan_ + kScanGap));
    if (last_record_ && now - last_record_ < kBusyFor) take(last_scan_ + kBackstop);
    if (probe_->devices_polled()) take(last_walk_ + kBackstop);  // no hook tells device changes
    return due;
  }

  void arm(int64_t due) {
    itimerspec its{};
    if (due) {
      int64_t now = clock_ns(CLOCK_MONOTONIC);
      int64_t in = std::max<int64_t>(due - now, 1);
      its.it_value.tv_sec = in / 1'000'000'000;
      its.it_value.tv_nsec = in % 1'000'000'000;
    }
    timerfd_settime(timer_.get(), 0, &its, nullptr);
  }

  Result<void> work(int64_t now) {
    bool busy = last_record_ && now - last_record_ < kBusyFor;
    bool scan = (scan_at_ && now >= scan_at_ && now >= last_scan_ + kScanGap) ||
                (busy && now >= last_scan_ + kBackstop);
    bool walk = (walk_at_ && now >= walk_at_ && now >= last_walk_ + kWalkGap) ||
                (probe_->devices_polled() && now >= last_walk_ + kBackstop);
    if (!scan && !walk) return {};
    std::optional<KernelWalk> walked;
    std::optional<ScanResult> scanned;
    const uint64_t since = state_.epoch();
    // What asked for this pass is served by it; what the records read after it ask for
    // (changes during the walk) makes the next.
    walk_at_ = 0;
    if (scan) scan_at_ = 0;
    if (scan) {
      walked.emplace();
      auto r = full_scan(*walked);
      if (!r) return r.error();
      scanned = std::move(*r);
    } else {
      auto w = fast_->run();
      if (!w) return w.error();
      stats_.walks++;
      walked = std::move(*w);
    }
    // What the kernel recorded up to the end of the walk is told first: a namespace the walk
    // found is then told as made by whoever made it, not as merely seen.
    if (auto r = read_records(); !r) return r;
    std::optional<WatchEvent> by;
    if (kickers_.size() == 1) {
      by.emplace();
      by->pid = kickers_.begin()->first;
      by->comm = kickers_.begin()->second;
    }
    kickers_.clear();
    auto walk_events = state_.on_walk(*walked, by ? &*by : nullptr, since, clock_ns(CLOCK_MONOTONIC));
    emit_all(std::move(walk_events));
    if (scanned) emit_all(state_.on_scan(*scanned, since));
    last_walk_ = clock_ns(CLOCK_MONOTONIC);
    if (scan) last_scan_ = last_walk_;
    if (int64_t at = state_.settle_at()) want_walk(at);
    return {};
  }

  const WatcherOptions& o_;
  WatchState state_;
  std::unique_ptr<WatchProbe> probe_;
  std::optional<KernelWalker> full_, fast_;
  Fd timer_;
  WatcherStats stats_;
  uint64_t seq_ = 0;
  uint64_t lost_told_ = 0;
  bool stop_ = false;
  int64_t walk_at_ = 0, scan_at_ = 0;  // when a walk / scan is wanted, 0: not
  int64_t last_walk_ = 0, last_scan_ = 0, last_record_ = 0, last_drain_ = 0;
  std::set<std::pair<int, std::string>> kickers_;  // who changed devices since the last walk
};

}  // namespace

Result<WatcherStats> run_watcher(const WatcherOptions& opts) { return Watcher(opts).run(); }

}  // namespace nscope
