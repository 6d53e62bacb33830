#include "collect/writer.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

namespace nscope {
namespace {
constexpr size_t kChunkEvents = 2048;
// Up to ~1.3 GiB of raw records may wait for the writer (2048 x 328 bytes a chunk). It only
// fills while the traffic being traced keeps every CPU busy; then the ring buffer fills and
// its losses are counted.
constexpr size_t kMaxQueued = 2048;
constexpr size_t kFlushBytes = 1 << 20;
}  // namespace

EventWriter::EventWriter(WriterOptions opts) : opts_(std::move(opts)) {
  current_.reserve(kChunkEvents);
  if (opts_.json_fd >= 0) committed_ = lseek(opts_.json_fd, 0, SEEK_CUR);
  if (committed_ < 0) committed_ = 0;
  thread_ = std::thread([this] { run(); });
}

EventWriter::~EventWriter() {
  if (thread_.joinable()) close("");
}

void EventWriter::write_json_line(const std::string& line) {
  if (opts_.json_fd < 0) return;
  // Called before the first event: the writer thread has nothing to write yet.
  std::string buf = line + '\n';
  write_out(opts_.json_fd, buf, true);
}

void EventWriter::push(const void* record, size_t size) {
  RawRecord& r = current_.emplace_back();
  std::memcpy(&r, record, std::min(size, sizeof r));
  if (current_.size() >= kChunkEvents) flush();
}

void EventWriter::flush() {
  if (current_.empty()) return;
  std::unique_lock lk(mu_);
  room_.wait(lk, [&] { return queue_.size() < kMaxQueued || failed_; });
  queue_.push_back(std::move(current_));
  if (!spare_.empty()) {
    current_ = std::move(spare_.front());
    spare_.pop_front();
  } else {
    current_ = Chunk();
  }
  current_.clear();
  current_.reserve(kChunkEvents);
  lk.unlock();
  cv_.notify_one();
}

void EventWriter::close(const std::string& trailer) {
  flush();
  {
    std::lock_guard lk(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (!failed_ && opts_.json_fd >= 0 && !trailer.empty()) {
    json_buf_ += trailer;
    json_buf_ += '\n';
    write_out(opts_.json_fd, json_buf_, true);
  }
}

bool EventWriter::failed() const {
  std::lock_guard lk(mu_);
  return failed_;
}
std::string EventWriter::error() const {
  std::lock_guard lk(mu_);
  return error_;
}
uint64_t EventWriter::written() const {
  std::lock_guard lk(mu_);
  return written_;
}

// Writes all of buf. When the JSON file fails (a full disk), it is cut back to the last
// whole line that reached it, so it stays valid up to the last whole event.
bool EventWriter::write_out(int fd, std::string& buf, bool json) {
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = ::write(fd, buf.data() + off, buf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      std::lock_guard lk(mu_);
      failed_ = true;
      if (json) {
        size_t whole = off ? buf.rfind('\n', off - 1) : std::string::npos;
        off_t keep = committed_ + (whole == std::string::npos ? 0 : static_cast<off_t>(whole + 1));
        if (ftruncate(fd, keep) == 0) lseek(fd, keep, SEEK_SET);
        committed_ = keep;
        error_ = "cannot write " + opts_.json_path + ": " + std::strerror(err) +
                 "; the file keeps every whole event written before";
      } else if (err != EPIPE) {
        error_ = std::string("cannot write the output: ") + std::strerror(err);
      }
      room_.notify_all();
      buf.clear();
      return false;
    }
    off += static_cast<size_t>(n);
  }
  if (json) committed_ += static_cast<off_t>(buf.size());
  buf.clear();
  return true;
}

void EventWriter::write_chunk(const Chunk& c) {
  for (const auto& raw : c) {
    decode_record(raw, opts_.decode, ev_);
    if (opts_.text_fd >= 0) format_event_text(ev_, opts_.text, text_buf_);
    if (opts_.json_fd >= 0) {
      format_event_json(ev_, json_buf_);
      json_buf_ += '\n';
    }
  }
  if (opts_.text_fd >= 0 && !text_buf_.empty()) {
    if (!write_out(opts_.text_fd, text_buf_, false)) return;
  }
  if (opts_.json_fd >= 0 && json_buf_.size() >= kFlushBytes) write_out(opts_.json_fd, json_buf_, true);
}

void EventWriter::run() {
  // Formatting gives way to the traffic being traced: at nice 10 the writer gets about a
  // tenth of a busy CPU, and output waits in memory meanwhile. Once collection stops it
  // drains at normal priority.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  bool boosted = false;
  while (true) {
    Chunk c;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) break;
      if (closing_ && !boosted) {
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 0);
        boosted = true;
      }
      c = std::move(queue_.front());
      queue_.pop_front();
    }
    room_.notify_all();
    if (!failed()) {
      write_chunk(c);
      std::lock_guard lk(mu_);
      if (!failed_) written_ += c.size();
    }
    c.clear();
    std::lock_guard lk(mu_);
    if (spare_.size() < 8) spare_.push_back(std::move(c));
  }
  if (!failed() && opts_.json_fd >= 0 && !json_buf_.empty()) write_out(opts_.json_fd, json_buf_, true);
}

}  // namespace nscope
