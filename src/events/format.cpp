#include "events/format.h"

#include <charconv>
#include <cstring>
#include <ctime>
#include <utility>

#include <arpa/inet.h>

#include "events/retis_text.h"
#include "util/append.h"

namespace nscope {

std::string_view ct_state_name(CtState s) {
  switch (s) {
    case CtState::established: return "ESTABLISHED";
    case CtState::related: return "RELATED";
    case CtState::new_: return "NEW";
    case CtState::reply: return "REPLY";
    case CtState::related_reply: return "RELATED_REPLY";
    case CtState::untracked: return "UNTRACKED";
    case CtState::none: break;
  }
  return "NONE";
}

namespace {
// Calls fn with each frame of a stack trace (frames one a line).
template <class Fn>
void each_frame(std::string_view frames, Fn fn) {
  while (!frames.empty()) {
    size_t nl = frames.find('\n');
    fn(frames.substr(0, nl));
    frames = nl == std::string_view::npos ? std::string_view() : frames.substr(nl + 1);
  }
}

}  // namespace

void format_tracking_id(const Event& e, std::string& out) {
  out += '#';
  put_hex(out, e.track_ts, false);
  put_hex(out, e.orig_head, false);
}

namespace {
// The timestamp that starts an event's first line: monotonic nanoseconds, or UTC wall time.
void put_event_time(const Event& e, const TextOptions& opt, std::string& out) {
  if (!opt.utc) {
    put_num(out, e.ts);
    return;
  }
  int64_t wall = 0;  // stays 0 (1970) when a damaged file's numbers do not add up
  if (__builtin_add_overflow(static_cast<int64_t>(e.ts), opt.mono_to_utc_ns, &wall) || wall < 0)
    wall = 0;
  time_t sec = static_cast<time_t>(wall / 1000000000);
  struct tm tm {};
  gmtime_r(&sec, &tm);
  put_num_padded(out, static_cast<uint64_t>(tm.tm_year + 1900), 4);
  out += '-';
  put_num_padded(out, static_cast<uint64_t>(tm.tm_mon + 1), 2);
  out += '-';
  put_num_padded(out, static_cast<uint64_t>(tm.tm_mday), 2);
  out += ' ';
  put_num_padded(out, static_cast<uint64_t>(tm.tm_hour), 2);
  out += ':';
  put_num_padded(out, static_cast<uint64_t>(tm.tm_min), 2);
  out += ':';
  put_num_padded(out, static_cast<uint64_t>(tm.tm_sec), 2);
  out += '.';
  put_num_padded(out, static_cast<uint64_t>(wall % 1000000000), 9);
}

// The probe as the first line names it: " [k] symbol", or " [u] symbol (program)" for USDT.
void put_probe(const Event& e, std::string& out) {
  if (e.symbol.empty() && e.user.has) {  // a USDT probe in a program
    put(out, " [u] ");
    put(out, e.user.symbol);
    if (size_t slash = e.user.path.rfind('/'); slash != std::string_view::npos) {
      put(out, " (");
      put(out, e.user.path.substr(slash + 1));
      out += ')';
    }
    return;
  }
  std::string_view kind = e.probe_type == "raw_tracepoint" || e.probe_type == "tracepoint"
                              ? "tp"
                          : e.probe_type == "kprobe"    ? "k"
                          : e.probe_type == "kretprobe" ? "kr"
                          : e.probe_type == "fentry"    ? "f"
                          : e.probe_type == "fexit"     ? "fx"
                                                        : e.probe_type;
  put(out, " [");
  put(out, kind);
  put(out, "] ");
  put(out, e.symbol);
}

// Time, task, probe and tracking id, then the kernel stack a frame a line, as Retis prints it.
void put_event_head(const Event& e, const TextOptions& opt, std::string& out,
                    std::string_view indent) {
  put(out, indent);
  put_event_time(e, opt, out);
  if (e.has_task) {
    put(out, " [");
    put(out, fixed_str(e.comm));
    put(out, "] ");
    put_num(out, e.tgid);
  }
  put_probe(e, out);
  if (e.has_tracking) {
    out += ' ';
    format_tracking_id(e, out);
    put(out, " (skb ");
    put_num(out, e.skb_addr);
    out += ')';
  }
  out += '\n';
  each_frame(e.stack_trace, [&](std::string_view frame) {
    put(out, indent);
    put(out, "    ");
    put(out, frame);
    out += '\n';
  });
}

// "  if 2 (eth0) <packet>": the device and the packet (or the skb's length without one).
void put_dev_packet_line(const Event& e, const TextOptions& opt, std::string& out,
                         std::string_view indent) {
  if (!e.has_dev && !e.has_packet) return;
  put(out, indent);
  put(out, "  ");
  if (e.has_dev) {
    put(out, "if ");
    put_num(out, e.ifindex);
    put(out, " (");
    put(out, fixed_str(e.ifname));
    out += ')';
    if (e.rx_ifindex && e.rx_ifindex != e.ifindex) {
      put(out, " rxif ");
      put_num(out, e.rx_ifindex);
    }
  }
  if (e.has_packet) {
    if (e.has_dev) out += ' ';
    format_packet({e.data.data(), e.caplen}, e.l2_len, e.protocol, {opt.ethernet}, out);
  } else if (e.has_skb) {
    put(out, " len ");
    put_num(out, e.len);
  }
  out += '\n';
}

void put_drop_ct_lines(const Event& e, std::string& out, std::string_view indent) {
  if (e.has_drop) {
    put(out, indent);
    put(out, "  drop (reason ");
    if (!e.drop_subsys.empty()) {
      put(out, e.drop_subsys);
      out += '/';
    }
    put(out, e.drop_reason);
    put(out, ")\n");
  }
  if (e.has_ct) {
    put(out, indent);
    put(out, "  ct_state ");
    put(out, ct_state_name(e.ct_state));
    out += ' ';
    put(out, ct_conn_text(e.ct));
    out += '\n';
  }
}

void put_netns_line(const Event& e, const TextOptions& opt, std::string& out,
                    std::string_view indent) {
  if (!e.has_netns) return;
  put(out, indent);
  put(out, "  netns ");
  put_num(out, e.netns_inum);
  if (e.netns_cookie) {
    put(out, " cookie ");
    put_num(out, e.netns_cookie);
  }
  if (opt.names) {
    auto it = opt.names->find(e.netns_inum);
    if (it != opt.names->end()) {
      put(out, " (");
      put(out, it->second);
      out += ')';
    }
  }
  out += '\n';
}

}  // namespace

void format_event_text(const Event& e, const TextOptions& opt, std::string& out,
                       std::string_view indent) {
  if (opt.retis) {
    RetisTextOptions r;
    r.print_ll = opt.ethernet;
    r.utc = opt.utc;
    r.has_offset = opt.has_offset;
    r.mono_to_utc_ns = opt.mono_to_utc_ns;
    format_event_retis(e, r, out, !indent.empty());
    put(out, "\n\n");
    return;
  }
  put_event_head(e, opt, out, indent);
  put_dev_packet_line(e, opt, out, indent);
  put_drop_ct_lines(e, out, indent);
  format_sections_text(e, opt.ethernet, out, indent);
  put_netns_line(e, opt, out, indent);
}

void json_escape(std::string_view s, std::string& out) {
  out += '"';
  bool plain = true;  // the common case: nothing to escape, one append
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out.append(s.data(), s.size());
    out += '"';
    return;
  }
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          put(out, "\\u00");
          put_hex2(out, c);
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Base64 two characters at a time: a table of every 12-bit value's pair.
struct B64Pairs {
  char pair[4096][2];
  constexpr B64Pairs() : pair() {
    for (int v = 0; v < 4096; ++v) {
      pair[v][0] = kB64[v >> 6];
      pair[v][1] = kB64[v & 63];
    }
  }
};
constexpr B64Pairs kB64Pairs;

char* base64_raw(const uint8_t* d, size_t n, char* p) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3, p += 4) {
    uint32_t v = static_cast<uint32_t>(d[i]) << 16 | static_cast<uint32_t>(d[i + 1]) << 8 | d[i + 2];
    std::memcpy(p, kB64Pairs.pair[v >> 12], 2);
    std::memcpy(p + 2, kB64Pairs.pair[v & 0xfff], 2);
  }
  if (n - i == 1) {
    uint32_t v = static_cast<uint32_t>(d[i]) << 16;
    *p++ = kB64[v >> 18];
    *p++ = kB64[(v >> 12) & 63];
    *p++ = '=';
    *p++ = '=';
  } else if (n - i == 2) {
    uint32_t v = static_cast<uint32_t>(d[i]) << 16 | static_cast<uint32_t>(d[i + 1]) << 8;
    *p++ = kB64[v >> 18];
    *p++ = kB64[(v >> 12) & 63];
    *p++ = kB64[(v >> 6) & 63];
    *p++ = '=';
  }
  return p;
}

}  // namespace

