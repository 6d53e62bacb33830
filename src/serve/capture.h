// What the page offers as pcapng: the event lines of the running or last collection, kept
// in a file of serve's own (capture.json in a private folder made under $TMPDIR or /tmp,
// removed when serve stops) and turned into pcapng when asked, by the code `nscope pcap`
// runs. The file keeps the first max_bytes of a collection's lines (kMaxBytes, or serve's
// --capture-size): what comes after is counted, not kept, so a flood left running fills no
// disk.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace nscope::serve {

struct CaptureStats {
  uint64_t packets = 0;     // written to the pcapng
  uint64_t no_data = 0;     // events without packet bytes, left out
  uint64_t interfaces = 0;
  uint64_t left_out = 0;    // events past the file's bound, never kept
};

class Capture {
 public:
  static constexpr uint64_t kMaxBytes = 128ull << 20;
  explicit Capture(uint64_t max_bytes = kMaxBytes) : max_bytes_(max_bytes) {}
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // A new capture (the folder made the first time): the last one's lines are gone.
  Result<void> begin();
  // `count` whole lines, from the collection's writer thread; what does not fit is counted,
  // and so are `unformatted` events (never made into lines). True once the capture is
  // full: every line from then on is left out.
  bool append(std::string_view lines, size_t count, uint64_t unformatted = 0);
  bool empty() const { return bytes_.load() == 0; }
  uint64_t left_out() const { return left_out_.load(); }
  // The capture so far as pcapng, handed to `out` a piece at a time (false from `out`
  // stops). A line the writer is still writing is left out.
  Result<CaptureStats> pcapng(const std::function<bool(std::string_view)>& out) const;

 private:
  const uint64_t max_bytes_;
  mutable std::mutex mu_;  // begin() against append()
  std::string dir_, path_;
  Fd fd_;
  std::atomic<uint64_t> bytes_{0}, left_out_{0};
  bool full_ = false;  // under mu_
};

}  // namespace nscope::serve
