// collect keeps its threads off the CPUs the traced traffic runs on.
#include "collect/placement.h"

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
