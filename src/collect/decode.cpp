#include "collect/decode.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "netlink/nft_trace.h"

namespace nscope {

void decode_event(const nscope_event& r, const DecodeContext& ctx, Event& e) {
  e.ts = r.ts;
  e.cpu = r.cpu;
  e.has_task = true;
  e.pid = r.pid;
  e.tgid = r.tgid;
  std::memcpy(e.comm.data(), r.comm, sizeof r.comm);
  e.comm.back() = 0;
  e.probe_type = r.probe < ctx.slot_types.size() ? ctx.slot_types[r.probe] : ctx.probe_type;
  e.symbol = r.probe < ctx.slot_symbols.size() ? ctx.slot_symbols[r.probe] : std::string_view("?");
  if (e.symbol.empty()) e.symbol = ctx.function_at ? ctx.function_at(r.func_ip) : "?";
  e.stack_trace = {};

  e.has_netns = (ctx.collectors & NSCOPE_COLLECT_NS) && r.ns_src != NSCOPE_NS_NONE;
  e.netns_inum = r.netns_inum;
  e.netns_cookie = r.netns_cookie;

  e.has_dev = (ctx.collectors & NSCOPE_COLLECT_DEV) && r.ifindex != 0;
  e.ifindex = r.ifindex;
  e.rx_ifindex = r.rx_ifindex;
  std::memcpy(e.ifname.data(), r.ifname, sizeof r.ifname);
  e.ifname.back() = 0;

  e.has_skb = (ctx.collectors & NSCOPE_COLLECT_SKB) && (r.flags & NSCOPE_EV_HAS_SKB);
  e.skb_addr = r.skb;
  e.len = r.len;
  e.data_len = r.data_len;
  e.mark = r.mark;
  e.protocol = ntohs(r.protocol);

  e.has_tracking = (ctx.collectors & NSCOPE_COLLECT_TRACK) && (r.flags & NSCOPE_EV_HAS_TRACK);
  e.track_ts = r.track_ts;
  e.orig_head = r.orig_head;
  e.has_drop = (ctx.collectors & NSCOPE_COLLECT_DROP) && (r.flags & NSCOPE_EV_HAS_DROP);
  e.drop_reason = e.has_drop && ctx.drop_reason ? ctx.drop_reason(r.drop_reason) : std::string_view();
  e.has_ct = false;

  size_t cap = r.caplen > NSCOPE_PKT_CAPTURE ? NSCOPE_PKT_CAPTURE : r.caplen;
  e.has_packet = e.has_skb && cap > 0;
  e.caplen = 0;
  e.l2_len = 0;
  if (!e.has_packet) return;
  const uint8_t l2 = r.l2len;
  if ((r.flags & NSCOPE_EV_HAS_MAC) && l2 == 14) {
    std::memcpy(e.data.data(), r.data, cap);
    e.caplen = static_cast<uint16_t>(cap);
    e.wire_len = std::max<uint32_t>(r.wirelen, e.caplen);
  } else {
    // No Ethernet header (loopback, tun, or a link header we do not parse): make one.
    size_t skip = (r.flags & NSCOPE_EV_HAS_MAC) ? l2 : 0;
    if (skip > cap) skip = cap;
    std::memset(e.data.data(), 0, 12);
    e.data[12] = static_cast<uint8_t>(e.protocol >> 8);
    e.data[13] = static_cast<uint8_t>(e.protocol & 0xff);
    std::memcpy(e.data.data() + 14, r.data + skip, cap - skip);
    e.caplen = static_cast<uint16_t>(14 + cap - skip);
    e.wire_len = std::max<uint32_t>(r.wirelen > skip ? 14 + r.wirelen - static_cast<uint32_t>(skip) : 0,
                                    e.caplen);
  }
  e.l2_len = 14;
}

namespace {
void copy_tuple(const nscope_ct_tuple& in, CtTuple& out) {
  out.family = in.family == AF_INET6 ? 6 : 4;
  out.proto = in.proto;
  std::memcpy(out.src.data(), in.src, 16);
  std::memcpy(out.dst.data(), in.dst, 16);
  bool icmp = in.proto == 1 || in.proto == 58;
  out.sport = icmp ? in.sport : ntohs(in.sport);
  out.dport = ntohs(in.dport);
}
}  // namespace

void decode_ovs(const nscope_ovs_ext& x, uint32_t cpu, const DecodeContext& ctx, OvsInfo& v) {
  v = OvsInfo{};
  v.has_queue_id = x.flags & NSCOPE_OVS_HAS_QUEUE;
  v.queue_id = x.queue_id;
  if (x.point == NSCOPE_OVS_UPCALL) {
    v.kind = OvsKind::upcall;
    v.cmd = x.cmd;
    v.port = x.port;
    v.cpu = cpu;
  } else if (x.point == NSCOPE_OVS_EXECUTE) {
    v.kind = OvsKind::action_execute;
    v.recirc_id = x.recirc_id;
    v.action = x.action < ctx.ovs_actions.size() ? ctx.ovs_actions[x.action] : std::string_view();
    v.action_arg = x.action_arg;
    v.ct_flags = x.ct_flags;
    v.ct_zone = x.ct_zone;
  }
}

void decode_nft(const nscope_nft_ext& x, const DecodeContext& ctx, NftInfo& n) {
  auto name = [&](const char* s, size_t max) {
    std::string_view v(s, strnlen(s, max));
    return ctx.intern ? ctx.intern(v) : std::string_view();
  };
  n = NftInfo{};
  n.has = true;
  n.family = nft_family_name(x.family);
  n.table = name(x.table, sizeof x.table);
  n.chain = name(x.chain, sizeof x.chain);
  n.verdict = nft_verdict_name(x.verdict);
  if (x.verdict_chain[0]) n.verdict_chain = name(x.verdict_chain, sizeof x.verdict_chain);
  n.policy = x.policy;
  n.has_rule = x.rule_handle >= 0;
  n.rule_handle = n.has_rule ? x.rule_handle : 0;
  n.table_handle = x.table_handle;
  n.chain_handle = x.chain_handle;
}

void decode_record(const void* record, size_t size, const DecodeContext& ctx, Event& e) {
  const auto& ev = *static_cast<const nscope_event*>(record);
  decode_event(ev, ctx, e);
  const char* tail = static_cast<const char*>(record) + sizeof(nscope_event);
  const size_t ct_size = (ctx.collectors & NSCOPE_COLLECT_CT) ? sizeof(nscope_ct_ext) : 0;
  const size_t ovs_size = (ctx.collectors & NSCOPE_COLLECT_OVS) ? sizeof(nscope_ovs_ext) : 0;
  // The ovs section lives in the event's tail (event.h): set, or cleared of an earlier event's.
  if (ovs_size && (ev.flags & NSCOPE_EV_HAS_OVS) && size >= sizeof(nscope_event) + ct_size + ovs_size) {
    nscope_ovs_ext x;
    std::memcpy(&x, tail + ct_size, sizeof x);
    decode_ovs(x, ev.cpu, ctx, e.ovs);
    e.has_rare = true;
  } else if (e.ovs.kind != OvsKind::none) {
    e.ovs = OvsInfo{};
    e.has_rare = e.any_rare();
  }
  // The nft section too (event.h): set, or cleared of an earlier event's.
  const size_t nft_size = (ctx.collectors & NSCOPE_COLLECT_NFT) ? sizeof(nscope_nft_ext) : 0;
  const size_t nft_has = offsetof(nscope_nft_ext, has);
  if (nft_size && size >= sizeof(nscope_event) + ct_size + ovs_size + nft_size &&
      tail[ct_size + ovs_size + nft_has]) {
    nscope_nft_ext x;
    std::memcpy(&x, tail + ct_size + ovs_size, sizeof x);
    decode_nft(x, ctx, e.nft);
    e.has_rare = true;
  } else if (e.nft.has) {
    e.nft = NftInfo{};
    e.has_rare = e.any_rare();
  }
  if ((ctx.collectors & NSCOPE_COLLECT_STACK) && (ev.flags & NSCOPE_EV_HAS_STACK) && ctx.stack &&
      size >= sizeof(nscope_event) + ct_size + ovs_size + nft_size + sizeof(nscope_stack_ext)) {
    const char* st = tail + ct_size + ovs_size + nft_size;
    uint32_t n;
    std::memcpy(&n, st + offsetof(nscope_stack_ext, nr), sizeof n);
    n = std::min<uint32_t>(n, NSCOPE_STACK_DEPTH);
    uint64_t ips[NSCOPE_STACK_DEPTH];
    std::memcpy(ips, st + offsetof(nscope_stack_ext, ips), n * sizeof(uint64_t));
    e.stack_trace = ctx.stack(ips, n);
  }
  if (!ct_size || !(ev.flags & NSCOPE_EV_HAS_CT) || size < sizeof(nscope_event) + ct_size) return;
  nscope_ct_ext ct;
  std::memcpy(&ct, tail, sizeof ct);
  e.has_ct = true;
  switch (ct.ctinfo) {
    case NSCOPE_CT_ESTABLISHED: e.ct_state = CtState::established; break;
    case NSCOPE_CT_RELATED: e.ct_state = CtState::related; break;
    case NSCOPE_CT_NEW: e.ct_state = CtState::new_; break;
    case NSCOPE_CT_ESTABLISHED_REPLY: e.ct_state = CtState::reply; break;
    case NSCOPE_CT_RELATED_REPLY: e.ct_state = CtState::related_reply; break;
    case NSCOPE_CT_UNTRACKED: e.ct_state = CtState::untracked; break;
    default: e.ct_state = CtState::none;
  }
  e.ct.status = ct.status;
  e.ct.mark = ct.mark;
  e.ct.has_mark = true;
  e.ct.zone_dir = CtZoneDir::default_;
  e.ct.zone = ct.zone;
  copy_tuple(ct.orig, e.ct.orig);
  copy_tuple(ct.reply, e.ct.reply);
}

}  // namespace nscope