void base64_encode(const uint8_t* d, size_t n, std::string& out) {
  size_t at = out.size();
  out.resize(at + (n + 2) / 3 * 4);
  base64_raw(d, n, out.data() + at);
}

namespace {
// Each character's value; 0x100 outside the alphabet (a bit that survives an OR of four).
struct B64Values {
  uint16_t v[256];
  constexpr B64Values() : v() {
    for (auto& x : v) x = 0x100;  // not in the alphabet
    for (int i = 0; i < 26; ++i) {
      v['A' + i] = static_cast<uint16_t>(i);
      v['a' + i] = static_cast<uint16_t>(26 + i);
    }
    for (int i = 0; i < 10; ++i) v['0' + i] = static_cast<uint16_t>(52 + i);
    v[static_cast<unsigned char>('+')] = 62;
    v[static_cast<unsigned char>('/')] = 63;
  }
};
constexpr B64Values kB64Values;
}  // namespace

// Four characters a step, one table look-up each: both readers decode every packet with it.
bool base64_decode(std::string_view in, uint8_t* out, size_t cap, size_t* len) {
  size_t n = in.find('=');
  if (n == std::string_view::npos) n = in.size();
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  uint32_t bad = 0;
  size_t o = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t a = kB64Values.v[s[i]], b = kB64Values.v[s[i + 1]];
    uint32_t c = kB64Values.v[s[i + 2]], d = kB64Values.v[s[i + 3]];
    bad |= a | b | c | d;
    uint32_t v = a << 18 | b << 12 | c << 6 | d;
    if (o + 3 <= cap) {
      out[o] = static_cast<uint8_t>(v >> 16);
      out[o + 1] = static_cast<uint8_t>(v >> 8);
      out[o + 2] = static_cast<uint8_t>(v);
    } else {
      for (size_t k = 0; k < 3; ++k)
        if (o + k < cap) out[o + k] = static_cast<uint8_t>(v >> (16 - 8 * k));
    }
    o += 3;
  }
  uint32_t acc = 0;
  int bits = 0;
  for (; i < n; ++i) {
    uint32_t x = kB64Values.v[s[i]];
    bad |= x;
    acc = acc << 6 | (x & 63);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o < cap) out[o] = static_cast<uint8_t>(acc >> bits);
      ++o;
    }
  }
  if (bad & 0x100) return false;
  *len = o < cap ? o : cap;
  return true;
}

