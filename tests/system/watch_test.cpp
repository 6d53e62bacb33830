// `nscope watch`: real namespaces made, named, entered, wired and ended while it runs, and
// each change read back from its --json stream.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "testenv.h"

using namespace std::chrono_literals;
using nst::json;

namespace {

using nst::in_vm;
using nst::Background;
using nst::wait_for_text;

std::vector<json> json_lines(const std::string& file) {
  std::vector<json> out;
  for (const auto& l : nst::split_lines(nst::read_file(file))) {
    if (l.empty()) continue;
    json j = json::parse(l, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << l;
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

// `nscope watch --json` running while a test acts; its events once stopped.
class Watch {
 public:
  explicit Watch(std::vector<std::string> extra = {})
      : out_(dir_ / "watch.json"), err_(dir_ / "watch.err") {
    std::vector<std::string> argv = {nst::nscope_bin(), "watch", "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    bg_ = std::make_unique<Background>(argv, out_, err_);
    ready_ = wait_for_text(err_, "watching", in_vm() ? 120s : 30s);
  }
  bool ready() const { return ready_; }
  std::string err() const { return nst::read_file(err_); }
  const std::string& out_path() const { return out_; }
  pid_t pid() const { return bg_->pid(); }
  // Stops it (SIGTERM) and returns the exit code; events() then reads all it wrote.
  int stop() { return bg_->stop(); }
  std::vector<json> events() const { return json_lines(out_); }

 private:
  nst::TempDir dir_;
  std::string out_, err_;
  std::unique_ptr<Background> bg_;
  bool ready_ = false;
};

std::vector<json> of_kind(const std::vector<json>& events, std::string_view kind, uint64_t inode = 0) {
  std::vector<json> out;
  for (const auto& e : events)
    if (e.value("event", "") == kind && (!inode || (e.contains("inode") && nst::as_u64(e["inode"]) == inode)))
      out.push_back(e);
  return out;
}

std::string dump(const std::vector<json>& events) {
  std::string s;
  for (const auto& e : events) s += e.dump() + "\n";
  return s.size() > 20000 ? s.substr(s.size() - 20000) : s;
}

// The first event in `events` after waiting up to `limit` for it to appear in the file.
bool wait_event(const Watch& w, std::string_view kind, uint64_t inode, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (!of_kind(json_lines(w.out_path()), kind, inode).empty()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = nst::run(argv);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
}

TEST(Watch, SnapshotThenEachKindOfChange) {
  const auto slow = in_vm() ? 10 : 1;
  Watch w;
  ASSERT_TRUE(w.ready()) << w.err();
  const uint64_t host = nst::own_ns_inode("net");

  // Named namespaces, a veth pair between the host and one of them, moved and renamed.
  std::string na = nst::unique_name('a'), nb = nst::unique_name('b');
  nst::NamedNetns a(na), b(nb);
  ASSERT_TRUE(a.ok() && b.ok()) << a.error() << b.error();
  uint64_t ino_a = nst::ns_inode(a.path()), ino_b = nst::ns_inode(b.path());
  std::string va = nst::unique_name('v'), vb = nst::unique_name('w'), vc = nst::unique_name('x');
  ip({"link", "add", va, "type", "veth", "peer", "name", vb, "netns", na});
  ASSERT_TRUE(wait_event(w, "veth-created", 0, 2s * slow));
  ip({"link", "set", va, "netns", nb});
  ASSERT_TRUE(wait_event(w, "iface-moved", ino_b, 2s * slow));
  ip({"-n", nb, "link", "set", va, "name", vc});
  ASSERT_TRUE(wait_event(w, "iface-renamed", ino_b, 2s * slow));

  // A namespace held by a process, one held only by an fd, one only by a bind mount in a
  // private mount namespace.
  nst::Child proc([](nst::Channel& c) {
    if (unshare(CLONE_NEWNET) != 0) nst::child_fail(c, "unshare");
    c.send("ready ino=" + std::to_string(nst::own_ns_inode("net")));
    nst::child_sleep_forever();
  });
  uint64_t ino_p = std::stoull(proc.wait_ready()["ino"]);
  const pid_t proc_pid = proc.pid();
  nst::TempDir dir;
  std::string bind = dir / "bound";
  std::ofstream(bind).put('\n');
  nst::Child held([bind](nst::Channel& c) {
    int host_fd = open("/proc/self/ns/net", O_RDONLY);
    if (unshare(CLONE_NEWNS) != 0 || mount("", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      nst::child_fail(c, "private mount namespace");
    if (unshare(CLONE_NEWNET) != 0) nst::child_fail(c, "unshare");
    uint64_t by_mount = nst::own_ns_inode("net");
    if (mount("/proc/self/ns/net", bind.c_str(), nullptr, MS_BIND, nullptr) != 0) nst::child_fail(c, "bind");
    if (setns(host_fd, CLONE_NEWNET) != 0 || unshare(CLONE_NEWNET) != 0) nst::child_fail(c, "again");
    uint64_t by_fd = nst::own_ns_inode("net");
    int keep = open("/proc/self/ns/net", O_RDONLY);
    if (keep < 0 || setns(host_fd, CLONE_NEWNET) != 0) nst::child_fail(c, "fd");
    c.send("ready mount=" + std::to_string(by_mount) + " fd=" + std::to_string(by_fd));
    nst::child_sleep_forever();
  });
  auto r = held.wait_ready();
  uint64_t ino_m = std::stoull(r["mount"]), ino_f = std::stoull(r["fd"]);

  // A process that enters a named namespace and leaves it: the namespace is then hidden
  // (held by its mount only).
  std::string nh = nst::unique_name('h');
  nst::NamedNetns h(nh);
  ASSERT_TRUE(h.ok()) << h.error();
  uint64_t ino_h = nst::ns_inode(h.path());
  ASSERT_TRUE(wait_event(w, "named", ino_h, 2s * slow));
  {
    nst::Child in_h([p = h.path()](nst::Channel& c) {
      int fd = open(p.c_str(), O_RDONLY);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) nst::child_fail(c, "setns");
      c.send("ready");
      nst::child_sleep_forever();
    });
    in_h.wait_ready();
    ASSERT_TRUE(wait_event(w, "entered", ino_h, 2s * slow));
    std::this_thread::sleep_for(200ms * slow);  // a scan sees it inside
    in_h.kill_and_reap();
  }
  EXPECT_TRUE(wait_event(w, "hidden", ino_h, 3s * slow));

  ASSERT_TRUE(wait_event(w, "created", ino_f, 2s * slow));
  proc.kill_and_reap();
  held.kill_and_reap();
  ASSERT_TRUE(wait_event(w, "destroyed", ino_p, 2s * slow));
  EXPECT_TRUE(wait_event(w, "destroyed", ino_m, 2s * slow));
  EXPECT_TRUE(wait_event(w, "destroyed", ino_f, 2s * slow));
  EXPECT_EQ(w.stop(), 0) << w.err();
  auto ev = w.events();
  ASSERT_FALSE(ev.empty());

  // The snapshot first, then events numbered without a gap.
  ASSERT_EQ(ev[0]["event"], "snapshot") << ev[0].dump();
  EXPECT_NE(nst::find_ns(ev[0]["list"], "net", host), nullptr);
  for (size_t i = 0; i < ev.size(); i++) EXPECT_EQ(nst::as_u64(ev[i]["seq"]), i + 1) << ev[i].dump();

  auto one = [&](std::string_view kind, uint64_t inode) -> json {
    auto v = of_kind(ev, kind, inode);
    EXPECT_EQ(v.size(), 1u) << kind << " " << inode << "\n" << dump(ev);
    return v.empty() ? json::object() : v[0];
  };
  // Named ones: made by `ip` through unshare, then named by their mount.
  json ca = one("created", ino_a);
  EXPECT_EQ(ca.value("how", ""), "unshare");
  EXPECT_EQ(ca.value("comm", ""), "ip");
  json nma = one("named", ino_a);
  EXPECT_EQ(nma.value("path", ""), a.path());
  // The veth pair, both ends; its move and rename, with the namespaces and ifindexes.
  json veth = one("veth-created", 0);
  std::set<std::pair<std::string, uint64_t>> ends = {
      {veth.value("ifname", ""), nst::as_u64(veth["inode"])},
      {veth["peer"].value("ifname", ""), nst::as_u64(veth["peer"]["inode"])}};
  EXPECT_EQ(ends, (std::set<std::pair<std::string, uint64_t>>{{va, host}, {vb, ino_a}})) << veth.dump();
  json mv = one("iface-moved", ino_b);
  EXPECT_EQ(mv.value("ifname", ""), va);
  EXPECT_EQ(nst::as_u64(mv["old_inode"]), host);
  EXPECT_GT(mv.value("ifindex", 0), 0);
  json rn = one("iface-renamed", ino_b);
  EXPECT_EQ(rn.value("old_ifname", ""), va);
  EXPECT_EQ(rn.value("ifname", ""), vc);
  // Process-, mount- and fd-held ones: made and ended once each.
  json cp = one("created", ino_p);
  EXPECT_EQ(cp.value("pid", 0), proc_pid);
  one("created", ino_m);
  one("created", ino_f);
  // Its process's end (others on the machine may step in and out of it: `exec --all`).
  int exits = 0;
  for (const auto& e : of_kind(ev, "left", ino_p))
    exits += e.value("pid", 0) == proc_pid && e.value("how", "") == "exit";
  EXPECT_EQ(exits, 1) << dump(ev);
  one("destroyed", ino_p);
  one("destroyed", ino_m);
  one("destroyed", ino_f);
  // Entered by setns, left by exit, and then held by its mount only.
  json hid = one("hidden", ino_h);
  EXPECT_NE(hid.value("holders", "").find("mount:" + h.path()), std::string::npos) << hid.dump();
  EXPECT_TRUE(of_kind(ev, "lost").empty()) << dump(ev);
}

TEST(Watch, RuncContainerStartedAndStopped) {
  const auto slow = in_vm() ? 10 : 1;
  Watch w;
  ASSERT_TRUE(w.ready()) << w.err();
  nst::TempDir log_dir;
  std::string log = log_dir / "churn.log";
  // The churn driver's container path: one container, a few namespaces around it.
  auto r = nst::run({NSCOPE_CHURN_BIN, "--prefix", nst::churn_prefix(), "--count", "8", "--rate", "20",
                     "--lifetime", std::to_string(300 * slow), "--containers", "1", "--log", log},
                    nst::with_timeout(120s));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  uint64_t ino = 0;
  std::string name;
  for (const auto& l : json_lines(log))
    if (l["op"] == "container-start") ino = nst::as_u64(l["inode"]), name = l.value("name", "");
  ASSERT_NE(ino, 0u) << nst::read_file(log);
  EXPECT_TRUE(wait_event(w, "destroyed", ino, 3s * slow));
  EXPECT_EQ(w.stop(), 0) << w.err();
  auto ev = w.events();
  auto started = of_kind(ev, "container-started", ino);
  ASSERT_EQ(started.size(), 1u) << dump(ev);
  EXPECT_EQ(started[0]["container"].value("name", ""), name) << started[0].dump();
  EXPECT_EQ(started[0]["container"].value("runtime", ""), "runc");
  EXPECT_EQ(of_kind(ev, "container-stopped", ino).size(), 1u) << dump(ev);
  EXPECT_EQ(of_kind(ev, "created", ino).size(), 1u) << dump(ev);
  EXPECT_EQ(of_kind(ev, "destroyed", ino).size(), 1u) << dump(ev);
}

// The churn: 1,000 namespaces at 100 a second (fewer, slower, in the emulated-CPU
// VMs), every one reported made and ended exactly once, every veth pair and move with the
// right ends; `ip monitor all-nsid` and `ip netns monitor` over the same run, for scale.
TEST(Watch, ChurnEveryNamespaceOnce) {
  const bool vm = in_vm();
  const int count = vm ? 120 : 1000, rate = vm ? 20 : 100;
  Watch w({"--no-snapshot"});
  ASSERT_TRUE(w.ready()) << w.err();
  nst::TempDir dir;
  Background nsid({"ip", "monitor", "all-nsid"}, dir / "nsid.out", dir / "nsid.err");
  Background netns({"ip", "netns", "monitor"}, dir / "netns.out", dir / "netns.err");
  std::this_thread::sleep_for(300ms);
  std::string log = dir / "churn.log";
  auto r = nst::run({NSCOPE_CHURN_BIN, "--prefix", nst::churn_prefix(), "--count", std::to_string(count),
                     "--rate", std::to_string(rate), "--lifetime", vm ? "1000" : "300", "--veth-every", "5",
                     "--containers", "0", "--log", log},
                    nst::with_timeout(300s));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  std::this_thread::sleep_for(vm ? 5s : 1500ms);  // the last deaths
  EXPECT_EQ(w.stop(), 0) << w.err();
  nsid.stop();
  netns.stop();
  auto ev = w.events();
  auto actions = json_lines(log);

  // Per namespace (its cookie: inodes are reused, also by namespaces others make meanwhile),
  // the log's creations and destructions and watch's.
  std::map<uint64_t, std::string> made, told;
  int creates = 0, veths = 0, moves = 0;
  for (const auto& a : actions) {
    std::string op = a.value("op", "");
    ASSERT_NE(op, "error") << a.dump();
    if (op == "create") made[nst::as_u64(a["cookie"])] += "c", creates++;
    if (op == "destroy") made[nst::as_u64(a["cookie"])] += "d";
  }
  ASSERT_EQ(creates, count);
  for (const auto& e : ev) {
    std::string k = e.value("event", "");
    if ((k == "created" || k == "destroyed") && e.value("type", "") == "net") {
      uint64_t cookie = e["cookie"].is_null() ? 0 : nst::as_u64(e["cookie"]);
      if (made.count(cookie)) told[cookie] += k == "created" ? "c" : "d";
    }
  }
  int wrong = 0;
  for (const auto& [cookie, seq] : made) {
    if (told[cookie] != seq && ++wrong <= 10)
      ADD_FAILURE() << "namespace with cookie " << cookie << ": made/ended " << seq << ", watch told " << told[cookie];
  }
  EXPECT_EQ(wrong, 0);

  // veth pairs and their moves, with the right ends.
  for (const auto& a : actions) {
    if (a["op"] == "veth") {
      veths++;
      bool found = false;
      for (const auto& e : of_kind(ev, "veth-created")) {
        std::set<std::string> names = {e.value("ifname", ""), e["peer"].value("ifname", "")};
        if (names == std::set<std::string>{a["a"], a["b"]}) {
          found = true;
          uint64_t ia = e.value("ifname", "") == a["a"] ? nst::as_u64(e["inode"]) : nst::as_u64(e["peer"]["inode"]);
          uint64_t ib = e.value("ifname", "") == a["b"] ? nst::as_u64(e["inode"]) : nst::as_u64(e["peer"]["inode"]);
          EXPECT_EQ(ia, nst::as_u64(a["a_inode"])) << e.dump();
          EXPECT_EQ(ib, nst::as_u64(a["b_inode"])) << e.dump();
        }
      }
      EXPECT_TRUE(found) << "no veth-created for " << a.dump();
    }
    if (a["op"] == "move") {
      moves++;
      int found = 0;
      for (const auto& e : of_kind(ev, "iface-moved"))
        if (e.value("ifname", "") == a["ifname"] && nst::as_u64(e["old_inode"]) == nst::as_u64(a["from"]) &&
            nst::as_u64(e["inode"]) == nst::as_u64(a["to"]))
          found++;
      EXPECT_EQ(found, 1) << "move " << a.dump();
    }
  }
  EXPECT_GT(veths, 0);
  // A move needs a second named namespace alive 30 ms after the veth: in the VM, where the
  // churn runs several times slower, a run can have none (each made move is still checked).
  if (!nst::in_vm()) {
    EXPECT_GT(moves, 0);
  }
  EXPECT_TRUE(of_kind(ev, "lost").empty()) << "the kernel side lost changes";

  // What the iproute2 monitors saw of the same run: ip monitor all-nsid tells a namespace
  // only when it gets an nsid (here: when a veth leads to it), ip netns monitor only the
  // names under /run/netns.
  int nsid_made = 0, nsid_ended = 0, netns_made = 0, netns_ended = 0;
  for (const auto& l : nst::split_lines(nst::read_file(dir / "nsid.out"))) {
    if (l.find("]nsid ") != std::string::npos) nsid_made++;
    if (l.find("]Deleted nsid ") != std::string::npos) nsid_ended++;
  }
  for (const auto& l : nst::split_lines(nst::read_file(dir / "netns.out"))) {
    if (l.rfind("add ", 0) == 0) netns_made++;
    if (l.rfind("delete ", 0) == 0) netns_ended++;
  }
  std::printf("churn: %d namespaces made and ended (%d veth pairs, %d moves); watch told every one, in "
              "%zu events; ip monitor all-nsid told %d made and %d ended, ip netns monitor %d made "
              "and %d ended\n",
              count, veths, moves, ev.size(), nsid_made, nsid_ended, netns_made, netns_ended);
  RecordProperty("ip_monitor_all_nsid_made", nsid_made);
  RecordProperty("ip_netns_monitor_made", netns_made);
  std::vector<std::string> left;
  for (const auto& l : nst::leftovers_after_reaping())  // but the test's own temp dirs (nst<pid>_*)
    if (l.find(nst::prefix() + "_") == std::string::npos) left.push_back(l);
  EXPECT_TRUE(left.empty()) << left.front();
}

TEST(Watch, BadInput) {
  auto r = nst::nscope({"watch", "-t", "nope"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("unknown namespace type 'nope'"), std::string::npos) << r.err;
  r = nst::nscope({"watch", "--netns", "no-such-namespace-" + nst::prefix()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--netns"), std::string::npos) << r.err;
}

TEST(Watch, NetnsFilterAndDuration) {
  std::string na = nst::unique_name('f'), nb = nst::unique_name('g');
  nst::NamedNetns a(na);
  ASSERT_TRUE(a.ok()) << a.error();
  uint64_t ino_a = nst::ns_inode(a.path());
  Watch w({"--netns", na, "--duration", in_vm() ? "60s" : "8s"});
  ASSERT_TRUE(w.ready()) << w.err();
  std::string v = nst::unique_name('v');
  ip({"link", "add", v, "type", "veth", "peer", "name", nst::unique_name('w'), "netns", na});
  {
    nst::NamedNetns b(nb);  // outside the filter: not told
    ASSERT_TRUE(b.ok());
  }
  ASSERT_TRUE(wait_event(w, "veth-created", 0, in_vm() ? 20s : 2s));
  ip({"link", "del", v});
  ASSERT_TRUE(wait_event(w, "iface-deleted", ino_a, in_vm() ? 20s : 2s));
  EXPECT_EQ(w.stop(), 0);
  for (const auto& e : w.events()) {
    if (e["event"] == "snapshot") continue;
    bool about_a = nst::as_u64(e["inode"]) == ino_a || (e.contains("peer") && nst::as_u64(e["peer"]["inode"]) == ino_a);
    EXPECT_TRUE(about_a) << e.dump();
  }
}

}  // namespace
