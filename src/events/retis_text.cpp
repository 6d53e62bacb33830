#include "events/retis_text.h"

#include <ctime>
#include <iterator>

#include <fmt/format.h>

#include "events/packet_bytes.h"

namespace nscope {
namespace {

template <class... Args>
void put(std::string& out, fmt::format_string<Args...> f, Args&&... args) {
  fmt::format_to(std::back_inserter(out), f, std::forward<Args>(args)...);
}

// Retis's two ways a packet summary stops early.
struct Stop {
  enum { none, truncated, unsupported } why = none;
  std::string what;
};

const char* etype_name(uint16_t t) {
  switch (t) {
    case 0x0800: return "IPv4";
    case 0x0806: return "ARP";
    case 0x6558: return "TEB";
    case 0x8035: return "Reverse ARP";
    case 0x809b: return "Appletalk";
    case 0x80f3: return "Appletalk ARP";
    case 0x8100: return "802.1Q";
    case 0x86dd: return "IPv6";
    case 0x880b: return "PPP";
    case 0x8847: return "MPLS unicast";
    case 0x8848: return "MPLS multicast";
    case 0x8863: return "PPPoE D";
    case 0x8864: return "PPPoE S";
    case 0x888e: return "EAPOL";
    case 0x88a8: return "802.1Q-QinQ";
    case 0x88e5: return "802.1AE MACsec";
    case 0x88f7: return "PTP";
    case 0x9100: return "802.1Q-9100";
  }
  return nullptr;
}

const char* proto_name(uint8_t p) {
  switch (p) {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 4: return "IPIP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 27: return "RDP";
    case 33: return "DCCP";
    case 41: return "IPv6";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 58: return "ICMPv6";
    case 89: return "OSPF";
    case 112: return "VRRP";
    case 115: return "L2TP";
    case 132: return "SCTP";
    case 143: return "Ethernet";
  }
  return nullptr;
}

void put_proto(std::string& out, uint8_t p) {
  if (const char* n = proto_name(p)) put(out, " proto {} ({})", n, p);
  else put(out, " proto ({})", p);
}

// Addresses as strings, for fmt's arguments: written as nscope's own summary writes them.
std::string mac(const uint8_t* m) {
  std::string s;
  put_mac(m, s);
  return s;
}
std::string ip4(const uint8_t* a) {
  std::string s;
  put_ip4(a, s);
  return s;
}
std::string ip6(const uint8_t* a) {
  std::string s;
  put_ip6(a, s);
  return s;
}

class PacketText {
 public:
  PacketText(bool ll, std::string& out) : ll_(ll), out_(out) {}

  Stop ethernet(Bytes b) {
    if (!b.have(14)) return {Stop::truncated, {}};
    uint16_t type = b.u16(12);
    const char* name = etype_name(type);
    if (!name) return {Stop::unsupported, fmt::format("ethertype {:#06x}", type)};
    if (ll_) put(out_, "{} > {} ethertype {} ({:#06x})", mac(b.d.data() + 6), mac(b.d.data()), name, type);
    return vlan(type, b.from(14));
  }

 private:
  Stop vlan(uint16_t type, Bytes b) {
    if (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
      if (!b.have(4)) return {Stop::truncated, {}};
      uint16_t tci = b.u16(0), inner = b.u16(2);
      if (ll_) {
        put(out_, " vlan {} p {}{}", tci & 0xfff, tci >> 13, (tci & 0x1000) ? " DEI" : "");
        if (const char* n = etype_name(inner)) put(out_, " ethertype {} ({:#06x})", n, inner);
        else put(out_, " ethertype ({:#06x})", inner);
      }
      return vlan(inner, b.from(4));
    }
    return etype(type, b);
  }

  Stop etype(uint16_t type, Bytes b) {
    if (ll_) out_ += ' ';
    switch (type) {
      case 0x0806: return arp(b);
      case 0x0800: return ipv4(b);
      case 0x86dd: return ipv6(b);
    }
    return {Stop::unsupported, fmt::format("ethertype {:#06x}", type)};
  }

