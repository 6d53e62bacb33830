#include "collect/session.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
#include <deque>
#include <mutex>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collect/ksyms.h"
#include "collect/placement.h"
#include "collect/writer.h"
#include "util/cpus.h"
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

// The event file's first and last lines, written once a run: built as JSON values (off the
// hot path; the events themselves are formatted in place by the writer). Keys keep the order
// they have always had, and text that is not UTF-8 is replaced rather than refused.
std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string startup_line(const SessionOptions& o, int64_t offset) {
  utsname u{};
  uname(&u);
  nlohmann::ordered_json st;
  st["nscope_version"] = NSCOPE_VERSION;
  st["cmdline"] = o.cmdline;
  st["kernel"] = u.release;
  st["clock_monotonic_offset"] = {{"sec", offset / 1000000000}, {"nsec", offset % 1000000000}};
  auto& probes = st["probes"] = nlohmann::ordered_json::array();
  for (const auto& p : o.collector.probes) probes.push_back(p.spec());
  auto& names = st["netns_names"] = nlohmann::ordered_json::object();
  if (o.text.names)
    for (const auto& [inum, name] : *o.text.names) names[std::to_string(inum)] = name;
  if (o.initial_netns) st["initial_netns"] = o.initial_netns;
  return dump({{"startup", std::move(st)}});
}

uint64_t sum(const std::vector<uint64_t>& row) {
  uint64_t t = 0;
  for (auto x : row) t += x;
  return t;
}

uint64_t sum(const std::vector<std::vector<uint64_t>>& v) {
  uint64_t t = 0;
  for (auto& row : v) t += sum(row);
  return t;
}

std::string stats_line(const SessionOptions& o, uint64_t events,
                       const std::vector<std::vector<uint64_t>>& lost, const SessionSummary& sm) {
  nlohmann::ordered_json st;
  st["events"] = events + sm.nft_stats.written;
  st["lost"] = sum(lost);
  st["tracking"] = {{"aged_out", sm.tracking_aged}, {"refused", sm.tracking_refused}};
  auto& by_probe = st["lost_by_probe"] = nlohmann::ordered_json::object();
  for (size_t i = 0; i < lost.size(); ++i) {
    if (!sum(lost[i])) continue;
    auto& cpus = by_probe[o.collector.probes[i].spec()] = nlohmann::ordered_json::object();
    for (size_t cpu = 0; cpu < lost[i].size(); ++cpu)
      if (lost[i][cpu]) cpus[std::to_string(cpu)] = lost[i][cpu];
  }
  if (sm.nft) {
    const NftStats& n = sm.nft_stats;
    // lost: trace messages the kernel dropped (the sockets' own count); overruns: ENOBUFS
    // reports, which NETLINK_NO_ENOBUFS keeps at 0 where the kernel honours it.
    st["nft"] = {{"traces", n.traces}, {"joined", n.joined}, {"written", n.written},
                 {"lost", n.lost},     {"overruns", n.overruns}, {"malformed", n.bad}};
  }
  return dump({{"stats", std::move(st)}});
}

// One ring reader: its thread, its formatting (with the names it interns) and its counts.
struct RingReader {
  explicit RingReader(LazyKernelSymbols& ksyms) : addrs(ksyms) {}
  SymbolTable reason_names;
  AddressNames addrs;
  std::optional<EventFormatter> fmt;
  // Events per CPU of this reader (by position in its CPUs), for Placement: written by the
  // reader only, read by the poll thread.
  std::vector<int> cpus;
  std::unique_ptr<std::atomic<uint64_t>[]> per_cpu;
  uint64_t events = 0;  // read once the thread is joined
  std::thread thread;
};

