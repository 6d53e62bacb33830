#include "collect/collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "bpfload/features.h"
#include "bpfload/libbpf_log.h"
#include "collect.skel.h"
#include "filter/patch.h"
#include "util/cpus.h"
#include "util/diag.h"

namespace nscope {
namespace {

bpf_program* program(collect* s, const std::string& name) {
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, s->obj)
    if (name == bpf_program__name(p)) return p;
  return nullptr;
}

// Slot i's program for a probe of `kind`: collect.bpf.c has one of each kind per slot.
bpf_program* slot_program(collect* s, size_t i, ProbeKind kind) {
  const char* prefix = kind == ProbeKind::kprobe      ? "kprobe_"
                       : kind == ProbeKind::kretprobe ? "kretprobe_"
                                                      : "probe_";  // tp_btf, fentry, fexit
  return program(s, prefix + std::to_string(i));
}

// Opens the programs, configures them for cfg and loads them. direct: packet bytes are read
// with plain loads (see direct_packet in collect.bpf.c), which older kernels refuse. multi:
// the kprobe programs load as kprobe-multi (attached to all of a slot's functions at once).
// ring: each ring's bytes; a_ring: one of the rings (made before, make_rings), the pattern for
// the array that holds them, which is indexed by CPU id, so it spans the possible CPUs.
Result<collect*> open_and_load(const CollectorConfig& cfg, uint64_t ring, int a_ring, bool direct, bool multi) {
  struct Owner {
    collect* s = collect::open();
    ~Owner() {
      if (s) collect::destroy(s);
    }
  } skel;
  if (!skel.s) return libbpf_error(errno, "cannot open the collect BPF programs");

  auto* ro = skel.s->rodata;
  ro->collectors = cfg.collectors;
  ro->ovs_offset = sizeof(nscope_event) + ((cfg.collectors & NSCOPE_COLLECT_CT) ? sizeof(nscope_ct_ext) : 0);
  ro->nft_offset = ro->ovs_offset + ((cfg.collectors & NSCOPE_COLLECT_OVS) ? sizeof(nscope_ovs_ext) : 0);
  ro->stack_offset = ro->nft_offset + ((cfg.collectors & NSCOPE_COLLECT_NFT) ? sizeof(nscope_nft_ext) : 0);
  ro->record_size = ro->stack_offset + ((cfg.collectors & NSCOPE_COLLECT_STACK) ? sizeof(nscope_stack_ext) : 0);
  ro->wakeup_bytes = ring / 16;
  ro->direct_packet = direct;
  bpf_program* p = nullptr;
  bool kret = false;
  bpf_object__for_each_program(p, skel.s->obj) bpf_program__set_autoload(p, false);
  for (size_t i = 0; i < cfg.probes.size(); ++i) {
    const ProbeSpec& ps = cfg.probes[i];
    p = slot_program(skel.s, i, ps.kind);
    if (!p) return Error::msg("BPF object lacks probe slot " + std::to_string(i));
    bpf_program__set_autoload(p, true);
    ro->probe_cfg[i] = ps.cfg;
    kret |= ps.kind == ProbeKind::kretprobe;
    if (ps.kind == ProbeKind::kprobe || ps.kind == ProbeKind::kretprobe) {
      if (multi) bpf_program__set_expected_attach_type(p, BPF_TRACE_KPROBE_MULTI);
      continue;
    }
    if (ps.kind != ProbeKind::tracepoint)
      bpf_program__set_expected_attach_type(p, ps.kind == ProbeKind::fentry ? BPF_TRACE_FENTRY
                                                                            : BPF_TRACE_FEXIT);
    if (bpf_program__set_attach_target(p, 0, ps.name.c_str()) != 0)
      return libbpf_error(errno, "no BTF for " + ps.spec());
  }
  if (kret) {
    bpf_program__set_autoload(skel.s->progs.kret_entry, true);
    if (multi) bpf_program__set_expected_attach_type(skel.s->progs.kret_entry, BPF_TRACE_KPROBE_MULTI);
  }
  const filter::FilterSet& f = cfg.filters;
  if (f.netns.size() > NSCOPE_MAX_NETNS_FILTER)
    return Error::usage(fmt::format("{} namespaces to filter on, and the programs take at most {}",
                                    f.netns.size(), NSCOPE_MAX_NETNS_FILTER));
  ro->netns_filter_mode = f.netns_mode;
  ro->netns_filter_count = static_cast<uint32_t>(f.netns.size());
  for (size_t i = 0; i < f.netns.size(); ++i) {
    ro->netns_filter_inum[i] = f.netns[i].inum;
    ro->netns_filter_cookie[i] = f.netns[i].cookie;
  }
  std::vector<filter::StubBody> bodies;
  ro->filter_packet = f.packet.has_value();
  // Without direct loads -f copies what it needs, and what the event keeps when the skb
  // collector is on.
  ro->filter_packet_bytes = std::min<uint32_t>(
      NSCOPE_FILTER_BYTES,
      std::max<uint32_t>(f.packet_bytes, (cfg.collectors & NSCOPE_COLLECT_SKB) ? NSCOPE_PKT_CAPTURE : 0));
  if (f.packet) bodies.push_back({NSCOPE_STUB_PACKET, *f.packet});
  ro->filter_meta = f.meta.has_value();
  if (f.meta) bodies.push_back({NSCOPE_STUB_META, *f.meta});

  if (bpf_map__set_max_entries(skel.s->maps.tracking, cfg.tracking_entries) != 0)
    return libbpf_error(errno, "cannot size the tracking map");
  // A real ring is the pattern, so its size is the rings' own (kernels before 5.10 compare
  // sizes).
  if (bpf_map__set_inner_map_fd(skel.s->maps.rings, a_ring) != 0 ||
      bpf_map__set_max_entries(skel.s->maps.rings, static_cast<uint32_t>(libbpf_num_possible_cpus())) != 0)
    return libbpf_error(errno, "cannot size the ring buffers");
  filter::PatchScope patch(std::move(bodies));
  if (collect::load(skel.s) != 0) {
    int err = errno;
    if (!patch.error().empty())
      return Error::msg("cannot put the filters into the BPF programs: " + patch.error());
    return libbpf_error(err, "cannot load the collect BPF programs");
  }
  return std::exchange(skel.s, nullptr);
}

}  // namespace

