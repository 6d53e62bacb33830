// Raw ring-buffer records (struct nscope_event) into the event model.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "nscope.h"

namespace nscope {

// One ring-buffer record: the event, and its ct extension when NSCOPE_EV_HAS_CT is set.
struct RawRecord {
  nscope_event ev;
  nscope_ct_ext ct;
};

class DropReasons;

struct DecodeContext {
  std::vector<std::string_view> slot_symbols;  // probe slot -> "net:netif_receive_skb"
  std::string_view probe_type = "raw_tracepoint";  // tp_btf is a raw tracepoint with BTF
  uint32_t collectors = NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS | NSCOPE_COLLECT_DEV;
  // Drop reason value -> name (from the kernel's BTF), interned; filled on demand.
  std::function<std::string_view(uint32_t)> drop_reason;
};

// Packets captured from the network header get a made-up Ethernet header (zero addresses,
// the skb's protocol), so every packet in the model starts at the link layer, as in Retis.
void decode_event(const nscope_event& raw, const DecodeContext& ctx, Event& e);
// A ring-buffer record of `size` bytes: the event, and its ct extension when the event says
// it has one and the record holds it.
void decode_record(const void* record, size_t size, const DecodeContext& ctx, Event& e);

}  // namespace nscope
