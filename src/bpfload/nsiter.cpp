#include "bpfload/nsiter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "bpfload/kernel_btf.h"
#include "bpfload/nsiter_light.h"
#include "util/fd.h"

namespace nscope {
namespace {

struct SkelDeleter {
  void operator()(nsiter* s) const { nsiter_light_destroy(s); }
};
using SkelPtr = std::unique_ptr<nsiter, SkelDeleter>;

using Offsets = nscope_kernel_offsets;

// A kernel field the programs read: struct, member path, where its offset goes, and the
// size the program reads there (0: not read whole, e.g. an embedded struct or a string).
struct Field {
  const char* type;
  const char* path;
  uint32_t Offsets::*slot;
  uint32_t size;
  bool optional = false;  // NSCOPE_NO_FIELD where this kernel lacks it
};

constexpr Field kFields[] = {
    {"task_struct", "tgid", &Offsets::task_tgid, 4},
    {"task_struct", "pid", &Offsets::task_pid, 4},
    {"task_struct", "flags", &Offsets::task_flags, 4},
    {"task_struct", "comm", &Offsets::task_comm, 0},
    {"task_struct", "nsproxy", &Offsets::task_nsproxy, 8},
    {"task_struct", "real_cred", &Offsets::task_real_cred, 8},
    {"task_struct", "thread_pid", &Offsets::task_thread_pid, 8},
    {"nsproxy", "net_ns", &Offsets::nsproxy_net, 8},
    {"nsproxy", "mnt_ns", &Offsets::nsproxy_mnt, 8},
    {"nsproxy", "uts_ns", &Offsets::nsproxy_uts, 8},
    {"nsproxy", "ipc_ns", &Offsets::nsproxy_ipc, 8},
    {"nsproxy", "cgroup_ns", &Offsets::nsproxy_cgroup, 8},
    {"nsproxy", "time_ns", &Offsets::nsproxy_time, 8},
    {"nsproxy", "time_ns_for_children", &Offsets::nsproxy_time_for_children, 8},
    {"nsproxy", "pid_ns_for_children", &Offsets::nsproxy_pid_for_children, 8},
    {"net", "ns", &Offsets::net_ns, 0},
    {"mnt_namespace", "ns", &Offsets::mnt_ns, 0},
    {"uts_namespace", "ns", &Offsets::uts_ns, 0},
    {"ipc_namespace", "ns", &Offsets::ipc_ns, 0},
    {"cgroup_namespace", "ns", &Offsets::cgroup_ns, 0},
    {"time_namespace", "ns", &Offsets::time_ns, 0},
    {"pid_namespace", "ns", &Offsets::pid_ns, 0},
    {"user_namespace", "ns", &Offsets::user_ns, 0},
    {"ns_common", "inum", &Offsets::ns_inum, 4},
    {"ns_common", "ns_type", &Offsets::ns_type, 4, true},
    {"ns_common", "ns_id", &Offsets::ns_id, 8, true},
    {"ns_common", "ops", &Offsets::ns_ops, 8},
    {"proc_ns_operations", "type", &Offsets::ns_ops_type, 4, true},
    {"cred", "user_ns", &Offsets::cred_user_ns, 8},
    {"pid", "level", &Offsets::pid_level, 4},
    {"pid", "numbers", &Offsets::pid_numbers, 0},
    {"upid", "ns", &Offsets::upid_ns, 8},
    {"file", "f_inode", &Offsets::file_inode, 8},
    {"inode", "i_sb", &Offsets::inode_sb, 8},
    {"inode", "i_ino", &Offsets::inode_ino, 8},
    {"inode", "i_private", &Offsets::inode_private, 8},
    {"super_block", "s_magic", &Offsets::sb_magic, 8},
    {"socket", "sk", &Offsets::socket_sk, 8},
    {"sock", "__sk_common.skc_net.net", &Offsets::sock_net, 8},
    {"net", "net_cookie", &Offsets::net_cookie, 8},
    {"net", "user_ns", &Offsets::net_user_ns, 8},
    {"net", "list", &Offsets::net_list, 0},
    {"net", "dev_base_head", &Offsets::net_dev_base_head, 0},
    {"net_device", "ifindex", &Offsets::dev_ifindex, 4},
    {"net_device", "name", &Offsets::dev_name, 0},
    {"net_device", "rtnl_link_ops", &Offsets::dev_link_ops, 8},
    {"net_device", "nd_net.net", &Offsets::dev_net, 8},
    {"net_device", "dev_list", &Offsets::dev_list, 0},
    {"net_device", "ifalias", &Offsets::dev_ifalias, 8},
    {"rtnl_link_ops", "kind", &Offsets::link_ops_kind, 8},
    {"list_head", "next", &Offsets::list_next, 8},
    {"bpf_iter_meta", "seq_num", &Offsets::meta_seq_num, 8},
    {"net", "netns_ids.idr_rt.xa_head", &Offsets::net_nsids_head, 8, true},
    {"xa_node", "shift", &Offsets::xa_node_shift, 1, true},
    {"xa_node", "slots", &Offsets::xa_node_slots, 0, true},
};

// Where nsiter.bpf.c's own context structs put each iterator argument.
struct CtxField {
  const char* type;
  const char* path;
  uint32_t offset;
};
constexpr CtxField kContext[] = {
    {"bpf_iter_meta", "seq", 0},
    {"bpf_iter__task", "meta", 0},
    {"bpf_iter__task", "task", 8},
    {"bpf_iter__task_file", "meta", 0},
    {"bpf_iter__task_file", "task", 8},
    {"bpf_iter__task_file", "fd", 16},
    {"bpf_iter__task_file", "file", 24},
    {"bpf_iter__bpf_map", "meta", 0},
    {"bpf_iter__bpf_map", "map", 8},
};

}  // namespace

Result<nscope_kernel_offsets> nsiter_offsets(const std::string& btf_path) {
  std::vector<std::string> types;
  for (auto& f : kFields) types.emplace_back(f.type);
  for (auto& c : kContext) types.emplace_back(c.type);
  types.emplace_back("upid");
  auto btf = KernelBtf::open(btf_path, types);
  if (!btf) return btf.error();

  Offsets out {};
  for (auto& f : kFields) {
    auto m = btf->member(f.type, f.path);
    if (!m) {
      if (!f.optional) return m.error();
      out.*f.slot = NSCOPE_NO_FIELD;
      continue;
    }
    if (f.size && m->size != f.size)
      return Error::msg(std::string("kernel BTF: ") + f.type + "." + f.path + " has " +
                        std::to_string(m->size) + " bytes, nscope reads " + std::to_string(f.size));
    out.*f.slot = m->offset;
  }
  for (auto& c : kContext) {
    auto m = btf->member(c.type, c.path);
    if (!m) return m.error();
    if (m->offset != c.offset)
      return Error::msg(std::string("kernel BTF: ") + c.type + "." + c.path + " is at byte " +
                        std::to_string(m->offset) + ", nscope's iterators expect " +
                        std::to_string(c.offset));
  }
  if (out.xa_node_shift == NSCOPE_NO_FIELD || out.xa_node_slots == NSCOPE_NO_FIELD)
    out.net_nsids_head = NSCOPE_NO_FIELD;  // the nsid walk needs all three
  auto upid = btf->size_of("upid");
  if (!upid) return upid.error();
  out.upid_size = *upid;
  // netdev_priv(): the `priv` flexible array where the kernel has one (6.12+), before that
  // right after the struct, aligned to NETDEV_ALIGN (32).
  if (auto priv = btf->member("net_device", "priv")) {
    out.dev_priv = priv->offset;
  } else {
    auto size = btf->size_of("net_device");
    if (!size) return size.error();
    out.dev_priv = (*size + 31) & ~31u;
  }
  return out;
}

namespace {

// Loads the programs. A refusal is loaded again with the verifier's log on, to say why: the
// reason is at the log's end.
Result<SkelPtr> load(const Offsets& offsets, uint32_t net_steps, uint32_t ring_bytes) {
  nsiter* raw = nullptr;
  int err = nsiter_light_load(&raw, &offsets, net_steps, ring_bytes, nullptr, 0);
  if (err == 0) return SkelPtr(raw);
  std::string log(1 << 20, '\0');
  int again = nsiter_light_load(&raw, &offsets, net_steps, ring_bytes, log.data(), static_cast<__u32>(log.size()));
  SkelPtr discard(raw);
  Error e = Error::sys(-err, "cannot load the BPF iterator programs");
  if (again != 0) {
    log.resize(strnlen(log.c_str(), log.size()));
    while (!log.empty() && log.back() == '\n') log.pop_back();
    if (log.size() > 2000) log = "..." + log.substr(log.size() - 2000);
    if (!log.empty()) e.message += " (" + log + ")";
  }
  return e;
}

// Attaches an iterator program, reads its whole output into `buf`.
Result<void> run_iter(int prog_fd, const char* name, std::string& buf) {
  Fd link(bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, nullptr));
  if (!link) return Error::sys(errno, std::string("cannot attach BPF iterator ") + name);
  Fd it(bpf_iter_create(link.get()));
  if (!it) return Error::sys(errno, std::string("cannot create BPF iterator ") + name);
  buf.clear();
  size_t used = 0;
  buf.resize(256 * 1024);
  while (true) {
    if (buf.size() - used < 64 * 1024) buf.resize(buf.size() * 2);
    ssize_t n = ::read(it.get(), buf.data() + used, buf.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN here means a task vanished under the walk; the kernel resumes on retry.
      if (errno == EAGAIN) continue;
      return Error::sys(errno, std::string("cannot read BPF iterator ") + name);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  buf.resize(used);
  return {};
}

template <class T>
bool take(const char*& p, const char* end, std::vector<T>& into) {
  if (static_cast<size_t>(end - p) < sizeof(T)) return false;
  T rec;
  std::memcpy(&rec, p, sizeof(T));
  into.push_back(rec);
  p += sizeof(T);
  return true;
}

int ringbuf_record(void* ctx, void* data, size_t size) {
  auto* out = static_cast<KernelWalk*>(ctx);
  (void)parse_walk_records(static_cast<const char*>(data), size, *out);
  return 0;
}

}  // namespace

Result<void> parse_walk_records(const char* data, size_t len, KernelWalk& out) {
  const char* p = data;
  const char* end = data + len;
  while (p < end) {
    uint32_t kind;
    if (static_cast<size_t>(end - p) < sizeof kind) return Error::msg("truncated walk record");
    std::memcpy(&kind, p, sizeof kind);
    bool ok = false;
    switch (kind) {
      case NSCOPE_REC_TASK: ok = take(p, end, out.tasks); break;
      case NSCOPE_REC_NSFD:
      case NSCOPE_REC_SOCK: ok = take(p, end, out.files); break;
      case NSCOPE_REC_NET: ok = take(p, end, out.nets); break;
      case NSCOPE_REC_DEV: ok = take(p, end, out.devs); break;
      case NSCOPE_REC_NSID: ok = take(p, end, out.nsids); break;
      default: return Error::msg("unknown walk record kind " + std::to_string(kind));
    }
    if (!ok) return Error::msg("truncated walk record of kind " + std::to_string(kind));
  }
  return {};
}

struct KernelWalker::Impl {
  KernelWalkOptions opts;
  Offsets offsets{};
  uint32_t steps = 0;
  SkelPtr skel;
  nsiter_light_fds fds{};
  std::unique_ptr<ring_buffer, void (*)(ring_buffer*)> rb{nullptr, ring_buffer__free};
  KernelWalk* into = nullptr;  // where the ring buffer's callback puts records
  std::string buf;

