// What print, sort and pcap share: opening an event file with its warnings on stderr, and
// buffered output to a file or standard output.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "cli/commands.h"
#include "events/file_reader.h"
#include "util/fd.h"

namespace nscope::cli {

// The CPUs this process may run on (taskset, cgroup cpusets).
inline int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

// The options of the commands that read an event file: FILE, and --skip-bad.
inline void add_event_file_options(CLI::App* c, std::string& file, bool& skip_bad) {
  c->add_option("FILE", file, "Event file from `nscope collect -o` or `retis collect -o` (- for stdin)")->required();
  c->add_flag("--skip-bad", skip_bad, "Skip malformed lines with a warning instead of stopping");
}

// The options of the commands that print events: -e, --utc, and --format, whose help says
// what nscope's text is for that command.
inline void add_text_options(CLI::App* c, bool& ethernet, bool& utc, std::string& format, const std::string& format_help) {
  c->add_flag("-e,--ethernet", ethernet, "Print link-layer headers");
  c->add_flag("--utc", utc, "Print UTC wall-clock times instead of monotonic ns");
  c->add_option("--format", format, format_help)->check(CLI::IsMember({"nscope", "retis"}));
}

// Opens an event file for reading; warnings go to stderr as "nscope: FILE:LINE: ...".
inline std::unique_ptr<EventFileReader> open_event_file(const std::string& path, bool skip_bad,
                                                       bool keep_text = false) {
  ReadOptions ro;
  ro.skip_bad = skip_bad;
  ro.keep_text = keep_text;
  // Parse on other cores while the command formats on this one; with one core to run on,
  // threads would only take turns: everything stays on this thread then.
  ro.background = usable_cpus() > 1;
  ro.warn = [](const std::string& w) { std::cerr << "nscope: " << w << '\n'; };
  auto r = EventFileReader::open(path, std::move(ro));
  if (!r) fail(r.error());
  return std::move(r.value());
}

// The next event (valid until the next call), or nullptr at the end; a fault in the file
// becomes a runtime error.
inline const Event* next_event(EventFileReader& r) {
  auto n = r.next();
  if (!n) fail(n.error());
  return *n;
}

// Output through one large buffer: append to buf, then maybe_flush() now and then, and
// close() at the end. An OutFile destroyed without close() (an error cut the output short)
// leaves nothing that looks whole: a regular file it created is removed, one that was there
// before (truncated when opened) is emptied; standard output or a pipe gets what was
// buffered, as the error that follows says where it stopped.
class OutFile {
 public:
  // "-" or "": standard output.
  explicit OutFile(const std::string& path)
      : path_(path), name_(path.empty() || path == "-" ? "<stdout>" : path) {
    if (path.empty() || path == "-") {
      fd_ = STDOUT_FILENO;
      return;
    }
    owned_ = open_private_output(path, O_EXCL);
    created_ = static_cast<bool>(owned_);
    if (!owned_ && errno == EEXIST) owned_ = open_private_output(path, O_TRUNC);
    if (!owned_) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    fd_ = owned_.get();
    struct stat st {};
    regular_ = fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  }
  ~OutFile() {
    if (closed_) return;
    if (regular_) {
      discard();
      return;
    }
    try {
      flush();
    } catch (...) {
    }
  }
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;

  std::string buf;
  bool is_terminal() const { return isatty(fd_) == 1; }

  void maybe_flush() {
    if (buf.size() >= kFlushBytes) flush();
  }
  void flush() {
    size_t off = 0;
    while (off < buf.size()) {
      ssize_t n = ::write(fd_, buf.data() + off, buf.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : EIO;
        buf.clear();
        throw std::runtime_error("cannot write " + name_ + ": " + std::strerror(err));
      }
      off += static_cast<size_t>(n);
    }
    buf.clear();
  }
  // Flushes and closes, reporting a failure (a full disk shows here on some filesystems).
  void close() {
    flush();
    if (owned_ && ::close(owned_.release()) != 0)
      throw std::runtime_error("cannot write " + name_ + ": " + std::strerror(errno));
    closed_ = true;
  }

 private:
  // The output is cut short: nothing of it must look whole.
  void discard() {
    buf.clear();
    if (created_ && ::unlink(path_.c_str()) == 0) {
      std::cerr << "nscope: " << path_ << " removed: the error below cut it short\n";
      return;
    }
    bool emptied = owned_ ? ::ftruncate(owned_.get(), 0) == 0 : ::truncate(path_.c_str(), 0) == 0;
    if (emptied)
      std::cerr << "nscope: " << path_ << " emptied: the error below cut it short\n";
    else
      std::cerr << "nscope: " << path_ << " is incomplete: the error below cut it short\n";
  }

  static constexpr size_t kFlushBytes = 1u << 20;
  std::string path_, name_;
  Fd owned_;
  int fd_ = -1;
  bool created_ = false, regular_ = false, closed_ = false;
};

}  // namespace nscope::cli
