#include "events/event.h"

#include <algorithm>
#include <cctype>
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

bool ct_state_of(std::string_view in, CtState& out) {
  char s[16];
  if (in.size() >= sizeof s) return false;
  for (size_t i = 0; i < in.size(); ++i)
    s[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(in[i])));
  std::string_view u(s, in.size());
  if (u == "ESTABLISHED") out = CtState::established;
  else if (u == "RELATED") out = CtState::related;
  else if (u == "NEW") out = CtState::new_;
  else if (u == "REPLY") out = CtState::reply;
  else if (u == "RELATED_REPLY" || u == "RELATEDREPLY") out = CtState::related_reply;
  else if (u == "UNTRACKED") out = CtState::untracked;
  else return false;
  return true;
}

bool zone_dir_of(std::string_view d, CtZoneDir& out) {
  if (d == "Original") out = CtZoneDir::original;
  else if (d == "Reply") out = CtZoneDir::reply;
  else if (d == "Default") out = CtZoneDir::default_;
  else if (d == "None") out = CtZoneDir::none;
  else return false;
  return true;
}

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
