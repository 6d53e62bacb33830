#include "events/packet.h"

#include <arpa/inet.h>

#include <cstring>

#include "events/packet_bytes.h"
#include "util/append.h"

namespace nscope {

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

namespace {

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

void format_l4(Bytes c, uint8_t proto, std::string& out) {
  switch (proto) {
    case 6: {
      if (!c.have(20)) return truncated(out);
      uint8_t f = c.u8(13);
      char flags[8];
      put(out, " flags [");
      out.append(flags, tcp_flag_letters(f, flags));
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
void put_endpoints(const uint8_t* src, const uint8_t* dst, bool v6, const Bytes* l4,
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

void format_ip4(Bytes c, std::string& out) {
  if (!c.have(20)) return truncated(out);
  size_t ihl = static_cast<size_t>(c.u8(0) & 0x0f) * 4;
  uint8_t proto = c.u8(9);
  uint16_t frag = c.u16(6);
  Bytes l4 = c.from(ihl);
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
bool skip_ip6_ext(Bytes& c, uint8_t& next) {
  for (int i = 0; i < 8; ++i) {
    switch (next) {
      case 0: case 43: case 60:  // hop-by-hop, routing, destination options
        if (!c.have(2)) return false;
        next = c.u8(0);
        c = c.from((static_cast<size_t>(c.u8(1)) + 1) * 8);
        break;
      case 44:  // fragment
        if (!c.have(8)) return false;
        next = c.u8(0);
        c = c.from(8);
        break;
      default:
        return true;
    }
  }
  return true;
}

void format_ip6(Bytes c, std::string& out) {
  if (!c.have(40)) return truncated(out);
  uint8_t next = c.u8(6);
  Bytes l4 = c.from(40);
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

void format_arp(Bytes c, std::string& out) {
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

void format_l3(Bytes c, uint16_t type, std::string& out) {
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
  Bytes c{data};
  if (l2_len == 0) return format_l3(c, ethertype, out);
  if (l2_len < 14 || !c.have(14))  // a link header we do not parse: skip it
    return format_l3(c.from(l2_len), ethertype, out);
  uint16_t type = c.u16(12);
  if (pf.ethernet) {
    put_mac(c.at() + 6, out);
    out += " > ";
    put_mac(c.at(), out);
  }
  c = c.from(14);
  while ((type == kEthVlan || type == kEthQinQ) && c.have(4)) {
    put(out, pf.ethernet ? " vlan " : "vlan ");
    put_num(out, c.u16(0) & 0x0fff);
    if (!pf.ethernet) out += ' ';
    type = c.u16(2);
    c = c.from(4);
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
  Bytes c{data};
  uint16_t type = ethertype;
  if (l2_len >= 14 && c.have(14)) {
    type = c.u16(12);
    c = c.from(14);
    while ((type == kEthVlan || type == kEthQinQ) && c.have(4)) {
      type = c.u16(2);
      c = c.from(4);
    }
  } else {
    c = c.from(l2_len);
  }
  *key = FlowKey{};
  if (type == kEthIp && c.have(20)) {
    key->family = 4;
    key->proto = c.u8(9);
    std::memcpy(key->src, c.at() + 12, 4);
    std::memcpy(key->dst, c.at() + 16, 4);
    c = c.from(static_cast<size_t>(c.u8(0) & 0x0f) * 4);
  } else if (type == kEthIp6 && c.have(40)) {
    key->family = 6;
    uint8_t next = c.u8(6);
    std::memcpy(key->src, c.at() + 8, 16);
    std::memcpy(key->dst, c.at() + 24, 16);
    c = c.from(40);
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
