#include "discover/nstypes.h"

#include <gtest/gtest.h>
#include <sched.h>

#include "render/list.h"
#include "util/strings.h"

using namespace nscope;

TEST(NsTypes, ParseListsAllAndRejectsUnknown) {
  std::string bad;
  auto t = parse_ns_types("net", &bad);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, std::vector<NsType>{NsType::net});
  t = parse_ns_types("all", &bad);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 8u);
  t = parse_ns_types("mnt, net,mnt", &bad);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (std::vector<NsType>{NsType::mnt, NsType::net}));
  EXPECT_FALSE(parse_ns_types("net,netw", &bad));
  EXPECT_EQ(bad, "netw");
}

TEST(NsTypes, CloneFlagsRoundTrip) {
  EXPECT_EQ(ns_clone_flag(NsType::net), static_cast<uint64_t>(CLONE_NEWNET));
  EXPECT_EQ(ns_type_from_clone_flag(CLONE_NEWNS), NsType::mnt);
  EXPECT_EQ(ns_type_from_clone_flag(0x80), NsType::time);
  EXPECT_FALSE(ns_type_from_clone_flag(1));
  EXPECT_EQ(slot_link_name(8), "pid_for_children");
  EXPECT_EQ(slot_type(9), NsType::time);
}

TEST(Strings, Helpers) {
  EXPECT_EQ(parse_u64("4026531840"), 4026531840u);
  EXPECT_EQ(parse_u64("0x10", 16), 16u);
  EXPECT_FALSE(parse_u64("12a"));
  EXPECT_FALSE(parse_u64(""));
  EXPECT_EQ(unescape_octal("a\\040b\\134"), "a b\\");
  EXPECT_EQ(unescape_octal("tail\\04"), "tail\\04");
  EXPECT_EQ(cmdline_to_string(std::string("sleep\0infinity\0", 15)), "sleep infinity");
}

TEST(ListColumns, ParseAndReject) {
  std::vector<std::string> cols{"NS"};
  std::string bad;
  ASSERT_TRUE(parse_list_columns("ns,type,cookie", &cols, &bad));
  EXPECT_EQ(cols, (std::vector<std::string>{"NS", "TYPE", "COOKIE"}));
  ASSERT_TRUE(parse_list_columns("+nsid", &cols, &bad));
  EXPECT_EQ(cols.back(), "NSID");
  // As lsns users expect: each part may carry its '+', a column already there is not
  // repeated, and added columns go before COMMAND, which stays last.
  cols = default_list_columns();
  ASSERT_TRUE(parse_list_columns("+ID,+COOKIE,+name", &cols, &bad));
  EXPECT_EQ(cols, (std::vector<std::string>{"NS", "TYPE", "NPROCS", "PID", "NSID", "IFACES", "HOLDERS", "NAME",
                                            "CONTAINER", "ID", "COOKIE", "COMMAND"}));
  ASSERT_TRUE(parse_list_columns("ns,ns,type", &cols, &bad));
  EXPECT_EQ(cols, (std::vector<std::string>{"NS", "TYPE"}));
  EXPECT_FALSE(parse_list_columns("NS,BOGUS", &cols, &bad));
  EXPECT_EQ(bad, "BOGUS");
}

TEST(ListOutput, JsonKeepsLargeNumbersExact) {
  EXPECT_TRUE(json_u64(1ULL << 53).is_number());
  EXPECT_TRUE(json_u64((1ULL << 53) + 1).is_string());
  EXPECT_EQ(json_u64(18446744073709551615ULL).get<std::string>(), "18446744073709551615");
}

TEST(ListOutput, TableAndJsonFromOneModel) {
  ScanResult r;
  Namespace n;
  n.type = NsType::net;
  n.inode = 4026532281;
  n.names = {"web-1"};
  n.processes = 2;
  n.pid = 42;
  n.command = "sleep infinity";
  n.nsid = 3;
  n.interfaces = 2;
  Holder h;
  h.kind = HolderKind::mount;
  h.path = "/run/netns/web-1";
  h.mntns = 4026531841;
  n.holders.push_back(h);
  r.namespaces.push_back(n);
  r.skipped["vanished"] = 1;
  std::ostringstream os;
  render_list_table(r, default_list_columns(), true, os);
  std::string text = os.str();
  EXPECT_NE(text.find("NS         TYPE NPROCS"), std::string::npos) << text;
  EXPECT_NE(text.find("mount:/run/netns/web-1"), std::string::npos) << text;
  EXPECT_NE(text.find("web-1"), std::string::npos);
  auto j = list_to_json(r);
  ASSERT_EQ(j["namespaces"].size(), 1u);
  // list --json writes the same text a namespace at a time.
  std::ostringstream streamed;
  write_list_json(r, streamed);
  EXPECT_EQ(streamed.str(), j.dump());
  r.notes.push_back("a note");
  streamed.str("");
  write_list_json(r, streamed);
  EXPECT_EQ(streamed.str(), list_to_json(r).dump());
  EXPECT_EQ(j["namespaces"][0]["inode"], 4026532281u);
  EXPECT_EQ(j["namespaces"][0]["holders"][0]["kind"], "mount");
  EXPECT_EQ(j["namespaces"][0]["nsid"], 3);
  EXPECT_EQ(j["skipped"]["vanished"], 1);
}
