#include "events/file_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "events/fast_reader.h"

namespace nscope {
namespace {

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

// The first byte that is not JSON whitespace, or 0.
char first_byte(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return c;
  return 0;
}

uint64_t u64_or_zero(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return 0;
  return it->get<uint64_t>();
}

}  // namespace

Result<std::unique_ptr<EventFileReader>> EventFileReader::open(const std::string& path,
                                                               ReadOptions opts) {
  Fd fd;
  if (path == "-") {
    fd.reset(::dup(STDIN_FILENO));
    if (!fd) return Error::sys(errno, "cannot read standard input");
  } else {
    fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::sys(errno, "cannot open " + path);
    posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  return std::make_unique<EventFileReader>(std::move(fd), path == "-" ? "<stdin>" : path,
                                           std::move(opts));
}

EventFileReader::EventFileReader(Fd fd, std::string name, ReadOptions opts)
    : fd_(std::move(fd)), name_(std::move(name)), opts_(std::move(opts)) {
  if (opts_.buffer_size < 64) opts_.buffer_size = 64;
  if (opts_.max_line < opts_.buffer_size) opts_.max_line = opts_.buffer_size;
  cap_ = opts_.buffer_size;
  buf_ = std::make_unique<char[]>(cap_);
}

Error EventFileReader::at_line(std::string_view what) const {
  return Error::msg(name_ + ":" + std::to_string(line_) + ": " + std::string(what));
}

void EventFileReader::warn(const std::string& msg) const {
  if (opts_.warn) opts_.warn(msg);
}

// Reads more bytes after end_, first moving the unread part to the front and growing the
// buffer when one line fills it. false at the end of the file.
Result<bool> EventFileReader::fill() {
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == cap_) {
    // One line fills the buffer. A file whose first line does not even start like JSON is
    // refused here, before a large binary file is read into memory.
    if (!seen_content_) {
      char c = first_byte({buf_.get(), end_});
      if (c && c != '{') {
        line_ += 1;
        return at_line(kNotAnEventFile);
      }
    }
    if (cap_ >= opts_.max_line) {
      line_ += 1;
      return at_line("a line longer than " + std::to_string(opts_.max_line >> 20) +
                     " MiB: not an event file, or a damaged one");
    }
    size_t ncap = std::min(cap_ * 2, opts_.max_line);
    auto nbuf = std::make_unique<char[]>(ncap);
    std::memcpy(nbuf.get(), buf_.get(), end_);
    buf_ = std::move(nbuf);
    cap_ = ncap;
  }
  while (true) {
    ssize_t n = ::read(fd_.get(), buf_.get() + end_, cap_ - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys(errno, "cannot read " + name_);
    if (n == 0) return false;
    end_ += static_cast<size_t>(n);
    return true;
  }
}

Result<bool> EventFileReader::next_line(Line& out) {
  size_t scanned = begin_;
  while (true) {
    if (end_ > scanned) {
      const void* nl = std::memchr(buf_.get() + scanned, '\n', end_ - scanned);
      if (nl) {
        size_t at = static_cast<size_t>(static_cast<const char*>(nl) - buf_.get());
        out.text = {buf_.get() + begin_, at - begin_};
        out.newline = true;
        begin_ = at + 1;
        return true;
      }
    }
    if (eof_) {
      if (begin_ == end_) return false;
      out.text = {buf_.get() + begin_, end_ - begin_};
      out.newline = false;
      begin_ = end_;
      return true;
    }
    size_t unscanned = end_ - begin_;  // bytes of this line already searched
    auto more = fill();
    if (!more) return more.error();
    if (!*more) eof_ = true;
    scanned = begin_ + unscanned;
  }
}

void EventFileReader::finish() {
  if (finished_) return;
  finished_ = true;
  if (bad_ > opts_.max_warnings)
    warn(name_ + ": " + std::to_string(bad_) + " malformed lines skipped in all");
  if (stats_.present && stats_.lost)
    warn(name_ + ": collect lost " + std::to_string(stats_.lost) +
         " events while recording (its ring buffer was full)");
  if (!seen_content_) warn(name_ + ": empty file, no events");
}

Result<bool> EventFileReader::next(Event& e) {
  Line l;
  while (true) {
    auto got = next_line(l);
    if (!got) return got.error();
    if (!*got) {
      finish();
      return false;
    }
    ++line_;
    std::string_view text = l.text;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (blank(text)) continue;
    bool first = !seen_content_;
    seen_content_ = true;
    if (first && first_byte(text) != '{') return at_line(kNotAnEventFile);

    auto kind = parse_event_line_fast(text, symbols_, e, &startup_);
    if (!kind) {
      if (!l.newline) {
        truncated_ = true;
        warn(name_ + ":" + std::to_string(line_) +
             ": the last line is incomplete (no newline at the end: was collect stopped "
             "mid-write?); ignored");
        continue;
      }
      if (first) return at_line(kNotAnEventFile);
      if (!opts_.skip_bad)
        return at_line(kind.error().message + " (--skip-bad skips malformed lines)");
      if (++bad_ <= opts_.max_warnings)
        warn(name_ + ":" + std::to_string(line_) + ": " + kind.error().message + "; skipped");
      continue;
    }
    switch (*kind) {
      case LineKind::event:
        ++events_;
        return true;
      case LineKind::startup:
        has_startup_ = true;
        break;
      case LineKind::stats: {
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_object() && j["stats"].is_object()) {
          stats_.present = true;
          stats_.events = u64_or_zero(j["stats"], "events");
          stats_.lost = u64_or_zero(j["stats"], "lost");
        }
        break;
      }
      case LineKind::other:
        if (first) return at_line(kNotAnEventFile);
        if (++other_ == 1)
          warn(name_ + ":" + std::to_string(line_) +
               ": a JSON object that is no event (it has no \"common\" section); such lines "
               "are ignored");
        break;
    }
  }
}

}  // namespace nscope
