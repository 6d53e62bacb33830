// collect's output. Each reader thread decodes its ring-buffer records where they lie and
// formats them at once (text and JSON lines) into batches of its own (EventFormatter): a
// record is read once and never copied, and formatting grows with the readers. The batches
// go to one writer thread (EventWriter), so a slow terminal or disk does not cost events.
// The JSON file is an EventFile: it only ever ends with a whole line.
//
// Order: batches are written in the order they are handed over, so events of one reader
// come out in the order it read them, and a reader's batch may land after a newer one from
// another reader: by at most how long an event waits in its ring and its batch (a batch is
// handed over at 1 MiB, or after 200 ms with events in it).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "collect/decode.h"
#include "collect/event_file.h"
#include "events/format.h"
#include "nscope.h"

namespace nscope {

struct WriterOptions {
  int text_fd = -1;        // text output (stdout), -1 for none
  int json_fd = -1;        // JSON lines output, -1 for none
  std::string json_path;   // for messages
  // JSON lines handed to a function instead of (or as well as) a file, on the writer
  // thread, whole lines only (`nscope serve` streams them to browsers), with how many events
  // before them were left unformatted (json_thin). It must not block: the readers wait when
  // the writer does.
  std::function<void(std::string_view lines, uint64_t unformatted)> json_sink;
  // While *json_thin is true (the caller's flag, alive for the whole run), each reader
  // formats the JSON of only the first kThinEvents events of every kThinWindow and counts
  // the rest as unformatted: for a sink that keeps a sample of a flood (serve, once its
  // capture is full, sends each browser a few hundred events a second). Runs of consecutive
  // events, so a packet's path through the namespaces stays whole in the sample. Not with
  // json_fd: a file gets every event.
  const std::atomic<bool>* json_thin = nullptr;
  // Batches (about 1 MiB each) that may wait for the writer thread before the readers
  // wait: 512 for a file, fewer where memory counts more than a burst (serve).
  size_t max_queued = 512;
};

// Formatted events on their way to the writer thread.
struct EventBatch {
  // Grows without zeroing what it reserves (std::string would), for formatting in place.
  struct Bytes {
    std::unique_ptr<char[]> data;
    size_t size = 0, cap = 0;
    char* room(size_t n);  // n bytes free at end()
    char* end() { return data.get() + size; }
    std::string_view view() const { return {data.get(), size}; }
  };
  std::string text;
  Bytes json;
  uint64_t events = 0;
  uint64_t unformatted = 0;  // events counted but not formatted (WriterOptions::json_thin)
  bool sync = false;  // the JSON file shows it all once written
  bool empty() const { return !events && text.empty() && !json.size; }
  void clear();
};

class EventWriter {
 public:
  explicit EventWriter(WriterOptions opts);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  bool has_text() const { return opts_.text_fd >= 0; }
  bool has_json() const { return opts_.json_fd >= 0 || opts_.json_sink != nullptr; }
  bool thinning() const { return opts_.json_thin && opts_.json_fd < 0 && opts_.json_thin->load(std::memory_order_relaxed); }
  void write_json_line(const std::string& line);  // before any event: the startup record
  // Any thread: queues `b` for writing and leaves in it an empty batch (one written before,
  // its memory kept); blocks only when the writer is far behind.
  void submit(EventBatch& b);
  // Once every formatter is done: writes everything, appends `trailer` (a JSON line, may be
  // empty) and stops the thread.
  void close(const std::string& trailer);

  std::thread::native_handle_type thread_handle() { return thread_.native_handle(); }
  bool failed() const;
  std::string error() const;
  uint64_t written() const;  // events written

 private:
  void run();
  bool write_text(const std::string& buf);
  bool write_json(std::string_view lines, bool sync);

  WriterOptions opts_;
  std::deque<EventBatch> queue_, spare_;
  mutable std::mutex mu_;
  std::condition_variable cv_, room_;
  bool closing_ = false;
  bool failed_ = false;
  std::string error_;
  uint64_t written_ = 0;
  std::unique_ptr<EventFile> file_;  // -o
  std::thread thread_;
};

// One reader thread's formatting, into batches it submits to the writer.
class EventFormatter {
 public:
  static constexpr uint32_t kThinEvents = 1000;
  static constexpr auto kThinWindow = std::chrono::milliseconds(100);

  EventFormatter(EventWriter& out, TextOptions text, DecodeContext decode);
  EventFormatter(const EventFormatter&) = delete;
  EventFormatter& operator=(const EventFormatter&) = delete;

  // Formats one ring-buffer record.
  void push(const void* record, size_t size);
  // After each poll: text goes out at once; JSON once a batch is large or has waited a
  // moment, so a file being followed fills in as events arrive.
  void flush();
  // Submits whatever is formatted (before the writer closes).
  void hand_over();
  // Called with every event once it is formatted (nft joins traces to them).
  void observe(std::function<void(const Event&)> fn) { observe_ = std::move(fn); }

 private:
  EventWriter& out_;
  TextOptions text_;
  DecodeContext decode_;
  Event ev_;
  std::function<void(const Event&)> observe_;
  EventBatch current_;
  std::chrono::steady_clock::time_point last_hand_over_;
  // json_thin: the events formatted in this window, which began at window_start_.
  bool thinned_out();
  uint32_t window_events_ = 0;
  std::chrono::steady_clock::time_point window_start_;
};

}  // namespace nscope
