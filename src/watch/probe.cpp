#include "watch/probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "bpfload/libbpf_log.h"
#include "collect/ksyms.h"
#include "discover/nstypes.h"
#include "exec/enter.h"
#include "watch.skel.h"

namespace nscope {
namespace {

// The inode of the initial namespace of slot `s` (kthreadd's), 0 when unreadable.
uint32_t initial_inode(int slot) {
  struct stat st {};
  std::string p = "/proc/2/ns/" + std::string(slot_link_name(slot));
  return stat(p.c_str(), &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
}

bool tracefs_here() {
  return access("/sys/kernel/tracing/events/syscalls", F_OK) == 0 ||
         access("/sys/kernel/debug/tracing/events/syscalls", F_OK) == 0;
}

}  // namespace

struct WatchProbe::Impl {
  watch* skel = nullptr;
  std::vector<bpf_link*> links;
  ring_buffer* rb = nullptr;
  const std::function<void(const nscope_watch_rec&)>* fn = nullptr;

  ~Impl() {
    if (rb) ring_buffer__free(rb);
    for (auto* l : links) bpf_link__destroy(l);
    if (skel) watch__destroy(skel);
  }
};

WatchProbe::~WatchProbe() = default;

Result<std::unique_ptr<WatchProbe>> WatchProbe::open(const WatchProbeOptions& opts) {
  std::unique_ptr<WatchProbe> p(new WatchProbe());
  p->impl_ = std::make_unique<Impl>();
  Impl& m = *p->impl_;
  m.skel = watch__open();
  if (!m.skel) return libbpf_error(errno, "cannot open the watch BPF programs");

  auto& cfg = const_cast<nscope_watch_cfg&>(m.skel->rodata->cfg);
  if (auto ks = KernelSymbols::load()) {
    cfg.rtnetlink_event = ks->address_of("rtnetlink_event");
    cfg.cleanup_net = ks->address_of("cleanup_net");
  }
  for (int s = 0; s < NSCOPE_SLOT_COUNT; s++) cfg.init_inum[s] = initial_inode(s);
  cfg.init_net_inum = cfg.init_inum[NSCOPE_SLOT_NET];
  cfg.init_mnt_inum = cfg.init_inum[NSCOPE_SLOT_MNT];
  cfg.all_exits = opts.all_exits;
  // Device changes: the notifier_run tracepoint (6.2+), else a kprobe on the notifier.
  bool notifier_tp = false;
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux)
    return Error::msg("this kernel exposes no BTF (/sys/kernel/btf/vmlinux): watch needs a kernel built "
                      "with CONFIG_DEBUG_INFO_BTF",
                      ErrorKind::not_found);
  notifier_tp = btf__find_by_name_kind(vmlinux, "btf_trace_notifier_run", BTF_KIND_TYPEDEF) > 0;
  btf__free(vmlinux);
  bpf_program__set_autoload(m.skel->progs.watch_notifier, notifier_tp && cfg.rtnetlink_event);
  bpf_program__set_autoload(m.skel->progs.watch_rtnetlink_event, !notifier_tp && cfg.rtnetlink_event);
  if (!cfg.cleanup_net) bpf_program__set_autoload(m.skel->progs.watch_work_done, false);
  if (int err = watch__load(m.skel); err != 0) return libbpf_error(-err, "cannot load the watch BPF programs");

  struct Hook {
    bpf_program* prog;
    const char* name;
    bool syscall;
  };
  const Hook hooks[] = {
      {m.skel->progs.watch_newtask, "task_newtask", false},
      {m.skel->progs.watch_exit, "sched_process_exit", false},
      {m.skel->progs.watch_notifier, "notifier_run(rtnetlink_event)", false},
      {m.skel->progs.watch_rtnetlink_event, "kprobe:rtnetlink_event", false},
      {m.skel->progs.watch_work_done, "workqueue_execute_end(cleanup_net)", false},
      {m.skel->progs.watch_enter_unshare, "sys_enter_unshare", true},
      {m.skel->progs.watch_exit_unshare, "sys_exit_unshare", true},
      {m.skel->progs.watch_enter_setns, "sys_enter_setns", true},
      {m.skel->progs.watch_exit_setns, "sys_exit_setns", true},
      {m.skel->progs.watch_exit_mount, "sys_exit_mount", true},
      {m.skel->progs.watch_exit_umount, "sys_exit_umount", true},
      {m.skel->progs.watch_exit_move_mount, "sys_exit_move_mount", true},
  };
  auto attach = [&](bool syscalls) -> Result<void> {
    for (const auto& h : hooks) {
      if (h.syscall != syscalls || !bpf_program__autoload(h.prog)) continue;
      bpf_link* l = bpf_program__attach(h.prog);
      if (!l && h.prog == m.skel->progs.watch_rtnetlink_event) {
        libbpf_log_take();  // this kernel refuses kprobes: walk once a second instead
        continue;
      }
      if (!l) return libbpf_error(errno, std::string("cannot attach to the tracepoint ") + h.name);
      m.links.push_back(l);
      p->hooks_.push_back(h.name);
    }
    return {};
  };
  if (auto r = attach(false); !r) return r.error();
  // Syscall tracepoints are found by their id in tracefs. Where tracefs is not mounted, it is
  // mounted in a private mount namespace of a thread that lives only for the attach: the
  // host's mounts stay as they were, and the links outlive the thread.
  p->devices_polled_ = std::find(p->hooks_.begin(), p->hooks_.end(), "notifier_run(rtnetlink_event)") == p->hooks_.end() &&
                       std::find(p->hooks_.begin(), p->hooks_.end(), "kprobe:rtnetlink_event") == p->hooks_.end();
  if (p->devices_polled_) p->hooks_.push_back("device changes: a walk once a second");
  if (tracefs_here()) {
    if (auto r = attach(true); !r) return r.error();
  } else {
    Result<void> r;
    std::thread([&] {
      if (auto pm = private_mount_namespace(); !pm) {
        r = pm.error();
        return;
      }
      if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) {
        r = Error::sys(errno, "cannot mount tracefs to find the syscall tracepoints");
        return;
      }
      r = attach(true);
    }).join();
    if (!r) return r.error();
  }

  m.rb = ring_buffer__new(
      bpf_map__fd(m.skel->maps.events),
      [](void* ctx, void* data, size_t size) {
        auto* impl = static_cast<Impl*>(ctx);
        if (size >= sizeof(nscope_watch_rec) && impl->fn)
          (*impl->fn)(*static_cast<const nscope_watch_rec*>(data));
        return 0;
      },
      &m, nullptr);
  if (!m.rb) return libbpf_error(errno, "cannot read the watch ring buffer");
  return p;
}

int WatchProbe::fd() const { return ring_buffer__epoll_fd(impl_->rb); }

Result<void> WatchProbe::drain(const std::function<void(const nscope_watch_rec&)>& fn) {
  impl_->fn = &fn;
  int n = ring_buffer__consume(impl_->rb);
  impl_->fn = nullptr;
  if (n < 0) return Error::sys(-n, "cannot read the watch ring buffer");
  return {};
}

uint64_t WatchProbe::lost() const { return __atomic_load_n(&impl_->skel->bss->lost, __ATOMIC_RELAXED); }

}  // namespace nscope
