// Streams event files (JSON lines from `nscope collect -o` or `retis collect -o`) one event
// at a time through a large read buffer: files larger than RAM read in constant memory.
//
// Faults, each with FILE:LINE:
//   - the first non-blank line is not a JSON object with a startup, stats or event in it:
//     "not an event file" (an error, always);
//   - a malformed line later on: an error, or with skip_bad a warning and a count;
//   - a malformed last line with no newline after it (a collect killed mid-write): a
//     warning, and every whole event before it is returned;
//   - JSON objects that are no event (no "common" section): ignored, one warning.
// Unknown sections inside an event are ignored: Retis writes many nscope does not read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "events/reader.h"
#include "events/symbols.h"
#include "util/fd.h"
#include "util/result.h"

namespace nscope {

struct ReadOptions {
  bool skip_bad = false;  // a malformed line is a warning (and counted), not an error
  // Receives each warning as one line, "FILE:LINE: what" (no "nscope: ", no newline).
  std::function<void(const std::string&)> warn;
  size_t buffer_size = 4u << 20;  // bytes per read()
  size_t max_line = 64u << 20;    // a longer line is an error
  size_t max_warnings = 10;       // bad lines reported one by one; the rest are counted
};

// The trailer `nscope collect` writes: {"stats": {"events": N, "lost": L, ...}}.
struct CollectStats {
  bool present = false;
  uint64_t events = 0, lost = 0;
};

inline constexpr std::string_view kNotAnEventFile =
    "not an event file (expected JSON lines written by nscope collect or retis collect -o)";

class EventFileReader {
 public:
  // Opens `path` ("-" reads standard input). The error names the path.
  static Result<std::unique_ptr<EventFileReader>> open(const std::string& path,
                                                       ReadOptions opts = {});
  // Reads from `fd` (owned from now on); `name` is used in messages.
  EventFileReader(Fd fd, std::string name, ReadOptions opts = {});

  // The next event into `e`: true, or false at the end of the file. Startup and stats lines
  // are taken in passing (startup() is filled before the first event of an nscope file).
  Result<bool> next(Event& e);

  const StartupInfo& startup() const { return startup_; }
  bool has_startup() const { return has_startup_; }
  const CollectStats& collect_stats() const { return stats_; }
  SymbolTable& symbols() { return symbols_; }
  const std::string& name() const { return name_; }
  uint64_t line() const { return line_; }           // number of the line last read
  uint64_t events() const { return events_; }       // events returned so far
  uint64_t bad_lines() const { return bad_; }       // skipped with skip_bad
  uint64_t other_lines() const { return other_; }   // JSON objects that are not events
  bool truncated() const { return truncated_; }     // the last line was cut short

 private:
  struct Line {
    std::string_view text;
    bool newline = false;  // ended with '\n' (false: the last line of the file)
  };
  // The next raw line; nullopt-like `done` at the end.
  Result<bool> next_line(Line& out);
  Result<bool> fill();
  Error at_line(std::string_view what) const;
  void warn(const std::string& msg) const;
  void finish();

  Fd fd_;
  std::string name_;
  ReadOptions opts_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0, begin_ = 0, end_ = 0;
  bool eof_ = false, finished_ = false, seen_content_ = false;
  uint64_t line_ = 0, events_ = 0, bad_ = 0, other_ = 0;
  bool truncated_ = false, has_startup_ = false;
  StartupInfo startup_;
  CollectStats stats_;
  SymbolTable symbols_;
};

}  // namespace nscope
