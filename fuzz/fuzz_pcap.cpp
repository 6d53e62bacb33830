// Differential libFuzzer target for `collect -f`: an input is a pcap-filter expression, a
// newline, and a packet (an Ethernet frame). The expression goes through compile_filters, the
// one way `collect` turns -f into eBPF (libpcap for both packet shapes, then the cBPF-to-eBPF
// translation), and the code is loaded into the -f stub of bpf/filter_test.bpf.c exactly as
// collect patches its programs. The packet is then judged three ways:
//   - libpcap's own interpreter, bpf_filter(), on the classic program (the reference),
//   - the translated program in the kernel (BPF_PROG_TEST_RUN), given every byte the filter
//     may see (NSCOPE_FILTER_BYTES),
//   - the same, given only the bytes collect copies for this expression (packet_bytes),
// as an Ethernet frame and as the bare IP packet after its link header (the two shapes a
// packet has at a tracepoint). Any disagreement aborts with the expression and the packet.
// Needs root (BPF). Programs are cached by their code, so an expression the mutator rewrites
// into the same program costs no new load.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bpfload/libbpf_log.h"
#include "filter/cbpf.h"
#include "filter/filter.h"
#include "filter/patch.h"
#include "filter/pcap_filter.h"
#include "filter_test.skel.h"
#include "nscope.h"

using namespace nscope;
using filter::CbpfInsn;
using filter::LinkType;

namespace {

constexpr uint64_t kVariants = 8;  // packets tried per input beside the input's own

// One loaded copy of filter_test's packet program with a translated filter in its stub.
class Loaded {
 public:
  explicit Loaded(const std::vector<bpf_insn>& code) {
    skel_ = filter_test::open();
    if (!skel_) return;
    bpf_program__set_autoload(skel_->progs.run_meta_filter, false);
    filter::PatchScope patch({{NSCOPE_STUB_PACKET, code}});
    libbpf_log_take();
    if (filter_test::load(skel_) != 0) {
      error_ = "load failed: " + patch.error() + libbpf_log_take();
      filter_test::destroy(skel_);
      skel_ = nullptr;
    }
  }
  ~Loaded() {
    if (skel_) filter_test::destroy(skel_);
  }
  Loaded(const Loaded&) = delete;
  Loaded& operator=(const Loaded&) = delete;
  bool ok() const { return skel_ != nullptr; }
  const std::string& error() const { return error_; }

  // The stub's verdict on `len` bytes at `data` of which the first `read` are copied.
  int run(const uint8_t* data, uint32_t len, bool l2, uint32_t read) {
    nscope_filter_test_input in{};
    in.caplen = std::min<uint32_t>({len, read, NSCOPE_FILTER_BYTES});
    in.wirelen = len;
    in.is_l2 = l2;
    if (in.caplen) std::memcpy(in.data, data, in.caplen);
    uint32_t key = 0;
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.input), &key, &in, BPF_ANY) != 0) return -2;
    skel_->data->result = -1;
    uint64_t args[1] = {0};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof args);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.run_packet_filter), &opts) != 0) return -3;
    return skel_->data->result;
  }

 private:
  filter_test* skel_ = nullptr;
  std::string error_;
};

