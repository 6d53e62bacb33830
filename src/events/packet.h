// Packet summaries from captured bytes: Ethernet/VLAN, ARP, IPv4, IPv6, TCP, UDP,
// ICMP/ICMPv6. Pure functions over a byte span, so tests and fuzzers feed them directly.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace nscope {

struct PacketFormat {
  bool ethernet = false;  // -e: print the link header too
};

// Appends the one-line summary (no leading "if ..." part) to `out`.
// data starts at the link header when l2_len > 0 (l2_len bytes of it), else at the network
// header whose type is `ethertype` (host byte order). Truncated data is summarised as far as
// it goes and ends with "[truncated]".
void format_packet(std::span<const uint8_t> data, uint8_t l2_len, uint16_t ethertype,
                   const PacketFormat& fmt, std::string& out);

// The IPv4/IPv6 5-tuple and protocol of a packet, for filters and sorting.
struct FlowKey {
  uint8_t family = 0;  // 4 or 6, 0 when not IP
  uint8_t proto = 0;
  uint8_t src[16] = {}, dst[16] = {};
  uint16_t sport = 0, dport = 0;
};
bool flow_key(std::span<const uint8_t> data, uint8_t l2_len, uint16_t ethertype, FlowKey* key);

}  // namespace nscope