uint64_t ring_size_for(uint64_t requested) {
  uint64_t size = 4096;
  while (size < requested && size < (1ull << 31)) size <<= 1;
  return size;
}

uint64_t default_buffer_size(size_t cpus) {
  return std::clamp<uint64_t>((4ull << 20) * cpus, 32ull << 20, 256ull << 20);
}

size_t default_readers(size_t rings, size_t run_cpus) {
  return std::max<size_t>(1, std::min((rings + 3) / 4, run_cpus));
}

Result<std::unique_ptr<Collector>> Collector::start(const CollectorConfig& cfg, Sink sink) {
  if (cfg.probes.empty()) return Error::msg("no probes to attach");
  if (cfg.probes.size() > NSCOPE_MAX_PROBES)
    return Error::msg("too many probes (" + std::to_string(cfg.probes.size()) + "); at most " +
                      std::to_string(NSCOPE_MAX_PROBES));
  std::unique_ptr<Collector> c(new Collector());
  c->sink_ = std::move(sink);
  c->nslots_ = cfg.probes.size();
  c->ncpus_ = libbpf_num_possible_cpus();
  if (auto r = filter::register_filter_sections(); !r) return r.error();
  std::vector<int> online = online_cpus();
  size_t nrings = cfg.shared_ring ? 1 : online.size();
  uint64_t total = cfg.buffer_size ? cfg.buffer_size : default_buffer_size(online.size());
  c->ring_bytes_ = ring_size_for(std::max<uint64_t>(total / nrings, 64 << 10));
  // Plain loads from packet memory where the kernel allows them, else the helper. The
  // variable forces the helper, for tests and for a kernel whose plain loads misbehave.
  // kprobe-multi where the kernel has it (5.18+ with CONFIG_FPROBE, found by trial as `nscope
  // info` does): one link for all of a glob's functions instead of a kprobe each.
  // Not with the nft or ovs kprobes: a module's functions, which kprobe-multi did not look
  // up in older kernels (vmlinux's names alone).
  c->multi_ = std::any_of(cfg.probes.begin(), cfg.probes.end(), [](const ProbeSpec& p) {
                return p.kind == ProbeKind::kprobe || p.kind == ProbeKind::kretprobe;
              }) && std::none_of(cfg.probes.begin(), cfg.probes.end(), [](const ProbeSpec& p) {
                return p.cfg.nft_point != 0 || p.cfg.ovs_point != 0;
              }) && probe_features().supports("kprobe_multi");
  if (auto r = c->make_rings(cfg, online.size()); !r) return r.error();
  Result<collect*> skel = Error::msg("");
  int a_ring = c->rings_.front().get();
  if (!getenv("NSCOPE_NO_DIRECT_PACKET")) skel = open_and_load(cfg, c->ring_bytes_, a_ring, true, c->multi_);
  if (!skel) {
    libbpf_log_take();  // the refusal of plain loads is not news
    skel = open_and_load(cfg, c->ring_bytes_, a_ring, false, c->multi_);
  }
  if (!skel) return skel.error();
  c->skel_ = skel.value();
  if (auto r = c->give_rings(cfg); !r) return r.error();

  for (size_t i = 0; i < cfg.probes.size(); ++i)
    if (auto r = c->attach(i, cfg.probes[i]); !r) return r.error();
  return c;
}

