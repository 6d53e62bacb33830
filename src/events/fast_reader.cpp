#include "events/fast_reader.h"

#include <arpa/inet.h>

#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "events/format.h"

namespace nscope {
namespace {

// Field values as the scanner found them, applied to the Event afterwards in the order
// parse_event_line applies them (some fields override others).
struct U64 {
  bool set = false;
  uint64_t v = 0;
};
struct Str {
  bool set = false;
  std::string_view v;
};
struct Bool {
  bool set = false, v = false;
};

struct Version {
  bool set = false, is_num = false;
  uint64_t num = 0;
  std::string_view str;
};

struct Tuple {
  Str src, dst, ip_src, ip_dst;
  Version version, ip_version;
  bool ip_obj = false;
  // "proto": a number, or {"tcp": {"sport", "dport"}} (one key).
  enum { none, number, object } proto_kind = none;
  uint64_t proto_num = 0;
  std::string_view proto_name;
  bool proto_key = false;  // the object had its one key
  U64 p_sport, p_dport, p_type, p_code, p_id, p_vtag;
  U64 sport, dport, vtag;
};

struct CtLevel {
  U64 ct_status, status, zone, mark, labels_hi, labels_lo;  // ct_status: Retis; status: nscope
  Str zone_dir, proto_state, tcp_state;
  bool labels = false;
  bool orig_set = false, reply_set = false;
  Tuple orig, reply;
};

// Scans a line followed by a NUL byte and kPad - 1 more readable bytes: NUL is never valid
// where the scanner looks, so it stops every loop without bounds checks, and 16-byte loads
// near the end stay inside the buffer.
constexpr size_t kPad = 64;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Eight ASCII digits at p (little-endian loads) into their value; false when one is not a
// digit. The SWAR steps simdjson uses.
bool eight_digits(const char* p, uint64_t* out) {
  if constexpr (std::endian::native != std::endian::little) return false;  // digit by digit
  uint64_t v;
  std::memcpy(&v, p, 8);
  if ((((v & 0xF0F0F0F0F0F0F0F0ull) | (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) !=
       0x3333333333333333ull))
    return false;
  v -= 0x3030303030303030ull;
  v = v * 10 + (v >> 8);
  v = (((v & 0x000000FF000000FFull) * 0x000F424000000064ull) +
       (((v >> 16) & 0x000000FF000000FFull) * 0x0000271000000001ull)) >> 32;
  *out = v;
  return true;
}

class Scanner {
 public:
  Scanner(const char* begin, size_t n) : p_(begin), end_(begin + n) {}

  void ws() {
    while (static_cast<unsigned char>(*p_) <= ' ' && is_ws(*p_)) ++p_;
  }
  bool eat(char c) {
    ws();
    if (*p_ != c) return false;
    ++p_;
    return true;
  }
  bool at(char c) {
    ws();
    return *p_ == c;
  }
  bool at_end() {
    ws();
    return p_ == end_;
  }

  // A string with no escapes, control characters or non-ASCII bytes (anything else goes to
  // the full parser, which validates UTF-8 and decodes escapes). 16 bytes a step.
  bool str(std::string_view& out) {
    if (!eat('"')) return false;
    const char* b = p_;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (true) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
      // Signed compare: bytes >= 0x80 are negative, so below 0x20 too.
      __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                  _mm_cmplt_epi8(v, space));
      auto mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
      if (mask) {
        p_ += __builtin_ctz(mask);
        break;
      }
      p_ += 16;
    }
#else
    while (true) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++p_;
    }
#endif
    if (*p_ != '"' || p_ > end_) return false;
    out = {b, static_cast<size_t>(p_ - b)};
    ++p_;
    return true;
  }

