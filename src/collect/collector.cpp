#include "collect/collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "bpfload/libbpf_log.h"
#include "collect.skel.h"
#include "filter/patch.h"

namespace nscope {
namespace {

Error bpf_error(int err, const std::string& what) {
  std::string detail = libbpf_log_take();
  Error e = Error::sys(err, what);
  if (!detail.empty()) e.message += " (" + detail + ")";
  return e;
}

bpf_program* slot_program(collect* s, size_t i) {
  bpf_program* p = nullptr;
  std::string want = "probe_" + std::to_string(i);
  bpf_object__for_each_program(p, s->obj)
    if (want == bpf_program__name(p)) return p;
  return nullptr;
}

// Opens the programs, configures them for cfg and loads them. direct: packet bytes are read
// with plain loads (see direct_packet in collect.bpf.c), which older kernels refuse.
Result<collect*> open_and_load(const CollectorConfig& cfg, uint64_t ring, bool direct) {
  struct Owner {
    collect* s = collect::open();
    ~Owner() {
      if (s) collect::destroy(s);
    }
  } skel;
  if (!skel.s) return bpf_error(errno, "cannot open the collect BPF programs");

  auto* ro = skel.s->rodata;
  ro->collectors = cfg.collectors;
  ro->wakeup_bytes = ring / 16;
  ro->direct_packet = direct;
  for (size_t i = 0; i < NSCOPE_MAX_PROBES; ++i) {
    bpf_program* p = slot_program(skel.s, i);
    if (!p) return Error::msg("BPF object lacks probe slot " + std::to_string(i));
    bpf_program__set_autoload(p, i < cfg.probes.size());
    if (i < cfg.probes.size()) {
      ro->probe_cfg[i] = cfg.probes[i].cfg;
      if (bpf_program__set_attach_target(p, 0, cfg.probes[i].name.c_str()) != 0)
        return bpf_error(errno, "no BTF for tracepoint " + cfg.probes[i].symbol());
    }
  }
  const filter::FilterSet& f = cfg.filters;
  if (f.netns.size() > NSCOPE_MAX_NETNS_FILTER)
    return Error::msg("--netns: at most " + std::to_string(NSCOPE_MAX_NETNS_FILTER) + " namespaces");
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
    return bpf_error(errno, "cannot size the tracking map");
  if (bpf_map__set_max_entries(skel.s->maps.events, static_cast<uint32_t>(ring)) != 0)
    return bpf_error(errno, "cannot size the ring buffer");
  filter::PatchScope patch(std::move(bodies));
  if (collect::load(skel.s) != 0) {
    int err = errno;
    if (!patch.error().empty())
      return Error::msg("cannot put the filters into the BPF programs: " + patch.error());
    return bpf_error(err, "cannot load the collect BPF programs");
  }
  return std::exchange(skel.s, nullptr);
}

}  // namespace

uint64_t ring_size_for(uint64_t requested) {
  uint64_t size = 4096;
  while (size < requested && size < (1ull << 31)) size <<= 1;
  return size;
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
  uint64_t ring = ring_size_for(cfg.buffer_size);
  // Plain loads from packet memory where the kernel allows them, else the helper. The
  // variable forces the helper, for tests and for a kernel whose plain loads misbehave.
  Result<collect*> skel = Error::msg("");
  if (!getenv("NSCOPE_NO_DIRECT_PACKET")) skel = open_and_load(cfg, ring, true);
  if (!skel) {
    libbpf_log_take();  // the refusal of plain loads is not news
    skel = open_and_load(cfg, ring, false);
  }
  if (!skel) return skel.error();
  c->skel_ = skel.value();

  c->rb_ = ring_buffer__new(bpf_map__fd(c->skel_->maps.events), on_record, c.get(), nullptr);
  if (!c->rb_) return bpf_error(errno, "cannot open the ring buffer");

  for (size_t i = 0; i < cfg.probes.size(); ++i) {
    const ProbeSpec& ps = cfg.probes[i];
    bpf_link* l = bpf_program__attach_trace(slot_program(c->skel_, i));
    if (!l) return bpf_error(errno, "cannot attach to tracepoint " + ps.symbol());
    c->links_.push_back(l);
  }
  return c;
}

int Collector::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Collector*>(ctx);
  if (size < sizeof(nscope_event)) return 0;
  return self->sink_(data, size) ? 0 : -ECANCELED;
}

int Collector::epoll_fd() const { return ring_buffer__epoll_fd(rb_); }

Result<int> Collector::consume() {
  int n = ring_buffer__consume(rb_);
  if (n < 0 && n != -ECANCELED) return Error::sys(-n, "cannot read the ring buffer");
  return n < 0 ? 0 : n;
}

void Collector::detach() {
  for (bpf_link* l : links_) {
    int err = bpf_link__destroy(l);
    if (err) std::fprintf(stderr, "nscope: detaching a probe failed: %s\n", std::strerror(-err));
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
  if (rb_) ring_buffer__free(rb_);
  if (skel_) collect::destroy(skel_);
}

}  // namespace nscope