// Programs by their code: expressions that translate to the same code share one load. The
// cache keeps the last kMax; an expression's Compiled keeps its own alive.
class Cache {
 public:
  std::shared_ptr<Loaded> get(const std::vector<bpf_insn>& code) {
    std::string key(reinterpret_cast<const char*>(code.data()), code.size() * sizeof(bpf_insn));
    auto it = map_.find(key);
    if (it != map_.end()) {
      order_.splice(order_.begin(), order_, it->second.second);
      return it->second.first;
    }
    if (map_.size() >= kMax) {
      map_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(key);
    ++loads;
    auto loaded = std::make_shared<Loaded>(code);
    map_[key] = {loaded, order_.begin()};
    return loaded;
  }
  size_t loads = 0;

 private:
  static constexpr size_t kMax = 64;
  std::map<std::string, std::pair<std::shared_ptr<Loaded>, std::list<std::string>::iterator>> map_;
  std::list<std::string> order_;
};

// One expression, compiled as collect compiles it and as the reference needs it.
struct Compiled {
  bool ok = false;
  filter::FilterSet set;
  std::optional<std::vector<CbpfInsn>> eth, raw;  // libpcap's, for bpf_filter
  std::shared_ptr<Loaded> kernel;
  // What the classic programs read at fixed offsets and compare with: the packet variants
  // put the constants there.
  std::vector<std::pair<uint32_t, uint32_t>> loads;  // (offset, size)
  std::vector<uint32_t> constants;
};

Compiled compile(const std::string& expr, Cache& cache) {
  Compiled c;
  if (!filter::compile_filters({expr, ""}, nullptr, c.set)) return c;  // refused, as collect does
  if (auto e = filter::compile_pcap(expr, LinkType::ethernet)) c.eth = std::move(*e);
  if (auto r = filter::compile_pcap(expr, LinkType::raw_ip)) c.raw = std::move(*r);
  c.kernel = cache.get(*c.set.packet);
  if (!c.kernel->ok()) {
    std::fprintf(stderr, "-f expression '%s': translated, but the kernel refused it: %s\n",
                 expr.c_str(), c.kernel->error().c_str());
    std::abort();
  }
  for (const auto* prog : {&c.eth, &c.raw}) {
    if (!*prog) continue;
    for (const auto& i : **prog) {
      if ((i.code & 0x07) == 0x00 && (i.code & 0xe0) == 0x20)  // BPF_LD | BPF_ABS
        c.loads.emplace_back(i.k, (i.code & 0x18) == 0x00 ? 4 : (i.code & 0x18) == 0x08 ? 2 : 1);
      if ((i.code & 0x07) == 0x05 && (i.code & 0x08) == 0x00)  // BPF_JMP | BPF_K
        c.constants.push_back(i.k);
    }
  }
  c.ok = true;
  return c;
}

[[noreturn]] void disagree(const std::string& expr, const uint8_t* p, uint32_t len, bool l2,
                           uint32_t read, bool want, int got) {
  std::fprintf(stderr, "-f disagreement: expression '%s', %s of %u bytes (filter reads %u):\n"
               "  libpcap bpf_filter says %s, the translated eBPF says %s\n  packet:",
               expr.c_str(), l2 ? "Ethernet frame" : "bare IP packet", len, read,
               want ? "match" : "no match", got < 0 ? "(run failed)" : got ? "match" : "no match");
  for (uint32_t i = 0; i < len; ++i) std::fprintf(stderr, "%s%02x", i % 16 ? " " : "\n    ", p[i]);
  std::fprintf(stderr, "\n");
  std::abort();
}

void check(const std::string& expr, const Compiled& c, const std::vector<uint8_t>& pkt) {
  auto one = [&](const std::optional<std::vector<CbpfInsn>>& prog, const uint8_t* p, uint32_t n,
                 bool l2) {
    // What classic BPF sees of a packet collect hands to the filter: at most its first
    // NSCOPE_FILTER_BYTES bytes, and its real length.
    bool want = prog && filter::run_cbpf(*prog, p, std::min<uint32_t>(n, NSCOPE_FILTER_BYTES), n);
    for (uint32_t read : {uint32_t{NSCOPE_FILTER_BYTES}, c.set.packet_bytes}) {
      int got = c.kernel->run(p, n, l2, read);
      if (got < 0 || (got != 0) != want) disagree(expr, p, n, l2, read, want, got);
    }
  };
  uint32_t len = static_cast<uint32_t>(pkt.size());
  one(c.eth, pkt.data(), len, true);
  // The same packet from its IP header on: past the Ethernet header and a VLAN tag.
  uint32_t l2 = 14;
  if (len >= 18 && pkt[12] == 0x81 && pkt[13] == 0x00) l2 = 18;
  if (len >= l2) one(c.raw, pkt.data() + l2, len - l2, false);
}

// Variants of a packet that steer it towards the expression: a constant the programs compare
// with (or one beside it) written where they load, or the packet cut right after such a
// place. libFuzzer sees no coverage in the kernel or in libpcap's interpreter, so the packet
// half of an input gets few mutations of its own that it keeps.
std::vector<uint8_t> variant(const Compiled& c, const std::vector<uint8_t>& pkt, uint64_t seed) {
  std::vector<uint8_t> v = pkt;
  if (c.loads.empty()) return v;
  std::mt19937_64 rng(seed);
  int writes = 1 + static_cast<int>(rng() % 3);
  for (int w = 0; w < writes; ++w) {
    auto [off, size] = c.loads[rng() % c.loads.size()];
    // An offset for the raw program lies past the link header in the frame.
    if (rng() % 2) off += 14;
    uint32_t k = c.constants.empty() ? static_cast<uint32_t>(rng()) : c.constants[rng() % c.constants.size()];
    k += static_cast<uint32_t>(rng() % 3) - 1;
    if (off + size > v.size()) {
      if (off + size > 600) continue;
      v.resize(off + size);
    }
    for (uint32_t b = 0; b < size; ++b) v[off + b] = static_cast<uint8_t>(k >> (8 * (size - 1 - b)));
  }
  if (rng() % 4 == 0) {  // cut inside or right after a load
    auto [off, size] = c.loads[rng() % c.loads.size()];
    size_t cut = off + rng() % (size + 1);
    if (cut < v.size()) v.resize(cut);
  }
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!filter::register_filter_sections()) {
    std::fprintf(stderr, "cannot register the filter sections\n");
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Cache cache;
  static std::map<std::string, Compiled> compiled;  // by expression
  static size_t expressions = 0;
  // How often the mutator made a new program: reported at the end of a run.
  static struct Report {
    ~Report() { std::fprintf(stderr, "pcap: %zu expressions compiled, %zu programs loaded\n", expressions, cache.loads); }
  } report;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  if (nl == std::string_view::npos || nl == 0 || nl > 200) return 0;
  std::string expr(in.substr(0, nl));
  if (expr.find('\0') != std::string::npos) return 0;  // a C string to libpcap
  auto it = compiled.find(expr);
  if (it == compiled.end()) {
    if (compiled.size() >= 256) compiled.clear();  // each may hold a program loaded
    it = compiled.emplace(expr, compile(expr, cache)).first;
    ++expressions;
  }
  const Compiled& c = it->second;
  if (!c.ok) return 0;
  std::vector<uint8_t> pkt(data + nl + 1, data + size);
  check(expr, c, pkt);
  uint64_t seed = std::hash<std::string_view>()(in);
  for (uint64_t i = 0; i < kVariants; ++i) check(expr, c, variant(c, pkt, seed + i));
  return 0;
}
