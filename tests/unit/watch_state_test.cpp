// `watch`'s state: records, walks and scans fed by hand, the events they make read back.
#include <cstring>

#include <gtest/gtest.h>

#include "render/watch.h"
#include "watch/state.h"

using namespace nscope;

namespace {

constexpr uint64_t kHost = 4026531840, kA = 4026532001, kB = 4026532002;
constexpr int64_t kMs = 1'000'000;

nscope_watch_rec rec(uint32_t kind, uint32_t pid, const char* comm) {
  nscope_watch_rec r{};
  r.kind = kind;
  r.pid = r.tid = pid;
  r.ts = 1000;
  std::strncpy(r.comm, comm, sizeof r.comm - 1);
  for (auto& i : r.before) i = 100;
  for (auto& i : r.after) i = 100;
  r.before[NSCOPE_SLOT_NET] = r.after[NSCOPE_SLOT_NET] = kHost;
  return r;
}

nscope_net_rec net(uint64_t inode, uint64_t cookie) {
  nscope_net_rec n{};
  n.kind = NSCOPE_REC_NET;
  n.inum = static_cast<uint32_t>(inode);
  n.cookie = cookie;
  return n;
}

nscope_dev_rec dev(uint64_t inode, int ifindex, const char* name, uint64_t key, uint64_t peer_key = 0,
                   bool veth = false) {
  nscope_dev_rec d{};
  d.kind = NSCOPE_REC_DEV;
  d.net_inum = static_cast<uint32_t>(inode);
  d.ifindex = static_cast<uint32_t>(ifindex);
  std::strncpy(d.name, name, sizeof d.name - 1);
  d.key = key;
  d.peer_key = peer_key;
  if (peer_key || veth) d.flags = NSCOPE_DEV_VETH;
  return d;
}

Namespace scanned(uint64_t inode, uint64_t cookie, uint32_t processes = 0) {
  Namespace n;
  n.inode = inode;
  n.cookie = cookie;
  n.processes = processes;
  n.initial = inode == kHost;
  return n;
}

std::vector<std::string> kinds(const std::vector<WatchEvent>& ev) {
  std::vector<std::string> out;
  for (const auto& e : ev) out.emplace_back(watch_event_name(e.kind));
  return out;
}

// A state that knows the host's namespace (cookie 1) with one device, eth0.
struct Fixture {
  WatchState st{WatchOptions{}};
  KernelWalk walk;
  ScanResult scan;
  Fixture() {
    walk.nets_complete = true;
    walk.nets = {net(kHost, 1)};
    walk.devs = {dev(kHost, 2, "eth0", 0x10)};
    scan.namespaces = {scanned(kHost, 1, 50)};
    st.reset(scan, walk);
  }
};

TEST(WatchState, UnshareMakesOneCreatedEventWithWhoAndHow) {
  Fixture f;
  auto r = rec(NSCOPE_WATCH_UNSHARE, 42, "ip");
  r.after[NSCOPE_SLOT_NET] = static_cast<uint32_t>(kA);
  r.net_cookie_after = 7;
  auto ev = f.st.on_record(r);
  ASSERT_EQ(kinds(ev), std::vector<std::string>{"created"});
  EXPECT_EQ(ev[0].inode, kA);
  EXPECT_EQ(ev[0].cookie, 7u);
  EXPECT_EQ(ev[0].pid, 42);
  EXPECT_EQ(ev[0].comm, "ip");
  EXPECT_EQ(ev[0].how, "unshare");
  // The walk that finds it says nothing more; the one that does not find it, its death.
  f.walk.nets.push_back(net(kA, 7));
  EXPECT_TRUE(f.st.on_walk(f.walk, nullptr, f.st.epoch(), 0).empty());
  f.walk.nets.pop_back();
  ev = f.st.on_walk(f.walk, nullptr, f.st.epoch(), 0);
  ASSERT_EQ(kinds(ev), std::vector<std::string>{"destroyed"});
  EXPECT_EQ(ev[0].cookie, 7u);
}

TEST(WatchState, AWalkThatBeganBeforeABirthOrADeathChangesNothing) {
  Fixture f;
  uint64_t before = f.st.epoch();
  auto r = rec(NSCOPE_WATCH_CLONE, 9, "runc:[1:CHILD]");
  r.after[NSCOPE_SLOT_NET] = static_cast<uint32_t>(kA);
  r.net_cookie_after = 7;
  ASSERT_EQ(kinds(f.st.on_record(r)), std::vector<std::string>{"created"});
  // Begun before the birth: its absence is no death.
  EXPECT_TRUE(f.st.on_walk(f.walk, nullptr, before, 0).empty());
  // Dead now; a stale walk that still lists it brings nothing back.
  ASSERT_EQ(kinds(f.st.on_walk(f.walk, nullptr, f.st.epoch(), 0)), std::vector<std::string>{"destroyed"});
  KernelWalk stale = f.walk;
  stale.nets.push_back(net(kA, 7));
  EXPECT_TRUE(f.st.on_walk(stale, nullptr, f.st.epoch(), 0).empty());
  ScanResult s = f.scan;
  s.namespaces.push_back(scanned(kA, 7));
  EXPECT_TRUE(f.st.on_scan(s, f.st.epoch()).empty());
}

TEST(WatchState, AReusedInodeIsANewNamespace) {
  Fixture f;
  auto r = rec(NSCOPE_WATCH_UNSHARE, 42, "unshare");
  r.after[NSCOPE_SLOT_NET] = static_cast<uint32_t>(kA);
  r.net_cookie_after = 7;
  f.st.on_record(r);
  r.net_cookie_after = 8;  // the same inode, another namespace: the first died unseen
  auto ev = f.st.on_record(r);
  ASSERT_EQ(kinds(ev), (std::vector<std::string>{"destroyed", "created"}));
  EXPECT_EQ(ev[0].cookie, 7u);
  EXPECT_EQ(ev[1].cookie, 8u);
}

TEST(WatchState, SetnsEntersAndLeavesExitLeavesHiddenAfter) {
  Fixture f;
  f.walk.nets.push_back(net(kA, 7));
  f.scan.namespaces.push_back(scanned(kA, 7, 0));
  f.st.reset(f.scan, f.walk);
  auto r = rec(NSCOPE_WATCH_SETNS, 77, "nsenter");
  r.after[NSCOPE_SLOT_NET] = static_cast<uint32_t>(kA);
  EXPECT_EQ(kinds(f.st.on_record(r)), (std::vector<std::string>{"entered", "left"}));
  f.scan.namespaces.back().processes = 1;
  EXPECT_TRUE(f.st.on_scan(f.scan).empty());
  auto x = rec(NSCOPE_WATCH_EXIT, 77, "nsenter");
  x.before[NSCOPE_SLOT_NET] = static_cast<uint32_t>(kA);
  auto ev = f.st.on_record(x);
  ASSERT_EQ(kinds(ev), std::vector<std::string>{"left"});
  EXPECT_EQ(ev[0].how, "exit");
  // Held by a mount now: hidden, and named by it since the last scan.
  Holder m;
  m.kind = HolderKind::mount;
  m.path = "/run/netns/a";
  m.mntns = 5;
  f.scan.namespaces.back().processes = 0;
  f.scan.namespaces.back().holders = {m};
  ev = f.st.on_scan(f.scan);
  ASSERT_EQ(kinds(ev), (std::vector<std::string>{"named", "hidden"}));
  EXPECT_EQ(ev[0].path, "/run/netns/a");
  EXPECT_EQ(ev[1].holders, "mount:/run/netns/a");
  // A copy of the mount in another mount namespace is not another name; its end is.
  Holder copy = m;
  copy.mntns = 6;
  f.scan.namespaces.back().holders = {m, copy};
  EXPECT_TRUE(f.st.on_scan(f.scan).empty());
  f.scan.namespaces.back().holders.clear();
  EXPECT_EQ(kinds(f.st.on_scan(f.scan)), std::vector<std::string>{"unnamed"});
}

TEST(WatchState, VethIsToldWithBothEndsOnceBothAreThere) {
  Fixture f;
  f.walk.nets.push_back(net(kA, 7));
  f.walk.nets.push_back(net(kB, 8));
  f.scan.namespaces.push_back(scanned(kA, 7));
  f.scan.namespaces.push_back(scanned(kB, 8));
  f.st.reset(f.scan, f.walk);
  // The kernel registers the peer first, unpaired: nothing yet.
  f.walk.devs.push_back(dev(kA, 2, "vb", 0x20, 0, true));
  EXPECT_TRUE(f.st.on_walk(f.walk, nullptr, f.st.epoch(), 0).empty());
  EXPECT_EQ(f.st.settle_at(), 250 * kMs);
  f.walk.devs.back() = dev(kA, 2, "vb", 0x20, 0x21);
  f.walk.devs.push_back(dev(kHost, 9, "va", 0x21, 0x20));
  auto ev = f.st.on_walk(f.walk, nullptr, f.st.epoch(), 1 * kMs);
  ASSERT_EQ(kinds(ev), std::vector<std::string>{"veth-created"});
  EXPECT_EQ(ev[0].ifname, "vb");
  EXPECT_EQ(ev[0].inode, kA);
  EXPECT_EQ(ev[0].peer_ifname, "va");
  EXPECT_EQ(ev[0].peer_inode, kHost);
  EXPECT_EQ(ev[0].peer_ifindex, 9);

  // A move: gone from the host for a while (between namespaces), then in B.
  f.walk.devs.pop_back();
  EXPECT_TRUE(f.st.on_walk(f.walk, nullptr, f.st.epoch(), 2 * kMs).empty());
  f.walk.devs.push_back(dev(kB, 9, "va", 0x21, 0x20));
  ev = f.st.on_walk(f.walk, nullptr, f.st.epoch(), 20 * kMs);
  ASSERT_EQ(kinds(ev), std::vector<std::string>{"iface-moved"});
  EXPECT_EQ(ev[0].old_inode, kHost);
  EXPECT_EQ(ev[0].inode, kB);
  EXPECT_EQ(ev[0].old_ifindex, 9);

  // Renamed there; then deleted: told once its grace is over.
  f.walk.devs.back() = dev(kB, 9, "vx", 0x21, 0x20);
  ev = f.st.on_walk(f.walk, nullptr, f.st.epoch(), 30 * kMs);
  ASSERT_EQ(kinds(ev), std::vector<std::string>{"iface-renamed"});
  EXPECT_EQ(ev[0].old_ifname, "va");
  f.walk.devs.pop_back();
  EXPECT_TRUE(f.st.on_walk(f.walk, nullptr, f.st.epoch(), 40 * kMs).empty());
  ev = f.st.on_walk(f.walk, nullptr, f.st.epoch(), 300 * kMs);
  ASSERT_EQ(kinds(ev), std::vector<std::string>{"iface-deleted"});
  EXPECT_EQ(ev[0].ifname, "vx");
}

TEST(WatchState, AFreedDeviceAddressReusedIsNotAMove) {
  Fixture f;
  f.walk.devs.push_back(dev(kHost, 5, "old", 0x30));
  f.st.reset(f.scan, f.walk);
  f.walk.devs.back() = dev(kHost, 6, "new", 0x30);  // other ifindex, other name, same address
  auto ev = f.st.on_walk(f.walk, nullptr, f.st.epoch(), 0);
  ASSERT_EQ(kinds(ev), (std::vector<std::string>{"iface-deleted", "iface-created"}));
  EXPECT_EQ(ev[0].ifname, "old");
  EXPECT_EQ(ev[1].ifname, "new");
}

TEST(WatchState, NetnsFilterKeepsEventsAboutItsNamespacesOnly) {
  WatchOptions o;
  o.netns = {kA};
  WatchState st(o);
  KernelWalk w;
  w.nets_complete = true;
  w.nets = {net(kHost, 1), net(kA, 7), net(kB, 8)};
  ScanResult s;
  s.namespaces = {scanned(kHost, 1), scanned(kA, 7), scanned(kB, 8)};
  st.reset(s, w);
  w.devs = {dev(kB, 3, "inb", 0x40), dev(kA, 3, "ina", 0x41)};
  auto ev = st.on_walk(w, nullptr, st.epoch(), 0);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].ifname, "ina");
}

TEST(WatchRender, TextAndJsonFromOneEvent) {
  WatchEvent e;
  e.seq = 12;
  e.time_ns = 0;
  e.kind = WatchEventKind::iface_moved;
  e.inode = kB;
  e.cookie = 8;
  e.ifname = "va";
  e.ifindex = 9;
  e.old_inode = kHost;
  e.old_ifindex = 4;
  e.pid = 42;
  e.comm = "ip";
  EXPECT_EQ(watch_event_text(e, true),
            "00:00:00.000000 #12 iface-moved       net:4026532002 va from net:4026531840 ifindex 4 to "
            "ifindex 9 by pid 42 (ip)");
  auto j = watch_event_json(e);
  EXPECT_EQ(j["event"], "iface-moved");
  EXPECT_EQ(j["time"], "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(j["old_inode"], kHost);
  EXPECT_EQ(j["old_ifname"], "va");
  EXPECT_EQ(j["pid"], 42);
  e.kind = WatchEventKind::lost;
  e.count = 3;
  EXPECT_EQ(watch_event_json(e)["count"], 3);
  EXPECT_NE(watch_event_text(e, true).find("3 changes lost"), std::string::npos);
}

}  // namespace