  // Loads the programs with a ring buffer of `ring_bytes` (0: as declared). They replace the
  // loaded ones only once loaded and mapped: on failure the walker keeps working as it was.
  Result<void> load_with(uint32_t ring_bytes) {
    auto s = load(offsets, steps, ring_bytes);
    if (!s) return s.error();
    nsiter_light_fds f = nsiter_light_get_fds(s->get());
    std::unique_ptr<ring_buffer, void (*)(ring_buffer*)> r{nullptr, ring_buffer__free};
    if (opts.nets) {
      r.reset(ring_buffer__new(
          f.nets,
          [](void* ctx, void* data, size_t size) { return ringbuf_record(static_cast<Impl*>(ctx)->into, data, size); },
          this, nullptr));
      if (!r) return Error::sys(errno, "cannot read the namespace walk's ring buffer");
    }
    rb = std::move(r);
    skel = std::move(*s);
    fds = f;
    return {};
  }

  // The namespaces and devices the last walk emitted, from its ring buffer.
  Result<void> consume(KernelWalk& out) {
    into = &out;
    int n = ring_buffer__consume(rb.get());
    into = nullptr;
    if (n < 0) return Error::sys(-n, "cannot read the namespace walk's ring buffer");
    out.nets_complete = nsiter_light_walk_dropped(skel.get()) == 0 && nsiter_light_walk_truncated(skel.get()) == 0;
    out.nsids_complete = out.nets_complete && nsiter_light_nsids_walked(skel.get());
    return {};
  }

