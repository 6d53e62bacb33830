#include "events/sort.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <deque>
#include <type_traits>

#include "events/free_points.h"
#include "events/probe_form.h"
#include "events/retis_text.h"
#include "util/append.h"

namespace nscope {

// ---- path and end -----------------------------------------------------------------------

void series_path(const Series& s, std::vector<Hop>& path) {
  path.clear();
  for (const Event* e : s.events) {
    if (!e->has_netns) continue;
    uint32_t ifx = e->has_dev ? e->ifindex : 0;
    if (!path.empty() && path.back().netns == e->netns_inum) {
      Hop& h = path.back();
      if (ifx == 0 || h.ifindex == ifx) continue;
      if (h.ifindex == 0) {  // the hop had no device yet: this event names it
        h.ifindex = ifx;
        h.ifname = e->ifname;
        continue;
      }
    }
    Hop h;
    h.netns = e->netns_inum;
    h.ifindex = ifx;
    if (ifx) h.ifname = e->ifname;
    path.push_back(h);
  }
}

namespace {
bool is_receive_symbol(std::string_view sym) {
  return sym == "net:netif_receive_skb" || sym == "netif_receive_skb";
}
}  // namespace

const Event* nft_decision(const Series& s) {
  for (auto it = s.events.rbegin(); it != s.events.rend(); ++it) {
    const NftInfo& n = (*it)->nft;
    if (n.has && (n.verdict == "drop" || n.verdict == "accept" || n.verdict == "queue" ||
                  n.verdict == "stolen"))
      return n.verdict == "drop" ? *it : nullptr;
  }
  return nullptr;
}

SeriesEnd series_end(const Series& s, ConsumeTraced consume, std::string_view* drop_reason) {
  if (s.events.empty()) return SeriesEnd::in_flight;
  const Event& last = *s.events.back();
  std::string_view sym = last.symbol;
  if (last.has_drop || free_points::is_drop(sym)) {
    if (drop_reason) *drop_reason = last.has_drop ? last.drop_reason : std::string_view();
    return SeriesEnd::dropped;
  }
  // An nft drop is the end, whatever was seen after it in time (a trace is read, and
  // timed, just after the verdict: the free may come first).
  if (nft_decision(s)) return SeriesEnd::dropped;
  if (!s.tracked) return SeriesEnd::unknown;
  if (free_points::is_consume(sym)) return SeriesEnd::delivered;
  if (consume == ConsumeTraced::no && is_receive_symbol(sym)) return SeriesEnd::delivered;
  return SeriesEnd::in_flight;
}

// ---- what the file traced ---------------------------------------------------------------

namespace {

// Whitespace-separated words, a pair of quotes around one taken off.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) {
      std::string_view w = s.substr(i, j - i);
      if (w.size() >= 2 && (w.front() == '\'' || w.front() == '"') && w.back() == w.front())
        w = w.substr(1, w.size() - 2);
      out.push_back(w);
    }
    i = j;
  }
  return out;
}

// A probe as Retis reads it, "[TYPE:]TARGET[/OPTIONS]", in nscope's form.
std::string from_retis_probe(std::string_view p) {
  p = p.substr(0, p.find('/'));
  for (std::string_view type : {"kprobe:", "k:", "kretprobe:", "kr:", "raw_tracepoint:", "tp:"})
    if (p.starts_with(type)) return std::string(p);
  size_t colons = static_cast<size_t>(std::count(p.begin(), p.end(), ':'));
  if (colons == 0) return "kprobe:" + std::string(p);
  if (colons == 1) return "raw_tracepoint:" + std::string(p);
  return std::string(p);  // another type (usdt): kept as written
}

}  // namespace

