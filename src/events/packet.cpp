#include "events/packet.h"

#include <arpa/inet.h>

#include <cstring>

#include "util/append.h"

namespace nscope {
namespace {

constexpr uint16_t kEthIp = 0x0800, kEthArp = 0x0806, kEthIp6 = 0x86dd, kEthVlan = 0x8100,
                   kEthQinQ = 0x88a8;

struct Cursor {
  std::span<const uint8_t> d;
  size_t pos = 0;
  bool have(size_t n) const { return pos + n <= d.size(); }
  const uint8_t* at() const { return d.data() + pos; }
  uint8_t u8(size_t o) const { return d[pos + o]; }
  uint16_t u16(size_t o) const { return static_cast<uint16_t>(d[pos + o] << 8 | d[pos + o + 1]); }
  uint32_t u32(size_t o) const {
    return static_cast<uint32_t>(d[pos + o]) << 24 | static_cast<uint32_t>(d[pos + o + 1]) << 16 |
           static_cast<uint32_t>(d[pos + o + 2]) << 8 | d[pos + o + 3];
  }
};

void put_mac(const uint8_t* m, std::string& out) {
  for (int i = 0; i < 6; ++i) {
    if (i) out += ':';
    put_hex2(out, m[i]);
  }
}

void put_ip4(const uint8_t* a, std::string& out) {
  for (int i = 0; i < 4; ++i) {
    if (i) out += '.';
    put_num(out, a[i]);
  }
}

void put_ip6(const uint8_t* a, std::string& out) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a, buf, sizeof buf);
  out += buf;
}

const char* ip_proto_name(uint8_t p) {
  switch (p) {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 47: return "GRE";
    case 50: return "ESP";
    case 58: return "ICMPv6";
    case 132: return "SCTP";
  }
  return "unknown";
}

void truncated(std::string& out) { out += " [truncated]"; }

void format_l4(Cursor c, uint8_t proto, std::string& out) {
  switch (proto) {
    case 6: {
      if (!c.have(20)) return truncated(out);
      uint8_t f = c.u8(13);
      char flags[9];
      size_t nf = 0;
      if (f & 0x01) flags[nf++] = 'F';
      if (f & 0x02) flags[nf++] = 'S';
      if (f & 0x04) flags[nf++] = 'R';
      if (f & 0x08) flags[nf++] = 'P';
      if (f & 0x10) flags[nf++] = '.';
      if (f & 0x20) flags[nf++] = 'U';
      if (f & 0x40) flags[nf++] = 'E';
      if (f & 0x80) flags[nf++] = 'W';
      put(out, " flags [");
      out.append(flags, nf);
      put(out, "] seq ");
      put_num(out, c.u32(4));
      if (f & 0x10) {
        put(out, " ack ");
        put_num(out, c.u32(8));
      }
      put(out, " win ");
      put_num(out, c.u16(14));
      return;
    }
    case 17:
      if (!c.have(8)) return truncated(out);
      put(out, " len ");
      put_num(out, c.u16(4) >= 8 ? c.u16(4) - 8 : 0);
      return;
    case 1:
    case 58:
      if (!c.have(4)) return truncated(out);
      put(out, " type ");
      put_num(out, c.u8(0));
      put(out, " code ");
      put_num(out, c.u8(1));
      if (c.have(8) && ((proto == 1 && (c.u8(0) == 0 || c.u8(0) == 8)) ||
                        (proto == 58 && (c.u8(0) == 128 || c.u8(0) == 129)))) {
        put(out, " id ");
        put_num(out, c.u16(4));
        put(out, " seq ");
        put_num(out, c.u16(6));
      }
      return;
  }
}

// Ports for TCP/UDP/SCTP, printed as addr.port like tcpdump and Retis.
bool has_ports(uint8_t proto) { return proto == 6 || proto == 17 || proto == 132; }

// " len N proto NAME (N)", the tail both IP versions print.
void put_len_proto(uint16_t len, uint8_t proto, std::string& out) {
  put(out, " len ");
  put_num(out, len);
  put(out, " proto ");
  put(out, ip_proto_name(proto));
  put(out, " (");
  put_num(out, proto);
  out += ')';
}

// "src[.sport] > dst[.dport]" for either family.
void put_endpoints(const uint8_t* src, const uint8_t* dst, bool v6, const Cursor* l4,
                   std::string& out) {
  auto addr = [&](const uint8_t* a) { v6 ? put_ip6(a, out) : put_ip4(a, out); };
  addr(src);
  if (l4) {
    out += '.';
    put_num(out, l4->u16(0));
  }
  out += " > ";
  addr(dst);
  if (l4) {
    out += '.';
    put_num(out, l4->u16(2));
  }
}

void format_ip4(Cursor c, std::string& out) {
  if (!c.have(20)) return truncated(out);
  size_t ihl = static_cast<size_t>(c.u8(0) & 0x0f) * 4;
  uint8_t proto = c.u8(9);
  uint16_t frag = c.u16(6);
  Cursor l4 = c;
  l4.pos += ihl;
  bool first_frag = (frag & 0x1fff) == 0;
  bool ports = has_ports(proto) && first_frag && l4.have(4);
  put_endpoints(c.at() + 12, c.at() + 16, false, ports ? &l4 : nullptr, out);
  put(out, " ttl ");
  put_num(out, c.u8(8));
  put(out, " tos ");
  put_hex(out, c.u8(1));
  put(out, " id ");
  put_num(out, c.u16(4));
  put(out, " off ");
  put_num(out, (frag & 0x1fff) * 8);
  if (frag & 0x4000) out += " [DF]";
  if (frag & 0x2000) out += " [MF]";
  put_len_proto(c.u16(2), proto, out);
  if (ihl < 20) return truncated(out);
  if (first_frag) format_l4(l4, proto, out);
}