// One run, its phases in order: open the output, block the signals, start the writer, the
// collector and a thread for each of its readers, start the command, wait until something
// says stop, then finish (detach, let the readers drain, stats, reap the command). Members
// are declared in the order they must be built: what the writer and the readers refer to
// comes first, so it is destroyed last.
class Session {
 public:
  explicit Session(const SessionOptions& o) : o_(o) {}
  ~Session() {
    stop_readers();
    if (signals_blocked_) pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Result<SessionSummary> run();

 private:
  Result<void> open_output();
  Result<void> block_signals();
  void start_writer();
  Result<void> start_collector();
  void start_readers();
  void read_rings(RingReader& r, size_t index);
  bool on_record(size_t reader, const void* rec, size_t size);
  void wake();
  Result<void> start_command();
  void wait();
  bool wait_once();
  void once_a_second();
  void stop_readers();
  void finish();
  void reap_command();

  const SessionOptions& o_;
  SessionSummary sum_;
  Fd out_;
  cpu_set_t start_affinity_{};  // what --cmd gets back: nscope's own placement is not its
  sigset_t old_mask_{};
  bool signals_blocked_ = false;
  Fd signals_;
  Fd wake_;  // an eventfd the readers write to: --count reached, or a read failed
  LazyKernelSymbols ksyms_;
  int64_t mono_offset_ = 0;
  std::vector<std::string> symbols_;
  std::optional<EventWriter> writer_;
  // -c nft: declared after the writer its thread writes to, so it stops first.
  std::unique_ptr<NftTracer> nft_;
  uint64_t reported_nft_lost_ = 0;
  std::deque<RingReader> readers_;
  std::atomic<uint64_t> counted_{0};  // with --count: records taken, over all readers
  std::atomic<bool> count_reached_{false}, stop_{false};
  std::mutex read_error_mu_;
  std::string read_error_;
  std::optional<Placement> placement_;
  std::vector<uint64_t> last_per_cpu_;
  std::unique_ptr<Collector> collector_;
  Fd epoll_;
  pid_t child_ = -1;
  Fd pidfd_;
  // The wait loop's clock.
  std::chrono::steady_clock::time_point start_, last_report_;
  uint64_t reported_lost_ = 0;
  unsigned ticks_ = 0;
};

enum : uint64_t { kWake = 1, kSignal = 2, kChild = 3, kStop = 4 };  // what woke the wait

Result<SessionSummary> Session::run() {
  sched_getaffinity(0, sizeof start_affinity_, &start_affinity_);
  if (o_.names_by_address)
    if (auto k = KernelSymbols::load(); !k) return k.error();
  if (auto r = open_output(); !r) return r.error();
  if (auto r = block_signals(); !r) return r.error();
  start_writer();
  if (o_.nft_kprobe) {
    auto t = NftTracer::start_switch();
    if (!t) {
      writer_->close("");
      return t.error();
    }
    nft_ = std::move(*t);
    diag("nft: kprobe on __nft_trace_packet; table inet {} (a chain with no hook: it turns "
         "nf_tables' tracing on and marks no packet) added in nscope's network namespace; "
         "removed on exit",
         nft_trace_table_name(getpid()));
  } else if (!o_.nft_targets.empty()) {
    auto t = NftTracer::start(o_.nft_targets);
    if (!t) {
      writer_->close("");
      return t.error();
    }
    nft_ = std::move(*t);
    diag("nft: nf_tables' tracing (no kprobe: {}); table inet {} added in {} network "
         "namespace{}; removed on exit",
         o_.nft_netlink_why, nft_trace_table_name(getpid()), nft_->namespaces(),
         nft_->namespaces() == 1 ? "" : "s");
  }
  if (!o_.ovs_kprobes_why.empty())
    diag("ovs: kprobes on ovs_dp_upcall and do_execute_actions ({}): an execution event per "
         "action list, for its first action",
         o_.ovs_kprobes_why);
  if (auto r = start_collector(); !r) {
    writer_->close("");
    return r.error();
  }
  for (const auto& why : collector_->skipped()) diag("left out {}", why);
  diag("{} probe{} attached{} ({} ring buffer{} of {} MiB, {} reader{}){}",
       o_.collector.probes.size(), o_.collector.probes.size() == 1 ? "" : "s",
       collector_->kprobe_multi() ? " (kprobes through kprobe-multi)" : "", collector_->rings(),
       collector_->rings() == 1 ? "" : "s", collector_->ring_bytes() >> 20, collector_->readers(),
       collector_->readers() == 1 ? "" : "s", o_.own_signals ? "; Ctrl-C to stop" : "");
  start_readers();
  if (o_.on_started) o_.on_started();
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  watch(wake_.get(), kWake);
  if (signals_) watch(signals_.get(), kSignal);
  if (o_.stop_fd >= 0) watch(o_.stop_fd, kStop);
  if (auto r = start_command(); !r) {
    stop_readers();
    return r.error();
  }
  if (pidfd_) watch(pidfd_.get(), kChild);
  wait();
  finish();
  return sum_;
}

Result<void> Session::open_output() {
  if (o_.out_path.empty()) return {};
  out_ = open_private_output(o_.out_path, O_TRUNC);
  if (!out_) return Error::sys(errno, "cannot open " + o_.out_path);
  return {};
}

// Signals arrive through a signalfd: blocked here, before any thread starts, so every thread
// inherits the mask and none is interrupted mid-write.
Result<void> Session::block_signals() {
  wake_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) return Error::sys(errno, "eventfd");
  if (!o_.own_signals) return {};
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &mask, &old_mask_);
  signals_blocked_ = true;
  signal(SIGPIPE, SIG_IGN);
  signals_.reset(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals_) return Error::sys(errno, "signalfd");
  return {};
}