std::optional<std::vector<std::string>> retis_cmdline_probes(std::string_view cmdline) {
  auto w = words(cmdline);
  auto collect = std::find(w.begin(), w.end(), "collect");
  if (collect == w.end()) return std::nullopt;
  std::vector<std::string> probes;
  bool probe_stack = false;
  auto add = [&](std::string_view value) {
    size_t at = 0;
    while (at <= value.size()) {  // one probe a -p in Retis; a list is read as a list
      size_t comma = std::min(value.find(',', at), value.size());
      if (comma > at) probes.push_back(from_retis_probe(value.substr(at, comma - at)));
      at = comma + 1;
    }
  };
  for (auto it = collect + 1; it != w.end(); ++it) {
    std::string_view a = *it;
    if (a == "-p" || a == "--probe") {
      if (it + 1 != w.end()) add(*++it);
    } else if (a.starts_with("--probe=")) {
      add(a.substr(8));
    } else if (a.size() > 2 && a[0] == '-' && a[1] == 'p') {
      add(a.substr(2));
    } else if (a == "-P" || a == "--profile" || a.starts_with("--profile=") ||
               (a.size() > 2 && a[0] == '-' && a[1] == 'P')) {
      return std::nullopt;  // its probes are not on the line
    } else if (a == "--probe-stack") {
      probe_stack = true;
    }
  }
  if (probe_stack && probes.empty())
    probes = {"tp:" + std::string(free_points::kDropTracepoint),
              "tp:" + std::string(free_points::kConsumeTracepoint)};
  return probes;
}

ConsumeTraced consume_traced(const StartupInfo& st) {
  std::vector<std::string> probes;
  if (!st.probes.empty()) {
    probes = st.probes;
  } else if (st.tool == "retis") {
    auto p = retis_cmdline_probes(st.cmdline);
    if (!p) return ConsumeTraced::unknown;
    probes = std::move(*p);
  } else {
    return ConsumeTraced::unknown;  // nscope before it recorded its probes; no startup line
  }
  for (const auto& spec : probes) {
    auto f = parse_probe_form(spec);
    if (f && f->matches({}, f->kind == ProbeKind::tracepoint ? free_points::kConsumeTracepoint
                                                                : free_points::kConsume))
      return ConsumeTraced::yes;
  }
  return ConsumeTraced::no;
}

// ---- renderings -------------------------------------------------------------------------

namespace {

// "ns web-1", "host", "ns 4026532256".
void put_ns(uint32_t inum, const PathNames& n, std::string& out) {
  if (n.initial_netns && inum == n.initial_netns) {
    put(out, "host");
    return;
  }
  put(out, "ns ");
  if (n.names) {
    auto it = n.names->find(inum);
    if (it != n.names->end()) {
      put(out, it->second);
      return;
    }
  }
  put_num(out, inum);
}

const std::string* ns_name(uint32_t inum, const PathNames& n) {
  static const std::string host = "host";
  if (n.initial_netns && inum == n.initial_netns) return &host;
  if (!n.names) return nullptr;
  auto it = n.names->find(inum);
  return it == n.names->end() ? nullptr : &it->second;
}

void put_if(const Hop& h, std::string& out) {
  std::string_view name = fixed_str(h.ifname);
  if (!name.empty()) {
    put(out, name);
  } else {
    put(out, "if ");
    put_num(out, h.ifindex);
  }
}


}  // namespace