  // A non-negative JSON integer that fits in 64 bits.
  bool uint(uint64_t& v) {
    ws();
    uint64_t x = 0;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      // Eight digits a step while they come (the padding keeps the loads inside), then one
      // by one; 19 digits cannot overflow, a 20th is checked.
      const char* b = p_;
      uint64_t eight = 0;
      while (p_ - b <= 8 && eight_digits(p_, &eight)) {
        x = x * 100000000 + eight;
        p_ += 8;
      }
      while (*p_ >= '0' && *p_ <= '9' && p_ - b < 19) x = x * 10 + static_cast<uint64_t>(*p_++ - '0');
      if (*p_ >= '0' && *p_ <= '9') {
        if (__builtin_mul_overflow(x, 10u, &x) ||
            __builtin_add_overflow(x, static_cast<uint64_t>(*p_ - '0'), &x))
          return false;
        ++p_;
      }
    } else {
      return false;
    }
    if (*p_ == '.' || *p_ == 'e' || *p_ == 'E' || (*p_ >= '0' && *p_ <= '9')) return false;
    v = x;
    return true;
  }

  // What parse_event_line's u64_of reads: a number, or a string strtoull(s, 0, 0) reads the
  // same way. Only plain decimal and 0x-hex strings are taken here.
  bool u64(U64& f) {
    if (f.set) return false;  // a duplicate key: the full parser decides which wins
    f.set = true;
    if (!at('"')) return uint(f.v);
    std::string_view s;
    if (!str(s) || s.empty()) return false;
    uint64_t x = 0;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      if (s.size() > 18) return false;
      for (char c : s.substr(2)) {
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return false;
        x = x << 4 | static_cast<uint64_t>(d);
      }
    } else {
      if ((s[0] == '0' && s.size() > 1) || s.size() > 20) return false;  // 0...: octal
      size_t i = 0;
      uint64_t eight = 0;
      for (; i + 8 <= s.size() && i < 16; i += 8) {  // the string's bytes are all in the line
        if (!eight_digits(s.data() + i, &eight)) return false;
        x = x * 100000000 + eight;
      }
      for (; i < s.size() && i < 19; ++i) {  // 19 digits cannot overflow
        auto d = static_cast<unsigned>(s[i] - '0');
        if (d > 9) return false;
        x = x * 10 + d;
      }
      if (i < s.size()) {
        auto d = static_cast<unsigned>(s[i] - '0');
        if (d > 9 || __builtin_mul_overflow(x, 10u, &x) || __builtin_add_overflow(x, d, &x))
          return false;
      }
    }
    f.v = x;
    return true;
  }

  // A JSON number only (what parse_event_line reads for most fields).
  bool num(U64& f) {
    if (f.set) return false;
    f.set = true;
    return uint(f.v);
  }
  bool boolean(Bool& f) {
    if (f.set) return false;
    f.set = true;
    ws();
    if (word("true")) {
      f.v = true;
      return true;
    }
    f.v = false;
    return word("false");
  }

  bool string_field(Str& f) {
    if (f.set) return false;
    f.set = true;
    return str(f.v);
  }

  // Skips one JSON value, checking its syntax as strictly as the full parser does. Floats
  // and very long integers go to the full parser (it rejects those that overflow a double).
  bool skip() {
    char stack[64];
    int depth = 0;
  value:
    if (++values_ > kMaxJsonValues) return false;  // the full parser says so
    ws();
    switch (*p_) {
      case '{':
        ++p_;
        if (eat('}')) goto after;
        if (depth == 16) return false;  // deeper: the full parser's limit decides
        stack[depth++] = '{';
        goto key;
      case '[':
        ++p_;
        if (eat(']')) goto after;
        if (depth == 16) return false;  // deeper: the full parser's limit decides
        stack[depth++] = '[';
        goto value;
      case '"': {
        std::string_view s;
        if (!str(s)) return false;
        goto after;
      }
      case 't':
        if (!word("true")) return false;
        goto after;
      case 'f':
        if (!word("false")) return false;
        goto after;
      case 'n':
        if (!word("null")) return false;
        goto after;
      default: {
        if (*p_ == '-') ++p_;
        const char* b = p_;
        if (*p_ == '0') {
          ++p_;
        } else {
          while (*p_ >= '0' && *p_ <= '9') ++p_;
          if (p_ == b) return false;
        }
        if (p_ - b > 18) return false;
        if (*p_ == '.' || *p_ == 'e' || *p_ == 'E' || (*p_ >= '0' && *p_ <= '9')) return false;
        goto after;
      }
    }
  key: {
    std::string_view k;
    if (!str(k) || !eat(':')) return false;
    goto value;
  }
  after:
    if (depth == 0) return true;
    if (stack[depth - 1] == '{') {
      if (eat(',')) goto key;
      if (eat('}')) {
        --depth;
        goto after;
      }
      return false;
    }
    if (eat(',')) goto value;
    if (eat(']')) {
      --depth;
      goto after;
    }
    return false;
  }

  // Walks the members of an object: fn(key) consumes each value and returns false to give
  // up. Returns false on bad syntax.
  template <class Fn>
  bool object(Fn&& fn) {
    if (!eat('{')) return false;
    if (eat('}')) return true;
    while (true) {
      std::string_view k;
      if (!str(k) || !eat(':')) return false;
      if (!fn(k)) return false;
      if (eat(',')) continue;
      return eat('}');
    }
  }

 private:
  bool word(std::string_view w) {
    if (std::memcmp(p_, w.data(), w.size()) != 0) return false;  // the padding keeps it inside
    p_ += w.size();
    return true;
  }

  const char* p_;
  const char* end_;
  size_t values_ = 0;
};

