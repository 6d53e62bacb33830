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
  uint32_t vtag = 0;              // SCTP verification tag
};

enum class CtState : uint8_t { none, established, related, new_, reply, related_reply, untracked };
std::string_view ct_state_name(CtState s);
// A ct.state as files write it ("established", "NEW", "related_reply"); false for any other.
bool ct_state_of(std::string_view name, CtState& out);

// Which direction a connection's zone applies to (Retis's zone_dir).
enum class CtZoneDir : uint8_t { none, original, reply, default_ };
// Retis's zone_dir ("Original", "Reply", "Default", "None"); false for any other.
bool zone_dir_of(std::string_view name, CtZoneDir& out);

// One conntrack connection: the packet's, or its parent (the master of a related one).
struct CtConn {
  uint64_t status = 0;  // ct->status bits
  uint16_t zone = 0;
  CtZoneDir zone_dir = CtZoneDir::none;
  bool has_mark = false, has_labels = false;
  uint32_t mark = 0;
  uint64_t labels_hi = 0, labels_lo = 0;
  std::string_view proto_state;  // "ESTABLISHED" (TCP, SCTP); interned
  CtTuple orig, reply;
};

// Retis's skb sub-sections, each present or not.
struct SkbMeta {  // skb.meta (len and data_len live in Event)
  bool has = false;
  uint8_t ip_summed = 0, csum_level = 0;
  uint32_t hash = 0, csum = 0, priority = 0;
};
struct SkbDataRef {  // skb.data_ref
  bool has = false, nohdr = false, cloned = false;
  uint8_t fclone = 0, users = 0, dataref = 0;
};
struct SkbGso {  // skb.gso
  bool has = false;
  uint8_t flags = 0, frags = 0;
  uint32_t size = 0, segs = 0, type = 0;
};
struct SkbVlanAccel {  // skb.vlan_accel
  bool has = false, dei = false;
  uint8_t pcp = 0;
  uint16_t proto = 0, vid = 0;
};

// nft: the rule or policy that gave a verdict. Strings interned.
struct NftInfo {
  bool has = false, policy = false, has_rule = false;
  std::string_view table, chain, verdict, verdict_chain;
  std::string_view family;  // "inet", "ip"...: nscope's addition, empty in Retis's files
  int64_t table_handle = 0, chain_handle = 0, rule_handle = 0;
};

// A datapath flow: its id, pointers, and what ovs-vswitchd says of it (ovs flow_lookup,
// ovs-detrace).
struct OvsFlow {
  std::array<uint32_t, 4> ufid{};
  uint64_t flow = 0, sf_acts = 0;
  std::string_view dpflow, ofpflows;  // interned; ofpflows one a line
};

// ovs: one of the Open vSwitch datapath or ovs-vswitchd events Retis records.
enum class OvsKind : uint8_t {
  none, upcall, upcall_enqueue, upcall_return, recv_upcall, flow_operation, action_execute,
  flow_lookup
};
struct OvsInfo {
  OvsKind kind = OvsKind::none;
  uint8_t cmd = 0;                          // upcall, upcall_enqueue: OVS_PACKET_CMD_*
  uint32_t port = 0, cpu = 0;               // upcall, upcall_enqueue (port)
  int32_t ret = 0;                          // upcall_enqueue, upcall_return
  uint64_t upcall_ts = 0;                   // upcall_enqueue, upcall_return
  uint32_t upcall_cpu = 0;
  bool has_queue_id = false;
  uint32_t queue_id = 0;                    // links an upcall to its execution
  uint8_t op_type = 0, batch_idx = 0;       // flow_operation (0 exec, 1 put), recv_upcall
  uint64_t batch_ts = 0;
  uint32_t recv_type = 0, pkt_size = 0;     // recv_upcall
  uint64_t key_size = 0;
  // action_execute
  std::string_view action;                  // "output", "ct", ...; empty: unspec (interned)
  uint32_t recirc_id = 0;
  uint32_t action_arg = 0;                  // output port, recirc id, drop reason
  uint32_t ct_flags = 0;                    // ct action
  uint16_t ct_zone = 0;
  bool has_nat = false, has_min_port = false, has_max_port = false;
  std::string_view nat_dir, nat_min_addr, nat_max_addr;
  uint16_t nat_min_port = 0, nat_max_port = 0;
  // flow_lookup
  OvsFlow lookup;
  uint32_t n_mask_hit = 0, n_cache_hit = 0;
};

// userspace: a USDT probe in a program.
struct UserProbe {
  bool has = false;
  std::string_view probe_type, symbol, path;
  uint64_t ip = 0;
  int32_t pid = 0, tid = 0;
};

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
  bool has_meta_len = false;       // skb.meta carried len and data_len
  SkbMeta meta;
  SkbDataRef data_ref;
  // packet: the first bytes, from the link header when l2_len > 0, else from the L3 header
  bool has_packet = false;
  uint16_t caplen = 0;
  uint8_t l2_len = 0;
  uint32_t wire_len = 0;           // the packet's length from data[0] on (packet.len); 0: unknown
  uint32_t cpu = 0;
  // skb-tracking: one id per packet from first sight to free, (timestamp, orig_head)
  bool has_tracking = false;
  uint64_t track_ts = 0;       // when the packet was first seen
  uint64_t orig_head = 0;      // its data buffer (skb->head) when first seen
  // tracking: what `retis sort` adds, the event's place in its series
  bool has_series_idx = false, series_first = false;  // series_first: a series line's first
  uint32_t series_idx = 0;
  // skb-drop
  bool has_drop = false;
  std::string_view drop_reason;  // "NO_SOCKET"; interned
  std::string_view drop_subsys;  // "OPENVSWITCH"; empty for the core's reasons
  // ct
  bool has_ct = false;
  CtState ct_state = CtState::none;
  CtConn ct;
  // A section of the tail (after data[]) is set. The tail holds what few events carry, and
  // stays all zero otherwise: resetting and copying an event skip it unless this is set.
  // Whatever fills a tail section sets it.
  bool has_rare = false;
  std::array<uint8_t, kMaxPacket> data{};

  // ---- the tail ----
  bool has_ct_parent = false;
  CtConn ct_parent;
  SkbGso gso;
  SkbVlanAccel vlan_accel;
  NftInfo nft;
  OvsInfo ovs;
  bool has_ovs_detrace = false;
  OvsFlow ovs_detrace;
  UserProbe user;

  // The tracking id as printed: "#<timestamp hex><orig_head hex>".
  bool same_packet(const Event& o) const {
    return has_tracking && o.has_tracking && track_ts == o.track_ts && orig_head == o.orig_head;
  }
  // Whether a tail section is set (what has_rare must say).
  bool any_rare() const {
    return has_ct_parent || gso.has || vlan_accel.has || nft.has || ovs.kind != OvsKind::none ||
           has_ovs_detrace || user.has;
  }
};

// Copies what an event holds: the head, the captured bytes of data[] (the rest is never read)
// and the tail when either side has one. For buffers of events, where most of data[] and the
// tail are cache lines not worth touching.
void copy_event(Event& dst, const Event& src);
// dst = Event{}, by the same rule.
void reset_event(Event& e);

inline std::string_view fixed_str(const std::array<char, 16>& a) {
  size_t n = 0;
  while (n < a.size() && a[n]) ++n;
  return {a.data(), n};
}

}  // namespace nscope