namespace {
// Writes into space reserved up front: one size check per event instead of one per piece.
class Cursor {
 public:
  explicit Cursor(char* p) : p_(p) {}
  char* end() const { return p_; }

  template <size_t N>
  void lit(const char (&s)[N]) {
    std::memcpy(p_, s, N - 1);
    p_ += N - 1;
  }
  void ch(char c) { *p_++ = c; }
  template <class T>
  void num(T v) {
    p_ = std::to_chars(p_, p_ + 24, v).ptr;
  }
  void hex(uint64_t v) {
    lit("0x");
    p_ = std::to_chars(p_, p_ + 24, v, 16).ptr;
  }
  // JSON numbers above 2^53 lose precision in JavaScript: those are written as strings.
  void u64(uint64_t v) {
    bool quote = v > (1ULL << 53);
    if (quote) ch('"');
    num(v);
    if (quote) ch('"');
  }
  // A JSON string: quoted, escaped; at most 6 bytes out per byte in.
  void str(std::string_view s) {
    ch('"');
    for (char c0 : s) {
      auto c = static_cast<unsigned char>(c0);
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        *p_++ = c0;
        continue;
      }
      *p_++ = '\\';
      switch (c) {
        case '"': ch('"'); break;
        case '\\': ch('\\'); break;
        case '\n': ch('n'); break;
        case '\t': ch('t'); break;
        case '\r': ch('r'); break;
        default: {
          constexpr char kHex[] = "0123456789abcdef";
          lit("u00");
          ch(kHex[c >> 4]);
          ch(kHex[c & 15]);
        }
      }
    }
    ch('"');
  }
  void b64(const uint8_t* d, size_t n) { p_ = base64_raw(d, n, p_); }
  // A key (with its separator and colon, as written) and a number.
  template <size_t N, class T>
  void kv(const char (&key)[N], T v) {
    lit(key);
    num(v);
  }
  void boolean(bool b) {
    if (b) lit("true");
    else lit("false");
  }
  // Strings one a line, as a JSON array.
  void lines(std::string_view text) {
    ch('[');
    bool first = true;
    each_frame(text, [&](std::string_view l) {
      if (!std::exchange(first, false)) ch(',');
      str(l);
    });
    ch(']');
  }
  // A flow's ufid, pointers and text (ovs flow_lookup, ovs-detrace), no braces.
  void flow(const OvsFlow& v) {
    lit("\"ufid\":[");
    for (size_t i = 0; i < 4; ++i) {
      if (i) ch(',');
      num(v.ufid[i]);
    }
    kv("],\"flow\":", v.flow);
    kv(",\"sf_acts\":", v.sf_acts);
    lit(",\"dpflow\":");
    str(v.dpflow);
    lit(",\"ofpflows\":");
    lines(v.ofpflows);
  }
  // The ovs section's members, as Retis writes each event_type.
  void ovs(const OvsInfo& v) {
    lit("\"event_type\":");
    switch (v.kind) {
      case OvsKind::none: break;
      case OvsKind::upcall:
        kv("\"upcall\",\"cmd\":", v.cmd);
        kv(",\"port\":", v.port);
        kv(",\"cpu\":", v.cpu);
        if (v.has_queue_id) kv(",\"queue_id\":", v.queue_id);  // nscope's addition
        break;
      case OvsKind::upcall_enqueue:
        kv("\"upcall_enqueue\",\"ret\":", v.ret);
        kv(",\"cmd\":", v.cmd);
        kv(",\"port\":", v.port);
        kv(",\"upcall_ts\":", v.upcall_ts);
        kv(",\"upcall_cpu\":", v.upcall_cpu);
        kv(",\"queue_id\":", v.queue_id);
        break;
      case OvsKind::upcall_return:
        kv("\"upcall_return\",\"upcall_ts\":", v.upcall_ts);
        kv(",\"upcall_cpu\":", v.upcall_cpu);
        kv(",\"ret\":", v.ret);
        break;
      case OvsKind::recv_upcall:
        kv("\"recv_upcall\",\"type\":", v.recv_type);
        kv(",\"pkt_size\":", v.pkt_size);
        kv(",\"key_size\":", v.key_size);
        kv(",\"queue_id\":", v.queue_id);
        kv(",\"batch_ts\":", v.batch_ts);
        kv(",\"batch_idx\":", v.batch_idx);
        break;
      case OvsKind::flow_operation:
        lit("\"flow_operation\",\"op_type\":");
        if (v.op_type) lit("\"put\"");
        else lit("\"exec\"");
        kv(",\"queue_id\":", v.queue_id);
        kv(",\"batch_ts\":", v.batch_ts);
        kv(",\"batch_idx\":", v.batch_idx);
        break;
      case OvsKind::action_execute:
        kv("\"action_execute\",\"recirc_id\":", v.recirc_id);
        if (v.has_queue_id) {
          kv(",\"queue_id\":", v.queue_id);
        }
        if (!v.action.empty()) {
          lit(",\"action\":");
          str(v.action);
          if (v.action == "output") lit(",\"port\":");
          else if (v.action == "recirc") lit(",\"id\":");
          else if (v.action == "drop") lit(",\"reason\":");
          if (v.action == "output" || v.action == "recirc" || v.action == "drop") num(v.action_arg);
          if (v.action == "ct") {
            kv(",\"flags\":", v.ct_flags);
            kv(",\"zone_id\":", v.ct_zone);
            if (v.has_nat) {
              lit(",\"nat\":{");
              bool first = true;
              auto sep = [&] {
                if (!std::exchange(first, false)) ch(',');
              };
              if (!v.nat_dir.empty()) { sep(); lit("\"dir\":"); str(v.nat_dir); }
              if (!v.nat_min_addr.empty()) { sep(); lit("\"min_addr\":"); str(v.nat_min_addr); }
              if (!v.nat_max_addr.empty()) { sep(); lit("\"max_addr\":"); str(v.nat_max_addr); }
              if (v.has_min_port) { sep(); lit("\"min_port\":"); num(v.nat_min_port); }
              if (v.has_max_port) { sep(); lit("\"max_port\":"); num(v.nat_max_port); }
              ch('}');
            }
          }
        }
        break;
      case OvsKind::flow_lookup:
        lit("\"flow_lookup\",");
        flow(v.lookup);
        kv(",\"n_mask_hit\":", v.n_mask_hit);
        kv(",\"n_cache_hit\":", v.n_cache_hit);
        break;
    }
  }
  // A connection's members (no braces), as parse_event_line reads them back.
  void conn(const CtConn& c) {
    kv("\"status\":", c.status);
    kv(",\"zone_id\":", c.zone);
    switch (c.zone_dir) {
      case CtZoneDir::original: lit(",\"zone_dir\":\"Original\""); break;
      case CtZoneDir::reply: lit(",\"zone_dir\":\"Reply\""); break;
      case CtZoneDir::default_: break;  // the reader's default when zone_id is there
      case CtZoneDir::none: lit(",\"zone_dir\":\"None\""); break;
    }
    if (c.has_mark) {
      kv(",\"mark\":", c.mark);
    }
    if (c.has_labels) {
      kv(",\"labels\":{\"hi\":", c.labels_hi);
      kv(",\"lo\":", c.labels_lo);
      ch('}');
    }
    if (!c.proto_state.empty()) {
      lit(",\"proto_state\":");
      str(c.proto_state);
    }
    for (int dir = 0; dir < 2; ++dir) {
      const CtTuple& t = dir ? c.reply : c.orig;
      if (dir) lit(",\"reply\":{\"src\":\"");
      else lit(",\"orig\":{\"src\":\"");
      addr(t, t.src);
      lit("\",\"dst\":\"");
      addr(t, t.dst);
      kv("\",\"version\":", t.family == 6 ? 6 : 4);
      kv(",\"proto\":", t.proto);
      kv(",\"sport\":", t.sport);
      kv(",\"dport\":", t.dport);
      if (t.proto == 132) {
        kv(",\"vtag\":", t.vtag);
      }
      ch('}');
    }
  }
  void addr(const CtTuple& t, const std::array<uint8_t, 16>& a) {
    if (t.family == 6) {
      inet_ntop(AF_INET6, a.data(), p_, INET6_ADDRSTRLEN);
      p_ += std::strlen(p_);
    } else {
      for (size_t i = 0; i < 4; ++i) {
        if (i) ch('.');
        num(a[i]);
      }
    }
  }

