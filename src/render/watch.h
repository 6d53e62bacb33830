// `nscope watch` output: one line of text or one JSON object per event, from one model
// (src/watch/event.h). The snapshot is `list`'s table or `list --json`'s document.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "discover/model.h"
#include "watch/event.h"

namespace nscope {

// "05:12:01.123456 #12 created net:4026532999 name=blue via unshare by pid 1234 (ip)"
std::string watch_event_text(const WatchEvent& e, bool utc = false);
nlohmann::json watch_event_json(const WatchEvent& e);

// The snapshot as one JSON object: {"seq", "time", "event": "snapshot", "list": {...}}.
nlohmann::json watch_snapshot_json(const ScanResult& r, uint64_t seq, int64_t time_ns);

// "2026-12-05T05:12:01.123456789Z"
std::string rfc3339_ns(int64_t time_ns);

}  // namespace nscope