// One ring per online CPU (or one for all).
Result<void> Collector::make_rings(const CollectorConfig& cfg, size_t ncpus) {
  for (size_t i = 0; i < (cfg.shared_ring ? 1 : ncpus); ++i) {
    Fd ring(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "nscope_ring", 0, 0, static_cast<uint32_t>(ring_bytes_),
                           nullptr));
    if (!ring) return libbpf_error(errno, fmt::format("cannot make a {}-byte ring buffer", ring_bytes_));
    rings_.push_back(std::move(ring));
  }
  return {};
}

// Each ring put at its CPU's index in the programs' array; then the readers, each over a
// contiguous share of the rings.
Result<void> Collector::give_rings(const CollectorConfig& cfg) {
  std::vector<int> online = online_cpus();
  int outer = bpf_map__fd(skel_->maps.rings);
  for (size_t i = 0; i < online.size(); ++i) {
    auto cpu = static_cast<uint32_t>(online[i]);
    int fd = rings_[cfg.shared_ring ? 0 : i].get();
    if (bpf_map_update_elem(outer, &cpu, &fd, BPF_ANY) != 0)
      return libbpf_error(errno, fmt::format("cannot give CPU {} its ring buffer", cpu));
  }
  size_t nreaders = std::clamp<size_t>(cfg.readers, 1, rings_.size());
  readers_.resize(nreaders);
  for (size_t r = 0; r < nreaders; ++r) {
    Reader& rd = readers_[r];
    // Rings [begin, end): an even share, the last readers taking one more when it does not
    // divide.
    size_t begin = r * rings_.size() / nreaders, end = (r + 1) * rings_.size() / nreaders;
    std::vector<int> fds;
    for (size_t i = begin; i < end; ++i) {
      if (cfg.shared_ring) rd.cpus = online;
      else rd.cpus.push_back(online[i]);
      fds.push_back(rings_[i].get());
    }
    auto m = MergedRings::open(fds, ring_bytes_);
    if (!m) return m.error();
    rd.rings = std::move(*m);
  }
  return {};
}