 private:
  char* p_;
};

}  // namespace

// The fixed text and numbers, every string escaped at worst, the packet in base64.
size_t event_json_bound(const Event& e) {
  return 4096 + 6 * (e.ct.proto_state.size() + e.ct_parent.proto_state.size() +
                     e.drop_subsys.size() + e.user.probe_type.size() + e.user.symbol.size() +
                     e.user.path.size() + e.nft.table.size() + e.nft.chain.size() +
                     e.nft.verdict.size() + e.nft.verdict_chain.size() + e.nft.family.size() + e.ovs.action.size() +
                     e.ovs.nat_dir.size() + e.ovs.nat_min_addr.size() + e.ovs.nat_max_addr.size() +
                     e.ovs.lookup.dpflow.size() + 2 * e.ovs.lookup.ofpflows.size() + e.ovs_detrace.dpflow.size() +
                     2 * e.ovs_detrace.ofpflows.size() +
                     e.probe_type.size() + e.symbol.size() + e.drop_reason.size() +
                     e.comm.size() + e.ifname.size() + 2 * e.stack_trace.size()) +
         (size_t{e.caplen} + 2) / 3 * 4;
}

namespace {
// Each section as Retis writes it, its leading comma included; called once each, inlined.
void json_common_kernel(Cursor& o, const Event& e) {
  o.kv("{\"common\":{\"timestamp\":", e.ts);
  o.kv(",\"smp_id\":", e.cpu);
  if (e.has_task) {
    o.kv(",\"task\":{\"pid\":", e.pid);
    o.kv(",\"tgid\":", e.tgid);
    o.lit(",\"comm\":");
    o.str(fixed_str(e.comm));
    o.ch('}');
  }
  o.lit("},\"kernel\":{\"probe_type\":");
  o.str(e.probe_type);
  o.lit(",\"symbol\":");
  o.str(e.symbol);
  if (!e.stack_trace.empty()) {  // frames one a line: a JSON array of them, as Retis writes it
    o.lit(",\"stack_trace\":");
    o.lines(e.stack_trace);
  }
  o.ch('}');
}

void json_netns_dev(Cursor& o, const Event& e) {
  if (e.has_netns) {
    o.kv(",\"netns\":{\"inum\":", e.netns_inum);
    if (e.netns_cookie) {
      o.lit(",\"cookie\":");
      o.u64(e.netns_cookie);
    }
    o.ch('}');
  }
  if (e.has_dev) {
    o.lit(",\"dev\":{\"name\":");
    o.str(fixed_str(e.ifname));
    o.kv(",\"ifindex\":", e.ifindex);
    if (e.rx_ifindex) {
      o.kv(",\"rx_ifindex\":", e.rx_ifindex);
    }
    o.ch('}');
  }
}

// skb's optional parts: meta, data_ref, gso, vlan_accel.
void json_skb_parts(Cursor& o, const Event& e) {
  if (e.meta.has) {
    o.kv(",\"meta\":{\"len\":", e.len);
    o.kv(",\"data_len\":", e.data_len);
    o.kv(",\"hash\":", e.meta.hash);
    o.kv(",\"ip_summed\":", e.meta.ip_summed);
    o.kv(",\"csum\":", e.meta.csum);
    o.kv(",\"csum_level\":", e.meta.csum_level);
    o.kv(",\"priority\":", e.meta.priority);
    o.ch('}');
  }
  if (e.data_ref.has) {
    o.lit(",\"data_ref\":{\"nohdr\":");
    o.boolean(e.data_ref.nohdr);
    o.lit(",\"cloned\":");
    o.boolean(e.data_ref.cloned);
    o.kv(",\"fclone\":", e.data_ref.fclone);
    o.kv(",\"users\":", e.data_ref.users);
    o.kv(",\"dataref\":", e.data_ref.dataref);
    o.ch('}');
  }
  if (e.gso.has) {
    o.kv(",\"gso\":{\"flags\":", e.gso.flags);
    o.kv(",\"frags\":", e.gso.frags);
    o.kv(",\"size\":", e.gso.size);
    o.kv(",\"segs\":", e.gso.segs);
    o.kv(",\"type\":", e.gso.type);
    o.ch('}');
  }
  if (e.vlan_accel.has) {
    o.kv(",\"vlan_accel\":{\"proto\":", e.vlan_accel.proto);
    o.kv(",\"pcp\":", e.vlan_accel.pcp);
    o.lit(",\"dei\":");
    o.boolean(e.vlan_accel.dei);
    o.kv(",\"vid\":", e.vlan_accel.vid);
    o.ch('}');
  }
}

void json_skb(Cursor& o, const Event& e) {
  if (!e.has_skb) return;
  o.lit(",\"skb\":{\"addr\":\"");
  o.hex(e.skb_addr);
  o.kv("\",\"len\":", e.len);
  o.kv(",\"data_len\":", e.data_len);
  o.kv(",\"mark\":", e.mark);
  o.kv(",\"protocol\":", e.protocol);
  json_skb_parts(o, e);
  o.ch('}');
}

// The sections most events lack: a sorted file's series place, userspace, nft, ovs.
void json_rare(Cursor& o, const Event& e) {
  if (e.has_series_idx) {  // an event of a sorted file: its place in the series
    o.kv(",\"tracking\":{\"skb\":{\"orig_head\":", e.orig_head);
    o.kv(",\"timestamp\":", e.track_ts);
    o.kv(",\"skb\":", e.skb_addr);
    o.kv("},\"idx\":", e.series_idx);
    o.ch('}');
  }
  if (e.user.has) {
    o.lit(",\"userspace\":{\"probe_type\":");
    o.str(e.user.probe_type);
    o.lit(",\"symbol\":");
    o.str(e.user.symbol);
    o.kv(",\"ip\":", e.user.ip);
    o.lit(",\"path\":");
    o.str(e.user.path);
    o.kv(",\"pid\":", e.user.pid);
    o.kv(",\"tid\":", e.user.tid);
    o.ch('}');
  }
  if (e.nft.has) {
    const NftInfo& n = e.nft;
    o.lit(",\"nft\":{\"table_name\":");
    o.str(n.table);
    o.lit(",\"chain_name\":");
    o.str(n.chain);
    o.lit(",\"verdict\":");
    o.str(n.verdict);
    if (!n.verdict_chain.empty()) {
      o.lit(",\"verdict_chain_name\":");
      o.str(n.verdict_chain);
    }
    o.kv(",\"table_handle\":", n.table_handle);
    o.kv(",\"chain_handle\":", n.chain_handle);
    if (n.has_rule) {
      o.kv(",\"rule_handle\":", n.rule_handle);
    }
    o.lit(",\"policy\":");
    o.boolean(n.policy);
    if (!n.family.empty()) {
      o.lit(",\"family\":");
      o.str(n.family);
    }
    o.ch('}');
  }
  if (e.ovs.kind != OvsKind::none) {
    o.lit(",\"ovs\":{");
    o.ovs(e.ovs);
    o.ch('}');
  }
  if (e.has_ovs_detrace) {
    o.lit(",\"ovs-detrace\":{");
    o.flow(e.ovs_detrace);
    o.ch('}');
  }
}

void json_tracking_drop_ct(Cursor& o, const Event& e) {
  if (e.has_tracking) {
    o.lit(",\"skb-tracking\":{\"orig_head\":");
    o.u64(e.orig_head);
    o.lit(",\"timestamp\":");
    o.u64(e.track_ts);
    o.lit(",\"skb\":");
    o.u64(e.skb_addr);
    o.ch('}');
  }
  if (e.has_drop) {
    o.lit(",\"skb-drop\":{\"drop_reason\":");
    o.str(e.drop_reason);
    if (!e.drop_subsys.empty()) {
      o.lit(",\"subsys\":");
      o.str(e.drop_subsys);
    }
    o.ch('}');
  }
  if (e.has_ct) {
    o.lit(",\"ct\":{\"state\":");
    o.str(ct_state_name(e.ct_state));
    o.ch(',');
    o.conn(e.ct);
    if (e.has_ct_parent) {
      o.lit(",\"parent\":{");
      o.conn(e.ct_parent);
      o.ch('}');
    }
    o.ch('}');
  }
}

}  // namespace

