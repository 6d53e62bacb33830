// shell_quote: what collect records of its command line reads back as the same words.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "util/strings.h"

namespace nscope {
namespace {

TEST(Strings, ShellQuoteKeepsEachWordOneWord) {
  EXPECT_EQ(shell_quote("collect"), "collect");
  EXPECT_EQ(shell_quote("net:netif_receive_skb,tp:net:*"), "'net:netif_receive_skb,tp:net:*'");
  EXPECT_EQ(shell_quote("-o"), "-o");
  EXPECT_EQ(shell_quote("/tmp/x.json"), "/tmp/x.json");
  EXPECT_EQ(shell_quote("ping -c 1 10.0.0.2"), "'ping -c 1 10.0.0.2'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  // A shell reads them back as the very words.
  for (std::string w : {"a b", "it's", "$HOME", "x\"y", "*", ""}) {
    std::string cmd = "printf '%s' " + shell_quote(w);
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_TRUE(p);
    char buf[64] = {};
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    pclose(p);
    EXPECT_EQ(std::string(buf, n), w) << cmd;
  }
}

}  // namespace
}  // namespace nscope
