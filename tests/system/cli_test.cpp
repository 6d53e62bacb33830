// The command line itself: main() registers only the command a line names (start-up time),
// so these check that every command is still reachable, listed in help, and that a wrong
// name or option is a usage error (exit 2) that names the fix.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "testenv.h"

namespace {

const char* const kCommands[] = {"list", "info", "show", "topo", "collect", "print", "sort", "pcap"};

TEST(Cli, HelpListsEveryCommand) {
  auto r = nst::nscope({"--help"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const char* c : kCommands) EXPECT_NE(r.out.find(std::string("  ") + c + " "), std::string::npos) << c << "\n" << r.out;
}

TEST(Cli, EachCommandHasItsOwnHelp) {
  for (const char* c : kCommands) {
    auto r = nst::nscope({c, "--help"});
    EXPECT_EQ(r.exit_code, 0) << c << ": " << r.describe();
    EXPECT_NE(r.out.find(std::string("nscope ") + c), std::string::npos) << c << ": " << r.out;
  }
}

TEST(Cli, GlobalFlagBeforeTheCommand) {
  // -v is nscope's own flag: the command after it is still the one that runs.
  auto r = nst::nscope({"-v", "show", "--json", "pid:" + std::to_string(getpid())});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_TRUE(doc.contains("interfaces")) << r.out;
}

TEST(Cli, UnknownCommandIsAUsageErrorListingTheCommands) {
  auto r = nst::nscope({"shwo", "x"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("unknown command 'shwo'"), std::string::npos) << r.err;
  for (const char* c : kCommands) EXPECT_NE(r.err.find(c), std::string::npos) << c << "\n" << r.err;
}

TEST(Cli, NoCommandOrAnUnknownOptionIsAUsageError) {
  auto none = nst::nscope({});
  EXPECT_EQ(none.exit_code, 2) << none.describe();
  EXPECT_NE(none.err.find("nscope --help"), std::string::npos) << none.err;
  auto bad = nst::nscope({"list", "--no-such-option"});
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("--no-such-option"), std::string::npos) << bad.err;
}

TEST(Cli, Version) {
  auto r = nst::nscope({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out.rfind("nscope ", 0), 0u) << r.out;
}

}  // namespace
