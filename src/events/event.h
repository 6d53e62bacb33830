// The event model shared by collect, print, sort and pcap: one packet seen at one probe.
// Sections follow Retis's names (common, kernel, netns, dev, skb, packet) so its files and
// ours read into the same struct. Fixed-size fields: decoding and printing allocate nothing.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace nscope {

inline constexpr size_t kMaxPacket = 256;

// A conntrack tuple: addresses in network order (IPv4 in the first 4 bytes).
struct CtTuple {
  uint8_t family = 0;  // 4 or 6
  uint8_t proto = 0;   // IPPROTO_*
  std::array<uint8_t, 16> src{}, dst{};
  uint16_t sport = 0, dport = 0;  // ports; for ICMP: type/code in sport, id in dport
};

enum class CtState : uint8_t { none, established, related, new_, reply, related_reply, untracked };
std::string_view ct_state_name(CtState s);

struct Event {
  uint64_t ts = 0;                 // CLOCK_MONOTONIC ns (common.timestamp)
  // common.task
  bool has_task = false;
  uint32_t pid = 0, tgid = 0;
  std::array<char, 16> comm{};
  // kernel
  std::string_view probe_type;     // "raw_tracepoint" ("[tp]" in text)
  std::string_view symbol;         // "net:netif_receive_skb"; storage owned by a SymbolTable
  std::string_view stack_trace;    // kernel.stack_trace: "func+0xoff" frames, one a line
  // netns
  bool has_netns = false;
  uint32_t netns_inum = 0;
  uint64_t netns_cookie = 0;       // 0: the kernel has no cookie
  // dev
  bool has_dev = false;
  uint32_t ifindex = 0, rx_ifindex = 0;
  std::array<char, 16> ifname{};
  // skb
  bool has_skb = false;
  uint64_t skb_addr = 0;
  uint32_t len = 0, data_len = 0, mark = 0;
  uint16_t protocol = 0;           // host byte order ethertype
  // packet: the first bytes, from the link header when l2_len > 0, else from the L3 header
  bool has_packet = false;
  uint16_t caplen = 0;
  uint8_t l2_len = 0;
  uint32_t wire_len = 0;           // the packet's length from data[0] on (packet.len); 0: unknown
  uint32_t cpu = 0;
  std::array<uint8_t, kMaxPacket> data{};
  // skb-tracking: one id per packet from first sight to free, (timestamp, orig_head)
  bool has_tracking = false;
  uint64_t track_ts = 0;       // when the packet was first seen
  uint64_t orig_head = 0;      // its data buffer (skb->head) when first seen
  // skb-drop
  bool has_drop = false;
  std::string_view drop_reason;  // "NO_SOCKET"; interned
  // ct
  bool has_ct = false;
  CtState ct_state = CtState::none;
  uint32_t ct_status = 0, ct_mark = 0;
  uint16_t ct_zone = 0;
  CtTuple ct_orig, ct_reply;

  // The tracking id as printed: "#<timestamp hex><orig_head hex>".
  bool same_packet(const Event& o) const {
    return has_tracking && o.has_tracking && track_ts == o.track_ts && orig_head == o.orig_head;
  }
};

inline std::string_view fixed_str(const std::array<char, 16>& a) {
  size_t n = 0;
  while (n < a.size() && a[n]) ++n;
  return {a.data(), n};
}

}  // namespace nscope
