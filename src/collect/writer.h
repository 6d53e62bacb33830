// collect's output. The poll thread decodes each ring-buffer record where it lies and formats
// it at once (text and JSON lines), so a record is read once and never copied; formatted
// batches go to a writer thread, so a slow terminal or disk does not cost events. The JSON
// file is an EventFile: it only ever ends with a whole line.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
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
  TextOptions text;
  DecodeContext decode;
};

class EventWriter {
 public:
  explicit EventWriter(WriterOptions opts);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void write_json_line(const std::string& line);  // before any event: the startup record
  // Poll thread: formats one ring-buffer record; blocks only when the writer is far behind.
  void push(const void* record, size_t size);
  // Poll thread, after each poll: text goes out at once; JSON once a batch is large or has
  // waited a moment, so a file being followed fills in as events arrive.
  void flush();
  // Writes everything, appends `trailer` (a JSON line, may be empty) and stops the thread.
  void close(const std::string& trailer);

  std::thread::native_handle_type thread_handle() { return thread_.native_handle(); }
  bool failed() const;
  std::string error() const;
  uint64_t written() const;  // events written

 private:
  // Grows without zeroing what it reserves (std::string would), for formatting in place.
  struct Bytes {
    std::unique_ptr<char[]> data;
    size_t size = 0, cap = 0;
    char* room(size_t n);  // n bytes free at end()
    char* end() { return data.get() + size; }
    std::string_view view() const { return {data.get(), size}; }
  };
  struct Batch {
    std::string text;
    Bytes json;
    uint64_t events = 0;
    bool sync = false;  // the JSON file shows it all once written
  };
  void hand_over();
  void run();
  bool write_text(const std::string& buf);
  bool write_json(std::string_view lines, bool sync);

  WriterOptions opts_;
  Event ev_;
  Batch current_;
  std::chrono::steady_clock::time_point last_hand_over_;
  std::deque<Batch> queue_, spare_;
  mutable std::mutex mu_;
  std::condition_variable cv_, room_;
  bool closing_ = false;
  bool failed_ = false;
  std::string error_;
  uint64_t written_ = 0;
  std::unique_ptr<EventFile> file_;  // -o
  std::thread thread_;
};

}  // namespace nscope