  Stop arp(Bytes b) {
    if (!b.have(28)) return {Stop::truncated, {}};
    const uint8_t* p = b.d.data();
    uint16_t op = b.u16(6);
    auto zero = [](const uint8_t* m) {
      for (int i = 0; i < 6; ++i)
        if (m[i]) return false;
      return true;
    };
    switch (op) {
      case 1:
        put(out_, "request who-has {}", ip4(p + 24));
        if (!zero(p + 18)) put(out_, " ({})", mac(p + 18));
        put(out_, " tell {}", ip4(p + 14));
        break;
      case 2: put(out_, "reply {} is-at {}", ip4(p + 14), mac(p + 8)); break;
      case 3: put(out_, "reverse request who-is {} tell {}", mac(p + 18), mac(p + 8)); break;
      case 4: put(out_, "reverse reply {} at {}", mac(p + 18), ip4(p + 24)); break;
      default: return {Stop::unsupported, fmt::format("ARP operation {}", op)};
    }
    return {};
  }

  // Source and destination ports, where the transport header is whole.
  static bool ports(uint8_t proto, Bytes l4, uint16_t& sport, uint16_t& dport) {
    size_t need = proto == 6 ? 20 : proto == 17 ? 8 : proto == 132 ? 12 : 0;
    if (!need || !l4.have(need)) return false;
    sport = l4.u16(0);
    dport = l4.u16(2);
    return true;
  }

  Stop ipv4(Bytes b) {
    if (!b.have(20)) return {Stop::truncated, {}};
    size_t hl = static_cast<size_t>(b.u8(0) & 0x0f) * 4;
    uint16_t total = b.u16(2);
    uint8_t proto = b.u8(9);
    // The payload: after the header, within the total length and the capture.
    size_t end = std::max<size_t>(hl, total);
    Bytes l4 = b.first(end).from(std::max<size_t>(hl, 20));
    std::string src = ip4(b.d.data() + 12), dst = ip4(b.d.data() + 16);
    uint16_t sport, dport;
    if (ports(proto, l4, sport, dport)) put(out_, "{}.{} > {}.{}", src, sport, dst, dport);
    else put(out_, "{} > {}", src, dst);
    uint8_t tos = b.u8(1);
    static constexpr const char* kEcn[] = {"", " ECT(1)", " ECT(0)", " CE"};
    uint16_t frag = b.u16(6);
    put(out_, " tos {:#x}{} ttl {} id {} off {}", tos >> 2, kEcn[tos & 3], b.u8(8), b.u16(4),
        (frag & 0x1fff) * 8);
    uint8_t flags = static_cast<uint8_t>(frag >> 13);
    std::string fl;
    if (flags & 4) fl += "+";
    if (flags & 2) fl += fl.empty() ? "DF" : ",DF";
    if (flags & 1) fl += fl.empty() ? "rsvd" : ",rsvd";
    if (!fl.empty()) put(out_, " [{}]", fl);
    if (total > 0) put(out_, " len {}", total);
    put_proto(out_, proto);
    uint32_t payload_len = total > hl ? static_cast<uint32_t>(total - hl) : 0;
    return transport(proto, l4, payload_len);
  }

  Stop ipv6(Bytes b) {
    if (!b.have(40)) return {Stop::truncated, {}};
    uint8_t next = b.u8(6);
    uint16_t plen = b.u16(4);
    Bytes payload = b.from(40).first(plen);
    uint16_t sport, dport;
    std::string src = ip6(b.d.data() + 8), dst = ip6(b.d.data() + 24);
    if (ports(next, payload, sport, dport)) put(out_, "{}.{} > {}.{}", src, sport, dst, dport);
    else put(out_, "{} > {}", src, dst);
    static constexpr const char* kEcn[] = {"", " ECT(1)", " ECT(0)", " CE"};
    uint8_t tc = static_cast<uint8_t>(b.u32(0) >> 20);
    put(out_, "{} ttl {} label {:#x}", kEcn[tc & 3], b.u8(7), b.u32(0) & 0xfffff);
    if (plen > 0) put(out_, " len {}", plen);
    uint32_t len = plen;
    std::string exts;
    uint8_t prev = next;
    for (int i = 0; i < 8 && (next == 0 || next == 43 || next == 60 || next == 44); ++i) {
      size_t size = next == 44 ? 8 : payload.have(2) ? (static_cast<size_t>(payload.u8(1)) + 1) * 8 : 8;
      if (!payload.have(size)) return {Stop::truncated, {}};
      static constexpr const char* kNames[] = {"hopopt"};
      exts += exts.empty() ? "" : ",";
      exts += next == 0 ? kNames[0] : next == 43 ? "ipv6-route" : next == 44 ? "ipv6-frag" : "ipv6-opts";
      prev = next;
      next = payload.u8(0);
      len = len > size ? len - static_cast<uint32_t>(size) : 0;
      payload = payload.from(size);
    }
    if (!exts.empty()) put(out_, " exts [{}]", exts);
    if (prev == 59) return {};  // no next header: the rest is padding
    put_proto(out_, next);
    return transport(next, payload, len);
  }

