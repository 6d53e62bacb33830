#include "events/event.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace nscope {
namespace {
static_assert(std::is_trivially_copyable_v<Event> && std::is_standard_layout_v<Event>);
// data[] starts where the head ends, the tail after it; all of Event's defaults are zero bits.
constexpr size_t kHead = offsetof(Event, data);
constexpr size_t kTail = kHead + sizeof(Event::data);
}  // namespace

void copy_event(Event& dst, const Event& src) {
  auto* d = reinterpret_cast<char*>(&dst);
  const auto* s = reinterpret_cast<const char*>(&src);
  bool had_tail = dst.has_rare;
  std::memcpy(d, s, kHead);
  std::memcpy(d + kHead, s + kHead, std::min<size_t>(src.caplen, sizeof(Event::data)));
  if (src.has_rare) std::memcpy(d + kTail, s + kTail, sizeof(Event) - kTail);
  else if (had_tail) std::memset(d + kTail, 0, sizeof(Event) - kTail);
}

void reset_event(Event& e) {
  auto* d = reinterpret_cast<char*>(&e);
  if (e.has_rare) std::memset(d + kTail, 0, sizeof(Event) - kTail);
  std::memset(d, 0, kHead);
}

}  // namespace nscope