bool version(Scanner& s, Version& v) {
  if (v.set) return false;
  v.set = true;
  if (s.at('"')) return s.str(v.str);
  v.is_num = true;
  return s.uint(v.num);
}

// Every key is one the full parser knows: an unknown one sends the line there, which counts
// it as skipped.
bool tuple(Scanner& s, Tuple& t) {
  return s.object([&](std::string_view k) {
    if (k == "src") return s.string_field(t.src);
    if (k == "dst") return s.string_field(t.dst);
    if (k == "version") return version(s, t.version);
    if (k == "sport") return s.num(t.sport);
    if (k == "dport") return s.num(t.dport);
    if (k == "vtag") return s.num(t.vtag);
    if (k == "ip") {
      if (t.ip_obj) return false;
      t.ip_obj = true;
      return s.object([&](std::string_view ik) {
        if (ik == "src") return s.string_field(t.ip_src);
        if (ik == "dst") return s.string_field(t.ip_dst);
        if (ik == "version") return version(s, t.ip_version);
        return false;
      });
    }
    if (k == "proto") {
      if (t.proto_kind != Tuple::none) return false;
      if (!s.at('{')) {
        t.proto_kind = Tuple::number;
        return s.uint(t.proto_num);
      }
      t.proto_kind = Tuple::object;
      int keys = 0;
      return s.object([&](std::string_view name) {
        if (++keys > 1) return false;
        t.proto_name = name;
        t.proto_key = true;
        return s.object([&](std::string_view pk) {
          if (pk == "sport") return s.num(t.p_sport);
          if (pk == "dport") return s.num(t.p_dport);
          if (pk == "type") return s.num(t.p_type);
          if (pk == "code") return s.num(t.p_code);
          if (pk == "id") return s.num(t.p_id);
          if (pk == "vtag") return s.num(t.p_vtag);
          return false;
        });
      });
    }
    return false;
  });
}

bool ct_level(Scanner& s, std::string_view k, CtLevel& c, bool* handled) {
  *handled = true;
  if (k == "ct_status") return s.num(c.ct_status);
  if (k == "status") return s.num(c.status);
  if (k == "zone_id") return s.num(c.zone);
  if (k == "zone_dir") return s.string_field(c.zone_dir);
  if (k == "mark") return s.num(c.mark);
  if (k == "proto_state") return s.string_field(c.proto_state);
  if (k == "tcp_state") return s.string_field(c.tcp_state);
  if (k == "labels") {
    if (c.labels) return false;
    c.labels = true;
    return s.object([&](std::string_view lk) {
      if (lk == "hi") return s.num(c.labels_hi);
      if (lk == "lo") return s.num(c.labels_lo);
      return false;
    });
  }
  if (k == "orig") {
    if (c.orig_set) return false;
    c.orig_set = true;
    return tuple(s, c.orig);
  }
  if (k == "reply") {
    if (c.reply_set) return false;
    c.reply_set = true;
    return tuple(s, c.reply);
  }
  *handled = false;
  return true;
}