void format_series_text(const Series& s, const TextOptions& opt, const PathNames& names,
                        std::string& out) {
  if (opt.retis) {
    // As `retis sort` prints a series: its place "n N" after the id, followers under "↳", an
    // empty line after it; Retis has no path line.
    RetisTextOptions r{opt.ethernet, opt.utc, opt.has_offset, opt.mono_to_utc_ns};
    for (size_t i = 0; i < s.events.size(); ++i) {
      Event e = *s.events[i];
      e.has_series_idx = true;
      e.series_idx = s.first_n + static_cast<uint32_t>(i);
      // Retis shows the series' tracking: the skb its first event saw.
      if (e.has_tracking && s.events[0]->has_tracking) e.skb_addr = s.events[0]->skb_addr;
      format_event_retis(e, r, out, i > 0);
      out += '\n';
    }
    out += '\n';
    return;
  }
  for (size_t i = 0; i < s.events.size(); ++i)
    format_series_member_text(*s.events[i], opt, i > 0, s.first_n + static_cast<uint32_t>(i),
                              i == 0 && s.continued, out);
  put(out, "  path: ");
  if (s.path.empty()) put(out, "(no namespace seen)");
  // Hops in the same namespace one after the other read as one stop with its interfaces.
  for (size_t i = 0; i < s.path.size();) {
    if (i) put(out, " -> ");
    put_ns(s.path[i].netns, names, out);
    size_t j = i;
    bool any = false;
    for (; j < s.path.size() && s.path[j].netns == s.path[i].netns; ++j) {
      if (!s.path[j].ifindex) continue;
      put(out, any ? ", " : " (");
      put_if(s.path[j], out);
      any = true;
    }
    if (any) out += ')';
    i = j;
  }
  switch (s.end) {
    case SeriesEnd::delivered: put(out, "; delivered\n\n"); break;
    case SeriesEnd::dropped:
      put(out, "; dropped");
      if (const Event* d = nft_decision(s)) {
        const NftInfo& n = d->nft;
        put(out, " by ");
        if (!n.family.empty()) {
          put(out, n.family);
          out += ' ';
        }
        put(out, n.table);
        out += ' ';
        put(out, n.chain);
        if (n.has_rule) {
          put(out, " handle ");
          put_num(out, static_cast<uint64_t>(n.rule_handle));
        }
        if (n.policy) put(out, " policy");
      }
      if (!s.drop_reason.empty()) {
        put(out, " (reason ");
        put(out, s.drop_reason);
        out += ')';
      }
      put(out, "\n\n");
      break;
    case SeriesEnd::in_flight: put(out, "; still in flight\n\n"); break;
    case SeriesEnd::unknown: put(out, "; fate unknown (no tracking id)\n\n"); break;
  }
}

void format_series_json(const Series& s, const PathNames& names, std::string& out) {
  put(out, "{\"id\":");
  if (s.tracked) {
    out += '"';
    Event id;
    id.track_ts = s.track_ts;
    id.orig_head = s.orig_head;
    format_tracking_id(id, out);
    out += '"';
  } else {
    put(out, "null");
  }
  put(out, s.continued ? ",\"continued\":true" : ",\"continued\":false");
  put(out, ",\"first_n\":");
  put_num(out, s.first_n);
  put(out, ",\"events\":[");
  for (size_t i = 0; i < s.events.size(); ++i) {
    if (i) out += ',';
    if (i < s.lines.size() && !s.lines[i].empty())
      out.append(s.lines[i]);
    else
      format_event_json(*s.events[i], out);
  }
  put(out, "],\"path\":[");
  for (size_t i = 0; i < s.path.size(); ++i) {
    const Hop& h = s.path[i];
    if (i) out += ',';
    put(out, "{\"netns\":");
    put_num(out, h.netns);
    put(out, ",\"name\":");
    if (const std::string* n = ns_name(h.netns, names))
      json_escape(*n, out);
    else
      put(out, "null");
    put(out, ",\"ifindex\":");
    put_num(out, h.ifindex);
    put(out, ",\"ifname\":");
    if (h.ifindex)
      json_escape(fixed_str(h.ifname), out);
    else
      put(out, "null");
    out += '}';
  }
  put(out, "],\"end\":{\"state\":");
  switch (s.end) {
    case SeriesEnd::delivered: put(out, "\"delivered\""); break;
    case SeriesEnd::dropped: put(out, "\"dropped\""); break;
    case SeriesEnd::in_flight: put(out, "\"in_flight\""); break;
    case SeriesEnd::unknown: put(out, "\"unknown\""); break;
  }
  if (const Event* d = s.end == SeriesEnd::dropped ? nft_decision(s) : nullptr) {
    const NftInfo& n = d->nft;
    put(out, ",\"by\":{\"family\":");
    if (n.family.empty()) put(out, "null");
    else json_escape(n.family, out);
    put(out, ",\"table\":");
    json_escape(n.table, out);
    put(out, ",\"chain\":");
    json_escape(n.chain, out);
    put(out, ",\"handle\":");
    if (n.has_rule) put(out, std::to_string(n.rule_handle));
    else put(out, "null");
    put(out, n.policy ? ",\"policy\":true}" : ",\"policy\":false}");
  }
  if (s.end == SeriesEnd::dropped && !s.drop_reason.empty()) {
    put(out, ",\"reason\":");
    json_escape(s.drop_reason, out);
  }
  if (!s.events.empty()) {
    const Event& last = *s.events.back();
    if (last.has_netns) {
      put(out, ",\"netns\":");
      put_num(out, last.netns_inum);
    }
    put(out, ",\"symbol\":");
    json_escape(last.symbol, out);
  }
  put(out, "}}");
}

