#include "collect/session.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "collect/ksyms.h"
#include "collect/placement.h"
#include "collect/writer.h"
#include "util/diag.h"
#include "util/fd.h"

namespace nscope {
namespace {

int64_t mono_to_utc_ns() {
  timespec m{}, r{};
  clock_gettime(CLOCK_MONOTONIC, &m);
  clock_gettime(CLOCK_REALTIME, &r);
  return (static_cast<int64_t>(r.tv_sec) - m.tv_sec) * 1000000000 + (r.tv_nsec - m.tv_nsec);
}

std::string startup_line(const SessionOptions& o, int64_t offset) {
  utsname u{};
  uname(&u);
  std::string s = "{\"startup\":{\"nscope_version\":";
  json_escape(NSCOPE_VERSION, s);
  s += ",\"cmdline\":";
  json_escape(o.cmdline, s);
  s += ",\"kernel\":";
  json_escape(u.release, s);
  int64_t sec = offset / 1000000000, nsec = offset % 1000000000;
  fmt::format_to(std::back_inserter(s), ",\"clock_monotonic_offset\":{{\"sec\":{},\"nsec\":{}}}",
                 sec, nsec);
  s += ",\"probes\":[";
  for (size_t i = 0; i < o.collector.probes.size(); ++i) {
    if (i) s += ',';
    json_escape(o.collector.probes[i].spec(), s);
  }
  s += "],\"netns_names\":{";
  if (o.text.names) {
    bool first = true;
    for (const auto& [inum, name] : *o.text.names) {
      if (!first) s += ',';
      first = false;
      s += '"' + std::to_string(inum) + "\":";
      json_escape(name, s);
    }
  }
  s += '}';
  if (o.initial_netns) s += ",\"initial_netns\":" + std::to_string(o.initial_netns);
  s += "}}";
  return s;
}

uint64_t sum(const std::vector<std::vector<uint64_t>>& v) {
  uint64_t t = 0;
  for (auto& row : v)
    for (auto x : row) t += x;
  return t;
}

std::string stats_line(const SessionOptions& o, uint64_t events,
                       const std::vector<std::vector<uint64_t>>& lost, const SessionSummary& sm) {
  std::string s = fmt::format("{{\"stats\":{{\"events\":{},\"lost\":{},\"tracking\":{{"
                              "\"aged_out\":{},\"refused\":{}}},\"lost_by_probe\":{{",
                              events, sum(lost), sm.tracking_aged, sm.tracking_refused);
  bool first = true;
  for (size_t i = 0; i < lost.size(); ++i) {
    uint64_t t = 0;
    for (auto x : lost[i]) t += x;
    if (!t) continue;
    if (!first) s += ',';
    first = false;
    json_escape(o.collector.probes[i].spec(), s);
    s += ":{";
    bool f2 = true;
    for (size_t cpu = 0; cpu < lost[i].size(); ++cpu) {
      if (!lost[i][cpu]) continue;
      fmt::format_to(std::back_inserter(s), "{}\"{}\":{}", f2 ? "" : ",", cpu, lost[i][cpu]);
      f2 = false;
    }
    s += '}';
  }
  s += "}}}";
  return s;
}

}  // namespace

Result<SessionSummary> run_collect(const SessionOptions& o) {
  if (o.names_by_address)
    if (auto k = KernelSymbols::load(); !k) return k.error();
  Fd out;
  if (!o.out_path.empty()) {
    out.reset(::open(o.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out) return Error::sys(errno, "cannot open " + o.out_path);
  }

  // Signals arrive through a signalfd: block them here, before any thread starts, so every
  // thread inherits the mask and none is interrupted mid-write.
  sigset_t mask, old;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &mask, &old);
  struct RestoreMask {
    sigset_t m;
    ~RestoreMask() { pthread_sigmask(SIG_SETMASK, &m, nullptr); }
  } restore{old};
  signal(SIGPIPE, SIG_IGN);
  Fd sfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) return Error::sys(errno, "signalfd");

  int64_t offset = mono_to_utc_ns();
  WriterOptions wo;
  wo.text_fd = o.print ? STDOUT_FILENO : -1;
  wo.json_fd = out.get();
  wo.json_path = o.out_path;
  wo.text = o.text;
  wo.text.mono_to_utc_ns = offset;
  wo.decode.collectors = o.collector.collectors;
  SymbolTable reason_names;
  if (o.drop_reasons)
    wo.decode.drop_reason = [&](uint32_t v) { return reason_names.intern(o.drop_reasons->name(v)); };
  AddressNames addrs;
  if (o.names_by_address) {
    wo.decode.function_at = [&](uint64_t ip) { return addrs.function_at(ip); };
    wo.decode.stack = [&](const uint64_t* ips, uint32_t n) { return addrs.stack(ips, n); };
  }
  std::vector<std::string> symbols;
  for (auto& p : o.collector.probes) symbols.push_back(p.by_address() ? "" : p.symbol());
  for (auto& s : symbols) wo.decode.slot_symbols.push_back(s);
  for (auto& p : o.collector.probes) wo.decode.slot_types.push_back(p.probe_type());
  EventWriter writer(wo);
  writer.write_json_line(startup_line(o, offset));

