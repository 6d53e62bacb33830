// Namespace references: the syntax (pure) and resolution against a made-up scan.
#include <cerrno>

#include <gtest/gtest.h>

#include "discover/nsref.h"

using namespace nscope;

namespace {

TEST(NsRefParse, Forms) {
  auto p = [](std::string_view s) {
    auto r = parse_nsref(s);
    EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : NsRef{};
  };
  EXPECT_EQ(p("4026531840").kind, NsRefKind::inode);
  EXPECT_EQ(p("4026531840").number, 4026531840u);
  EXPECT_EQ(p("inode:12").kind, NsRefKind::inode);
  EXPECT_EQ(p("net:[4026531840]").number, 4026531840u);
  EXPECT_EQ(p("id:77").kind, NsRefKind::id);
  EXPECT_EQ(p("cookie:4096").kind, NsRefKind::cookie);
  EXPECT_EQ(p("pid:1").kind, NsRefKind::pid);
  EXPECT_EQ(p("pid:1").number, 1u);
  EXPECT_EQ(p("/proc/1/ns/net").kind, NsRefKind::path);
  EXPECT_EQ(p("./x").kind, NsRefKind::path);
  EXPECT_EQ(p("path:rel/x").kind, NsRefKind::path);
  EXPECT_EQ(p("web").kind, NsRefKind::word);
  EXPECT_EQ(p("netns:web").kind, NsRefKind::name);
  EXPECT_EQ(p("netns:web").text, "web");
  EXPECT_EQ(p("container:f31f38").kind, NsRefKind::container);
  EXPECT_EQ(p("k8s:pod").kind, NsRefKind::word);  // an unknown key: a word with a colon
}

// Found by fuzz/fuzz_nsref.cpp: "0" parsed as inode 0 and "net:[0]" too, while "inode:0" is
// refused; no namespace has inode 0, and `ip netns add 0` makes a namespace named "0".
TEST(NsRefParse, ZeroIsANameNotAnInode) {
  auto r = parse_nsref("0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, NsRefKind::word);
  EXPECT_EQ(r->text, "0");
  EXPECT_EQ(parse_nsref("00")->kind, NsRefKind::word);
  EXPECT_FALSE(parse_nsref("net:[0]").ok());
  EXPECT_FALSE(parse_nsref("inode:0").ok());
}

TEST(NsRefParse, Lists) {
  auto keep = parse_nsref_list({"blue, red", "pid:7"});
  ASSERT_TRUE(keep.ok()) << keep.error().message;
  EXPECT_FALSE(keep->exclude);
  ASSERT_EQ(keep->refs.size(), 3u);
  EXPECT_EQ(keep->refs[1].text, "red");
  EXPECT_EQ(keep->refs[2].kind, NsRefKind::pid);
  auto out = parse_nsref_list({"!blue", " ! red ", ""});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->exclude);
  EXPECT_EQ(out->refs.size(), 2u);
  auto mixed = parse_nsref_list({"blue,!red"});
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().kind, ErrorKind::usage);
  EXPECT_FALSE(parse_nsref_list({"!"}).ok());  // nothing after the '!'
  EXPECT_FALSE(parse_nsref_list({"id:x"}).ok());
}

