// `sort` keeps packets whole. Each test writes its own event files into a TempDir (removed
// whatever the outcome).
#include <gtest/gtest.h>

#include <fstream>

#include "testenv.h"

namespace {

constexpr uint64_t kSec = 1'000'000'000;

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
}

// A minimal tracked event in nscope's layout.
std::string tracked(uint64_t ts, uint64_t first_seen, uint64_t head, const char* symbol) {
  return R"({"common":{"timestamp":)" + std::to_string(ts) +
         R"(},"kernel":{"probe_type":"raw_tracepoint","symbol":")" + symbol +
         R"("},"netns":{"inum":4026531840},"skb-tracking":{"orig_head":)" + std::to_string(head) +
         R"(,"timestamp":)" + std::to_string(first_seen) + "}}\n";
}

}  // namespace

TEST(SortPcapMore, TwoHundredThousandPacketsWithHalvesTenSecondsApart) {
  // 200,000 packets 200 us apart (40 s of traffic), each seen again 10 s after its first
  // sighting: every second half arrives after its first was written (window 5 s), and must
  // say it continues. (At most 50,000 series are open at once, below --max-buffered.)
  constexpr uint64_t kPackets = 200'000, kGap = 200'000, kApart = 10 * kSec;
  std::string file =
      R"({"startup":{"nscope_version":"0.1.0","initial_netns":4026531840,"probes":["net:net_dev_start_xmit","skb:kfree_skb","skb:consume_skb"]}})"
      "\n";
  file.reserve(kPackets * 2 * 190);
  auto t1 = [&](uint64_t i) { return kSec + i * kGap; };
  for (uint64_t first = 0, second = 0; second < kPackets;) {
    if (first < kPackets && t1(first) <= t1(second) + kApart) {
      file += tracked(t1(first), t1(first), 0xffff888000000000ull + first, "net:net_dev_start_xmit");
      ++first;
    } else {
      file += tracked(t1(second) + kApart, t1(second), 0xffff888000000000ull + second,
                      "skb:consume_skb");
      ++second;
    }
  }
  nst::TempDir dir;
  write_file(dir / "halves.json", file);
  file.clear();
  file.shrink_to_fit();

  auto r = nst::nscope({"sort", dir / "halves.json", "-o", dir / "series.json"},
                       nst::with_timeout(std::chrono::seconds(120)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "nscope: 400000 events in 400000 series written to " + (dir / "series.json") +
                       "\nnscope: 200000 series continue a packet written out earlier (marked "
                       "\"(continued)\"): its events were more than --window 5s apart, or more "
                       "than --max-buffered 100000 events were pending; raise them to keep "
                       "such packets in one series\n");
  std::ifstream in(dir / "series.json");
  uint64_t firsts = 0, marked = 0, unmarked = 0;
  for (std::string line; std::getline(in, line);) {
    bool second = line.find("skb:consume_skb") != std::string::npos;
    bool cont = line.find("\"continued\":true") != std::string::npos;
    if (!second) {
      ++firsts;
      EXPECT_FALSE(cont);
    } else if (cont && line.find("\"first_n\":1,") != std::string::npos) {
      ++marked;
    } else {
      ++unmarked;
    }
  }
  EXPECT_EQ(firsts, kPackets);
  EXPECT_EQ(marked, kPackets);
  EXPECT_EQ(unmarked, 0u);
}
