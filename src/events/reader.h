// Reads event files: JSON lines as `nscope collect -o` and Retis write them.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/event.h"
#include "events/symbols.h"
#include "util/result.h"

namespace nscope {

struct StartupInfo {
  std::string tool;     // "nscope" or "retis"
  std::string version;
  std::string cmdline;
  std::string kernel;
  int64_t mono_to_utc_ns = 0;
  // Names nscope knew for network namespaces when collecting (netns inode -> `ip netns`
  // name or container), so print and sort can name them offline.
  std::unordered_map<uint32_t, std::string> netns_names;
  uint32_t initial_netns = 0;  // the host's netns inode, 0 when unknown
  // The probes collect attached ("net:netif_receive_skb", "skb:kfree_skb"), in its order;
  // empty when the file does not say (Retis files, or nscope's before it was recorded).
  std::vector<std::string> probes;
  // Whether the probes include a free tracepoint (skb:kfree_skb, skb:consume_skb): then
  // every followed packet's end was traced, seen or not.
  bool traces_frees() const;
};

// What one line held.
enum class LineKind { event, startup, stats, other };

// Parses one JSON line into `e` (or `startup`). Unknown sections are ignored; a line that is
// not a JSON object, or an event without common.timestamp, is an Error naming the problem.
Result<LineKind> parse_event_line(std::string_view line, SymbolTable& symbols, Event& e,
                                  StartupInfo* startup);

}  // namespace nscope
