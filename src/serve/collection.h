// The collection a page starts and stops (`nscope serve --allow-collect`): the same plan and
// session as `nscope collect`, run on a thread of serve, its JSON lines published on the
// live stream instead of written to a file. One at a time.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/capture.h"
#include "serve/live.h"
#include "util/fd.h"
#include "util/result.h"

namespace nscope::serve {

// collect's -c, --netns, -f and -m.
struct CollectRequest {
  std::vector<std::string> collectors;
  std::vector<std::string> netns;
  std::string packet_filter;
  std::string meta_filter;
};

// From the page's JSON: {"collectors": "skb,ct" | [...], "netns": "a,!b" | [...],
// "filter": "...", "meta": "..."}; usage errors name the field.
Result<CollectRequest> collect_request_from_json(std::string_view body);

class Collection {
 public:
  explicit Collection(LiveHub& hub, uint64_t capture_bytes = Capture::kMaxBytes)
      : hub_(hub), capture_(capture_bytes) {}
  ~Collection() { stop(); }
  Collection(const Collection&) = delete;
  Collection& operator=(const Collection&) = delete;

  // Builds the plan (its errors come back here, as collect's would), then runs it on a
  // thread; the stream says "running" once the probes are attached. A second start while one
  // runs is refused.
  Result<void> start(const CollectRequest& req);
  // Stops the run and waits for it to drain; nothing when none runs.
  void stop();
  // {"state": "idle"|"starting"|"running", "request": {...}, "last": {...}}
  nlohmann::json state() const;
  // The running or last collection's events, for GET /api/collect/pcapng.
  const Capture& capture() const { return capture_; }

 private:
  void publish_state(const std::string& state, nlohmann::json extra = {});
  LiveHub& hub_;
  Capture capture_;
  // Once the capture is full, the stream needs only a sample of a flood: the session formats
  // runs of events and counts the rest (WriterOptions::json_thin).
  std::atomic<bool> thin_{false};
  mutable std::mutex mu_;
  std::string state_ = "idle";
  nlohmann::json request_, last_;
  Fd stop_;
  std::thread thread_;
};

}  // namespace nscope::serve