// ---- the streaming sorter ---------------------------------------------------------------

namespace {

constexpr uint32_t kNone = UINT32_MAX;

struct Key {
  uint64_t ts = 0, head = 0;
  bool operator==(const Key& o) const { return ts == o.ts && head == o.head; }
};

uint64_t hash_key(const Key& k) {
  uint64_t h = k.ts * 0x9E3779B97F4A7C15ull ^ (k.head + 0x632BE59BD9B4E019ull + (k.ts << 6));
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

// The two open-addressing tables below (linear probing over a power-of-two vector, at most
// half full) share their deletion and growth. `is_free(cell)` says a cell is empty,
// `home(cell)` gives the hash its probe starts from; a value-initialised cell is empty.
// Backward-shift deletion of cell i: no tombstones.
template <class Cell, class IsFree, class Home>
inline void table_erase_at(std::vector<Cell>& t, size_t i, IsFree is_free, Home home) {
  size_t mask = t.size() - 1;
  for (size_t j = i;;) {
    j = (j + 1) & mask;
    if (is_free(t[j])) break;
    size_t h = home(t[j]) & mask;
    bool movable = j > i ? (h <= i || h > j) : (h <= i && h > j);
    if (movable) {
      t[i] = t[j];
      i = j;
    }
  }
  t[i] = Cell{};
}

// Twice the cells, every entry placed again.
template <class Cell, class IsFree, class Home>
void table_grow(std::vector<Cell>& t, IsFree is_free, Home home) {
  std::vector<Cell> old(t.size() * 2);
  old.swap(t);
  size_t mask = t.size() - 1;
  for (const Cell& e : old) {
    if (is_free(e)) continue;
    size_t i = home(e) & mask;
    while (!is_free(t[i])) i = (i + 1) & mask;
    t[i] = e;
  }
}

// Open addressing with linear probing: the buffered series by id. One probe a lookup in the
// common case, no allocation per entry.
class LiveMap {
 public:
  LiveMap() { t_.resize(1024); }

  // The value for `k`, inserting kNone when absent (*fresh says which).
  uint32_t& find_or_insert(const Key& k, bool* fresh) {
    if ((n_ + 1) * 2 > t_.size()) grow();
    size_t mask = t_.size() - 1;
    for (size_t i = hash_key(k) & mask;; i = (i + 1) & mask) {
      if (t_[i].v == kNone) {
        t_[i].k = k;
        ++n_;
        *fresh = true;
        return t_[i].v;
      }
      if (t_[i].k == k) {
        *fresh = false;
        return t_[i].v;
      }
    }
  }

  void erase(const Key& k) {
    size_t mask = t_.size() - 1;
    size_t i = hash_key(k) & mask;
    while (true) {
      if (t_[i].v == kNone) return;
      if (t_[i].k == k) break;
      i = (i + 1) & mask;
    }
    table_erase_at(t_, i, is_free, home);
    --n_;
  }

 private:
  struct Entry {
    Key k;
    uint32_t v = kNone;
  };
  static bool is_free(const Entry& e) { return e.v == kNone; }
  static uint64_t home(const Entry& e) { return hash_key(e.k); }
  void grow() { table_grow(t_, is_free, home); }
  std::vector<Entry> t_;
  size_t n_ = 0;
};

// The ids of the last `capacity` series written, exactly, each with the position its packet's
// next event would have. A ring holds them in the order written (24 bytes an id), the oldest
// replaced first; an open-addressing index (8 bytes a slot, at most half full: 16 bytes an
// id) finds them. Both grow with use up to that: 40 bytes an id, 20 MiB for 2^19 ids. An id
// written again (a continuation written out) takes a new place in the ring; its older place
// is dropped when the ring comes round to it.
class WrittenIds {
 public:
  explicit WrittenIds(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
    index_.resize(64);
  }

  bool find(const Key& k, uint32_t* next_n) const {
    size_t i = lookup(k, hash_key(k));
    if (i == kNoSlot) return false;
    *next_n = ring_[index_[i].at].next_n;
    return true;
  }

  void put(const Key& k, uint32_t next_n) {
    uint64_t h = hash_key(k);
    uint32_t at;
    if (ring_.size() < capacity_) {
      at = static_cast<uint32_t>(ring_.size());
      ring_.push_back({k, next_n});
    } else {
      at = oldest_;
      oldest_ = static_cast<uint32_t>((oldest_ + 1) % capacity_);
      forget(at);
      ring_[at] = {k, next_n};
    }
    if (size_t i = lookup(k, h); i != kNoSlot) {  // still remembered: this place replaces that
      index_[i].at = at;
      return;
    }
    if ((count_ + 1) * 2 > index_.size()) grow();
    size_t mask = index_.size() - 1;
    size_t i = h & mask;
    while (index_[i].at != kNone) i = (i + 1) & mask;
    index_[i] = {at, static_cast<uint32_t>(h)};
    ++count_;
  }

  // The largest first-seen timestamp among the ids forgotten so far (0: none forgotten).
  uint64_t forgotten_max_ts() const { return forgotten_max_ts_; }

 private:
  struct Written {
    Key k;
    uint32_t next_n = 0;
  };
  struct Slot {
    uint32_t at = kNone;  // in ring_
    uint32_t h32 = 0;     // the low half of the key's hash: its home, and a quick compare
  };

  static constexpr size_t kNoSlot = SIZE_MAX;
  // The index slot of `k` (whose hash is h), or kNoSlot.
  size_t lookup(const Key& k, uint64_t h) const {
    size_t mask = index_.size() - 1;
    for (size_t i = h & mask; index_[i].at != kNone; i = (i + 1) & mask)
      if (index_[i].h32 == static_cast<uint32_t>(h) && ring_[index_[i].at].k == k) return i;
    return kNoSlot;
  }

  // Ring place `at` is about to be reused: its id goes, unless a younger place holds it.
  void forget(uint32_t at) {
    const Key& k = ring_[at].k;
    uint64_t h = hash_key(k);
    size_t mask = index_.size() - 1;
    size_t i = h & mask;
    while (true) {
      if (index_[i].at == kNone) return;  // not indexed (cannot happen): nothing to drop
      if (index_[i].at == at) break;
      if (index_[i].h32 == static_cast<uint32_t>(h) && ring_[index_[i].at].k == k)
        return;  // a younger place holds this id
      i = (i + 1) & mask;
    }
    forgotten_max_ts_ = std::max(forgotten_max_ts_, k.ts);
    table_erase_at(index_, i, is_free, home);
    --count_;
  }

  static bool is_free(const Slot& s) { return s.at == kNone; }
  static uint64_t home(const Slot& s) { return s.h32; }
  void grow() { table_grow(index_, is_free, home); }

  size_t capacity_;
  std::vector<Written> ring_;
  uint32_t oldest_ = 0;  // once the ring is full: the place written longest ago
  std::vector<Slot> index_;
  size_t count_ = 0;
  uint64_t forgotten_max_ts_ = 0;
};

struct Slot {
  Event ev;
  uint32_t next = kNone;
  std::string line;  // keeps its capacity when the slot is reused
};


struct State {
  Key key;
  bool tracked = false, continued = false, closed = false, in_lru = false;
  uint32_t first_n = 0;
  uint64_t first_ts = 0, last_ts = 0, seq = 0;
  uint32_t head = kNone, tail = kNone, count = 0;
  uint32_t prev = kNone, next = kNone;  // LRU of open series, oldest activity first
};

// A buffered series in output order.
struct Pending {
  uint64_t first_ts, seq;
  uint32_t state;
  bool operator<(const Pending& o) const {
    return first_ts != o.first_ts ? first_ts < o.first_ts : seq < o.seq;
  }
};

}  // namespace

struct Sorter::Impl {
  explicit Impl(const SortOptions& o)
      : opts(o), written(o.remember_closed) {
    while (slab_bits < 12 && (size_t{1} << slab_bits) <= opts.max_buffered) ++slab_bits;
  }