  // A ring buffer that holds what the last walk emitted and what it dropped, with a quarter
  // to spare: every record at the size of the largest kind, a power of two.
  uint32_t bigger_ring(const KernelWalk& got) const {
    uint64_t records = got.nets.size() + got.devs.size() + got.nsids.size() + nsiter_light_walk_dropped(skel.get());
    uint64_t want = records * (std::max(sizeof(nscope_net_rec), sizeof(nscope_dev_rec)) + 8) * 5 / 4;
    uint64_t have = nsiter_light_ring_bytes(skel.get());
    uint64_t size = std::max<uint64_t>(have ? have * 2 : kDeclaredRing * 2, 4096);
    while (size < want && size < kMaxRing) size *= 2;
    return static_cast<uint32_t>(std::min<uint64_t>(size, kMaxRing));
  }
  static constexpr uint64_t kDeclaredRing = 1u << 21;  // nsiter.bpf.c's `nets`
  static constexpr uint64_t kMaxRing = 1u << 28;
};

KernelWalker::KernelWalker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KernelWalker::KernelWalker(KernelWalker&&) noexcept = default;
KernelWalker& KernelWalker::operator=(KernelWalker&&) noexcept = default;
KernelWalker::~KernelWalker() = default;

Result<KernelWalker> KernelWalker::open(const KernelWalkOptions& opts) {
  auto offsets = nsiter_offsets();
  if (!offsets) return offsets.error();
  uint32_t steps = opts.nets ? opts.net_steps : 0;
  if (const char* t = getenv("NSCOPE_TEST_NET_WALK_STEPS"); t && opts.nets)
    steps = static_cast<uint32_t>(std::max(1L, std::atol(t)));
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->offsets = *offsets;
  impl->steps = steps;
  // Tests start with a one-page ring through NSCOPE_TEST_NET_RING_BYTES, to see it grow.
  uint32_t ring = 0;
  if (const char* t = getenv("NSCOPE_TEST_NET_RING_BYTES"); t && opts.nets) ring = static_cast<uint32_t>(std::atol(t));
  if (auto r = impl->load_with(ring); !r) return r.error();
  return KernelWalker(std::move(impl));
}

// Walks in one process take turns (serve's requests and its watcher, a scan's helper
// threads): each walks every task and every namespace, and two at once only double the
// kernel's work while tasks come and go.
std::mutex& walk_turn() {
  static std::mutex m;
  return m;
}

Result<KernelWalk> KernelWalker::run() {
  std::lock_guard<std::mutex> turn(walk_turn());
  Impl& m = *impl_;
  KernelWalk out;
  nsiter_light_reset_counters(m.skel.get());
  if (m.opts.tasks) {
    if (auto r = run_iter(m.fds.dump_tasks, "dump_tasks", m.buf); !r) return r.error();
    if (auto r = parse_walk_records(m.buf.data(), m.buf.size(), out); !r) return r.error();
  } else if (m.opts.nets) {
    if (auto r = run_iter(m.fds.walk_only, "walk_only", m.buf); !r) return r.error();
  }
  if (m.opts.nets) {  // dump_tasks or walk_only walked them on its first call
    if (auto r = m.consume(out); !r) return r.error();
    // More namespaces and devices than the ring buffer holds (2 MiB: about 12,000 of each
    // kind): load again with one that holds them all, and walk them again (walk_only: the
    // tasks already read stay). The walker keeps the bigger ring for its next runs.
    for (int tries = 0; nsiter_light_walk_dropped(m.skel.get()) && !nsiter_light_walk_truncated(m.skel.get()) &&
                        tries < 3; ++tries) {
      uint32_t bytes = m.bigger_ring(out);
      if (bytes <= nsiter_light_ring_bytes(m.skel.get())) break;
      // Refused (memory, RLIMIT_MEMLOCK): what this walk got stands, marked incomplete, and
      // the scan reads what it lacks through netlink, as it says.
      if (!m.load_with(bytes)) break;
      out.nets.clear();
      out.devs.clear();
      out.nsids.clear();
      if (auto r = run_iter(m.fds.walk_only, "walk_only", m.buf); !r) return r.error();
      if (auto r = m.consume(out); !r) return r.error();
    }
  }
  if (m.opts.files) {
    if (auto r = run_iter(m.fds.dump_files, "dump_files", m.buf); !r) return r.error();
    if (auto r = parse_walk_records(m.buf.data(), m.buf.size(), out); !r) return r.error();
  }
  return out;
}

Result<KernelWalk> kernel_walk(const KernelWalkOptions& opts) {
  auto w = KernelWalker::open(opts);
  if (!w) return w.error();
  return w->run();
}

}  // namespace nscope
