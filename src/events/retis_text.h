// `--format retis`: events exactly as `retis print` shows them (its multi-line format), so
// output can be compared with Retis's line for line, and scripts written for Retis's text
// keep working. nscope's own layout (format_event_text) puts the namespace on its own line.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "events/event.h"

namespace nscope {

struct RetisTextOptions {
  bool print_ll = false;        // -e: link-layer headers
  bool utc = false;             // --utc: "%F %T.%6f" wall clock, when the offset is known
  bool has_offset = false;      // the file gave CLOCK_MONOTONIC's offset to the wall clock
  int64_t mono_to_utc_ns = 0;
};

// One event, no trailing newline. follower: a series' later event (indented 4, "↳" first),
// as `retis sort` prints them.
void format_event_retis(const Event& e, const RetisTextOptions& opt, std::string& out,
                        bool follower = false);

// The packet line alone (Ethernet frame in data): "10.0.0.1 > 10.0.0.2 tos 0x0 ttl 64 ...".
void format_packet_retis(std::span<const uint8_t> frame, bool print_ll, std::string& out);

// For nscope's own layout: the skb, ovs, ovs-detrace and nft sections and a conntrack
// parent, a line each, every line `indent` + two spaces in (none when the event has none).
void format_sections_text(const Event& e, bool print_ll, std::string& out,
                          std::string_view indent);
// "status 0x8 tcp (ESTABLISHED) orig [...] reply [...] zone 0 mark 0".
std::string ct_conn_text(const CtConn& c);

}  // namespace nscope
