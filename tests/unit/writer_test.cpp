// collect's formatter and writer, with a sink as serve gives them: every event counted, and
// while the sink asks for thinning, runs of events formatted and the rest counted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "collect/writer.h"

using namespace nscope;

namespace {
nscope_event raw_event(uint32_t n) {
  nscope_event r{};
  r.ts = 1000 + n;
  r.probe = 0;
  r.netns_inum = 4026532256u;
  r.ifindex = 2;
  std::strcpy(r.comm, "iperf3");
  return r;
}

struct Sink {
  std::mutex mu;
  uint64_t lines = 0, unformatted = 0;
  std::string last;
};
}  // namespace

TEST(Writer, ThinningFormatsRunsAndCountsTheRest) {
  Sink sink;
  std::atomic<bool> thin{false};
  WriterOptions wo;
  wo.json_thin = &thin;
  wo.json_sink = [&](std::string_view lines, uint64_t unformatted) {
    std::lock_guard lk(sink.mu);
    for (char c : lines) sink.lines += c == '\n';
    sink.unformatted += unformatted;
    if (!lines.empty()) sink.last = std::string(lines.substr(lines.rfind('\n', lines.size() - 2) + 1));
  };
  EventWriter w(wo);
  DecodeContext ctx;
  ctx.slot_symbols = {"net:netif_receive_skb"};
  EventFormatter f(w, TextOptions{}, ctx);
  uint32_t n = 0;
  auto push = [&](uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      nscope_event r = raw_event(n++);
      f.push(&r, sizeof r);
    }
    f.hand_over();
  };
  push(1500);  // not thinning: every event is a line
  thin = true;
  push(5000);  // one run of kThinEvents, then counted only
  std::this_thread::sleep_for(EventFormatter::kThinWindow + std::chrono::milliseconds(20));
  push(2000);  // a new window: one more run (begun within 64 events)
  thin = false;
  push(10);
  w.close("");
  std::lock_guard lk(sink.mu);
  EXPECT_EQ(sink.lines, 1500u + 2 * EventFormatter::kThinEvents + 10);
  EXPECT_EQ(sink.lines + sink.unformatted, n);  // nothing lost from the count
  EXPECT_EQ(w.written(), n);
  EXPECT_NE(sink.last.find("\"timestamp\":" + std::to_string(1000 + n - 1)), std::string::npos) << sink.last;
}

// A file gets every event, whatever the flag says.
TEST(Writer, AFileIsNeverThinned) {
  char path[] = "/tmp/nscope-writer-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::atomic<bool> thin{true};
  WriterOptions wo;
  wo.json_fd = fd;
  wo.json_path = path;
  wo.json_thin = &thin;
  {
    EventWriter w(wo);
    EventFormatter f(w, TextOptions{}, DecodeContext{});
    for (uint32_t i = 0; i < 3000; ++i) {
      nscope_event r = raw_event(i);
      f.push(&r, sizeof r);
    }
    f.hand_over();
    w.close("");
    EXPECT_EQ(w.written(), 3000u);
  }
  close(fd);  // the writer's file does not own it
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  unlink(path);
  EXPECT_EQ(lines, 3000);
}
