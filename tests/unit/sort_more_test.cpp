// `sort` keeps packets whole: the memory of written series (exact for the last
// remember_closed ids, the first-seen timestamp beyond), the limit on held text, and the
// rule for a series' end taken from the file's probes.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "events/sort.h"
#include "events/symbols.h"

using namespace nscope;

namespace {

constexpr uint64_t kSec = 1'000'000'000;

struct Builder {
  SymbolTable syms;
  // A tracked event whose id, like a real one, carries the packet's first-seen time.
  Event ev(uint64_t ts, uint64_t first_seen, uint64_t head, const char* symbol,
           const char* type = "raw_tracepoint") {
    Event e;
    e.ts = ts;
    e.symbol = syms.intern(symbol);
    e.probe_type = syms.intern(type);
    e.has_tracking = true;
    e.track_ts = first_seen;
    e.orig_head = head;
    e.has_netns = true;
    e.netns_inum = 4026531840u;
    return e;
  }
};

struct Part {
  uint64_t head;
  bool continued;
  uint32_t first_n;
  size_t events;
};

// `packets` packets, one every `gap` ns from 1 s on, each seen twice: `halves` ns apart. The
// events come in time order, as a file holds them.
std::vector<Part> halves_apart(size_t packets, uint64_t gap, uint64_t halves, SortOptions o,
                               SortStats* stats = nullptr) {
  Builder b;
  std::vector<Part> parts;
  Sorter s(o, [&](const Series& x) {
    parts.push_back({x.orig_head, x.continued, x.first_n, x.events.size()});
  });
  size_t first = 0, second = 0;
  auto t1 = [&](size_t i) { return kSec + i * gap; };
  while (second < packets) {
    if (first < packets && t1(first) <= t1(second) + halves) {
      s.add(b.ev(t1(first), t1(first), 0x10000 + first, "net:net_dev_start_xmit"));
      ++first;
    } else {
      s.add(b.ev(t1(second) + halves, t1(second), 0x10000 + second, "skb:consume_skb"));
      ++second;
    }
  }
  s.finish();
  if (stats) *stats = s.stats();
  return parts;
}

size_t unmarked_second_halves(const std::vector<Part>& parts, size_t packets) {
  std::vector<int> seen(packets, 0);
  size_t unmarked = 0;
  for (const Part& p : parts) {
    int& n = seen[p.head - 0x10000];
    if (n++ > 0 && !p.continued) ++unmarked;
  }
  return unmarked;
}

}  // namespace