bool put_addr(const Str& a, uint8_t family, std::array<uint8_t, 16>& out) {
  if (!a.set) return true;
  if (a.v.size() >= 64) return false;
  char buf[64];
  std::memcpy(buf, a.v.data(), a.v.size());
  buf[a.v.size()] = 0;
  return inet_pton(family == 6 ? AF_INET6 : AF_INET, buf, out.data()) == 1;
}

bool fits(const U64& f, uint64_t max) { return !f.set || f.v <= max; }

// As parse_event_line's parse_tuple; false for what it would refuse.
bool apply_tuple(const Tuple& j, CtTuple& t) {
  if (!(j.ip_obj ? j.ip_src : j.src).set || !(j.ip_obj ? j.ip_dst : j.dst).set ||
      j.proto_kind == Tuple::none)
    return false;  // required
  const Version& v = j.ip_obj ? j.ip_version : j.version;
  if (v.set) {
    if (v.is_num ? (v.num != 4 && v.num != 6) : (v.str != "v4" && v.str != "v6")) return false;
    t.family = v.is_num ? static_cast<uint8_t>(v.num) : v.str == "v6" ? 6 : 4;
  }
  if (!t.family) t.family = 4;
  if (!put_addr(j.ip_obj ? j.ip_src : j.src, t.family, t.src) ||
      !put_addr(j.ip_obj ? j.ip_dst : j.dst, t.family, t.dst))
    return false;
  if (j.proto_kind == Tuple::number) {
    if (j.proto_num > 0xff || !fits(j.sport, 0xffff) || !fits(j.dport, 0xffff)) return false;
    t.proto = static_cast<uint8_t>(j.proto_num);
    t.sport = static_cast<uint16_t>(j.sport.v);
    t.dport = static_cast<uint16_t>(j.dport.v);
    if (j.vtag.set && t.proto != 132) return false;  // the full parser counts it skipped
    if (!fits(j.vtag, 0xffffffff)) return false;
    if (t.proto == 132) t.vtag = static_cast<uint32_t>(j.vtag.v);
  } else if (j.proto_kind == Tuple::object) {
    if (j.vtag.set) return false;
    if (!j.proto_key) return false;
    std::string_view n = j.proto_name;
    t.proto = n == "tcp" ? 6 : n == "udp" ? 17 : n == "icmp" ? 1 : n == "icmpv6" ? 58
            : n == "sctp" ? 132 : 0;
    if (!t.proto) return false;
    if (t.proto == 1 || t.proto == 58) {
      if (!fits(j.p_type, 0xff) || !fits(j.p_code, 0xff) || !fits(j.p_id, 0xffff)) return false;
      t.sport = static_cast<uint16_t>(j.p_type.v << 8 | j.p_code.v);
      t.dport = static_cast<uint16_t>(j.p_id.v);
    } else {
      if (!fits(j.p_sport, 0xffff) || !fits(j.p_dport, 0xffff) || !fits(j.p_vtag, 0xffffffff))
        return false;
      t.sport = static_cast<uint16_t>(j.p_sport.v);
      t.dport = static_cast<uint16_t>(j.p_dport.v);
      if (t.proto == 132) t.vtag = static_cast<uint32_t>(j.p_vtag.v);
    }
  }
  return true;
}

template <size_t N>
void copy_str(std::string_view s, std::array<char, N>& dst) {
  dst.fill(0);
  std::memcpy(dst.data(), s.data(), std::min(s.size(), N - 1));
}

// The ct section's fields, kept apart from Fields: they are many, and reset only for the
// lines that have a ct section.
struct CtFields {
  Str state;
  bool base = false, parent = false;
  CtLevel c, b, p;  // the section itself (Retis 1.5+, nscope), a "base" object, the parent
};


// Every field of one event line, as found.
struct Fields {
  bool common = false, task = false, kernel = false, netns = false, dev = false, skb = false,
       meta = false, data_ref = false, tracking = false, drop = false, ct = false,
       packet = false;
  U64 ts, smp_id, pid, tgid;
  Str comm, probe_type, symbol;
  U64 inum, cookie;
  Str ifname;
  U64 ifindex, rx_ifindex;
  U64 addr, len, data_len, mark, protocol;
  U64 meta_len, meta_data_len, hash, ip_summed, csum, csum_level, priority;
  Bool nohdr, cloned;
  U64 fclone, users, dataref;
  U64 orig_head, track_ts, track_skb;
  Str drop_reason, subsys;
  CtFields* ctf = nullptr;
  Str data;
  U64 packet_len, capture_len;
  // Top-level sections nscope does not know: skipped, counted when the line is taken.
  std::array<std::string_view, 4> unknown;
  size_t n_unknown = 0;
};