char* format_event_json(const Event& e, char* at) {
  Cursor o(at);
  json_common_kernel(o, e);
  json_netns_dev(o, e);
  json_skb(o, e);
  json_rare(o, e);
  json_tracking_drop_ct(o, e);
  if (e.has_packet) {
    o.kv(",\"packet\":{\"len\":", e.wire_len ? e.wire_len : e.len);
    o.kv(",\"capture_len\":", e.caplen);
    o.lit(",\"data\":\"");
    o.b64(e.data.data(), e.caplen);
    o.lit("\"}");
  }
  o.ch('}');
  return o.end();
}

void format_event_json(const Event& e, std::string& out) {
  size_t bound = event_json_bound(e);
  if (bound <= 8192) {  // the usual case: a stack buffer, then one append
    char buf[8192];
    out.append(buf, static_cast<size_t>(format_event_json(e, buf) - buf));
    return;
  }
  size_t at = out.size();
  out.resize(at + bound);
  out.resize(static_cast<size_t>(format_event_json(e, out.data() + at) - out.data()));
}

void format_series_member_text(const Event& e, const TextOptions& opt, bool follower, uint32_t n,
                               bool continued, std::string& out) {
  static thread_local std::string scratch;
  scratch.clear();
  format_event_text(e, opt, scratch, follower ? "  " : "");
  size_t nl = scratch.find('\n');
  if (nl == std::string::npos) nl = scratch.size();
  if (follower) {
    put(out, "  + ");
    out.append(scratch, 2, nl - 2);
  } else {
    out.append(scratch, 0, nl);
  }
  put(out, " n ");
  put_num(out, n);
  if (continued) put(out, " (continued)");
  out.append(scratch, nl, std::string::npos);
}

}  // namespace nscope