  Stop transport(uint8_t proto, Bytes l4, uint32_t payload_len) {
    switch (proto) {
      case 17: return udp(l4);
      case 6: return tcp(l4, payload_len);
      case 1:
      case 58:
        if (!l4.have(4)) return {Stop::truncated, {}};
        put(out_, " type {} code {}", l4.u8(0), l4.u8(1));
        return {};
      case 50:
        if (!l4.have(8)) return {Stop::truncated, {}};
        put(out_, " spi {:#010x} seq {:#x}", l4.u32(0), l4.u32(4));
        return {};
      case 132: return sctp(l4, payload_len);
    }
    return {Stop::unsupported, fmt::format("protocol {:#x}", proto)};
  }

  Stop udp(Bytes l4) {
    if (!l4.have(8)) return {Stop::truncated, {}};
    uint16_t len = l4.u16(4);
    put(out_, " len {}", len > 8 ? len - 8 : 0);
    uint16_t dport = l4.u16(2);
    if (dport == 4789 || dport == 8472) {
      Bytes vx = l4.from(8);
      if (!vx.have(8)) return {Stop::truncated, {}};
      put(out_, " vxlan [{}] vni {:#x} ", (vx.u8(0) & 8) ? "I" : "", vx.u32(4) >> 8);
      return ethernet(vx.from(8));
    }
    return {};
  }

  Stop tcp(Bytes t, uint32_t payload_len) {
    if (!t.have(20)) return {Stop::truncated, {}};
    uint8_t f = t.u8(13);
    char flags[9];
    size_t nf = tcp_flag_letters(f, flags);
    if (t.u8(12) & 0x01) flags[nf++] = 'e';  // AE, the old NS bit: Retis shows it too
    put(out_, " flags [{}]", std::string_view(flags, nf));
    uint32_t seq = t.u32(4);
    uint32_t doff = static_cast<uint32_t>(t.u8(12) >> 4) * 4;
    uint32_t data = payload_len > doff ? payload_len - doff : 0;
    if (data > 0) put(out_, " seq {}:{}", seq, seq + data);
    else put(out_, " seq {}", seq);
    if (f & 0x10) put(out_, " ack {}", t.u32(8));
    put(out_, " win {}", t.u16(14));
    if (doff > 20) {
      out_ += " [";
      Bytes o = t.first(doff).from(20);
      bool first = true;
      while (o.have(1)) {
        uint8_t kind = o.u8(0);
        size_t len = kind <= 1 ? 1 : o.have(2) ? o.u8(1) : 1;
        if (len < 1) len = 1;
        size_t dlen = len >= 2 ? len - 2 : 0;
        Bytes val = o.from(std::min<size_t>(2, len)).first(dlen);
        static constexpr struct { uint8_t k; const char* n; } kNames[] = {
            {0, "eol"}, {1, "nop"}, {2, "mss"}, {3, "wscale"}, {4, "sackOK"}, {5, "sack"},
            {6, "echo"}, {7, "echoreply"}, {8, "TS"}, {11, "cc"}, {12, "ccnew"}, {13, "ccecho"},
            {19, "md5"}, {20, "scps"}, {28, "uto"}, {29, "tcp-ao"}, {30, "mptcp"}, {34, "tfo"},
            {254, "exp"}};
        const char* name = "?";
        for (const auto& n : kNames)
          if (n.k == kind) name = n.n;
        if (!first) out_ += ',';
        first = false;
        out_ += name;
        if (kind == 2 && val.have(2)) put(out_, " {}", val.u16(0));
        else if (kind == 3 && val.have(1)) put(out_, " {}", val.u8(0));
        else if (kind == 5) {
          if (dlen % 8) out_ += " invalid";
          else {
            put(out_, " {} ", dlen / 8);
            for (size_t i = 0; i + 8 <= dlen && val.have(i + 8); i += 8)
              put(out_, "{{{}:{}}}", val.u32(i), val.u32(i + 4));
          }
        } else if ((kind == 6 || kind == 7 || kind == 11 || kind == 12 || kind == 13) && val.have(4))
          put(out_, " {}", val.u32(0));
        else if (kind == 8 && val.have(8))
          put(out_, " val {} ecr {}", val.u32(0), val.u32(4));
        else if (kind == 34) {
          if (dlen == 0) out_ += " cookiereq";
          else {
            out_ += " cookie ";
            for (size_t i = 0; i < dlen; ++i)
              if (val.have(i + 1)) put(out_, "{:#02x}", val.u8(i));
              else out_ += "??";
          }
        }
        o = o.from(len);  // past an eol too: the padding after it shows, as Retis shows it
      }
      out_ += ']';
    }
    return {};
  }

