// Text and JSON renderings of events. Both write into a caller's buffer and allocate
// nothing per event once the buffer has grown.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "events/event.h"
#include "events/packet.h"

namespace nscope {

struct TextOptions {
  bool ethernet = false;        // -e
  bool utc = false;             // --utc: wall clock instead of monotonic ns
  int64_t mono_to_utc_ns = 0;   // CLOCK_REALTIME - CLOCK_MONOTONIC when the run began
  // --format retis: format_event_text writes the event as `retis print` does (retis_text.h),
  // then an empty line, as Retis separates events.
  bool retis = false;
  bool has_offset = true;       // retis: mono_to_utc_ns is known (else --utc shows ns)
  // Namespace names (`ip netns` name or container) by netns inode, shown after the inode.
  const std::unordered_map<uint32_t, std::string>* names = nullptr;
};

// Three lines or fewer, as Retis prints:
//   202389123456789 [ping] 12345 [tp] net:netif_receive_skb
//     if 2 (eth0) 192.168.1.100 > 192.168.1.1 ttl 64 ... proto ICMP (1) type 8 code 0
//     netns 4026531840 cookie 12345678 (web-1)
// `indent` prefixes every line (sort uses it for followers).
void format_event_text(const Event& e, const TextOptions& opt, std::string& out,
                       std::string_view indent = "");

// One event of a packet's series, as sort prints it: the first with " n N" (and
// " (continued)") after its first line, a follower "  + ..." indented under it.
void format_series_member_text(const Event& e, const TextOptions& opt, bool follower, uint32_t n,
                               bool continued, std::string& out);

// "#<first-seen timestamp hex><orig_head hex>": the packet's id across its whole life.
void format_tracking_id(const Event& e, std::string& out);

// One JSON object on one line (no newline), sections named as Retis names them.
void format_event_json(const Event& e, std::string& out);
// The same into space the caller has: at most event_json_bound(e) bytes. Returns the end.
size_t event_json_bound(const Event& e);
char* format_event_json(const Event& e, char* out);

// Appends s as a JSON string literal (quoted, escaped).
void json_escape(std::string_view s, std::string& out);
void base64_encode(const uint8_t* data, size_t len, std::string& out);
// Decodes up to the first '=' (or the end) into at most cap bytes, *len the bytes written;
// false for any other character outside the alphabet before it.
bool base64_decode(std::string_view in, uint8_t* out, size_t cap, size_t* len);

}  // namespace nscope