  uint64_t n = 0;
  bool count_reached = false;
  // Events per CPU, for keeping this process's threads off the CPUs the traffic runs on.
  std::vector<uint64_t> per_cpu(static_cast<size_t>(std::max(1L, sysconf(_SC_NPROCESSORS_CONF))));
  Placement placement;
  placement.add_thread(pthread_self());
  placement.add_thread(writer.thread_handle());
  auto collector = Collector::start(o.collector, [&](const void* rec, size_t size) {
    if (o.count && n >= o.count) {
      count_reached = true;
      return false;
    }
    uint32_t cpu = static_cast<const nscope_event*>(rec)->cpu;
    if (cpu < per_cpu.size()) ++per_cpu[cpu];
    writer.push(rec, size);
    ++n;
    if (o.count && n >= o.count) count_reached = true;
    return true;
  });
  if (!collector) {
    writer.close("");
    return collector.error();
  }
  Collector& c = *collector.value();
  for (const auto& why : c.skipped()) diag("left out {}", why);
  diag("{} probe{} attached{}; Ctrl-C to stop", o.collector.probes.size(),
             o.collector.probes.size() == 1 ? "" : "s",
             c.kprobe_multi() ? " (kprobes through kprobe-multi)" : "");

  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  enum : uint64_t { kRing = 1, kSignal = 2, kChild = 3 };
  watch(c.epoll_fd(), kRing);
  watch(sfd.get(), kSignal);

  pid_t child = -1;
  Fd pidfd;
  if (!o.cmd.empty()) {
    child = fork();
    if (child == 0) {
      setpgid(0, 0);  // its own group: stopping it stops everything it started
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      signal(SIGPIPE, SIG_DFL);
      execl("/bin/sh", "sh", "-c", o.cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (child < 0) return Error::sys(errno, fmt::format("cannot start '{}'", o.cmd));
    pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, child, 0)));
    if (pidfd) watch(pidfd.get(), kChild);
  }

  SessionSummary sum_;
  auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  uint64_t reported_lost = 0;
  unsigned ticks = 0;
  // The ring is read every 10 ms while events come (the BPF side wakes us only once a
  // batch waits). When a filter lets nothing through, a tenth of those wakeups is plenty:
  // each one costs the traced traffic a context switch. Signals and the command's exit wake
  // us at once either way.
  unsigned empty_polls = 0;
  while (true) {
    epoll_event evs[4];
    int k = epoll_wait(ep.get(), evs, 4, empty_polls >= 10 ? 100 : 10);
    bool stop = false;
    for (int i = 0; i < k; ++i) {
      if (evs[i].data.u64 == kSignal) {
        signalfd_siginfo si;
        while (read(sfd.get(), &si, sizeof si) == sizeof si) {}
        sum_.stop_reason = "signal";
        stop = true;
      } else if (evs[i].data.u64 == kChild) {
        sum_.stop_reason = "command exited";
        stop = true;
      }
    }
    if (auto r = c.consume(); !r) {
      sum_.write_error = r.error().message;
      stop = true;
    } else {
      empty_polls = *r > 0 ? 0 : empty_polls + 1;
    }
    writer.flush();
    if (count_reached) {
      sum_.stop_reason = "count";
      stop = true;
    }
    if (writer.failed()) {
      sum_.stop_reason = "write error";
      stop = true;
    }
    auto now = std::chrono::steady_clock::now();
    if (o.duration_s > 0 && std::chrono::duration<double>(now - start).count() >= o.duration_s) {
      sum_.stop_reason = "duration";
      stop = true;
    }
    if (now - last_report >= std::chrono::seconds(1)) {
      last_report = now;
      placement.update(per_cpu);
      std::fill(per_cpu.begin(), per_cpu.end(), 0);
      // The age-out walks the whole tracking map with syscalls: every 5 s is enough for a
      // 10 s age, and keeps it off a flood's critical path.
      if ((o.collector.collectors & NSCOPE_COLLECT_TRACK) && ++ticks % 5 == 0)
        sum_.tracking_aged += c.age_out_tracking(o.tracking_max_age_ns);
      uint64_t l = sum(c.lost());
      if (l > reported_lost) {
        if (o.on_lost) o.on_lost(l);
        else diag("{} events lost so far: the ring buffer was full", l);
        reported_lost = l;
      }
    }
    if (stop) break;
  }

  // Detach first, then drain: nothing new arrives, nothing captured is left behind.
  c.detach();
  if (!count_reached) (void)c.consume();
  auto lost = c.lost();
  sum_.lost = sum(lost);
  sum_.tracking_refused = c.tracking_refused();
  writer.close(stats_line(o, n, lost, sum_));
  sum_.events = writer.written();
  if (writer.failed()) {
    sum_.write_error = writer.error();
    if (sum_.stop_reason.empty()) sum_.stop_reason = "write error";
  }
  if (child > 0) {
    bool exited = sum_.stop_reason == "command exited";
    if (!exited) kill(-child, SIGTERM);
    int status = 0;
    if (waitpid(child, &status, 0) == child && exited)
      sum_.command_status = WIFEXITED(status) ? WEXITSTATUS(status)
                            : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                                  : -1;
    kill(-child, SIGTERM);  // what the command left running in its group
  }
  return sum_;
}

}  // namespace nscope