bool once(bool& seen) {
  if (seen) return false;
  seen = true;
  return true;
}

// Section parsers. Each returns false to hand the line to the full parser: for any key it
// does not read, so the full parser can check and count it.
bool common(Scanner& s, Fields& f) {
  return s.object([&](std::string_view k) {
    if (k == "timestamp") return s.num(f.ts);
    if (k == "smp_id") return s.num(f.smp_id);
    if (k == "task")
      return once(f.task) && s.object([&](std::string_view tk) {
               if (tk == "pid") return s.num(f.pid);
               if (tk == "tgid") return s.num(f.tgid);
               if (tk == "comm") return s.string_field(f.comm);
               return false;
             });
    return false;
  });
}

bool ct(Scanner& s, Fields& f, CtFields& c) {
  c = CtFields{};
  f.ctf = &c;
  return s.object([&](std::string_view k) {
    bool handled = false;
    if (!ct_level(s, k, c.c, &handled)) return false;
    if (handled) return true;
    if (k == "state") return s.string_field(c.state);
    if (k == "base" || k == "parent") {
      bool& seen = k == "base" ? c.base : c.parent;
      CtLevel& level = k == "base" ? c.b : c.p;
      return once(seen) && s.object([&](std::string_view bk) {
               bool h = false;
               return ct_level(s, bk, level, &h) && h;
             });
    }
    return false;
  });
}


bool section(Scanner& s, std::string_view k, Fields& f, CtFields& ctf) {
  if (k == "common") return once(f.common) && common(s, f);
  if (k == "kernel")
    return once(f.kernel) && s.object([&](std::string_view kk) {
             if (kk == "probe_type") return s.string_field(f.probe_type);
             if (kk == "symbol") return s.string_field(f.symbol);
             return false;  // stack_trace: an array, the full parser reads it
           });
  if (k == "netns")
    return once(f.netns) && s.object([&](std::string_view kk) {
             if (kk == "inum") return s.num(f.inum);
             if (kk == "cookie") return s.u64(f.cookie);
             return false;
           });
  if (k == "dev")
    return once(f.dev) && s.object([&](std::string_view kk) {
             if (kk == "name") return s.string_field(f.ifname);
             if (kk == "ifindex") return s.num(f.ifindex);
             if (kk == "rx_ifindex") return s.num(f.rx_ifindex);
             return false;
           });
  if (k == "skb")
    return once(f.skb) && s.object([&](std::string_view kk) {
             if (kk == "addr") return s.u64(f.addr);
             if (kk == "len") return s.num(f.len);
             if (kk == "data_len") return s.num(f.data_len);
             if (kk == "mark") return s.num(f.mark);
             if (kk == "protocol") return s.num(f.protocol);
             if (kk == "meta")
               return once(f.meta) && s.object([&](std::string_view mk) {
                        if (mk == "len") return s.num(f.meta_len);
                        if (mk == "data_len") return s.num(f.meta_data_len);
                        if (mk == "hash") return s.num(f.hash);
                        if (mk == "ip_summed") return s.num(f.ip_summed);
                        if (mk == "csum") return s.num(f.csum);
                        if (mk == "csum_level") return s.num(f.csum_level);
                        if (mk == "priority") return s.num(f.priority);
                        return false;
                      });
             if (kk == "data_ref")
               return once(f.data_ref) && s.object([&](std::string_view dk) {
                        if (dk == "nohdr") return s.boolean(f.nohdr);
                        if (dk == "cloned") return s.boolean(f.cloned);
                        if (dk == "fclone") return s.num(f.fclone);
                        if (dk == "users") return s.num(f.users);
                        if (dk == "dataref") return s.num(f.dataref);
                        return false;
                      });
             return false;  // gso, vlan_accel, Retis 1.5's dev/ns/packet: the full parser
           });
  if (k == "skb-tracking")
    return once(f.tracking) && s.object([&](std::string_view kk) {
             if (kk == "orig_head") return s.u64(f.orig_head);
             if (kk == "timestamp") return s.u64(f.track_ts);
             if (kk == "skb") return s.u64(f.track_skb);
             return false;
           });
  if (k == "skb-drop")
    return once(f.drop) && s.object([&](std::string_view kk) {
             if (kk == "drop_reason") return s.string_field(f.drop_reason);
             if (kk == "subsys") return s.string_field(f.subsys);
             return false;
           });
  if (k == "ct") return once(f.ct) && ct(s, f, ctf);
  if (k == "packet")
    return once(f.packet) && s.object([&](std::string_view kk) {
             if (kk == "data") return s.string_field(f.data);
             if (kk == "len") return s.num(f.packet_len);
             if (kk == "capture_len") return s.num(f.capture_len);
             return false;
           });
  if (known_section(k)) return false;  // one the full parser reads and this one leaves to it
  if (f.n_unknown == f.unknown.size()) return false;
  for (size_t i = 0; i < f.n_unknown; ++i)
    if (f.unknown[i] == k) return false;  // a duplicate key
  f.unknown[f.n_unknown++] = k;
  return s.skip();
}

}  // namespace