Result<void> Collector::attach(size_t slot, const ProbeSpec& ps) {
  bpf_program* prog = slot_program(skel_, slot, ps.kind);
  if (ps.kind != ProbeKind::kprobe && ps.kind != ProbeKind::kretprobe) {
    bpf_link* l = bpf_program__attach_trace(prog);
    if (!l) return libbpf_error(errno, "cannot attach " + ps.spec());
    links_.push_back(l);
    return {};
  }
  // A kretprobe also needs the arguments saved at the function's entry.
  const bool ret = ps.kind == ProbeKind::kretprobe;
  if (multi_) {  // all of the slot's functions in one link (two for a kretprobe)
    std::vector<const char*> syms;
    for (const auto& fn : ps.functions) syms.push_back(fn.c_str());
    bpf_link* entry = ret ? attach_kprobe(skel_->progs.kret_entry, syms, false) : nullptr;
    bpf_link* l = !ret || entry ? attach_kprobe(prog, syms, ret) : nullptr;
    if (l) {
      if (entry) links_.push_back(entry);
      links_.push_back(l);
      return {};
    }
    if (entry) bpf_link__destroy(entry);
    // One refused function fails the whole link: find it, one function a link.
  }
  size_t attached = 0;
  for (const auto& fn : ps.functions) {
    std::vector<const char*> one{fn.c_str()};
    bpf_link* entry = nullptr;
    if (ret && !(entry = attach_kprobe(skel_->progs.kret_entry, one, false))) {
      skipped_.push_back(fmt::format("{}:{}: {}", probe_kind_name(ps.kind), fn, std::strerror(errno)));
      continue;
    }
    bpf_link* l = attach_kprobe(prog, one, ret);
    if (!l) {
      skipped_.push_back(fmt::format("{}:{}: {}", probe_kind_name(ps.kind), fn, std::strerror(errno)));
      if (entry) bpf_link__destroy(entry);
      continue;
    }
    if (entry) links_.push_back(entry);
    links_.push_back(l);
    ++attached;
  }
  libbpf_log_take();  // libbpf's own line for each refusal says no more than skipped_
  // A glob may take in functions the kernel will not probe (on its blacklist, say): they are
  // reported and the rest kept. A function named alone must attach.
  if (attached == 0 || (!ps.by_address() && attached < ps.functions.size()))
    return Error::msg(fmt::format("cannot attach {}: {}", ps.spec(),
                                  skipped_.empty() ? "no function" : skipped_.back()));
  return {};
}

bpf_link* Collector::attach_kprobe(bpf_program* prog, const std::vector<const char*>& functions,
                                   bool ret) const {
  if (!multi_) return bpf_program__attach_kprobe(prog, ret, functions.front());
  LIBBPF_OPTS(bpf_kprobe_multi_opts, o, .syms = const_cast<const char**>(functions.data()),
              .cnt = functions.size(), .retprobe = ret);
  return bpf_program__attach_kprobe_multi_opts(prog, nullptr, &o);
}

int Collector::epoll_fd(size_t reader) const { return readers_[reader].rings->epoll_fd(); }

Result<int> Collector::consume(size_t reader) {
  size_t n = readers_[reader].rings->consume([&](const void* rec, size_t size) {
    return size < sizeof(nscope_event) || sink_(reader, rec, size);
  });
  return static_cast<int>(n);
}

void Collector::detach() {
  for (bpf_link* l : links_) {
    int err = bpf_link__destroy(l);
    if (err) diag("detaching a probe failed: {}", std::strerror(-err));
  }
  links_.clear();
}

std::vector<std::vector<uint64_t>> Collector::read_percpu(int fd) const {
  std::vector<std::vector<uint64_t>> out(nslots_, std::vector<uint64_t>(static_cast<size_t>(ncpus_)));
  std::vector<uint64_t> vals(static_cast<size_t>(ncpus_));
  for (uint32_t i = 0; i < nslots_; ++i)
    if (bpf_map_lookup_elem(fd, &i, vals.data()) == 0) out[i] = vals;
  return out;
}

std::vector<std::vector<uint64_t>> Collector::lost() const {
  return read_percpu(bpf_map__fd(skel_->maps.lost));
}

uint64_t Collector::age_out_tracking(uint64_t max_age_ns) {
  int fd = bpf_map__fd(skel_->maps.tracking);
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  std::vector<uint64_t> stale;
  uint64_t key = 0, next = 0;
  nscope_track v{};
  bool first = true;
  while (bpf_map_get_next_key(fd, first ? nullptr : &key, &next) == 0) {
    first = false;
    key = next;
    if (bpf_map_lookup_elem(fd, &key, &v) == 0 && v.last_seen + max_age_ns < now)
      stale.push_back(key);
  }
  uint64_t n = 0;
  for (uint64_t k : stale)
    if (bpf_map_delete_elem(fd, &k) == 0) ++n;
  return n;
}

uint64_t Collector::tracking_refused() const { return skel_->bss->track_refused; }

Collector::~Collector() {
  detach();
  readers_.clear();  // unmapped before the rings' fds close
  if (skel_) collect::destroy(skel_);
}

}  // namespace nscope
