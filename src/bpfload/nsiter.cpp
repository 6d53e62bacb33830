#include "bpfload/nsiter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "bpfload/nsiter_light.h"
#include "util/fd.h"

namespace nscope {
namespace {

struct SkelDeleter {
  void operator()(nsiter* s) const { nsiter_light_destroy(s); }
};
using SkelPtr = std::unique_ptr<nsiter, SkelDeleter>;

// Loads the programs. A refusal is loaded again with the verifier's log on, to say why: the
// reason is at the log's end.
Result<SkelPtr> load() {
  nsiter* raw = nullptr;
  int err = nsiter_light_load(&raw, nullptr, 0);
  if (err == 0) return SkelPtr(raw);
  std::string log(1 << 20, '\0');
  int again = nsiter_light_load(&raw, log.data(), static_cast<__u32>(log.size()));
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
      default: return Error::msg("unknown walk record kind " + std::to_string(kind));
    }
    if (!ok) return Error::msg("truncated walk record of kind " + std::to_string(kind));
  }
  return {};
}

Result<KernelWalk> kernel_walk(const KernelWalkOptions& opts) {
  auto skel = load();
  if (!skel) return skel.error();
  const nsiter_light_fds fds = nsiter_light_get_fds(skel->get());

  KernelWalk out;
  std::string buf;
  if (auto r = run_iter(fds.dump_tasks, "dump_tasks", buf); !r) return r.error();
  if (auto r = parse_walk_records(buf.data(), buf.size(), out); !r) return r.error();
  if (opts.files) {
    if (auto r = run_iter(fds.dump_files, "dump_files", buf); !r) return r.error();
    if (auto r = parse_walk_records(buf.data(), buf.size(), out); !r) return r.error();
  }
  if (opts.nets) {
    if (auto r = run_iter(fds.walk_nets, "walk_nets", buf); !r) return r.error();
    std::unique_ptr<ring_buffer, void (*)(ring_buffer*)> rb(
        ring_buffer__new(fds.nets, ringbuf_record, &out, nullptr), ring_buffer__free);
    if (!rb) return Error::sys(errno, "cannot read the namespace walk's ring buffer");
    if (int n = ring_buffer__consume(rb.get()); n < 0)
      return Error::sys(-n, "cannot read the namespace walk's ring buffer");
    out.nets_complete =
        nsiter_light_walk_dropped(skel->get()) == 0 && nsiter_light_walk_truncated(skel->get()) == 0;
  }
  return out;
}

}  // namespace nscope