// Skips IPv6 extension headers; returns false when the chain runs past the capture.
bool skip_ip6_ext(Cursor& c, uint8_t& next) {
  for (int i = 0; i < 8; ++i) {
    switch (next) {
      case 0: case 43: case 60:  // hop-by-hop, routing, destination options
        if (!c.have(2)) return false;
        next = c.u8(0);
        c.pos += (static_cast<size_t>(c.u8(1)) + 1) * 8;
        break;
      case 44:  // fragment
        if (!c.have(8)) return false;
        next = c.u8(0);
        c.pos += 8;
        break;
      default:
        return true;
    }
  }
  return true;
}

void format_ip6(Cursor c, std::string& out) {
  if (!c.have(40)) return truncated(out);
  uint8_t next = c.u8(6);
  Cursor l4 = c;
  l4.pos += 40;
  bool ok = skip_ip6_ext(l4, next);
  bool ports = ok && has_ports(next) && l4.have(4);
  put_endpoints(c.at() + 8, c.at() + 24, true, ports ? &l4 : nullptr, out);
  put(out, " ttl ");
  put_num(out, c.u8(7));
  put(out, " label ");
  put_hex(out, c.u32(0) & 0xfffff);
  put_len_proto(c.u16(4), next, out);
  if (!ok) return truncated(out);
  format_l4(l4, next, out);
}

void format_arp(Cursor c, std::string& out) {
  if (!c.have(8)) return truncated(out);
  uint16_t op = c.u16(6);
  bool eth_ip = c.u16(0) == 1 && c.u16(2) == kEthIp && c.u8(4) == 6 && c.u8(5) == 4;
  if (!eth_ip || !c.have(28)) {
    put(out, "ARP op ");
    put_num(out, op);
    if (!c.have(28)) truncated(out);
    return;
  }
  if (op == 1) {
    out += "ARP Request who-has ";
    put_ip4(c.at() + 24, out);
    out += " tell ";
    put_ip4(c.at() + 14, out);
  } else if (op == 2) {
    out += "ARP Reply ";
    put_ip4(c.at() + 14, out);
    out += " is-at ";
    put_mac(c.at() + 8, out);
  } else {
    put(out, "ARP op ");
    put_num(out, op);
  }
}

void format_l3(Cursor c, uint16_t type, std::string& out) {
  switch (type) {
    case kEthIp: return format_ip4(c, out);
    case kEthIp6: return format_ip6(c, out);
    case kEthArp: return format_arp(c, out);
  }
  put(out, "ethertype 0x");
  put_hex2(out, static_cast<uint8_t>(type >> 8));
  put_hex2(out, static_cast<uint8_t>(type));
}

}  // namespace

void format_packet(std::span<const uint8_t> data, uint8_t l2_len, uint16_t ethertype,
                   const PacketFormat& pf, std::string& out) {
  Cursor c{data, 0};
  if (l2_len == 0) return format_l3(c, ethertype, out);
  if (l2_len < 14 || !c.have(14)) {  // a link header we do not parse: skip it
    c.pos = l2_len;
    return format_l3(c, ethertype, out);
  }
  uint16_t type = c.u16(12);
  if (pf.ethernet) {
    put_mac(c.at() + 6, out);
    out += " > ";
    put_mac(c.at(), out);
  }
  c.pos = 14;
  while ((type == kEthVlan || type == kEthQinQ) && c.have(4)) {
    put(out, pf.ethernet ? " vlan " : "vlan ");
    put_num(out, c.u16(0) & 0x0fff);
    if (!pf.ethernet) out += ' ';
    type = c.u16(2);
    c.pos += 4;
  }
  if (pf.ethernet) {
    put(out, " ethertype 0x");
    put_hex2(out, static_cast<uint8_t>(type >> 8));
    put_hex2(out, static_cast<uint8_t>(type));
    out += ' ';
  }
  // A device that strips the tag to skb metadata leaves l2_len at 14 even for VLAN frames.
  format_l3(c, type, out);
}

bool flow_key(std::span<const uint8_t> data, uint8_t l2_len, uint16_t ethertype, FlowKey* key) {
  Cursor c{data, 0};
  uint16_t type = ethertype;
  if (l2_len >= 14 && c.have(14)) {
    type = c.u16(12);
    c.pos = 14;
    while ((type == kEthVlan || type == kEthQinQ) && c.have(4)) {
      type = c.u16(2);
      c.pos += 4;
    }
  } else {
    c.pos = l2_len;
  }
  *key = FlowKey{};
  if (type == kEthIp && c.have(20)) {
    key->family = 4;
    key->proto = c.u8(9);
    std::memcpy(key->src, c.at() + 12, 4);
    std::memcpy(key->dst, c.at() + 16, 4);
    c.pos += static_cast<size_t>(c.u8(0) & 0x0f) * 4;
  } else if (type == kEthIp6 && c.have(40)) {
    key->family = 6;
    uint8_t next = c.u8(6);
    std::memcpy(key->src, c.at() + 8, 16);
    std::memcpy(key->dst, c.at() + 24, 16);
    c.pos += 40;
    if (!skip_ip6_ext(c, next)) return true;
    key->proto = next;
  } else {
    return false;
  }
  if (has_ports(key->proto) && c.have(4)) {
    key->sport = c.u16(0);
    key->dport = c.u16(2);
  }
  return true;
}

}  // namespace nscope