  SortOptions opts;
  Emit emit;
  SortStats stats;

  std::vector<std::unique_ptr<Slot[]>> slabs;
  uint32_t slots_made = 0;
  std::vector<uint32_t> free_slots;
  uint64_t buffered = 0, text_bytes = 0;
  std::vector<Slot*> order;  // write_out's scratch

  std::vector<State> states;
  std::vector<uint32_t> free_states;
  LiveMap live;                 // buffered tracked series by id
  std::deque<Pending> pending;  // buffered series, sorted by first event time
  uint32_t lru_head = kNone, lru_tail = kNone;
  uint64_t watermark = 0, seq = 0;
  WrittenIds written;

  Series out;

  // Events live in slabs of 2^slab_bits slots (4096, fewer when max_buffered is small).
  uint32_t slab_bits = 0;
  Slot& slot(uint32_t i) { return slabs[i >> slab_bits][i & ((1u << slab_bits) - 1)]; }

  uint32_t new_slot() {
    if (!free_slots.empty()) {
      uint32_t i = free_slots.back();
      free_slots.pop_back();
      return i;
    }
    if ((slots_made >> slab_bits) == slabs.size())
      slabs.push_back(std::make_unique<Slot[]>(size_t{1} << slab_bits));
    return slots_made++;
  }

