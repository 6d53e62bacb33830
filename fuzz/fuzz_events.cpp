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

bool same_tuple(const CtTuple& a, const CtTuple& b) {
  return a.family == b.family && a.proto == b.proto && a.src == b.src && a.dst == b.dst &&
         a.sport == b.sport && a.dport == b.dport;
}

bool same_event(const Event& a, const Event& b) {
  return a.ts == b.ts && a.has_task == b.has_task && a.pid == b.pid && a.tgid == b.tgid &&
         a.comm == b.comm && a.probe_type == b.probe_type && a.symbol == b.symbol &&
         a.stack_trace == b.stack_trace &&
         a.has_netns == b.has_netns && a.netns_inum == b.netns_inum &&
         a.netns_cookie == b.netns_cookie && a.has_dev == b.has_dev && a.ifindex == b.ifindex &&
         a.rx_ifindex == b.rx_ifindex && a.ifname == b.ifname && a.has_skb == b.has_skb &&
         a.skb_addr == b.skb_addr && a.len == b.len && a.data_len == b.data_len &&
         a.mark == b.mark && a.protocol == b.protocol && a.has_packet == b.has_packet &&
         a.caplen == b.caplen && a.l2_len == b.l2_len && a.cpu == b.cpu &&
         std::memcmp(a.data.data(), b.data.data(), a.caplen) == 0 &&
         a.has_tracking == b.has_tracking && a.track_ts == b.track_ts &&
         a.orig_head == b.orig_head && a.has_drop == b.has_drop &&
         a.drop_reason == b.drop_reason && a.has_ct == b.has_ct && a.ct_state == b.ct_state &&
         a.ct_status == b.ct_status && a.ct_mark == b.ct_mark && a.ct_zone == b.ct_zone &&
         same_tuple(a.ct_orig, b.ct_orig) && same_tuple(a.ct_reply, b.ct_reply);
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
  so.frees_traced = size % 7 == 0;
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