  Stop sctp(Bytes s, uint32_t payload_len) {
    if (!s.have(12)) return {Stop::truncated, {}};
    put(out_, " vtag {:#x}", s.u32(4));
    Bytes c = s.from(12);
    uint32_t left = payload_len > 12 ? payload_len - 12 : 0;
    while (c.have(4)) {
      uint8_t type = c.u8(0), flags = c.u8(1);
      uint16_t clen = c.u16(2);
      Bytes p = c.first(clen).from(4);
      auto need = [&](size_t n) { return p.have(n); };
      switch (type) {
        case 1:
        case 2:
          if (!need(16)) return {Stop::truncated, {}};
          put(out_, " [{} init_tag {:#x} rwnd {} OS {} MIS {} init_TSN {}]",
              type == 1 ? "INIT" : "INIT_ACK", p.u32(0), p.u32(4), p.u16(8), p.u16(10), p.u32(12));
          break;
        case 0: {
          if (!need(12)) return {Stop::truncated, {}};
          out_ += " [DATA";
          if (flags & 7) {
            out_ += " (";
            if (flags & 4) out_ += 'U';
            if (flags & 2) out_ += 'B';
            if (flags & 1) out_ += 'E';
            out_ += ')';
          }
          put(out_, " TSN {} SID {} SSEQ {} PPID {:#x}]", p.u32(0), p.u16(4), p.u16(6), p.u32(8));
          break;
        }
        case 3:
          if (!need(12)) return {Stop::truncated, {}};
          put(out_, " [SACK cum_ack {} a_rwnd {} #gap_acks {} #dup_tsns {}]", p.u32(0), p.u32(4),
              p.u16(8), p.u16(10));
          break;
        default: {
          static constexpr const char* kNames[] = {
              nullptr, nullptr, nullptr, nullptr, "HEARTBEAT", "HEARTBEAT_ACK", "ABORT",
              "SHUTDOWN", "SHUTDOWN_ACK", "ERROR", "COOKIE_ECHO", "COOKIE_ACK", "ECNE", "CWR",
              "SHUTDOWN_COMPLETE"};
          if (type < std::size(kNames) && kNames[type]) put(out_, " [{}]", kNames[type]);
          else put(out_, " [UNKNOWN:{}]", type);
        }
      }
      uint32_t step = (static_cast<uint32_t>(clen) + 3) & ~3u;
      left = left > step ? left - step : 0;
      if (step == 0) break;
      c = c.from(step);
    }
    if (left) return {Stop::truncated, {}};
    return {};
  }