void Session::start_writer() {
  mono_offset_ = mono_to_utc_ns();
  WriterOptions wo;
  wo.text_fd = o_.print ? STDOUT_FILENO : -1;
  wo.json_fd = out_.get();
  wo.json_path = o_.out_path;
  wo.json_sink = o_.json_sink;
  wo.json_thin = o_.json_thin;
  wo.max_queued = o_.max_queued_batches;
  for (auto& p : o_.collector.probes) symbols_.push_back(p.by_address() ? "" : p.symbol());
  writer_.emplace(wo);
  writer_->write_json_line(startup_line(o_, mono_offset_));
}

Result<void> Session::start_collector() {
  placement_.emplace(o_.cpus);
  placement_->add_thread(pthread_self());
  pthread_setname_np(writer_->thread_handle(), "nscope-write");
  placement_->add_thread(writer_->thread_handle());
  CollectorConfig cfg = o_.collector;
  if (!cfg.readers)
    cfg.readers = default_readers(cfg.shared_ring ? 1 : online_cpus().size(), placement_->current().size());
  auto c = Collector::start(cfg, [this](size_t reader, const void* rec, size_t size) {
    return on_record(reader, rec, size);
  });
  if (!c) return c.error();
  collector_ = std::move(*c);
  return {};
}

// A thread per reader, each with its own formatting: what it decodes by name (drop reasons,
// functions, stacks) it interns itself; kallsyms is read once for all.
void Session::start_readers() {
  int ncpus = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_CONF)));
  last_per_cpu_.assign(static_cast<size_t>(ncpus), 0);
  for (size_t i = 0; i < collector_->readers(); ++i) {
    RingReader& r = readers_.emplace_back(ksyms_);
    DecodeContext dc;
    dc.collectors = o_.collector.collectors;
    if (o_.drop_reasons)
      dc.drop_reason = [this, &r](uint32_t v) { return r.reason_names.intern(o_.drop_reasons->name(v)); };
    if (o_.names_by_address) {
      dc.function_at = [&r](uint64_t ip) { return r.addrs.function_at(ip); };
      dc.stack = [&r](const uint64_t* ips, uint32_t n) { return r.addrs.stack(ips, n); };
    }
    if (o_.ovs_actions)
      for (const auto& a : *o_.ovs_actions) dc.ovs_actions.push_back(a);
    for (auto& s : symbols_) dc.slot_symbols.push_back(s);
    dc.intern = [&r](std::string_view s) { return r.reason_names.intern(s); };
    for (auto& p : o_.collector.probes) dc.slot_types.push_back(p.probe_type());
    TextOptions text = o_.text;
    text.mono_to_utc_ns = mono_offset_;
    r.fmt.emplace(*writer_, text, std::move(dc));
    if (nft_ && !o_.nft_kprobe) r.fmt->observe([j = &nft_->joiner()](const Event& e) { j->note(e); });
    r.cpus = collector_->reader_cpus(i);
    // At least a cache line each, so readers never write the same one.
    r.per_cpu = std::make_unique<std::atomic<uint64_t>[]>(std::max<size_t>(r.cpus.size(), 8));
  }
  for (size_t i = 0; i < readers_.size(); ++i) {
    readers_[i].thread = std::thread([this, i] { read_rings(readers_[i], i); });
    // As `top -H` shows them.
    pthread_setname_np(readers_[i].thread.native_handle(), fmt::format("nscope-read{}", i).c_str());
    placement_->add_thread(readers_[i].thread.native_handle());
  }
  if (nft_ && !o_.nft_kprobe) {
    TextOptions text = o_.text;
    text.mono_to_utc_ns = mono_offset_;
    nft_->run(*writer_, text, o_.nft_joined_only);
  }
}

