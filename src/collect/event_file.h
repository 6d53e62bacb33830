// The JSON lines file of `collect -o`. A flood writes ~200 MB of JSON a second, and through
// the page cache every byte costs CPU on the machine being traced (2.5 s of system time per
// GB on the 2-core VMs this was measured on, against 0.11 s with O_DIRECT). So a regular file
// is written with O_DIRECT, in whole 4 KiB blocks from an aligned buffer; the last partial
// block goes through the page cache only when the file must be readable to its last line
// (sync), and the next direct write rewrites that block whole. A file system that refuses
// O_DIRECT, a pipe or a terminal gets plain writes.
//
// The file only ever ends with a whole line: when a write fails (a full disk) it is cut back
// to the last whole line that reached it, and stays so.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace nscope {

class EventFile {
 public:
  // `fd` is open for writing (direct writes need it at a block boundary, as after O_TRUNC)
  // and stays owned by the caller.
  EventFile(int fd, std::string path);
  ~EventFile();
  EventFile(const EventFile&) = delete;
  EventFile& operator=(const EventFile&) = delete;

  // Appends whole lines (each ending in '\n'). False once a write failed: see error().
  bool append(std::string_view lines);
  // Puts everything appended into the file, partial last block included.
  bool sync();

  bool direct() const { return direct_; }
  const std::string& error() const { return error_; }

 private:
  bool write_blocks(bool all);
  bool write_at(const char* p, size_t n, off_t off);
  bool set_direct(bool on);
  bool fail(int err);

  int fd_;
  std::string path_;
  bool seekable_ = false;  // a file (pwrite at off_), not a pipe or a terminal
  bool direct_ = false;
  bool failed_ = false;
  std::string error_;
  std::unique_ptr<char, void (*)(void*)> buf_;  // direct mode: 4 KiB aligned
  size_t len_ = 0;     // bytes waiting in buf_; buf_[0] goes to file offset off_
  off_t off_ = 0;      // block aligned in direct mode
  off_t line_end_ = 0; // file bytes up to the end of the last whole line written
};

}  // namespace nscope