struct FastEventParser::State {
  explicit State(SymbolTable& s) : symbols(s) {}
  SymbolTable& symbols;
  SkippedFields* skipped = nullptr;
  std::vector<Event>* series = nullptr;
  ParseExtras extras(StartupInfo* startup) const {
    ParseExtras x;
    x.startup = startup;
    x.skipped = skipped;
    x.series = series;
    return x;
  }
  std::vector<char> buf;
  CtFields ct;
  // Recently interned names: a file repeats a handful of probe names and types.
  struct Cached {
    size_t len = SIZE_MAX;
    char text[40];
    std::string_view v;
  };
  std::array<Cached, 16> cache;

  std::string_view intern(std::string_view s) {
    if (s.empty() || s.size() > sizeof(Cached::text)) return symbols.intern(s);
    Cached& c = cache[(s.size() * 7 + static_cast<unsigned char>(s.back())) & 15];
    if (c.len == s.size() && std::memcmp(c.text, s.data(), s.size()) == 0) return c.v;
    c.v = symbols.intern(s);
    c.len = s.size();
    std::memcpy(c.text, s.data(), s.size());
    return c.v;
  }
};

namespace {
// As parse_event_line's parse_conn; false for what it would refuse.
bool apply_conn(const CtLevel& b, CtConn& conn, FastEventParser::State& st) {
  if (!fits(b.zone, 0xffff) || !fits(b.mark, 0xffffffff)) return false;
  conn.status = b.ct_status.set ? b.ct_status.v : b.status.v;
  conn.zone = static_cast<uint16_t>(b.zone.v);
  if (b.zone_dir.set) {
    if (!zone_dir_of(b.zone_dir.v, conn.zone_dir)) return false;
  } else if (b.zone.set) {
    conn.zone_dir = CtZoneDir::default_;
  }
  conn.has_mark = b.mark.set;
  conn.mark = static_cast<uint32_t>(b.mark.v);
  if (b.labels) {
    if (!b.labels_hi.set || !b.labels_lo.set) return false;
    conn.has_labels = true;
    conn.labels_hi = b.labels_hi.v;
    conn.labels_lo = b.labels_lo.v;
  }
  if (b.proto_state.set) conn.proto_state = st.intern(b.proto_state.v);
  else if (b.tcp_state.set) conn.proto_state = st.intern(b.tcp_state.v);
  if (b.orig_set && !apply_tuple(b.orig, conn.orig)) return false;
  if (b.reply_set && !apply_tuple(b.reply, conn.reply)) return false;
  return true;
}

// Ranges: a value past its field's width is the full parser's to refuse.
inline bool in_range(const Fields& f) {
  constexpr uint64_t k8 = 0xff, k16 = 0xffff, k32 = 0xffffffff;
  return fits(f.smp_id, k32) && fits(f.pid, k32) && fits(f.tgid, k32) && fits(f.inum, k32) &&
         fits(f.ifindex, k32) && fits(f.rx_ifindex, k32) && fits(f.len, k32) &&
         fits(f.data_len, k32) && fits(f.mark, k32) && fits(f.protocol, k16) &&
         fits(f.meta_len, k32) && fits(f.meta_data_len, k32) && fits(f.hash, k32) &&
         fits(f.ip_summed, k8) && fits(f.csum, k32) && fits(f.csum_level, k8) &&
         fits(f.priority, k32) && fits(f.fclone, k8) && fits(f.users, k8) &&
         fits(f.dataref, k8) && fits(f.packet_len, k32) && fits(f.capture_len, k32);
}

// Fields the sections require: one missing is the full parser's to refuse.
inline bool has_required(const Fields& f) {
  return !((f.kernel && (!f.probe_type.set || !f.symbol.set)) || (f.netns && !f.inum.set) ||
           (f.dev && (!f.ifname.set || !f.ifindex.set)) ||
           (f.meta && (!f.meta_len.set || !f.meta_data_len.set || !f.hash.set ||
                       !f.ip_summed.set || !f.csum.set || !f.csum_level.set || !f.priority.set)) ||
           (f.data_ref && (!f.nohdr.set || !f.cloned.set || !f.fclone.set || !f.users.set ||
                           !f.dataref.set)) ||
           (f.tracking && (!f.orig_head.set || !f.track_ts.set)) ||
           (f.drop && !f.drop_reason.set) || (f.ct && !f.ctf->state.set) ||
           (f.packet && (!f.data.set || !f.packet_len.set)));
}

// common, kernel, netns, dev: the sections that cannot be refused once in range.
inline void apply_head(const Fields& f, Event& e, FastEventParser::State& st) {
  e.ts = f.ts.v;
  if (f.smp_id.set) e.cpu = static_cast<uint32_t>(f.smp_id.v);
  if (f.task) {
    e.has_task = true;
    e.pid = static_cast<uint32_t>(f.pid.v);
    e.tgid = static_cast<uint32_t>(f.tgid.set ? f.tgid.v : e.pid);
    if (f.comm.set) copy_str(f.comm.v, e.comm);
  }
  if (f.kernel) {
    if (f.probe_type.set) e.probe_type = st.intern(f.probe_type.v);
    if (f.symbol.set) e.symbol = st.intern(f.symbol.v);
  }
  if (f.netns) {
    e.has_netns = true;
    e.netns_inum = static_cast<uint32_t>(f.inum.v);
    if (f.cookie.set) e.netns_cookie = f.cookie.v;
  }
  if (f.dev) {
    e.has_dev = true;
    if (f.ifname.set) copy_str(f.ifname.v, e.ifname);
    e.ifindex = static_cast<uint32_t>(f.ifindex.v);
    e.rx_ifindex = static_cast<uint32_t>(f.rx_ifindex.v);
  }
}

inline void apply_skb(const Fields& f, Event& e) {
  e.has_skb = true;
  if (f.addr.set) e.skb_addr = f.addr.v;
  e.len = static_cast<uint32_t>(f.len.v);
  e.data_len = static_cast<uint32_t>(f.data_len.v);
  e.mark = static_cast<uint32_t>(f.mark.v);
  e.protocol = static_cast<uint16_t>(f.protocol.v);
  if (f.meta) {
    e.has_meta_len = f.meta_len.set;
    if (!e.len) e.len = static_cast<uint32_t>(f.meta_len.v);
    if (!e.data_len) e.data_len = static_cast<uint32_t>(f.meta_data_len.v);
    e.meta.has = true;
    e.meta.hash = static_cast<uint32_t>(f.hash.v);
    e.meta.ip_summed = static_cast<uint8_t>(f.ip_summed.v);
    e.meta.csum = static_cast<uint32_t>(f.csum.v);
    e.meta.csum_level = static_cast<uint8_t>(f.csum_level.v);
    e.meta.priority = static_cast<uint32_t>(f.priority.v);
  }
  if (f.data_ref) {
    e.data_ref.has = true;
    e.data_ref.nohdr = f.nohdr.v;
    e.data_ref.cloned = f.cloned.v;
    e.data_ref.fclone = static_cast<uint8_t>(f.fclone.v);
    e.data_ref.users = static_cast<uint8_t>(f.users.v);
    e.data_ref.dataref = static_cast<uint8_t>(f.dataref.v);
  }
}

// tracking, drop, ct, packet; false for a ct state, connection or packet the full parser
// would refuse.
inline bool apply_tail(const Fields& f, Event& e, FastEventParser::State& st) {
  if (f.tracking) {
    e.has_tracking = true;
    e.orig_head = f.orig_head.v;
    e.track_ts = f.track_ts.v;
    if (f.track_skb.set) e.skb_addr = f.track_skb.v;
  }
  if (f.drop) {
    e.has_drop = true;
    e.drop_reason = st.intern(f.drop_reason.v);
    if (f.subsys.set) e.drop_subsys = st.intern(f.subsys.v);
  }
  if (f.ct) {
    const CtFields& c = *f.ctf;
    e.has_ct = true;
    if (c.state.set && !ct_state_of(c.state.v, e.ct_state)) return false;
    if (!apply_conn(c.base ? c.b : c.c, e.ct, st)) return false;
    if (c.parent) {
      e.has_ct_parent = e.has_rare = true;  // the tail's only section this parser fills
      if (!apply_conn(c.p, e.ct_parent, st)) return false;
    }
  }
  // has_required saw the length with the data.
  if (f.packet && !read_packet_data(f.data.v, static_cast<uint32_t>(f.packet_len.v), e))
    return false;
  return true;
}
}  // namespace

