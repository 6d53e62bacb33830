// libFuzzer target for the event-file path: arbitrary bytes through
//   1. parse_event_line and the fast scanner, line by line: both must reach the same verdict
//      and the same Event (the fast path may only ever hand over, never disagree);
//   2. the streaming file reader (a tiny buffer, so lines straddle reads and grow it), in
//      its inline or background form, into the sorter (a tiny window and buffer, so series
//      are cut and continued) and the pcapng writer, with every rendering.
// Any crash, sanitizer report or disagreement aborts.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "events/fast_reader.h"
#include "events/file_reader.h"
#include "events/format.h"
#include "events/format.h"
#include "events/pcapng.h"
#include "events/reader.h"
#include "events/sort.h"

using namespace nscope;

namespace {

[[noreturn]] void disagree(std::string_view line, const char* what) {
  std::fprintf(stderr, "fast and full parsers disagree (%s) on: %.*s\n", what,
               static_cast<int>(line.size()), line.data());
  std::abort();
}

// Every field, through what nscope writes of an event (format_event_json writes each one;
// the text adds the meaning-free ones: tracking's series index comes out in both).
bool same_event(const Event& a, const Event& b) {
  std::string ja, jb, ta, tb;
  format_event_json(a, ja);
  format_event_json(b, jb);
  TextOptions opt;
  opt.retis = true;
  opt.ethernet = true;
  format_event_text(a, opt, ta);
  format_event_text(b, opt, tb);
  return ja == jb && ta == tb && a.wire_len == b.wire_len && a.has_meta_len == b.has_meta_len;
}

void lines(std::string_view in) {
  SymbolTable syms;
  FastEventParser fast(syms);
  std::string out;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    Event a, b;
    StartupInfo sa, sb;
    auto ra = parse_event_line(line, syms, a, &sa);
    auto rb = fast.parse(line, b, &sb);
    if (ra.ok() != rb.ok()) disagree(line, "verdict");
    if (!ra.ok()) {
      if (ra.error().message != rb.error().message) disagree(line, "error");
      continue;
    }
    if (*ra != *rb) disagree(line, "line kind");
    if (*ra != LineKind::event) continue;
    if (!same_event(a, b)) disagree(line, "event");
    out.clear();
    format_event_text(b, {}, out);
    format_event_json(b, out);
  }
}

void file(const uint8_t* data, size_t size) {
  int fd = memfd_create("fuzz", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  for (size_t off = 0; off < size;) {
    ssize_t n = write(fd, data + off, size - off);
    if (n <= 0) std::abort();
    off += static_cast<size_t>(n);
  }
  lseek(fd, 0, SEEK_SET);
  ReadOptions ro;
  ro.skip_bad = size % 3 != 0;
  ro.background = size % 2 == 0;
  ro.keep_text = true;
  ro.buffer_size = 64;
  ro.chunk_events = 4;
  ro.max_line = 1 << 16;
  ro.warn = [](const std::string& w) {
    if (w.empty()) std::abort();
  };
  EventFileReader reader(Fd(fd), "fuzz", ro);

  std::string out;
  TextOptions topt;
  topt.names = &reader.startup().netns_names;
  topt.utc = size % 5 == 0;
  PathNames names{&reader.startup().netns_names, 0};
  SortOptions so;
  so.window_ns = 1000;
  so.max_buffered = 8;
  so.max_text_bytes = 4096;
  so.remember_closed = 16;
  so.consume = size % 7 == 0   ? ConsumeTraced::yes
               : size % 7 == 1 ? ConsumeTraced::no
                               : ConsumeTraced::unknown;
  topt.retis = size % 3 == 0;  // both text layouts
  Sorter sorter(so, [&](const Series& s) {
    if (s.events.empty()) std::abort();
    out.clear();
    format_series_text(s, topt, names, out);
    format_series_json(s, names, out);
  });
  PcapngOptions po;
  po.names = &reader.startup().netns_names;
  PcapngWriter pcap(po);
  std::string blocks;
  pcap.begin(blocks);
  while (true) {
    auto e = reader.next();
    if (!e || !*e) break;
    sorter.add(**e, reader.text());
    out.clear();
    format_event_text(**e, topt, out);
    pcap.add(**e, out, blocks);
    if (blocks.size() % 4) std::abort();  // every block a multiple of 4 bytes
    if (blocks.size() > (1 << 20)) blocks.clear();
  }
  sorter.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lines({reinterpret_cast<const char*>(data), size});
  file(data, size);
  return 0;
}
