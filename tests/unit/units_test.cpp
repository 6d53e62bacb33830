// Sizes and times as every option reads them (src/cli/units.h).
#include "cli/units.h"

#include <gtest/gtest.h>

using namespace nscope::cli;

TEST(Units, SizesInUnitsOf1024) {
  EXPECT_EQ(size_bytes("4096"), 4096u);
  EXPECT_EQ(size_bytes("64K"), 64u << 10);
  EXPECT_EQ(size_bytes("64M"), 64u << 20);
  EXPECT_EQ(size_bytes("64m"), 64u << 20);
  EXPECT_EQ(size_bytes("512MiB"), 512u << 20);
  EXPECT_EQ(size_bytes("2GB"), 2ull << 30);
  EXPECT_EQ(size_bytes("1T"), 1ull << 40);
  EXPECT_EQ(size_bytes("010M"), 10u << 20);  // decimal, not octal
  for (const char* bad : {"", "0", "0M", "lots", "-1", "-1M", "12Q", "0x10", "1.5M", "M"})
    EXPECT_FALSE(size_bytes(bad).has_value()) << bad;
}

TEST(Units, TimesToNanosecondsSecondsByDefault) {
  EXPECT_EQ(time_ns("10"), 10'000'000'000u);
  EXPECT_EQ(time_ns("10s"), 10'000'000'000u);
  EXPECT_EQ(time_ns("0.3s"), 300'000'000u);
  EXPECT_EQ(time_ns("500ms"), 500'000'000u);
  EXPECT_EQ(time_ns("250us"), 250'000u);
  EXPECT_EQ(time_ns("100ns"), 100u);
  EXPECT_EQ(time_ns("2m"), 120'000'000'000u);
  EXPECT_EQ(time_ns("1h"), 3'600'000'000'000u);
  for (const char* bad : {"", "-3", "0", "soon", "5x", "s", "inf", "nan"})
    EXPECT_FALSE(time_ns(bad).has_value()) << bad;
}

TEST(Units, ChecksNameTheValueAndGiveAnExample) {
  auto size = size_check("64M (at most 2G)", 1ull << 31);
  EXPECT_EQ(size("64M"), "");
  EXPECT_EQ(size("2G"), "");
  EXPECT_EQ(size("4G"), "'4G': give a size such as 64M (at most 2G)");
  auto time = time_check("10s, 500ms or 2m");
  EXPECT_EQ(time("500ms"), "");
  EXPECT_EQ(time("-3"), "'-3': give a time such as 10s, 500ms or 2m");
}