  bool ll_;
  std::string& out_;
};

// Retis's Formatter: every line written at an indentation level gets that many spaces, and
// the first line of a follower carries the "↳" item.
class Lines {
 public:
  Lines(std::string& out, size_t base, bool item) : out_(out), base_(base), item_(item) {}
  // Text at `level` (relative to the base); '\n' starts a new indented line.
  void write(size_t level, std::string_view text) {
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\n') {
        out_ += '\n';
        start_ = true;
        continue;
      }
      if (start_) {
        size_t n = base_ + level;
        if (first_ && item_ && n >= 2) {
          out_.append(n - 2, ' ');
          out_ += "\xe2\x86\xb3 ";  // ↳
        } else {
          out_.append(n, ' ');
        }
        first_ = false;
        start_ = false;
      }
      out_ += c;
    }
  }

 private:
  std::string& out_;
  size_t base_;
  bool item_, start_ = true, first_ = true;
};

std::string ufid_text(const std::array<uint32_t, 4>& u) {
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:04x}{:08x}", u[0], u[1] >> 16, u[1] & 0xffff,
                     u[2] >> 16, u[2] & 0xffff, u[3]);
}

std::string upcall_cmd(uint8_t cmd) {
  switch (cmd) {
    case 0: return " (unspec)";
    case 1: return " (miss)";
    case 2: return " (action)";
    case 3: return " (exec)";
  }
  return "";
}

std::string addr_text(const CtTuple& t, const std::array<uint8_t, 16>& a) {
  return t.family == 6 ? ip6(a.data()) : ip4(a.data());
}

// unknown_state: "(UNKNOWN)" for a TCP or SCTP connection without its state, as Retis.
std::string conn_text(const CtConn& c, bool unknown_state = true) {
  std::string out = fmt::format("status {:#x} ", c.status);
  const CtTuple &o = c.orig, &r = c.reply;
  std::string state = c.proto_state.empty() ? (unknown_state ? " (UNKNOWN)" : "")
                                            : fmt::format(" ({})", c.proto_state);
  auto s = [&](const CtTuple& t) { return addr_text(t, t.src); };
  auto d = [&](const CtTuple& t) { return addr_text(t, t.dst); };
  if (o.proto == r.proto) {
    switch (o.proto) {
      case 6:
        put(out, "tcp{} orig [{}.{} > {}.{}] reply [{}.{} > {}.{}] ", state, s(o), o.sport, d(o),
            o.dport, s(r), r.sport, d(r), r.dport);
        break;
      case 17:
        put(out, "udp orig [{}.{} > {}.{}] reply [{}.{} > {}.{}] ", s(o), o.sport, d(o), o.dport,
            s(r), r.sport, d(r), r.dport);
        break;
      case 1:
      case 58:
        put(out, "{} orig [{} > {} type {} code {} id {}] reply [{} > {} type {} code {} id {}] ",
            o.proto == 58 && !unknown_state ? "icmpv6" : "icmp", s(o), d(o), o.sport >> 8,
            o.sport & 0xff, o.dport, s(r), d(r), r.sport >> 8,
            r.sport & 0xff, r.dport);
        break;
      case 132:
        put(out, "sctp{} orig [{}.{} > {}.{} vtag {:#x}] reply [{}.{} > {}.{} vtag {:#x}] ", state,
            s(o), o.sport, d(o), o.dport, o.vtag, s(r), r.sport, d(r), r.dport, r.vtag);
        break;
    }
  }
  switch (c.zone_dir) {
    case CtZoneDir::original: put(out, "orig-zone {}", c.zone); break;
    case CtZoneDir::reply: put(out, "reply-zone {}", c.zone); break;
    case CtZoneDir::default_: put(out, "zone {}", c.zone); break;
    case CtZoneDir::none: break;
  }
  if (c.has_mark) put(out, " mark {}", c.mark);
  if (c.has_labels) {
    if (c.labels_hi) put(out, " labels {:#x}{:016x}", c.labels_hi, c.labels_lo);
    else put(out, " labels {:#x}", c.labels_lo);
  }
  return out;
}

