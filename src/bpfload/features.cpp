#include "bpfload/features.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "bpfload/libbpf_log.h"
#include "probe.skel.h"

#ifndef NS_GET_ID
#define NS_GET_ID _IOR(NSIO, 0xd, __u64)
#endif

namespace nscope {
namespace {

// Whether `type` (a struct or union id) has `member`, looking through anonymous members.
bool has_member(const btf* b, const btf_type* t, const char* member, int depth = 0) {
  if (!t || depth > 4 || !(btf_is_struct(t) || btf_is_union(t))) return false;
  const btf_member* m = btf_members(t);
  for (unsigned i = 0; i < btf_vlen(t); ++i, ++m) {
    const char* name = btf__name_by_offset(b, m->name_off);
    if (name && std::strcmp(name, member) == 0) return true;
    if ((!name || !*name) && has_member(b, btf__type_by_id(b, m->type), member, depth + 1))
      return true;
  }
  return false;
}

bool struct_has_member(const btf* b, const char* type, const char* member) {
  int id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
  return id >= 0 && has_member(b, btf__type_by_id(b, id), member);
}

// Attaches `p` the way collect would: kprobe-multi to one function by name, the others by
// their section.
bpf_link* attach(const char* label, bpf_program* p) {
  if (std::strcmp(label, "kprobe_multi") == 0) {
    const char* syms[] = {"netif_receive_skb"};
    LIBBPF_OPTS(bpf_kprobe_multi_opts, o, .syms = syms, .cnt = 1);
    return bpf_program__attach_kprobe_multi_opts(p, nullptr, &o);
  }
  return bpf_program__attach(p);
}

ProbeResult try_probe(const char* label, bpf_program* (*pick)(probe*)) {
  ProbeResult r{label, false, {}};
  std::unique_ptr<probe, void (*)(probe*)> skel(probe::open(), probe::destroy);
  if (!skel) {
    r.error = std::strerror(errno);
    return r;
  }
  bpf_program* want = pick(skel.get());
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, skel->obj) bpf_program__set_autoload(p, p == want);
  libbpf_log_take();
  if (probe::load(skel.get()) != 0) {
    int err = errno;
    r.error = std::string("load: ") + std::strerror(err);
    return r;
  }
  bpf_link* link = attach(label, want);
  if (!link) {
    int err = errno;
    r.error = std::string("attach: ") + std::strerror(err);
    return r;
  }
  bpf_link__destroy(link);
  r.ok = true;
  return r;
}

Features run_probes() {
  Features f;
  utsname u{};
  if (uname(&u) == 0) f.kernel_release = u.release;
  f.root = geteuid() == 0;
  if (btf* vm = btf__load_vmlinux_btf()) {
    f.btf = true;
    f.net_cookie = struct_has_member(vm, "net", "net_cookie");
    f.ns_common_ns_id = struct_has_member(vm, "ns_common", "ns_id");
    f.ns_common_ns_type = struct_has_member(vm, "ns_common", "ns_type");
    btf__free(vm);
  }
  if (int fd = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC); fd >= 0) {
    __u64 id = 0;
    f.ns_get_id = ioctl(fd, NS_GET_ID, &id) == 0 && id != 0;
    ::close(fd);
  }
  using Pick = bpf_program* (*)(probe*);
  struct Entry {
    const char* label;
    Pick pick;
  };
  const Entry entries[] = {
      {"tp_btf", [](probe* s) { return s->progs.probe_tp_btf; }},
      {"raw_tp", [](probe* s) { return s->progs.probe_raw_tp; }},
      {"tracepoint", [](probe* s) { return s->progs.probe_tracepoint; }},
      {"iter", [](probe* s) { return s->progs.probe_iter; }},
      {"kprobe", [](probe* s) { return s->progs.probe_kprobe; }},
      {"fentry", [](probe* s) { return s->progs.probe_fentry; }},
      {"kprobe_multi", [](probe* s) { return s->progs.probe_kprobe_multi; }},
      {"direct_packet", [](probe* s) { return s->progs.probe_direct_packet; }},
  };
  for (const auto& e : entries) f.probes.push_back(try_probe(e.label, e.pick));
  return f;
}

}  // namespace

bool Features::supports(const std::string& probe_name) const {
  for (const auto& p : probes)
    if (p.name == probe_name) return p.ok;
  return false;
}

const Features& probe_features() {
  static const Features f = run_probes();
  return f;
}

}  // namespace nscope