  uint32_t new_state() {
    uint32_t i;
    if (!free_states.empty()) {
      i = free_states.back();
      free_states.pop_back();
      states[i] = State{};
    } else {
      i = static_cast<uint32_t>(states.size());
      states.emplace_back();
    }
    return i;
  }

  // Files are nearly in time order: a new series almost always goes at the back.
  void enqueue(uint32_t si) {
    Pending p{states[si].first_ts, states[si].seq, si};
    if (pending.empty() || !(p < pending.back())) {
      pending.push_back(p);
      return;
    }
    pending.insert(std::upper_bound(pending.begin(), pending.end(), p), p);
  }

  void lru_unlink(uint32_t i) {
    State& s = states[i];
    if (!s.in_lru) return;
    (s.prev == kNone ? lru_head : states[s.prev].next) = s.next;
    (s.next == kNone ? lru_tail : states[s.next].prev) = s.prev;
    s.prev = s.next = kNone;
    s.in_lru = false;
  }
  void lru_append(uint32_t i) {
    State& s = states[i];
    s.prev = lru_tail;
    s.next = kNone;
    (lru_tail == kNone ? lru_head : states[lru_tail].next) = i;
    lru_tail = i;
    s.in_lru = true;
  }

  void append(uint32_t si, const Event& e, std::string_view line) {
    uint32_t k = new_slot();
    Slot& sl = slot(k);
    copy_event(sl.ev, e);
    sl.next = kNone;
    if (line.size() > sl.line.capacity()) {
      // Sized to the line, rounded up: std::string's own growth would double it.
      std::string bigger;
      bigger.reserve((line.size() + 127) & ~size_t{127});
      sl.line.swap(bigger);
    }
    sl.line.assign(line.data(), line.size());
    text_bytes += line.size();
    State& s = states[si];
    (s.tail == kNone ? s.head : slot(s.tail).next) = k;
    s.tail = k;
    if (s.count == 0) s.first_ts = e.ts;
    s.last_ts = std::max(s.last_ts, e.ts);
    ++s.count;
    if (++buffered > stats.peak_buffered) stats.peak_buffered = buffered;
  }