std::string skb_text(const Event& e, bool print_ll) {
  std::string out;
  if (print_ll && e.vlan_accel.has) {
    const auto& v = e.vlan_accel;
    if (const char* n = etype_name(v.proto)) put(out, "vlan_accel (ethertype {} ({:#06x})", n, v.proto);
    else put(out, "vlan_accel (ethertype ({:#06x})", v.proto);
    put(out, " vlan {} p {}{})", v.vid, v.pcp, v.dei ? " DEI" : "");
  }
  if (e.meta.has || e.data_ref.has) {
    if (!out.empty()) out += ' ';
    out += "skb [";
    if (e.meta.has) {
      const SkbMeta& m = e.meta;
      out += "csum ";
      switch (m.ip_summed) {
        case 0: out += "none "; break;
        case 1: put(out, "unnecessary (level {}) ", m.csum_level); break;
        case 2: put(out, "complete ({:#x}) ", m.csum); break;
        case 3: put(out, "partial (start {} off {}) ", m.csum & 0xffff, m.csum >> 16); break;
        default: put(out, "unknown ({}) ", m.ip_summed);
      }
      if (m.hash) put(out, "hash {:#x} ", m.hash);
      put(out, "len {} ", e.len);
      if (e.data_len) put(out, "data_len {} ", e.data_len);
      put(out, "priority {}", m.priority);
    }
    if (e.meta.has && e.data_ref.has) out += ' ';
    if (e.data_ref.has) {
      const SkbDataRef& d = e.data_ref;
      if (d.nohdr) out += "nohdr ";
      if (d.cloned) out += "cloned ";
      if (d.fclone) put(out, "fclone {} ", d.fclone);
      put(out, "users {} dataref {}", d.users, d.dataref);
    }
    out += ']';
  }
  if (e.gso.has) {
    if (!out.empty()) out += ' ';
    put(out, "gso [type {:#x} ", e.gso.type);
    if (e.gso.flags) put(out, "flags {:#x} ", e.gso.flags);
    if (e.gso.frags) put(out, "frags {} ", e.gso.frags);
    if (e.gso.segs) put(out, "segs {} ", e.gso.segs);
    put(out, "size {}]", e.gso.size);
  }
  return out;
}

