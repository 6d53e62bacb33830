#include "events/file_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

namespace nscope {
namespace {

constexpr size_t kChunkText = 4u << 20;  // a chunk's lines stop at about this many bytes

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
    : name_(std::move(name)), opts_(std::move(opts)), fd_(std::move(fd)) {
  struct stat st {};
  live_ = fstat(fd_.get(), &st) == 0 && !S_ISREG(st.st_mode);
  if (opts_.buffer_size < 64) opts_.buffer_size = 64;
  if (opts_.max_line < opts_.buffer_size) opts_.max_line = opts_.buffer_size;
  if (opts_.chunk_events == 0) opts_.chunk_events = 1;
  if (opts_.parse_threads == 0) opts_.parse_threads = 1;
  cap_ = opts_.buffer_size;
  buf_ = std::make_unique<char[]>(cap_);
  size_t nworkers = opts_.background ? opts_.parse_threads : 1;
  for (size_t i = 0; i < nworkers; ++i) workers_.push_back(std::make_unique<Worker>());
  if (opts_.background) {
    done_.resize(kWindow);
    threads_.emplace_back([this] { reader_loop(); });
    for (auto& w : workers_) threads_.emplace_back([this, wp = w.get()] { worker_loop(*wp); });
  }
}

EventFileReader::~EventFileReader() { stop_threads(); }

void EventFileReader::stop_threads() {
  if (threads_.empty()) return;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  to_reader_.notify_all();
  to_workers_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

uint64_t EventFileReader::lines() const { return line_; }

Error EventFileReader::at_line(uint64_t line, std::string_view what) const {
  return Error::msg(name_ + ":" + std::to_string(line) + ": " + std::string(what));
}

// ---- reading: bytes into lines ------------------------------------------------------------

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
      if (c && c != '{') return at_line(line_ + 1, kNotAnEventFile);
    }
    if (cap_ >= opts_.max_line)
      return at_line(line_ + 1, "a line longer than " + std::to_string(opts_.max_line >> 20) +
                                    " MiB: not an event file, or a damaged one");
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

Result<bool> EventFileReader::next_line(std::string_view& text, bool& newline, bool or_wait) {
  size_t scanned = begin_;
  while (true) {
    if (end_ > scanned) {
      const void* nl = std::memchr(buf_.get() + scanned, '\n', end_ - scanned);
      if (nl) {
        size_t at = static_cast<size_t>(static_cast<const char*>(nl) - buf_.get());
        text = {buf_.get() + begin_, at - begin_};
        newline = true;
        begin_ = at + 1;
        return true;
      }
    }
    if (eof_) {
      if (begin_ == end_) return false;
      text = {buf_.get() + begin_, end_ - begin_};
      newline = false;
      begin_ = end_;
      return true;
    }
    // A pipe with nothing to read right now: hand over the lines already read rather than
    // wait (a collection piped into print shows each event as it comes).
    if (or_wait && live_ && !readable_now()) {
      waiting_ = true;
      return false;
    }
    size_t searched = end_ - begin_;  // bytes of this line already searched
    auto more = fill();
    if (!more) return more.error();
    if (!*more) eof_ = true;
    scanned = begin_ + searched;
  }
}

// Within 10 ms: a writer that is merely between two writes (cat, a busy collect) keeps the
// chunk filling; one that has nothing to say gets its lines shown 10 ms later.
bool EventFileReader::readable_now() const {
  pollfd p{fd_.get(), POLLIN, 0};
  return poll(&p, 1, 10) != 0;  // an error too: the read says what it is
}

// Copies the next lines into c, each followed by a NUL, the last by the parser's padding.
bool EventFileReader::read_lines(Chunk& c) {
  c.text.clear();
  c.lines.clear();
  c.tail.clear();
  bool ended = false;
  while (c.lines.size() < opts_.chunk_events && c.text.size() < kChunkText) {
    if (ended_) {
      ended = true;
      break;
    }
    std::string_view text;
    bool newline = false;
    auto got = next_line(text, newline, !c.lines.empty());
    if (got && !*got && waiting_) {
      waiting_ = false;
      break;
    }
    if (!got || !*got) {
      Control ctl;
      if (!got) {
        ctl.kind = Control::error;
        ctl.err = got.error();
      } else {
        ctl.kind = Control::end;
        ctl.seen_content = seen_content_;
      }
      c.tail.push_back(std::move(ctl));
      ended_ = ended = true;
      break;
    }
    ++line_;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (blank(text)) continue;
    Line l;
    l.off = static_cast<uint32_t>(c.text.size());
    l.len = static_cast<uint32_t>(text.size());
    l.number = line_;
    l.newline = newline;
    l.first = !seen_content_;
    seen_content_ = true;
    c.text.append(text.data(), text.size());
    c.text.push_back('\0');
    c.lines.push_back(l);
  }
  c.text.append(FastEventParser::padding(), '\0');
  return ended;
}

// ---- parsing: lines into events -----------------------------------------------------------

void EventFileReader::parse(Chunk& c, Worker& w) {
  if (c.events.size() < c.lines.size()) c.events.resize(c.lines.size());
  c.n = 0;
  c.line_of.clear();
  c.controls.clear();
  auto say = [&](Control::Kind kind, uint64_t line, std::string what) {
    Control ctl;
    ctl.kind = kind;
    ctl.at = c.n;
    ctl.msg = name_ + ":" + std::to_string(line) + ": " + what;
    c.controls.push_back(std::move(ctl));
  };
  auto fail = [&](Error e) {
    Control ctl;
    ctl.kind = Control::error;
    ctl.at = c.n;
    ctl.err = std::move(e);
    c.controls.push_back(std::move(ctl));
  };
  for (uint32_t i = 0; i < c.lines.size(); ++i) {
    const Line& l = c.lines[i];
    std::string_view text(c.text.data() + l.off, l.len);
    if (l.first && first_byte(text) != '{' && first_byte(text) != '[') return fail(at_line(l.number, kNotAnEventFile));
    auto kind = w.parser.parse_padded(text, c.events[c.n], &w.startup);
    if (kind && *kind == LineKind::series && w.series.empty()) continue;  // an empty series
    if (!kind) {
      if (!l.newline) {
        say(Control::truncated, l.number,
            "the last line is incomplete (no newline at the end: was collect stopped "
            "mid-write?); ignored");
        continue;
      }
      // A first line that is JSON with a bad field is an event file with a bad line.
      const std::string& why = kind.error().message;
      if (l.first && (why.starts_with("not ") || why.starts_with("invalid UTF-8") ||
                      why.starts_with("nested")))
        return fail(at_line(l.number, kNotAnEventFile));
      if (!opts_.skip_bad)
        return fail(at_line(l.number, kind.error().message + " (--skip-bad skips malformed lines)"));
      say(Control::bad, l.number, kind.error().message + "; skipped");
      continue;
    }
    switch (*kind) {
      case LineKind::event:
        c.line_of.push_back(i);
        ++c.n;
        break;
      case LineKind::series:
        // Its events one after the other; they have no line of their own to keep.
        if (c.events.size() < c.n + w.series.size() + (c.lines.size() - i))
          c.events.resize(c.n + w.series.size() + (c.lines.size() - i));
        for (const Event& e : w.series) {
          c.events[c.n++] = e;
          c.line_of.push_back(kNoLine);
        }
        break;
      case LineKind::startup: {
        Control ctl;
        ctl.kind = Control::startup;
        ctl.at = c.n;
        ctl.startup_info = w.startup;
        c.controls.push_back(std::move(ctl));
        break;
      }
      case LineKind::stats: {
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_object() && j["stats"].is_object()) {
          Control ctl;
          ctl.kind = Control::stats;
          ctl.at = c.n;
          ctl.stats_info = {true, u64_or_zero(j["stats"], "events"), u64_or_zero(j["stats"], "lost")};
          c.controls.push_back(std::move(ctl));
        }
        break;
      }
      case LineKind::other:
        if (l.first) return fail(at_line(l.number, kNotAnEventFile));
        say(Control::other, l.number,
            "a JSON object that is no event (it has no \"common\" section); such lines are "
            "ignored");
        break;
    }
  }
  for (auto& t : c.tail) {
    t.at = c.n;
    c.controls.push_back(std::move(t));
  }
  c.tail.clear();
}

// ---- the threads --------------------------------------------------------------------------

std::unique_ptr<EventFileReader::Chunk> EventFileReader::fresh_chunk() {
  auto c = std::make_unique<Chunk>();
  c->events.resize(opts_.chunk_events);
  return c;
}

void EventFileReader::reader_loop() {
  while (true) {
    std::unique_ptr<Chunk> c;
    {
      std::unique_lock lk(mu_);
      to_reader_.wait(lk, [&] { return stop_ || seq_ - taken_ < kWindow; });
      if (stop_) return;
      if (!free_.empty()) {
        c = std::move(free_.front());
        free_.pop_front();
      }
    }
    if (!c) c = fresh_chunk();
    c->seq = seq_;
    bool ended = read_lines(*c);
    {
      std::lock_guard lk(mu_);
      ++seq_;
      raw_.push_back(std::move(c));
      if (ended) read_all_ = true;
    }
    to_workers_.notify_one();
    if (ended) {
      to_workers_.notify_all();
      return;
    }
  }
}

void EventFileReader::worker_loop(Worker& w) {
  while (true) {
    std::unique_ptr<Chunk> c;
    {
      std::unique_lock lk(mu_);
      to_workers_.wait(lk, [&] { return stop_ || !raw_.empty() || read_all_; });
      if (stop_ || raw_.empty()) return;
      c = std::move(raw_.front());
      raw_.pop_front();
    }
    parse(*c, w);
    {
      std::lock_guard lk(mu_);
      done_[c->seq % kWindow] = std::move(c);
    }
    to_caller_.notify_all();
  }
}

// ---- the caller's side --------------------------------------------------------------------

void EventFileReader::take_chunk() {
  if (!opts_.background) {
    if (!free_.empty()) {
      cur_ = std::move(free_.front());
      free_.pop_front();
    } else {
      cur_ = fresh_chunk();
    }
    read_lines(*cur_);
    parse(*cur_, *workers_[0]);
  } else {
    {
      std::unique_lock lk(mu_);
      auto& slot = done_[taken_ % kWindow];
      to_caller_.wait(lk, [&] { return slot && slot->seq == taken_; });
      cur_ = std::move(slot);
      ++taken_;
    }
    to_reader_.notify_one();
  }
  pos_ = 0;
  ctl_ = 0;
}

void EventFileReader::give_back(std::unique_ptr<Chunk> c) {
  if (!opts_.background) {
    free_.push_back(std::move(c));
    return;
  }
  std::lock_guard lk(mu_);
  free_.push_back(std::move(c));
}

void EventFileReader::apply(Control& c) {
  auto warn = [&](const std::string& w) {
    if (opts_.warn) opts_.warn(w);
  };
  switch (c.kind) {
    case Control::warning: warn(c.msg); break;
    case Control::truncated:
      truncated_ = true;
      warn(c.msg);
      break;
    case Control::bad:
      if (++bad_ <= opts_.max_warnings) warn(c.msg);
      break;
    case Control::other:
      if (++other_ == 1) warn(c.msg);
      break;
    case Control::startup:
      startup_ = std::move(*c.startup_info);
      has_startup_ = true;
      break;
    case Control::stats: stats_ = c.stats_info; break;
    case Control::error: failed_ = std::move(*c.err); break;
    case Control::end:
      if (bad_)  // always: one skipped line is as easy to miss among the output as many
        warn(name_ + ": " + std::to_string(bad_) + (bad_ == 1 ? " malformed line" : " malformed lines") +
             " skipped in all");
      if (stats_.present && stats_.lost)
        warn(name_ + ": collect lost " + std::to_string(stats_.lost) +
             " events while recording (its ring buffer was full)");
      if (!c.seen_content) warn(name_ + ": empty file, no events");
      for (const auto& w : workers_)
        for (const auto& [what, n] : w->skipped) skipped_[what] += n;
      if (!skipped_.empty()) warn(name_ + ": " + skipped_summary(skipped_));
      finished_ = true;
      break;
  }
}

Result<const Event*> EventFileReader::next() {
  while (true) {
    if (cur_) {
      while (!failed_ && !finished_ && ctl_ < cur_->controls.size() &&
             cur_->controls[ctl_].at <= pos_)
        apply(cur_->controls[ctl_++]);
      if (!failed_ && !finished_ && pos_ < cur_->n) {
        ++events_;
        if (opts_.keep_text) {
          uint32_t at = cur_->line_of[pos_];
          text_ = at == kNoLine ? std::string_view()
                                : std::string_view(cur_->text).substr(cur_->lines[at].off,
                                                                      cur_->lines[at].len);
        }
        return &cur_->events[pos_++];
      }
      give_back(std::move(cur_));
      if (failed_ || finished_) stop_threads();  // lines() is final from here
    }
    if (failed_) return *failed_;
    if (finished_) return static_cast<const Event*>(nullptr);
    take_chunk();
  }
}

Result<bool> EventFileReader::next(Event& e) {
  auto r = next();
  if (!r) return r.error();
  if (!*r) return false;
  e = **r;
  return true;
}

}  // namespace nscope