TEST(NsRefParse, Invalid) {
  for (auto bad : {"", "id:", "id:x", "pid:-1", "pid:0", "cookie:1x", "net:[x]", "container:"}) {
    auto r = parse_nsref(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_EQ(nsref_error_kind(r.error()), NsRefError::invalid) << r.error().message;
  }
}

ScanResult scan() {
  ScanResult s;
  auto add = [&](uint64_t ino, uint64_t id, std::vector<std::string> names, std::optional<Container> c = {}) {
    Namespace n;
    n.type = NsType::net;
    n.inode = ino;
    n.id = id;
    n.cookie = id;
    n.names = std::move(names);
    n.container = std::move(c);
    s.namespaces.push_back(std::move(n));
  };
  add(4026531833, 1, {});
  s.namespaces.back().initial = true;
  add(4026532001, 10, {"blue"});
  add(4026532002, 11, {"red", "red2"});
  add(4026532003, 12, {}, Container{"docker", "f31f384749f9115acf01fcf82f5a966b59dcc0a4cbd7c9740888c0bf32aa2bbb", "web", "", "", ""});
  add(4026532004, 13, {}, Container{"docker", "f31f999999f9115acf01fcf82f5a966b59dcc0a4cbd7c9740888c0bf32aa2bbb", "db", "", "", ""});
  add(4026532005, 14, {}, Container{"runc", "blue-sidecar", "", "web-7d9c", "default", "uid"});
  // a pod's second container shares the namespace
  Namespace mnt;
  mnt.type = NsType::mnt;
  mnt.inode = 4026532001;
  s.namespaces.push_back(mnt);
  return s;
}

uint64_t resolved(std::string_view ref) {
  ScanResult s = scan();
  auto r = resolve_nsref(ref, s);
  EXPECT_TRUE(r.ok()) << ref << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r->ns.inode : 0;
}

TEST(NsRefResolve, EachForm) {
  EXPECT_EQ(resolved("blue"), 4026532001u);
  EXPECT_EQ(resolved("red2"), 4026532002u);
  EXPECT_EQ(resolved("netns:red"), 4026532002u);
  EXPECT_EQ(resolved("4026532002"), 4026532002u);
  EXPECT_EQ(resolved("id:12"), 4026532003u);
  EXPECT_EQ(resolved("cookie:13"), 4026532004u);
  EXPECT_EQ(resolved("web"), 4026532003u);          // container name
  EXPECT_EQ(resolved("f31f38"), 4026532003u);       // id prefix
  EXPECT_EQ(resolved("container:db"), 4026532004u);
  EXPECT_EQ(resolved("web-7d9c"), 4026532005u);     // pod name
  EXPECT_EQ(resolved("default/web-7d9c"), 4026532005u);
}

TEST(NsRefResolve, UnknownListsCandidatesMostAlikeFirst) {
  ScanResult s = scan();
  NsRefFailure why;
  auto r = resolve_nsref("bleu", s, &why);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(why.kind, NsRefError::unknown);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(nsref_error_kind(r.error()), NsRefError::unknown);
  ASSERT_EQ(why.candidates.size(), 6u);  // the net namespaces only
  EXPECT_NE(why.candidates.front().find("name blue"), std::string::npos) << why.candidates.front();
  EXPECT_NE(r.error().message.find("4026532004"), std::string::npos);
  EXPECT_FALSE(resolve_nsref("id:99", s).ok());
  EXPECT_TRUE(resolve_nsref("inode:4026532001", s).ok());  // the mnt namespace of that inode is not one
}

TEST(NsRefResolve, AmbiguousContainerPrefix) {
  ScanResult s = scan();
  NsRefFailure why;
  auto r = resolve_nsref("f31f", s, &why);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(why.kind, NsRefError::ambiguous);
  EXPECT_EQ(r.error().code, ENOTUNIQ);
  ASSERT_EQ(why.candidates.size(), 2u);
  EXPECT_NE(why.candidates[0].find("web"), std::string::npos);
  EXPECT_NE(why.candidates[1].find("db"), std::string::npos);
}

// runc names a container by its id: "web" and "web2" both start with "web", and "web" is
// still exactly one of them.
TEST(NsRefResolve, AnExactNameOrIdWinsOverAPrefix) {
  ScanResult s = scan();
  auto add = [&](uint64_t ino, const char* id) {
    Namespace n;
    n.type = NsType::net;
    n.inode = ino;
    n.container = Container{"runc", id, "", "", "", ""};
    s.namespaces.push_back(std::move(n));
  };
  add(4026532101, "nstc");
  add(4026532102, "nstc2");
  for (const char* ref : {"nstc", "container:nstc"}) {
    auto r = resolve_nsref(ref, s);
    ASSERT_TRUE(r.ok()) << ref << ": " << r.error().message;
    EXPECT_EQ(r->ns.inode, 4026532101u) << ref;
  }
  auto two = resolve_nsref("nstc2", s);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->ns.inode, 4026532102u);
  NsRefFailure why;
  EXPECT_FALSE(resolve_nsref("nst", s, &why).ok());  // a prefix of both is still ambiguous
  EXPECT_EQ(why.kind, NsRefError::ambiguous);
}

TEST(NsRefResolve, NoFdForAMadeUpNamespace) {
  ScanResult s = scan();
  auto r = resolve_nsref("blue", s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->from_scan);
  EXPECT_EQ(r->matched_as, NsRefKind::name);
  // /run/netns/blue does not exist here (or is another namespace): no fd, not an error.
  if (r->fd) {
    EXPECT_FALSE(r->opened_from.empty());
  }
}

TEST(NsRefDescribe, Text) {
  ScanResult s = scan();
  EXPECT_EQ(describe_netns(s.namespaces[0]), "4026531833 (initial)");
  EXPECT_EQ(describe_netns(s.namespaces[2]), "4026532002 (name red, name red2)");
  EXPECT_EQ(describe_netns(s.namespaces[3]), "4026532003 (container docker:web f31f384749f9)");
}

}  // namespace
