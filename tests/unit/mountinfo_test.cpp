#include "discover/mountinfo.h"

#include <gtest/gtest.h>

#include "util/strings.h"

using namespace nscope;

namespace {
std::string fixture(const char* name) {
  auto s = read_file(std::string(NSCOPE_FIXTURES) + "/proc/" + name);
  EXPECT_TRUE(s.has_value()) << name;
  return s.value_or("");
}
}  // namespace

TEST(Mountinfo, ParsesFieldsAndCountsBadLines) {
  size_t bad = 0;
  auto m = parse_mountinfo(fixture("mountinfo_nsfs.txt"), &bad);
  ASSERT_EQ(m.size(), 9u);
  EXPECT_EQ(bad, 1u);
  EXPECT_EQ(m[0].mount_point, "/");
  EXPECT_EQ(m[0].fstype, "ext4");
  EXPECT_EQ(m[0].source, "/dev/vda1");
  EXPECT_EQ(m[4].root, "net:[4026532281]");
  EXPECT_EQ(m[4].mount_id, 640u);
}

TEST(Mountinfo, NsfsMountsWithTypesAndEscapedPaths) {
  auto n = nsfs_mounts(fixture("mountinfo_nsfs.txt"));
  ASSERT_EQ(n.size(), 4u);  // the malformed net:[notanumber] is dropped
  EXPECT_EQ(n[0].type, NsType::net);
  EXPECT_EQ(n[0].inode, 4026532281u);
  EXPECT_EQ(n[0].path, "/run/netns/web-1");
  EXPECT_EQ(n[1].path, "/run/netns/db 1");  // \040 is a space
  EXPECT_EQ(n[2].type, NsType::mnt);
  EXPECT_EQ(n[3].type, NsType::uts);  // optional fields before " - " are skipped
  EXPECT_EQ(n[3].inode, 4026532401u);
}

TEST(Mountinfo, NsLinks) {
  NsType t;
  uint64_t ino;
  ASSERT_TRUE(parse_ns_link("net:[4026531840]", &t, &ino));
  EXPECT_EQ(t, NsType::net);
  EXPECT_EQ(ino, 4026531840u);
  ASSERT_TRUE(parse_ns_link("cgroup:[4026531835]", &t, &ino));
  EXPECT_EQ(t, NsType::cgroup);
  EXPECT_FALSE(parse_ns_link("socket:[12345]", &t, &ino));
  EXPECT_FALSE(parse_ns_link("net:[]", &t, &ino));
  EXPECT_FALSE(parse_ns_link("net:[12", &t, &ino));
  EXPECT_FALSE(parse_ns_link("/dev/null", &t, &ino));
}

TEST(Mountinfo, EmptyAndTruncatedInputNeverCrash) {
  EXPECT_TRUE(parse_mountinfo("").empty());
  EXPECT_TRUE(parse_mountinfo("1 2 3").empty());
  EXPECT_TRUE(parse_mountinfo("1 2 3 4 5 6 -").empty());
  EXPECT_TRUE(nsfs_mounts("1 2 0:4 net:[5] /x rw - nsfs").size() == 1);
}
