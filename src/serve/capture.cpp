#include "serve/capture.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "events/file_reader.h"
#include "events/format.h"
#include "events/pcapng.h"

namespace nscope::serve {

Capture::~Capture() {
  fd_.reset();
  if (!path_.empty()) ::unlink(path_.c_str());
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

Result<void> Capture::begin() {
  std::lock_guard lk(mu_);
  if (dir_.empty()) {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/nscope-serve-XXXXXX";
    if (!mkdtemp(tmpl.data())) return Error::sys(errno, "cannot make a folder for the capture: " + tmpl);
    dir_ = tmpl;
    path_ = dir_ + "/capture.json";
  }
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd_) return Error::sys(errno, "cannot open " + path_);
  bytes_ = 0;
  left_out_ = 0;
  full_ = false;
  return {};
}

bool Capture::append(std::string_view lines, size_t count, uint64_t unformatted) {
  std::lock_guard lk(mu_);
  left_out_ += unformatted;
  if (full_ || !fd_) {  // counted without a look at the lines (a flood brings a MiB a batch)
    left_out_ += count;
    return true;
  }
  uint64_t room = max_bytes_ - std::min(max_bytes_, bytes_.load());
  std::string_view keep = lines;
  if (keep.size() > room) {
    size_t nl = room ? keep.rfind('\n', room - 1) : std::string_view::npos;
    keep = nl == std::string_view::npos ? std::string_view() : keep.substr(0, nl + 1);
    std::string_view rest = lines.substr(keep.size());
    left_out_ += std::count(rest.begin(), rest.end(), '\n') + (!rest.empty() && rest.back() != '\n');
    full_ = true;  // the first line that did not fit ends the capture: it keeps a prefix
  }
  while (!keep.empty()) {
    ssize_t n = ::write(fd_.get(), keep.data(), keep.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // disk full: the rest is counted as left out
      left_out_ += std::count(keep.begin(), keep.end(), '\n');
      fd_.reset();
      return true;
    }
    bytes_ += n;
    keep.remove_prefix(n);
  }
  return full_;
}

Result<CaptureStats> Capture::pcapng(const std::function<bool(std::string_view)>& out) const {
  std::string path;
  {
    std::lock_guard lk(mu_);
    path = path_;
  }
  CaptureStats st;
  st.left_out = left_out_.load();
  if (path.empty()) return Error::msg("no collection has run yet", ErrorKind::not_found);
  ReadOptions ro;
  ro.skip_bad = true;        // the line being written, cut short
  ro.max_warnings = 0;
  ro.warn = [](const std::string&) {};
  auto reader = EventFileReader::open(path, std::move(ro));
  if (!reader) return reader.error();
  auto& r = **reader;
  std::unique_ptr<PcapngWriter> pcap;
  TextOptions text;
  std::string buf, comment;
  auto start = [&] {
    const StartupInfo& s = r.startup();
    text.names = &s.netns_names;
    pcap = std::make_unique<PcapngWriter>(pcapng_options(s, std::string("nscope ") + NSCOPE_VERSION));
    pcap->begin(buf);
  };
  for (;;) {
    auto e = r.next();
    if (!e) return e.error();
    if (!*e) break;
    if (!pcap) start();  // after the startup line: names and the clock offset are known
    comment.clear();
    format_event_text(**e, text, comment);
    while (!comment.empty() && comment.back() == '\n') comment.pop_back();
    if (pcap->add(**e, comment, buf)) ++st.packets;
    else ++st.no_data;
    if (buf.size() >= (256u << 10)) {
      if (!out(buf)) return st;
      buf.clear();
    }
  }
  if (!pcap) start();
  st.interfaces = pcap->interfaces();
  if (!buf.empty()) out(buf);
  return st;
}

}  // namespace nscope::serve
