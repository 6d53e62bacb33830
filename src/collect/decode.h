// Raw ring-buffer records (struct nscope_event) into the event model.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "nscope.h"

namespace nscope {

class DropReasons;

struct DecodeContext {
  // probe slot -> "net:netif_receive_skb", "ip_rcv"; empty: the event's function, by address
  std::vector<std::string_view> slot_symbols;
  // probe slot -> Retis's probe_type; `probe_type` for slots not listed
  std::vector<std::string_view> slot_types;
  std::string_view probe_type = "raw_tracepoint";  // tp_btf is a raw tracepoint with BTF
  uint32_t collectors = NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS | NSCOPE_COLLECT_DEV;
  // Drop reason value -> name (from the kernel's BTF), interned; filled on demand.
  std::function<std::string_view(uint32_t)> drop_reason;
  // A probed function's address -> its name, interned (slots named by address).
  std::function<std::string_view(uint64_t)> function_at;
  // Kernel stack frames (innermost first) -> "func+0xoff" lines joined by newlines, interned.
  std::function<std::string_view(const uint64_t*, uint32_t)> stack;
  // ovs: enum ovs_action_attr value -> Retis's action name ("" or past the end: unknown).
  std::vector<std::string_view> ovs_actions;
  // nft: a table's or chain's name -> the same, interned (the nft kprobe's events).
  std::function<std::string_view(std::string_view)> intern;
};

// Packets captured from the network header get a made-up Ethernet header (zero addresses,
// the skb's protocol), so every packet in the model starts at the link layer, as in Retis.
void decode_event(const nscope_event& raw, const DecodeContext& ctx, Event& e);
// A ring-buffer record of `size` bytes: the event, then its ct extension (with the ct
// collector), its ovs extension (with the ovs collector) and its stack (with --stack), when
// the event says it has them and the record holds them.
// The ovs extension of an event at an openvswitch tracepoint: Retis's `upcall` (with the
// queue id nscope adds) or `action_execute`.
void decode_ovs(const nscope_ovs_ext& x, uint32_t cpu, const DecodeContext& ctx, OvsInfo& v);
void decode_record(const void* record, size_t size, const DecodeContext& ctx, Event& e);

}  // namespace nscope
