// collect keeps its threads off the CPUs the traced traffic runs on.
#include "collect/placement.h"

#include "collect/collector.h"
#include "util/cpus.h"

#include <gtest/gtest.h>

using nscope::cpus_away_from_events;

TEST(Placement, LeavesOutTheCpusAboveAnEvenShare) {
  // A flood handled on CPU 0 of 2: run on CPU 1.
  EXPECT_EQ(cpus_away_from_events({300000, 1000}, {0, 1}, 20000), (std::vector<int>{1}));
  // Of 4, traffic on 1 and 2.
  EXPECT_EQ(cpus_away_from_events({10, 150000, 140000, 0}, {0, 1, 2, 3}, 20000),
            (std::vector<int>{0, 3}));
}

TEST(Placement, KeepsEverythingWhenQuietEvenOrNothingWouldBeLeft) {
  EXPECT_EQ(cpus_away_from_events({500, 0}, {0, 1}, 20000), (std::vector<int>{0, 1}));      // quiet
  EXPECT_EQ(cpus_away_from_events({50000, 50000}, {0, 1}, 20000), (std::vector<int>{0, 1}));  // even
  // Started with `taskset -c 0`: stays there even though CPU 0 is the busy one.
  EXPECT_EQ(cpus_away_from_events({300000, 0}, {0}, 20000), (std::vector<int>{0}));
  // Only ever within what it was allowed: CPU 2 is quiet but was never allowed.
  EXPECT_EQ(cpus_away_from_events({300000, 0, 0}, {0, 1}, 20000), (std::vector<int>{1}));
}

// CPU lists as the kernel and --cpus write them.
TEST(CpuList, ParsedSortedWithoutRepeatsAndWrittenBackShort) {
  auto cpus = nscope::parse_cpu_list("8, 0-3,2\n");
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_EQ(*cpus, (std::vector<int>{0, 1, 2, 3, 8}));
  EXPECT_EQ(nscope::format_cpu_list(*cpus), "0-3,8");
  EXPECT_EQ(nscope::format_cpu_list({1}), "1");
  EXPECT_EQ(nscope::format_cpu_list({0, 2, 3}), "0,2-3");
  for (const char* bad : {"", "x", "3-1", "1-", "-1", "0,,1", "99999"}) {
    auto r = nscope::parse_cpu_list(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, nscope::ErrorKind::usage) << bad;
  }
}

// Per-CPU rings: how many readers and how large, when the user does not say.
TEST(CollectDefaults, AReaderPerFourRingsAndFourMegabytesACpu) {
  EXPECT_EQ(nscope::default_readers(2, 2), 1u);
  EXPECT_EQ(nscope::default_readers(16, 16), 4u);
  EXPECT_EQ(nscope::default_readers(15, 16), 4u);
  EXPECT_EQ(nscope::default_readers(16, 2), 2u);  // --cpus 0,1: no more readers than CPUs
  EXPECT_EQ(nscope::default_readers(1, 8), 1u);   // the shared ring
  EXPECT_EQ(nscope::default_buffer_size(2), 32ull << 20);
  EXPECT_EQ(nscope::default_buffer_size(16), 64ull << 20);
  EXPECT_EQ(nscope::default_buffer_size(128), 256ull << 20);  // 2 MiB a CPU there
}