TEST(SortMore, TwoHundredThousandPacketsWithHalvesTenSecondsApartStayMarked) {
  // 200,000 packets 100 us apart (20 s of traffic), each seen again 10 s later: every
  // second half comes after its first was written (window 5 s).
  constexpr size_t kPackets = 200'000;
  SortStats st;
  auto parts = halves_apart(kPackets, 100'000, 10 * kSec, {}, &st);
  ASSERT_EQ(parts.size(), 2 * kPackets);
  EXPECT_EQ(unmarked_second_halves(parts, kPackets), 0u);
  EXPECT_EQ(st.continued, kPackets);
  EXPECT_EQ(st.continued_forgotten, 0u);  // 2^19 ids remembered: all of them, positions too
  for (const Part& p : parts)
    EXPECT_EQ(p.first_n, p.continued ? 1u : 0u);
}

TEST(SortMore, OlderThanTheMemoryStillMarkedByTheFirstSeenTime) {
  // The same with a memory of 1,000 ids: the second halves' ids were forgotten long ago,
  // but their first-seen times say they are continuations.
  constexpr size_t kPackets = 200'000;
  SortOptions o;
  o.remember_closed = 1000;
  SortStats st;
  auto parts = halves_apart(kPackets, 100'000, 10 * kSec, o, &st);
  ASSERT_EQ(parts.size(), 2 * kPackets);
  EXPECT_EQ(unmarked_second_halves(parts, kPackets), 0u);
  EXPECT_EQ(st.continued, kPackets);
  EXPECT_EQ(st.continued_forgotten, kPackets);
}

TEST(SortMore, TheMemoryHoldsExactlyTheLastIdsWritten) {
  // 3,000 packets written one after the other, then each seen again within one window (so
  // that nothing is written meanwhile). With a memory of N ids, exactly the last N written
  // continue with their positions; the older ones are known by their first-seen time, their
  // positions lost.
  Builder b;
  for (size_t n : {size_t{1000}, size_t{2999}, size_t{3000}}) {
    SortOptions o;
    o.remember_closed = n;
    o.window_ns = 10'000;
    std::vector<Part> parts;
    Sorter s(o, [&](const Series& x) {
      parts.push_back({x.orig_head, x.continued, x.first_n, x.events.size()});
    });
    uint64_t t = 1'000'000;
    for (uint64_t i = 1; i <= 3000; ++i, t += 100) {
      s.add(b.ev(t, t, i, "net:net_dev_start_xmit"));
      s.add(b.ev(t + 1, t, i, "net:netif_receive_skb"));
    }
    Event tick = b.ev(t + 20'000, 0, 0, "net:netif_receive_skb");  // the clock moves on...
    tick.has_tracking = false;  // ...with an event that is no packet's to remember
    s.add(tick);
    ASSERT_EQ(parts.size(), 3001u);
    for (uint64_t i = 1; i <= 3000; ++i)
      s.add(b.ev(t + 20'001 + i, 1'000'000 + (i - 1) * 100, i, "skb:consume_skb"));
    s.finish();
    size_t remembered = 0, forgotten = 0;
    for (const Part& p : parts) {
      if (!p.continued) continue;
      if (p.first_n == 2) {
        EXPECT_GT(p.head, 3000 - n) << "only the last " << n << " written are remembered";
        ++remembered;
      } else {
        EXPECT_EQ(p.first_n, 0u);
        EXPECT_LE(p.head, 3000 - n);
        ++forgotten;
      }
    }
    EXPECT_EQ(remembered, n);
    EXPECT_EQ(forgotten, 3000 - n);
    EXPECT_EQ(s.stats().continued, 3000u);
    EXPECT_EQ(s.stats().continued_forgotten, 3000 - n);
  }
}

TEST(SortMore, PacketsNeverWrittenAreNotMarked) {
  Builder b;
  SortOptions o;
  o.remember_closed = 2;
  o.max_buffered = 1;  // every series is written as soon as the next comes: forced
  o.window_ns = 1000;
  std::vector<Part> parts;
  Sorter s(o, [&](const Series& x) {
    parts.push_back({x.orig_head, x.continued, x.first_n, x.events.size()});
  });
  // Nothing forgotten yet: an old first-seen time alone is no continuation (the packet's
  // first sighting may not be in the file).
  s.add(b.ev(100'000, 5, 1, "net:netif_receive_skb"));
  // Packets written and forgotten (by the time of the next packet: those first seen at
  // 100,100 and 100,101)...
  for (uint64_t i = 0; i < 5; ++i) s.add(b.ev(100'100 + i, 100'100 + i, 100 + i, "x:y"));
  // ...then a packet first seen before that, but less than a window ago: it may be a first
  // sighting, and is not marked.
  s.add(b.ev(100'105, 100'100, 7, "net:netif_receive_skb"));
  // One first seen after every forgotten id is not marked, however late.
  s.add(b.ev(900'000, 100'200, 8, "net:netif_receive_skb"));
  s.finish();
  ASSERT_EQ(parts.size(), 8u);
  for (const Part& p : parts) EXPECT_FALSE(p.continued) << p.head;
  EXPECT_EQ(s.stats().continued, 0u);
}

TEST(SortMore, HeldTextHasItsOwnLimitAndCount) {
  Builder b;
  SortOptions o;
  o.max_text_bytes = 1000;
  std::vector<Part> parts;
  Sorter s(o, [&](const Series& x) {
    parts.push_back({x.orig_head, x.continued, x.first_n, x.events.size()});
  });
  std::string line(400, 'x');
  for (uint64_t i = 0; i < 5; ++i) s.add(b.ev(100 + i, 100, 1, "net:netif_receive_skb"), line);
  s.finish();
  EXPECT_GT(s.stats().forced_text, 0u);
  EXPECT_EQ(s.stats().forced, 0u);
  EXPECT_GT(parts.size(), 1u);
  EXPECT_TRUE(parts.back().continued);

  // The default holds far more than the old hidden 64 MiB.
  EXPECT_GE(SortOptions{}.max_text_bytes, size_t{512} << 20);
}

TEST(SortMore, ConsumeTracedFromTheStartupLine) {
  auto nscope_file = [](std::vector<std::string> probes) {
    StartupInfo st;
    st.tool = "nscope";
    st.probes = std::move(probes);
    return consume_traced(st);
  };
  EXPECT_EQ(nscope_file({"net:netif_receive_skb", "skb:kfree_skb", "skb:consume_skb"}),
            ConsumeTraced::yes);
  EXPECT_EQ(nscope_file({"net:netif_receive_skb", "skb:kfree_skb"}), ConsumeTraced::no);
  EXPECT_EQ(nscope_file({"kprobe:consume_skb"}), ConsumeTraced::yes);
  EXPECT_EQ(nscope_file({"fexit:consume_*"}), ConsumeTraced::yes);
  EXPECT_EQ(nscope_file({"tp:skb:*"}), ConsumeTraced::yes);
  EXPECT_EQ(nscope_file({"kprobe:ip_*"}), ConsumeTraced::no);
  EXPECT_EQ(nscope_file({}), ConsumeTraced::unknown);  // written before probes were recorded
  EXPECT_EQ(consume_traced(StartupInfo{}), ConsumeTraced::unknown);  // no startup line

  auto retis = [](const char* cmdline) {
    StartupInfo st;
    st.tool = "retis";
    st.cmdline = cmdline;
    return consume_traced(st);
  };
  EXPECT_EQ(retis(""), ConsumeTraced::unknown);  // Retis 1.5 records no command line
  EXPECT_EQ(retis("retis collect -o out.json"), ConsumeTraced::no);  // defaults, skb-drop
  EXPECT_EQ(retis("retis collect -c skb,skb-drop,skb-tracking -p tp:net:netif_receive_skb"),
            ConsumeTraced::no);
  EXPECT_EQ(retis("retis collect -p skb:consume_skb"), ConsumeTraced::yes);
  EXPECT_EQ(retis("retis collect --probe consume_skb/stack"), ConsumeTraced::yes);  // a kprobe
  EXPECT_EQ(retis("retis collect --probe=tp:skb:consume_skb"), ConsumeTraced::yes);
  EXPECT_EQ(retis("retis collect -ptp:skb:*"), ConsumeTraced::yes);
  EXPECT_EQ(retis("retis collect -p kr:consume_skb"), ConsumeTraced::yes);
  EXPECT_EQ(retis("retis collect --probe-stack -f 'tcp port 80'"), ConsumeTraced::yes);
  EXPECT_EQ(retis("retis -v collect -p tp:net:netif_receive_skb --probe-stack"), ConsumeTraced::no);
  EXPECT_EQ(retis("retis collect --profile generic"), ConsumeTraced::unknown);
  EXPECT_EQ(retis("retis print out.json"), ConsumeTraced::unknown);

  EXPECT_EQ(retis_cmdline_probes("retis collect -p consume_skb -p skb:kfree_skb -p kr:ovs_dp_upcall/stack"),
            (std::vector<std::string>{"kprobe:consume_skb", "raw_tracepoint:skb:kfree_skb",
                                      "kr:ovs_dp_upcall"}));
}