  void write_out(uint32_t si) {
    State& s = states[si];
    lru_unlink(si);
    out.tracked = s.tracked;
    out.track_ts = s.key.ts;
    out.orig_head = s.key.head;
    out.continued = s.continued;
    out.first_n = s.first_n;
    order.clear();
    for (uint32_t k = s.head; k != kNone; k = slot(k).next) order.push_back(&slot(k));
    auto by_ts = [](const Slot* a, const Slot* b) { return a->ev.ts < b->ev.ts; };
    if (!std::is_sorted(order.begin(), order.end(), by_ts))
      std::stable_sort(order.begin(), order.end(), by_ts);
    out.events.clear();
    out.lines.clear();
    for (const Slot* sl : order) {
      out.events.push_back(&sl->ev);
      out.lines.push_back(sl->line);
    }
    series_path(out, out.path);
    out.drop_reason = {};
    out.end = series_end(out, opts.consume, &out.drop_reason);
    if (opts.consume == ConsumeTraced::unknown && out.end == SeriesEnd::in_flight &&
        is_receive_symbol(out.events.back()->symbol))
      ++stats.receive_unsure;
    ++stats.series;
    emit(out);

    for (uint32_t k = s.head; k != kNone;) {
      Slot& sl = slot(k);
      uint32_t nx = sl.next;
      text_bytes -= sl.line.size();
      if (sl.line.capacity() > 4096) std::string().swap(sl.line);  // a rare long line
      sl.line.clear();
      free_slots.push_back(k);
      k = nx;
    }
    buffered -= s.count;
    if (s.tracked) {
      live.erase(s.key);
      written.put(s.key, s.first_n + s.count);
    }
    free_states.push_back(si);
  }

  uint32_t pop_front() {
    uint32_t i = pending.front().state;
    pending.pop_front();
    return i;
  }

  // Writes every series at the front that is complete; then, while too much is held, the
  // front one whatever its state.
  void pump() {
    while (lru_head != kNone && watermark - states[lru_head].last_ts > opts.window_ns) {
      uint32_t i = lru_head;
      lru_unlink(i);
      states[i].closed = true;
    }
    while (!pending.empty() && states[pending.front().state].closed) write_out(pop_front());
    while ((buffered > opts.max_buffered || text_bytes > opts.max_text_bytes) &&
           !pending.empty()) {
      bool text = text_bytes > opts.max_text_bytes;  // the one to name when both are past
      uint32_t i = pop_front();
      if (!states[i].closed) ++(text ? stats.forced_text : stats.forced);
      write_out(i);
      while (!pending.empty() && states[pending.front().state].closed) write_out(pop_front());
    }
  }

