#include "collect/event_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace nscope {
namespace {
constexpr size_t kBlock = 4096;       // covers 512-byte and 4 KiB logical blocks
constexpr size_t kBufSize = 4 << 20;  // a multiple of kBlock
}  // namespace

EventFile::EventFile(int fd, std::string path) : fd_(fd), path_(std::move(path)), buf_(nullptr, std::free) {
  off_ = lseek(fd_, 0, SEEK_CUR);
  seekable_ = off_ >= 0;
  if (!seekable_) off_ = 0;
  struct stat st {};
  if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || off_ % kBlock) return;
  // On 2 MiB boundaries, so it can sit in huge pages: a direct write pins its pages, and
  // fewer pages make that cheaper.
  buf_.reset(static_cast<char*>(std::aligned_alloc(2 << 20, kBufSize)));
  if (buf_) madvise(buf_.get(), kBufSize, MADV_HUGEPAGE);
  direct_ = buf_ && set_direct(true);
}

EventFile::~EventFile() {
  if (direct_) set_direct(false);
}

bool EventFile::set_direct(bool on) {
  int fl = fcntl(fd_, F_GETFL);
  return fl >= 0 && fcntl(fd_, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) == 0;
}

bool EventFile::fail(int err) {
  failed_ = true;
  if (direct_) set_direct(false);
  direct_ = false;
  if (!seekable_) {
    error_ = "cannot write " + path_ + ": " + std::strerror(err);
    return false;
  }
  if (ftruncate(fd_, line_end_) != 0) {
    error_ = "cannot write " + path_ + ": " + std::strerror(err) +
             "; cutting it back to its last whole event failed too: " + std::strerror(errno);
    return false;
  }
  error_ = "cannot write " + path_ + ": " + std::strerror(err) +
           "; the file keeps every whole event written before";
  return false;
}

// Writes n bytes at off. A direct write the file system refuses (EINVAL) or cuts short is
// finished through the page cache, which is then used from here on. The end of the last
// whole line is known after every piece written, so a full disk keeps every event that fit.
bool EventFile::write_at(const char* p, size_t n, off_t off) {
  size_t done = 0;
  auto mark_lines = [&](size_t from, size_t len) {
    if (const void* nl = memrchr(p + from, '\n', len))
      line_end_ = std::max(line_end_, off + (static_cast<const char*>(nl) - p) + 1);
  };
  while (done < n) {
    ssize_t w = seekable_ ? pwrite(fd_, p + done, n - done, off + static_cast<off_t>(done))
                          : write(fd_, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EINVAL && direct_) {
      direct_ = false;
      if (!set_direct(false)) return fail(errno);
      continue;
    }
    if (w <= 0) return fail(w < 0 ? errno : ENOSPC);
    mark_lines(done, static_cast<size_t>(w));
    done += static_cast<size_t>(w);
    if (direct_ && done < n) {  // short: what is left is no longer block aligned
      direct_ = false;
      if (!set_direct(false)) return fail(errno);
    }
  }
  return true;
}

// Writes the whole blocks waiting in buf_ (all: everything, in plain mode).
bool EventFile::write_blocks(bool all) {
  size_t k = all ? len_ : len_ & ~(kBlock - 1);
  if (!k) return true;
  if (!write_at(buf_.get(), k, off_)) return false;
  off_ += static_cast<off_t>(k);
  len_ -= k;
  std::memmove(buf_.get(), buf_.get() + k, len_);
  return true;
}

bool EventFile::append(std::string_view lines) {
  if (failed_) return false;
  if (!direct_) {
    if (len_ && !write_blocks(true)) return false;  // what waited when direct writes stopped
    if (!write_at(lines.data(), lines.size(), off_)) return false;
    off_ += static_cast<off_t>(lines.size());
    return true;
  }
  while (!lines.empty()) {
    size_t n = std::min(lines.size(), kBufSize - len_);
    std::memcpy(buf_.get() + len_, lines.data(), n);
    len_ += n;
    lines.remove_prefix(n);
    if (!write_blocks(!direct_)) return false;
  }
  return true;
}

bool EventFile::sync() {
  if (failed_) return false;
  if (!direct_ || !len_) return write_blocks(true);
  // The partial block through the page cache; buf_ keeps it for the next direct write.
  if (!set_direct(false)) return fail(errno);
  direct_ = false;
  bool ok = write_at(buf_.get(), len_, off_);
  if (!ok) return false;
  direct_ = set_direct(true);
  if (!direct_) return write_blocks(true);
  return true;
}

}  // namespace nscope