FastEventParser::FastEventParser(SymbolTable& symbols) : st_(std::make_unique<State>(symbols)) {}
FastEventParser::~FastEventParser() = default;

bool FastEventParser::try_event(std::string_view line, Event& e) {
  // A copy with NUL padding: see Scanner.
  auto& buf = st_->buf;
  if (buf.size() < line.size() + kPad) buf.resize(line.size() + kPad + 4096);
  std::memcpy(buf.data(), line.data(), line.size());
  std::memset(buf.data() + line.size(), 0, kPad);
  return scan(buf.data(), line.size(), e);
}

bool FastEventParser::scan(const char* line, size_t n, Event& e) {
  Scanner s(line, n);
  Fields f;
  if (!s.object([&](std::string_view k) { return section(s, k, f, st_->ct); })) return false;
  if (!s.at_end() || !f.common || !f.ts.set) return false;
  if (!in_range(f) || !has_required(f)) return false;
  // Applied in parse_event_line's order. Strings point into the line: copy them out now.
  reset_event(e);  // data[] past caplen is never read: left as it is
  apply_head(f, e, *st_);
  if (f.skb) apply_skb(f, e);
  if (!apply_tail(f, e, *st_)) return false;
  if (st_->skipped)
    for (size_t i = 0; i < f.n_unknown; ++i) ++(*st_->skipped)[std::string(f.unknown[i])];
  return true;
}

Result<LineKind> FastEventParser::parse(std::string_view line, Event& e, StartupInfo* startup) {
  if (try_event(line, e)) return LineKind::event;
  return parse_event_line(line, st_->symbols, e, st_->extras(startup));
}

void FastEventParser::set_outputs(SkippedFields* skipped, std::vector<Event>* series) {
  st_->skipped = skipped;
  st_->series = series;
}

Result<LineKind> FastEventParser::parse_padded(std::string_view line, Event& e,
                                               StartupInfo* startup) {
  if (scan(line.data(), line.size(), e)) return LineKind::event;
  return parse_event_line(line, st_->symbols, e, st_->extras(startup));
}

size_t FastEventParser::padding() { return kPad; }

bool try_parse_event_fast(std::string_view line, SymbolTable& symbols, Event& e) {
  return FastEventParser(symbols).try_event(line, e);
}

Result<LineKind> parse_event_line_fast(std::string_view line, SymbolTable& symbols, Event& e,
                                       StartupInfo* startup) {
  return FastEventParser(symbols).parse(line, e, startup);
}

}  // namespace nscope