void ovs_text(const OvsInfo& v, Lines& w) {
  std::string out;
  switch (v.kind) {
    case OvsKind::none: return;
    case OvsKind::upcall: put(out, "upcall{} port {} cpu {}", upcall_cmd(v.cmd), v.port, v.cpu); break;
    case OvsKind::upcall_enqueue:
      put(out, "upcall_enqueue{} ({}/{}) q {} ret {}", upcall_cmd(v.cmd), v.upcall_cpu, v.upcall_ts,
          v.queue_id, v.ret);
      break;
    case OvsKind::upcall_return:
      put(out, "upcall_ret ({}/{}) ret {}", v.upcall_cpu, v.upcall_ts, v.ret);
      break;
    case OvsKind::flow_operation:
      put(out, "flow_{} q {} ts {} ({})", v.op_type == 0 ? "exec" : v.op_type == 1 ? "put" : "?",
          v.queue_id, v.batch_ts, v.batch_idx);
      break;
    case OvsKind::recv_upcall: put(out, "upcall_recv q {} pkt_size {}", v.queue_id, v.pkt_size); break;
    case OvsKind::action_execute: {
      if (v.recirc_id) put(out, "[recirc_id {:#x}] ", v.recirc_id);
      out += "exec";
      std::string_view a = v.action;
      if (a.empty()) out += " unspec";
      else if (a == "output") put(out, " oport {}", v.action_arg);
      else if (a == "set") out += " tunnel_set";
      else if (a == "recirc") put(out, " recirc {:#x}", v.action_arg);
      else if (a == "drop") put(out, " drop {}", v.action_arg);
      else if (a == "ct") {
        put(out, " ct zone {}", v.ct_zone);
        if (v.has_nat) {
          out += " nat";
          if (!v.nat_dir.empty()) {
            put(out, "({}", v.nat_dir);
            if ((v.ct_flags & (1u << 7)) && !v.nat_min_addr.empty() && !v.nat_max_addr.empty()) {
              if (v.nat_min_addr == v.nat_max_addr) put(out, "={}", v.nat_min_addr);
              else put(out, "={}-{}", v.nat_min_addr, v.nat_max_addr);
            }
            if ((v.ct_flags & (1u << 8)) && v.has_min_port && v.has_max_port) {
              if (v.nat_min_port == v.nat_max_port) put(out, ":{}", v.nat_min_port);
              else put(out, ":{}-{}", v.nat_min_port, v.nat_max_port);
            }
            out += ')';
          }
        }
        std::string flags;
        auto flag = [&](uint32_t bit, const char* name) {
          if (v.ct_flags & bit) flags += (flags.empty() ? "" : ",") + std::string(name);
        };
        flag(1u << 0, "commit");
        flag(1u << 1, "force");
        flag(1u << 10, "persistent");
        flag(1u << 9, "hash");
        flag(1u << 11, "random");
        if (!flags.empty()) put(out, " {}", flags);
      } else {
        put(out, " {}", a);
      }
      if (v.has_queue_id) put(out, " q {}", v.queue_id);
      break;
    }
    case OvsKind::flow_lookup:
      if (!v.lookup.flow) {
        put(out, "flow miss mask {} cache {}", v.n_mask_hit, v.n_cache_hit);
        break;
      }
      put(out, "flow hit ufid {} mask {} cache {} flow {:x} sf_acts {:x}", ufid_text(v.lookup.ufid),
          v.n_mask_hit, v.n_cache_hit, v.lookup.flow, v.lookup.sf_acts);
      if (!v.lookup.dpflow.empty()) put(out, "\nodpflow {}", v.lookup.dpflow);
      if (!v.lookup.ofpflows.empty()) {
        out += "\nopenflow\n";
        w.write(2, out);
        w.write(6, v.lookup.ofpflows);
        return;
      }
      break;
  }
  w.write(2, out);
}

std::string utc_time(uint64_t ts, int64_t offset) {
  int64_t wall = 0;
  if (__builtin_add_overflow(static_cast<int64_t>(ts), offset, &wall) || wall < 0) wall = 0;
  time_t sec = static_cast<time_t>(wall / 1000000000);
  struct tm tm {};
  gmtime_r(&sec, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%F %T", &tm);
  return fmt::format("{}.{:06}", buf, (wall % 1000000000) / 1000);
}

// The sections after the device, in Retis's order: skb, ovs, ovs-detrace, nft.
void extra_sections(const Event& e, bool print_ll, Lines& w) {
  std::string s;
  if (e.has_skb) {
    s = skb_text(e, print_ll);
    if (!s.empty()) {
      w.write(2, "\n");
      w.write(2, s);
    }
  }
  if (e.ovs.kind != OvsKind::none) {
    w.write(2, "\n");
    ovs_text(e.ovs, w);
  }
  if (e.has_ovs_detrace) {
    const OvsFlow& d = e.ovs_detrace;
    w.write(2, "\n");
    w.write(2, fmt::format("ufid:{} {}\nopenflow:", ufid_text(d.ufid), d.dpflow));
    w.write(6, d.ofpflows);
  }
  if (e.nft.has) {
    const NftInfo& n = e.nft;
    s = fmt::format("table {} ({}) chain {} ({})", n.table, n.table_handle, n.chain, n.chain_handle);
    if (n.has_rule) put(s, " handle {}", n.rule_handle);
    put(s, " {}", n.verdict);
    if (n.policy) s += " (policy)";
    if (!n.verdict_chain.empty()) put(s, " chain {}", n.verdict_chain);
    w.write(2, "\n");
    w.write(2, s);
  }
}

}  // namespace