// A reader's thread. Its rings are read every 10 ms while events come (the BPF side wakes it
// only once a batch waits). When a filter lets nothing through, a tenth of those wakeups is
// plenty: each one costs the traced traffic a context switch. Once told to stop (after the
// programs are detached) it reads what is left, unless --count is reached.
void Session::read_rings(RingReader& r, size_t index) {
  int fd = collector_->epoll_fd(index);
  unsigned empty_polls = 0;
  for (bool last = false; !last;) {
    last = stop_.load();
    if (!last) {
      epoll_event ev;
      epoll_wait(fd, &ev, 1, empty_polls >= 10 ? 100 : 10);
    }
    if (count_reached_.load()) break;
    auto n = collector_->consume(index);
    if (!n) {
      std::lock_guard lk(read_error_mu_);
      read_error_ = n.error().message;
      wake();
      break;
    }
    empty_polls = *n > 0 ? 0 : empty_polls + 1;
    r.fmt->flush();
  }
  r.fmt->hand_over();
}

// The collector's sink, for every record, on the thread of the reader that read it.
bool Session::on_record(size_t reader, const void* rec, size_t size) {
  if (o_.count) {
    uint64_t k = counted_.fetch_add(1, std::memory_order_relaxed);
    if (k >= o_.count) return false;
    if (k + 1 == o_.count) {
      count_reached_ = true;
      wake();
    }
  }
  RingReader& r = readers_[reader];
  uint32_t cpu = static_cast<const nscope_event*>(rec)->cpu;
  auto at = std::lower_bound(r.cpus.begin(), r.cpus.end(), static_cast<int>(cpu));
  if (at != r.cpus.end() && *at == static_cast<int>(cpu)) {
    auto& c = r.per_cpu[static_cast<size_t>(at - r.cpus.begin())];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  r.fmt->push(rec, size);
  ++r.events;
  return true;
}

void Session::wake() {
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

Result<void> Session::start_command() {
  if (o_.cmd.empty()) return {};
  child_ = fork();
  if (child_ == 0) {
    setpgid(0, 0);  // its own group: stopping it stops everything it started
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    sched_setaffinity(0, sizeof start_affinity_, &start_affinity_);
    signal(SIGPIPE, SIG_DFL);
    execl("/bin/sh", "sh", "-c", o_.cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (child_ < 0) return Error::sys(errno, fmt::format("cannot start '{}'", o_.cmd));
  pidfd_.reset(static_cast<int>(syscall(SYS_pidfd_open, child_, 0)));
  return {};
}

void Session::wait() {
  start_ = last_report_ = std::chrono::steady_clock::now();
  while (!wait_once()) {}
}

// One wait and what follows it; true when the run must stop. Signals, the command's exit,
// --count and a failed read wake it at once; --duration and the writer's failure are checked
// at least every 50 ms.
bool Session::wait_once() {
  epoll_event evs[4];
  int k = epoll_wait(epoll_.get(), evs, 4, 50);
  bool stop = false;
  for (int i = 0; i < k; ++i) {
    if (evs[i].data.u64 == kSignal) {
      signalfd_siginfo si;
      while (read(signals_.get(), &si, sizeof si) == sizeof si) {}
      sum_.stop_reason = "signal";
      stop = true;
    } else if (evs[i].data.u64 == kStop) {
      sum_.stop_reason = "stopped";
      stop = true;
    } else if (evs[i].data.u64 == kChild) {
      sum_.stop_reason = "command exited";
      stop = true;
    } else if (evs[i].data.u64 == kWake) {
      uint64_t n;
      (void)!::read(wake_.get(), &n, sizeof n);
    }
  }
  {
    std::lock_guard lk(read_error_mu_);
    if (!read_error_.empty()) {
      sum_.write_error = read_error_;
      stop = true;
    }
  }
  if (count_reached_) {
    sum_.stop_reason = "count";
    stop = true;
  }
  if (writer_->failed()) {
    sum_.stop_reason = "write error";
    stop = true;
  }
  auto now = std::chrono::steady_clock::now();
  if (o_.duration_s > 0 && std::chrono::duration<double>(now - start_).count() >= o_.duration_s) {
    sum_.stop_reason = "duration";
    stop = true;
  }
  if (now - last_report_ >= std::chrono::seconds(1)) {
    last_report_ = now;
    once_a_second();
  }
  return stop;
}

void Session::once_a_second() {
  std::vector<uint64_t> delta(last_per_cpu_.size(), 0);
  for (const RingReader& r : readers_)
    for (size_t i = 0; i < r.cpus.size(); ++i) {
      auto cpu = static_cast<size_t>(r.cpus[i]);
      if (cpu >= delta.size()) continue;
      uint64_t now = r.per_cpu[i].load(std::memory_order_relaxed);
      delta[cpu] = now - last_per_cpu_[cpu];
      last_per_cpu_[cpu] = now;
    }
  placement_->update(delta);
  // The age-out walks the whole tracking map with syscalls: every 5 s is enough for a 10 s
  // age, and keeps it off a flood's critical path.
  if ((o_.collector.collectors & NSCOPE_COLLECT_TRACK) && ++ticks_ % 5 == 0)
    sum_.tracking_aged += collector_->age_out_tracking(o_.tracking_max_age_ns);
  if (nft_ && !o_.nft_kprobe) {
    uint64_t o = nft_->stats().lost;
    if (o > reported_nft_lost_)
      diag("nft: {} trace message{} lost so far: the netlink socket's buffer was full", o,
           o == 1 ? "" : "s");
    reported_nft_lost_ = o;
  }
  uint64_t l = sum(collector_->lost());
  if (l > reported_lost_) {
    if (o_.on_lost) o_.on_lost(l);
    else diag("{} events lost so far: the ring buffer was full", l);
    reported_lost_ = l;
  }
}

// Tells the readers to stop once they have read what is left, and waits for them.
void Session::stop_readers() {
  stop_ = true;
  for (RingReader& r : readers_)
    if (r.thread.joinable()) r.thread.join();
}

// Detach first, then drain: nothing new arrives, nothing captured is left behind.
void Session::finish() {
  collector_->detach();
  stop_readers();
  if (nft_) {
    nft_->stop();  // every trace read is written, the tables are removed
    sum_.nft = !o_.nft_kprobe;  // the kprobe's events and losses are the rings'
    sum_.nft_stats = nft_->stats();
  }
  uint64_t events = 0;
  for (const RingReader& r : readers_) events += r.events;
  auto lost = collector_->lost();
  sum_.lost = sum(lost);
  sum_.tracking_refused = collector_->tracking_refused();
  writer_->close(stats_line(o_, events, lost, sum_));
  sum_.events = writer_->written();
  if (writer_->failed()) {
    sum_.write_error = writer_->error();
    if (sum_.stop_reason.empty()) sum_.stop_reason = "write error";
  }
  reap_command();
}

void Session::reap_command() {
  if (child_ <= 0) return;
  bool exited = sum_.stop_reason == "command exited";
  if (!exited) kill(-child_, SIGTERM);
  int status = 0;
  if (waitpid(child_, &status, 0) == child_ && exited)
    sum_.command_status = WIFEXITED(status)     ? WEXITSTATUS(status)
                          : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                                : -1;
  kill(-child_, SIGTERM);  // what the command left running in its group
}

}  // namespace

SessionOptions session_options_from(const Plan& plan) {
  SessionOptions so;
  so.collector.collectors = plan.collectors;
  so.collector.probes = plan.probes;
  so.collector.filters = plan.filters;
  so.text.names = &plan.netns_names;
  so.initial_netns = plan.initial_netns;
  so.drop_reasons = &plan.drop_reasons;
  so.ovs_actions = &plan.ovs_actions;
  so.names_by_address = plan.names_by_address;
  so.nft_targets = plan.nft_targets;
  so.nft_kprobe = plan.nft_kprobe;
  so.nft_netlink_why = plan.nft_kprobe_why_not;
  so.ovs_kprobes_why = plan.ovs_kprobes_why;
  return so;
}

// Errors are setup failures (load, attach, open file); once running it always detaches and
// flushes before returning.
Result<SessionSummary> run_collect(const SessionOptions& o) {
  Session s(o);
  return s.run();
}

}  // namespace nscope
