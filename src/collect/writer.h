// Formats and writes events off the polling thread, so a slow terminal or disk does not
// cost events: the poller hands over chunks of raw records; a writer thread decodes them,
// prints text and appends JSON lines. The JSON file only ever ends with a whole line: on a
// write error (a full disk) it is cut back to the last whole event and the error is kept.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collect/decode.h"
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
  void push(const void* record, size_t size);  // poll thread; blocks only when far behind
  void flush();                        // poll thread: hand the current chunk to the writer
  // Drains everything, appends `trailer` (a JSON line, may be empty) and stops the thread.
  void close(const std::string& trailer);

  bool failed() const;
  std::string error() const;
  uint64_t written() const;  // events written

 private:
  using Chunk = std::vector<RawRecord>;
  void run();
  void write_chunk(const Chunk& c);
  bool write_out(int fd, std::string& buf, bool json);

  WriterOptions opts_;
  Chunk current_;
  std::deque<Chunk> queue_, spare_;
  mutable std::mutex mu_;
  std::condition_variable cv_, room_;
  bool closing_ = false;
  bool failed_ = false;
  std::string error_;
  uint64_t written_ = 0;
  off_t committed_ = 0;  // bytes of the JSON file that end on a whole line
  std::string text_buf_, json_buf_;
  Event ev_;
  std::thread thread_;
};

}  // namespace nscope
