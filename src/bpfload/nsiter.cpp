#include "bpfload/nsiter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "bpfload/libbpf_log.h"
#include "nsiter.skel.h"
#include "util/fd.h"

namespace nscope {
namespace {

struct SkelDeleter {
  void operator()(nsiter* s) const { nsiter::destroy(s); }
};
using SkelPtr = std::unique_ptr<nsiter, SkelDeleter>;

struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

Error bpf_error(int err, const std::string& what) {
  std::string detail = libbpf_log_take();
  Error e = Error::sys(err, what);
  if (!detail.empty()) e.message += " (" + detail + ")";
  return e;
}

// Attaches an iterator program, reads its whole output into `buf`.
Result<void> run_iter(bpf_program* prog, const char* name, std::string& buf) {
  LinkPtr link(bpf_program__attach_iter(prog, nullptr));
  if (!link) return bpf_error(errno, std::string("cannot attach BPF iterator ") + name);
  Fd it(bpf_iter_create(bpf_link__fd(link.get())));
  if (!it) return bpf_error(errno, std::string("cannot create BPF iterator ") + name);
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
  SkelPtr skel(nsiter::open());
  if (!skel) return bpf_error(errno, "cannot open the BPF iterator programs");
  bpf_program__set_autoload(skel->progs.dump_files, opts.files);
  bpf_program__set_autoload(skel->progs.walk_nets, opts.nets);
  if (!opts.nets) bpf_map__set_autocreate(skel->maps.nets, false);
  if (nsiter::load(skel.get()) != 0)
    return bpf_error(errno, "cannot load the BPF iterator programs");

  KernelWalk out;
  std::string buf;
  if (auto r = run_iter(skel->progs.dump_tasks, "dump_tasks", buf); !r) return r.error();
  if (auto r = parse_walk_records(buf.data(), buf.size(), out); !r) return r.error();
  if (opts.files) {
    if (auto r = run_iter(skel->progs.dump_files, "dump_files", buf); !r) return r.error();
    if (auto r = parse_walk_records(buf.data(), buf.size(), out); !r) return r.error();
  }
  if (opts.nets) {
    if (auto r = run_iter(skel->progs.walk_nets, "walk_nets", buf); !r) return r.error();
    std::unique_ptr<ring_buffer, void (*)(ring_buffer*)> rb(
        ring_buffer__new(bpf_map__fd(skel->maps.nets), ringbuf_record, &out, nullptr),
        ring_buffer__free);
    if (!rb) return bpf_error(errno, "cannot read the namespace walk's ring buffer");
    if (ring_buffer__consume(rb.get()) < 0)
      return bpf_error(errno, "cannot read the namespace walk's ring buffer");
    out.nets_complete = skel->bss->walk_dropped == 0 && skel->bss->walk_truncated == 0;
  }
  return out;
}

}  // namespace nscope