  void add(const Event& e, std::string_view line) {
    ++stats.events;
    if (e.ts > watermark) watermark = e.ts;
    if (!e.has_tracking) {
      uint32_t si = new_state();
      states[si].seq = seq++;
      states[si].closed = true;
      append(si, e, line);
      enqueue(si);
    } else {
      Key k{e.track_ts, e.orig_head};
      bool fresh = false;
      uint32_t& slot_of = live.find_or_insert(k, &fresh);
      if (fresh) {
        uint32_t si = new_state();
        slot_of = si;
        State& s = states[si];
        s.key = k;
        s.tracked = true;
        s.seq = seq++;
        if (uint32_t n = 0; written.find(k, &n)) {
          s.continued = true;
          s.first_n = n;
          ++stats.continued;
        } else if (forgotten(k)) {
          s.continued = true;
          ++stats.continued;
          ++stats.continued_forgotten;
        }
        append(si, e, line);
        enqueue(si);
        lru_append(si);
      } else {
        uint32_t si = slot_of;
        append(si, e, line);
        states[si].closed = false;  // complete no more: back in the LRU, at the young end
        lru_unlink(si);
        lru_append(si);
      }
    }
    pump();
  }

  // An id not remembered that is yet a continuation (see sort.h): first seen no later than
  // an id forgotten, and more than a window before the clock.
  bool forgotten(const Key& k) const {
    return k.ts <= written.forgotten_max_ts() && k.ts < watermark &&
           watermark - k.ts > opts.window_ns;
  }

  void finish() {
    while (!pending.empty()) write_out(pop_front());
    lru_head = lru_tail = kNone;
  }
};

Sorter::Sorter(SortOptions opts, Emit emit) {
  if (opts.max_buffered == 0) opts.max_buffered = 1;
  if (opts.remember_closed < 2) opts.remember_closed = 2;
  impl_ = std::make_unique<Impl>(opts);
  impl_->emit = std::move(emit);
}
Sorter::~Sorter() = default;
void Sorter::add(const Event& e, std::string_view line) { impl_->add(e, line); }
void Sorter::finish() { impl_->finish(); }
const SortStats& Sorter::stats() const { return impl_->stats; }

// ---- Open vSwitch upcalls ------------------------------------------------------------------

bool OvsLinker::link(Event& e) {
  auto take = [&](const Id& id) {
    e.has_tracking = true;
    e.track_ts = id.ts;
    e.orig_head = id.head;
    return true;
  };
  const OvsInfo& o = e.ovs;
  switch (o.kind) {
    case OvsKind::upcall:
      if (!e.has_tracking) break;
      upcalls_[key(e.ts, o.cpu)] = {e.track_ts, e.orig_head};
      // nscope's own upcalls carry the queue id (tracepoints alone have no enqueue event).
      if (o.has_queue_id) queues_[o.queue_id] = {e.track_ts, e.orig_head};
      break;
    case OvsKind::upcall_return:
      upcalls_.erase(key(o.upcall_ts, o.upcall_cpu));
      break;
    case OvsKind::upcall_enqueue:
      if (auto it = upcalls_.find(key(o.upcall_ts, o.upcall_cpu)); it != upcalls_.end()) {
        queues_[o.queue_id] = it->second;
        return take(it->second);
      }
      break;
    case OvsKind::recv_upcall:
    case OvsKind::flow_operation:
      if (auto it = queues_.find(o.queue_id); it != queues_.end()) return take(it->second);
      break;
    case OvsKind::action_execute:
      if (!o.has_queue_id) break;
      if (auto it = queues_.find(o.queue_id); it != queues_.end()) {
        // The packet ovs-vswitchd sent back is a new skb: its later events are this packet's.
        if (e.has_tracking) aliases_[key(e.track_ts, e.orig_head)] = it->second;
        return take(it->second);
      }
      break;
    default:
      break;
  }
  if (!aliases_.empty() && e.has_tracking)
    if (auto it = aliases_.find(key(e.track_ts, e.orig_head)); it != aliases_.end())
      return take(it->second);
  return false;
}

}  // namespace nscope
