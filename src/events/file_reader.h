// Streams event files (JSON lines from `nscope collect -o` or `retis collect -o`) one event
// at a time through a large read buffer: files larger than RAM read in constant memory.
// With `background`, a thread reads and splits lines and parse_threads more parse them while
// the caller formats or sorts; events still come out in file order.
//
// Faults, each with FILE:LINE:
//   - the first non-blank line is not a JSON object with a startup, stats or event in it:
//     "not an event file" (an error, always);
//   - a malformed line later on: an error, or with skip_bad a warning and a count;
//   - a malformed last line with no newline after it (a collect killed mid-write): a
//     warning, and every whole event before it is returned;
//   - JSON objects that are no event (no "common" section): ignored, one warning.
// Sections and fields nscope does not know are read past, counted, and named once at the end
// ("FILE: skipped (nscope does not read them): foo 12 events"). Sorted files (a series a line,
// from `retis sort -o` or `nscope sort -o`) give their events one by one, has_series_idx set.
// Warnings reach ReadOptions::warn on the caller's thread, in file order between events.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "events/event.h"
#include "events/fast_reader.h"
#include "events/reader.h"
#include "events/symbols.h"
#include "util/fd.h"
#include "util/result.h"

namespace nscope {

struct ReadOptions {
  bool skip_bad = false;  // a malformed line is a warning (and counted), not an error
  // Receives each warning as one line, "FILE:LINE: what" (no "nscope: ", no newline).
  std::function<void(const std::string&)> warn;
  bool background = false;        // read on a thread, parse on parse_threads more
  size_t parse_threads = 2;
  bool keep_text = false;         // keep each event's line: see EventFileReader::text()
  size_t buffer_size = 4u << 20;  // bytes per read()
  size_t chunk_events = 1024;    // lines handed over at a time
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
  ~EventFileReader();
  EventFileReader(const EventFileReader&) = delete;
  EventFileReader& operator=(const EventFileReader&) = delete;

  // The next event: true, or false at the end of the file. Startup and stats lines are
  // taken in passing (startup() is filled before the first event of an nscope file). The
  // pointer form returns the event in place, valid until the next call. An error is final.
  Result<bool> next(Event& e);
  Result<const Event*> next();
  // With keep_text: the line the event last returned was read from (no newline), valid
  // until the next call. Empty without keep_text.
  std::string_view text() const { return text_; }

  const StartupInfo& startup() const { return startup_; }
  bool has_startup() const { return has_startup_; }
  const CollectStats& collect_stats() const { return stats_; }
  const std::string& name() const { return name_; }
  uint64_t events() const { return events_; }       // events returned so far
  uint64_t bad_lines() const { return bad_; }       // skipped with skip_bad, so far
  uint64_t other_lines() const { return other_; }   // JSON objects that are not events
  bool truncated() const { return truncated_; }     // the last line was cut short
  // The input is a pipe or terminal: lines are handed over as soon as no more are waiting.
  bool live() const { return live_; }
  // No more events are read yet: the next call may wait for the input.
  bool caught_up() const { return !cur_ || pos_ >= cur_->n; }
  uint64_t lines() const;                           // lines read; final at the end
  // Sections and fields read past without rendering; final at the end (and then reported
  // through ReadOptions::warn).
  const SkippedFields& skipped() const { return skipped_; }

 private:
  struct Line {
    uint32_t off = 0, len = 0;  // in Chunk::text, followed by a NUL
    uint64_t number = 0;
    bool newline = true;  // false: the file's last line, with no newline after it
    bool first = false;   // the file's first non-blank line
  };
  // Something said between events: applied by the caller's side when it reaches `at`.
  struct Control {
    enum Kind { warning, bad, other, truncated, startup, stats, error, end } kind = warning;
    size_t at = 0;  // events of the chunk before it
    std::string msg;
    std::optional<StartupInfo> startup_info;
    CollectStats stats_info;
    std::optional<Error> err;
    bool seen_content = false;  // end: the file had a non-blank line
  };
  // Lines read together, then parsed together, then handed over together.
  struct Chunk {
    uint64_t seq = 0;
    std::string text;
    std::vector<Line> lines;
    std::vector<Control> tail;  // from the reading side: after every line of the chunk
    std::vector<Event> events;
    size_t n = 0;                   // events parsed
    std::vector<uint32_t> line_of;  // each event's line
    std::vector<Control> controls;  // by position
  };
  // What one parsing thread owns. Interned names live as long as the reader: events from
  // any worker point into its own table.
  struct Worker {
    Worker() { parser.set_outputs(&skipped, &series); }
    SymbolTable symbols;
    FastEventParser parser{symbols};
    StartupInfo startup;
    SkippedFields skipped;
    std::vector<Event> series;
  };
  static constexpr uint32_t kNoLine = UINT32_MAX;  // line_of: an event of a series line

  // Reading side.
  bool read_lines(Chunk& c);  // true when the file (or reading it) has ended
  // or_wait: with a live input that has nothing to read soon, return false and set waiting_
  // instead of blocking.
  Result<bool> next_line(std::string_view& text, bool& newline, bool or_wait);
  bool readable_now() const;
  Result<bool> fill();
  Error at_line(uint64_t line, std::string_view what) const;
  // Parsing side.
  void parse(Chunk& c, Worker& w);
  // Threads.
  void reader_loop();
  void worker_loop(Worker& w);
  std::unique_ptr<Chunk> fresh_chunk();
  void stop_threads();
  // Caller's side.
  void take_chunk();
  void give_back(std::unique_ptr<Chunk> c);
  void apply(Control& c);

  std::string name_;
  ReadOptions opts_;
  std::vector<std::unique_ptr<Worker>> workers_;

  // Reading side.
  Fd fd_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0, begin_ = 0, end_ = 0;
  bool eof_ = false, ended_ = false, seen_content_ = false;
  bool live_ = false;     // not a regular file
  bool waiting_ = false;  // next_line stopped: a live input had nothing to read
  uint64_t line_ = 0, seq_ = 0;

  // Caller's side.
  std::unique_ptr<Chunk> cur_;
  size_t pos_ = 0, ctl_ = 0;
  std::string_view text_;
  bool finished_ = false;
  std::optional<Error> failed_;
  uint64_t events_ = 0, bad_ = 0, other_ = 0;
  bool truncated_ = false, has_startup_ = false;
  StartupInfo startup_;
  CollectStats stats_;
  SkippedFields skipped_;

  // Between the threads, when background: chunks go free -> raw (read) -> done (parsed,
  // by sequence) -> the caller -> free. At most kWindow are between reading and the caller.
  static constexpr size_t kWindow = 8;
  std::mutex mu_;
  std::condition_variable to_reader_, to_workers_, to_caller_;
  std::deque<std::unique_ptr<Chunk>> free_, raw_;
  std::vector<std::unique_ptr<Chunk>> done_;  // slot seq % kWindow
  uint64_t taken_ = 0;                        // chunks the caller has taken
  size_t made_ = 0;
  bool read_all_ = false, stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace nscope