void format_sections_text(const Event& e, bool print_ll, std::string& out,
                          std::string_view indent) {
  if (!e.has_rare && !e.meta.has && !e.data_ref.has) return;  // most events: nothing to add
  std::string text;
  Lines w(text, 0, false);
  extra_sections(e, print_ll, w);
  if (e.has_ct_parent) {
    w.write(2, "\n");
    w.write(2, "ct parent [" + conn_text(e.ct_parent, false) + "]");
  }
  // Each line of it, indented, after a newline of its own.
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at + 1);
    std::string_view line(text.data() + at + 1, (nl == std::string::npos ? text.size() : nl) - at - 1);
    out += indent;
    out += line;
    out += '\n';
    at = nl == std::string::npos ? text.size() : nl;
  }
}

std::string ct_conn_text(const CtConn& c) { return conn_text(c, false); }

void format_packet_retis(std::span<const uint8_t> frame, bool print_ll, std::string& out) {
  PacketText p(print_ll, out);
  Stop s = p.ethernet({frame});
  if (s.why == Stop::truncated) out += "... (truncated or incomplete packet)";
  else if (s.why == Stop::unsupported) put(out, "... ({} not supported, use 'retis pcap')", s.what);
}

void format_event_retis(const Event& e, const RetisTextOptions& opt, std::string& out,
                        bool follower) {
  Lines w(out, follower ? 4 : 0, follower);
  std::string line = opt.utc && opt.has_offset ? utc_time(e.ts, opt.mono_to_utc_ns)
                                               : std::to_string(e.ts);
  put(line, " ({})", e.cpu);
  if (e.has_task) {
    put(line, " [{}] ", fixed_str(e.comm));
    if (e.tgid != e.pid) put(line, "{}/", e.pid);
    put(line, "{}", e.tgid);
  }
  if (!e.probe_type.empty() || !e.symbol.empty()) {
    std::string_view t = e.probe_type;
    std::string_view kind = t == "raw_tracepoint" || t == "tracepoint" ? "tp"
                            : t == "kprobe"                            ? "k"
                            : t == "kretprobe"                         ? "kr"
                            : t == "fentry"                            ? "f"
                            : t == "fexit"                             ? "fx"
                                                                       : "invalid";
    put(line, " [{}] {}", kind, e.symbol);
  } else if (e.user.has) {
    put(line, " [u] {}", e.user.symbol);
    if (size_t slash = e.user.path.rfind('/'); slash != std::string_view::npos)
      put(line, " ({})", e.user.path.substr(slash + 1));
  }
  if (e.has_tracking) {
    if (e.track_ts) put(line, " #{:x}{:016x}", e.track_ts, e.orig_head);
    else put(line, " #{:x}", e.orig_head);
    put(line, " (skb {:x})", e.skb_addr);
    if (e.has_series_idx) put(line, " n {}", e.series_idx);
  }
  if (e.has_drop) {
    if (e.drop_subsys.empty()) put(line, " drop (reason {})", e.drop_reason);
    else put(line, " drop (reason {}/{})", e.drop_subsys, e.drop_reason);
  }
  w.write(0, line);
  if (!e.stack_trace.empty()) {
    w.write(4, "\n");
    w.write(4, e.stack_trace);
  }
  std::string s;
  if (e.has_packet) {
    s.clear();
    format_packet_retis({e.data.data(), e.caplen}, opt.print_ll, s);
    w.write(2, "\n");
    w.write(2, s);
  }
  if (e.has_netns) {
    s = e.netns_cookie ? fmt::format("ns {:#x}/{}", e.netns_cookie, e.netns_inum)
                       : fmt::format("ns {}", e.netns_inum);
    w.write(2, "\n");
    w.write(2, s);
  }
  if (e.has_dev) {
    s = fmt::format("if {}", e.ifindex);
    if (e.ifname[0]) put(s, " ({})", fixed_str(e.ifname));
    if (e.rx_ifindex) put(s, " rxif {}", e.rx_ifindex);
    w.write(2, e.has_netns ? " " : "\n");
    w.write(2, s);
  }
  extra_sections(e, opt.print_ll, w);
  if (e.has_ct) {
    s = fmt::format("ct_state {} ", ct_state_name(e.ct_state)) + conn_text(e.ct);
    if (e.has_ct_parent) s += "\n\\ parent [" + conn_text(e.ct_parent) + "]";
    w.write(2, "\n");
    w.write(2, s);
  }
}

}  // namespace nscope
