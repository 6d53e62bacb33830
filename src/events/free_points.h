// Where the kernel frees a packet, as tracepoints and functions name it: one list for collect
// (which adds these tracepoints to follow a packet to its end) and for sort and the event
// reader (which ask whether a file traced them, and read a series' end from them).
#pragma once

#include <string_view>

namespace nscope::free_points {

inline constexpr std::string_view kGroup = "skb";  // their tracepoint group
// A dropped packet's end: skb:kfree_skb, with the drop reason.
inline constexpr std::string_view kDrop = "kfree_skb";
inline constexpr std::string_view kDropTracepoint = "skb:kfree_skb";
// A packet done with: skb:consume_skb (a delivered packet's end).
inline constexpr std::string_view kConsume = "consume_skb";
inline constexpr std::string_view kConsumeTracepoint = "skb:consume_skb";

// Whether `probe` ("skb:kfree_skb", as collect records its probes) is a free tracepoint.
inline bool is_free_tracepoint(std::string_view probe) {
  return probe == kDropTracepoint || probe == kConsumeTracepoint;
}
// Whether an event's symbol (a tracepoint "skb:kfree_skb" or a function "kfree_skb") is a drop.
inline bool is_drop(std::string_view symbol) { return symbol == kDropTracepoint || symbol == kDrop; }
// ... or a consume.
inline bool is_consume(std::string_view symbol) {
  return symbol == kConsumeTracepoint || symbol == kConsume;
}

}  // namespace nscope::free_points
