// Reads event files: JSON lines as `nscope collect -o` and Retis write them.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
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
enum class LineKind {
  event,
  startup,
  stats,
  other,
  series,  // a sorted file's line: several events of one packet (see ParseExtras::series)
};

// Sections and fields nscope read past without rendering, by name ("ovs", "skb.foo"), with
// how many events carried each. A parser adds to it; a file reader sums its parsers'.
using SkippedFields = std::map<std::string, uint64_t, std::less<>>;

// The top-level keys nscope reads: Retis's sections, startup and stats lines, and the members
// of an `nscope sort -o` series. Any other is skipped (and counted).
bool known_section(std::string_view key);

// A "packet" section's data (base64, from the Ethernet header on) and wire length into e,
// with the length and protocol the skb section left unset; false when the data is not base64.
// Both parsers read packets through it, so they agree.
bool read_packet_data(std::string_view base64, uint32_t wire_len, Event& e);

// The nesting a line may have: deeper is malformed (memory stays bounded by the line's shape).
inline constexpr int kMaxJsonDepth = 32;
// And the values a line may hold (each costs memory while it is parsed).
inline constexpr size_t kMaxJsonValues = 100000;

// What a caller may want besides the event.
struct ParseExtras {
  StartupInfo* startup = nullptr;   // filled from a startup line
  SkippedFields* skipped = nullptr; // what was skipped, added to
  // A series line (`retis sort -o`: a JSON array of events; `nscope sort -o`: an object
  // with "events"): its events, in order, each with has_series_idx set.
  std::vector<Event>* series = nullptr;
};

// Parses one JSON line into `e` (or `startup`). Every field is checked against the type and
// range its section gives it, and the fields Retis's schema requires must be there: a field
// missing, of the wrong type or out of range is an Error naming it ("dev.ifindex: expected an
// unsigned integer below 2^32, got -1"), as are a line that is not JSON, invalid UTF-8,
// nesting deeper than kMaxJsonDepth and more than kMaxJsonValues values. Sections and fields
// nscope does not know are counted in extras.skipped.
Result<LineKind> parse_event_line(std::string_view line, SymbolTable& symbols, Event& e,
                                  StartupInfo* startup);
Result<LineKind> parse_event_line(std::string_view line, SymbolTable& symbols, Event& e,
                                  const ParseExtras& extras);

// "skipped: ovs 1,204 events, nft 88, kernel.stack_trace 1,292" (empty when none).
std::string skipped_summary(const SkippedFields& s);

}  // namespace nscope
