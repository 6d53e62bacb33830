#include "collect/writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nscope {
namespace {
// A batch goes to the writer thread at 1 MiB, or after 200 ms with events in it. Up to 512
// batches may wait (about 512 MiB; WriterOptions::max_queued): they only pile up when the disk or terminal is slower
// than the traffic; then the readers wait, the rings fill, and their losses are counted.
constexpr size_t kBatchBytes = 1 << 20;
constexpr auto kBatchAge = std::chrono::milliseconds(200);
constexpr size_t kMaxSpare = 16;
}  // namespace

char* EventBatch::Bytes::room(size_t n) {
  if (size + n > cap) {
    size_t c = std::max({cap * 2, size + n, kBatchBytes + (64 << 10)});
    auto grown = std::make_unique_for_overwrite<char[]>(c);
    if (size) std::memcpy(grown.get(), data.get(), size);
    data = std::move(grown);
    cap = c;
  }
  return end();
}

void EventBatch::clear() {
  text.clear();
  json.size = 0;
  events = 0;
  unformatted = 0;
  sync = false;
}

EventWriter::EventWriter(WriterOptions opts) : opts_(std::move(opts)) {
  if (opts_.json_fd >= 0) file_ = std::make_unique<EventFile>(opts_.json_fd, opts_.json_path);
  thread_ = std::thread([this] { run(); });
}

EventWriter::~EventWriter() {
  if (thread_.joinable()) close("");
}

void EventWriter::write_json_line(const std::string& line) {
  // Called before the first event: the writer thread has nothing to write yet.
  if (file_) write_json(line + '\n', true);
  if (opts_.json_sink) opts_.json_sink(line + '\n', 0);
}

void EventWriter::submit(EventBatch& b) {
  if (b.empty()) return;
  std::unique_lock lk(mu_);
  room_.wait(lk, [&] { return queue_.size() < std::max<size_t>(1, opts_.max_queued) || failed_; });
  queue_.push_back(std::move(b));
  if (!spare_.empty()) {
    b = std::move(spare_.front());
    spare_.pop_front();
  } else {
    b = EventBatch();
  }
  lk.unlock();
  cv_.notify_one();
}

void EventWriter::close(const std::string& trailer) {
  {
    std::lock_guard lk(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (file_ && !failed_) write_json(trailer.empty() ? trailer : trailer + '\n', true);
  if (opts_.json_sink && !trailer.empty()) opts_.json_sink(trailer + '\n', 0);
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

// Writes all of the text output.
bool EventWriter::write_text(const std::string& buf) {
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = ::write(opts_.text_fd, buf.data() + off, buf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      std::lock_guard lk(mu_);
      failed_ = true;
      if (err != EPIPE) error_ = std::string("cannot write the output: ") + std::strerror(err);
      room_.notify_all();
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

bool EventWriter::write_json(std::string_view lines, bool sync) {
  if (file_->append(lines) && (!sync || file_->sync())) return true;
  std::lock_guard lk(mu_);
  failed_ = true;
  error_ = file_->error();
  room_.notify_all();
  return false;
}

void EventWriter::run() {
  while (true) {
    EventBatch b;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) break;
      b = std::move(queue_.front());
      queue_.pop_front();
    }
    room_.notify_all();
    if (!failed()) {
      bool ok = opts_.text_fd < 0 || b.text.empty() || write_text(b.text);
      if (ok && file_) ok = write_json(b.json.view(), b.sync);
      if (ok && opts_.json_sink && (b.json.size || b.unformatted)) opts_.json_sink(b.json.view(), b.unformatted);
      std::lock_guard lk(mu_);
      if (ok && !failed_) written_ += b.events;
    }
    b.clear();
    std::lock_guard lk(mu_);
    if (spare_.size() < std::min(kMaxSpare, opts_.max_queued)) spare_.push_back(std::move(b));
  }
}

EventFormatter::EventFormatter(EventWriter& out, TextOptions text, DecodeContext decode)
    : out_(out),
      text_(std::move(text)),
      decode_(std::move(decode)),
      last_hand_over_(std::chrono::steady_clock::now()) {}

// A run of kThinEvents, then nothing until the window ends. The clock is read once every 64
// events left out: a window ends at most that many events late.
bool EventFormatter::thinned_out() {
  if (!out_.thinning()) {
    window_events_ = 0;
    return false;
  }
  if (window_events_ == 0) {
    window_start_ = std::chrono::steady_clock::now();
  } else if (window_events_ >= kThinEvents) {
    if ((current_.unformatted & 63) != 63 || std::chrono::steady_clock::now() - window_start_ < kThinWindow) {
      ++current_.unformatted;
      return true;
    }
    window_events_ = 0;
    window_start_ = std::chrono::steady_clock::now();
  }
  ++window_events_;
  return false;
}

void EventFormatter::push(const void* record, size_t size) {
  bool json = out_.has_json() && !thinned_out();
  if (!json && !out_.has_text() && !observe_) {  // counted, never looked at
    ++current_.events;
    return;
  }
  decode_record(record, size, decode_, ev_);
  if (out_.has_text()) format_event_text(ev_, text_, current_.text);
  if (json) {
    char* at = current_.json.room(event_json_bound(ev_) + 1);
    at = format_event_json(ev_, at);
    *at++ = '\n';
    current_.json.size = static_cast<size_t>(at - current_.json.data.get());
  }
  ++current_.events;
  if (observe_) observe_(ev_);
  if (current_.json.size >= kBatchBytes || current_.text.size() >= kBatchBytes) hand_over();
}

void EventFormatter::flush() {
  if (!current_.text.empty() ||
      (current_.events && std::chrono::steady_clock::now() - last_hand_over_ >= kBatchAge)) {
    current_.sync = true;  // a file being followed shows every event handed over
    hand_over();
  }
}

void EventFormatter::hand_over() {
  last_hand_over_ = std::chrono::steady_clock::now();
  out_.submit(current_);
}

}  // namespace nscope
