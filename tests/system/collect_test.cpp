// System tests for `nscope collect`: real namespaces joined by a veth pair, real pings,
// real BPF programs. Every object is named with the test prefix and removed by its guard.
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "discover/netns.h"
#include "events/format.h"
#include "events/reader.h"
#include "netlink/rtnl.h"
#include "testenv.h"
#include "util/fd.h"

namespace {

using nst::json;

using Pair = nst::VethPair;

// SO_NETNS_COOKIE and an interface's index, read inside a namespace.
struct Inside {
  uint64_t cookie = 0;
  int ifindex = 0;
};
Inside inside(const std::string& nspath, const std::string& ifname) {
  Inside in;
  nscope::Fd fd(::open(nspath.c_str(), O_RDONLY | O_CLOEXEC));
  (void)nscope::in_netns(fd.get(), [&] {
    if (auto c = nscope::current_netns_cookie()) in.cookie = *c;
    in.ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  });
  return in;
}

std::vector<json> read_events(const std::string& path, json* startup = nullptr,
                              json* stats = nullptr) {
  std::vector<json> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (j.contains("startup")) {
      if (startup) *startup = j;
    } else if (j.contains("stats")) {
      if (stats) *stats = j;
    } else {
      out.push_back(j);
    }
  }
  return out;
}

// Collect programs still loaded (named probe_<slot>, kprobe_<slot>, kretprobe_<slot> and
// kret_entry), from bpftool. The kernel
// frees a detached program a moment after its last reference goes: wait up to 3 s for 0.
int collect_programs_loaded(bool wait_for_none = true) {
  int n = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = nst::run({"bpftool", "prog", "show"});
    n = 0;
    std::istringstream is(r.out);
    std::string line;
    while (std::getline(is, line))
      for (const char* name : {"name probe_", "name kprobe_", "name kretprobe_", "name kret_entry"})
        if (line.find(name) != std::string::npos) ++n;
    if (n == 0 || !wait_for_none) return n;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return n;
}


}  // namespace

TEST(Collect, PingAcrossVethTagsBothNamespaces) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev", "-o", file, "--print", "--cmd",
                        "ip netns exec " + p.a.name() + " ping -c 2 -i 0.2 -W 1 " + p.ip_b},
                       nst::with_timeout(std::chrono::seconds(30)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("2 probes attached"), std::string::npos) << r.err;

  Inside in_a = inside(p.a.path(), p.va), in_b = inside(p.b.path(), p.vb);
  ASSERT_NE(in_a.cookie, 0u);
  json startup;
  auto events = read_events(file, &startup);
  ASSERT_TRUE(startup.contains("startup"));
  EXPECT_EQ(startup["startup"]["probes"].size(), 2u);
  // The command line as a shell takes it back: --cmd's words quoted as one.
  EXPECT_NE(std::string(startup["startup"]["cmdline"]).find(
                "--cmd 'ip netns exec " + p.a.name() + " ping -c 2 -i 0.2 -W 1 " + p.ip_b + "'"),
            std::string::npos)
      << startup.dump();

  // Echo requests: sent at net_dev_start_xmit in A, received at netif_receive_skb in B.
  int tx = 0, rx = 0;
  std::string req = p.ip_a + " > " + p.ip_b;
  for (const auto& ev : events) {
    if (!ev.contains("packet") || !ev.contains("netns") || !ev.contains("dev")) continue;
    nscope::SymbolTable syms;
    nscope::Event e;
    ASSERT_TRUE(nscope::parse_event_line(ev.dump(), syms, e, nullptr).ok());
    std::string text;
    nscope::format_event_text(e, {}, text);
    if (text.find(req) == std::string::npos || text.find("proto ICMP (1) type 8 code 0") == std::string::npos)
      continue;
    std::string sym = ev["kernel"]["symbol"];
    uint64_t inum = nst::as_u64(ev["netns"]["inum"]);
    uint64_t cookie = nst::as_u64(ev["netns"]["cookie"]);
    if (sym == "net:net_dev_start_xmit") {
      ++tx;
      EXPECT_EQ(inum, p.ino_a);
      EXPECT_EQ(cookie, in_a.cookie);
      EXPECT_EQ(ev["dev"]["name"], p.va);
      EXPECT_EQ(ev["dev"]["ifindex"], in_a.ifindex);
    } else if (sym == "net:netif_receive_skb") {
      ++rx;
      EXPECT_EQ(inum, p.ino_b);
      EXPECT_EQ(cookie, in_b.cookie);
      EXPECT_EQ(ev["dev"]["name"], p.vb);
      EXPECT_EQ(ev["dev"]["ifindex"], in_b.ifindex);
    }
  }
  EXPECT_EQ(tx, 2);
  EXPECT_EQ(rx, 2);
  // The live text names the namespaces (their `ip netns` names).
  EXPECT_NE(r.out.find("netns " + std::to_string(p.ino_a) + " cookie " +
                       std::to_string(in_a.cookie) + " (" + p.a.name() + ")"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("if " + std::to_string(in_b.ifindex) + " (" + p.vb + ") " + req),
            std::string::npos)
      << r.out;
  EXPECT_EQ(collect_programs_loaded(), 0);
}

TEST(Collect, RetisFormatLiveIsWhatPrintShowsOfTheFile) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev,skb-tracking", "-o", file, "--print",
                        "--format", "retis", "--cmd",
                        "ip netns exec " + p.a.name() + " ping -c 1 -W 1 " + p.ip_b + " >/dev/null"},
                       nst::with_timeout(std::chrono::seconds(30)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  Inside in_a = inside(p.a.path(), p.va);
  // Retis's one namespace-and-device line, the cookie in hex.
  EXPECT_NE(r.out.find(fmt::format("  ns {:#x}/{} if {} ({})\n", in_a.cookie, p.ino_a,
                                   in_a.ifindex, p.va)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(p.ip_a + " > " + p.ip_b + " tos 0x0 ttl 64 id "), std::string::npos) << r.out;
  auto printed = nst::nscope({"print", "--format", "retis", file});
  ASSERT_EQ(printed.exit_code, 0) << printed.describe();
  EXPECT_EQ(printed.out, r.out);
  auto bad = nst::nscope({"collect", "--format", "tcpdump", "-c", "skb", "--count", "1"});
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("--format"), std::string::npos) << bad.err;
}

TEST(Collect, ExitsWithTheStatusOfItsCommand) {
  // As `time` and `strace` do: a script can tell the traced command failed.
  for (const auto& [cmd, want] : std::vector<std::pair<std::string, int>>{
           {"true", 0}, {"exit 3", 3}, {"kill -TERM $$", 128 + SIGTERM}}) {
    auto r = nst::nscope({"collect", "-c", "skb", "--cmd", cmd},
                         nst::with_timeout(std::chrono::seconds(30)));
    EXPECT_EQ(r.exit_code, want) << cmd << "\n" << r.describe();
    EXPECT_NE(r.err.find("(stopped: command exited)"), std::string::npos) << r.err;
  }
  // Stopped for another reason, collect's own status: the command was not let finish.
  auto r = nst::nscope({"collect", "-c", "skb", "--duration", "0.3s", "--cmd", "sleep 5; exit 4"},
                       nst::with_timeout(std::chrono::seconds(30)));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(collect_programs_loaded(), 0);
}

TEST(Collect, JsonFileReadsBackIntoTheSameEvents) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  auto r = nst::nscope({"collect", "-o", file, "--print", "--cmd",
                        "ip netns exec " + p.a.name() + " ping -c 1 -W 1 " + p.ip_b + " >/dev/null"},
                       nst::with_timeout(std::chrono::seconds(30)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  // Re-render every event of the file the way collect printed it live.
  std::ifstream f(file);
  std::string line, text;
  nscope::SymbolTable syms;
  std::unordered_map<uint32_t, std::string> names{{static_cast<uint32_t>(p.ino_a), p.a.name()},
                                                  {static_cast<uint32_t>(p.ino_b), p.b.name()}};
  nscope::TextOptions opt;
  opt.names = &names;
  int n = 0;
  while (std::getline(f, line)) {
    nscope::Event e;
    auto k = nscope::parse_event_line(line, syms, e, nullptr);
    ASSERT_TRUE(k.ok()) << k.error().message << ": " << line;
    if (*k != nscope::LineKind::event) continue;
    nscope::format_event_text(e, opt, text);
    ++n;
  }
  EXPECT_GE(n, 2);
  // Live output names only namespaces known at start (ours were), in the same order.
  EXPECT_EQ(text, r.out);
}

TEST(Collect, CountStopsAfterNEvents) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  // Traffic keeps flowing; --count must stop collect by itself.
  std::string pinger = "ip netns exec " + p.a.name() + " ping -c 40 -i 0.05 -W 1 " + p.ip_b;
  nst::Child traffic([&](nst::Channel& c) {
    c.send("ready");
    execl("/bin/sh", "sh", "-c", pinger.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  });
  traffic.wait_ready();
  auto r = nst::nscope({"collect", "-o", file, "--count", "5"},
                       nst::with_timeout(std::chrono::seconds(20)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  json stats;
  auto events = read_events(file, nullptr, &stats);
  EXPECT_EQ(events.size(), 5u);
  ASSERT_TRUE(stats.contains("stats"));
  EXPECT_EQ(stats["stats"]["events"], 5);
  EXPECT_NE(r.err.find("stopped: count"), std::string::npos) << r.err;
  EXPECT_EQ(collect_programs_loaded(), 0);
}

// -o to a pipe (not a file: written plainly, no seeking) carries the same lines.
TEST(Collect, JsonToAPipe) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev", "-o", "/dev/stdout", "--cmd",
                        "ip netns exec " + p.a.name() + " ping -c 1 -W 1 " + p.ip_b + " >/dev/null"},
                       nst::with_timeout(std::chrono::seconds(20)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  std::istringstream in(r.out);
  std::string line, first, last;
  size_t events = 0;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (first.empty()) first = line;
    last = line;
    if (j.contains("common")) ++events;
  }
  EXPECT_NE(first.find("\"startup\""), std::string::npos);
  EXPECT_NE(last.find("\"stats\""), std::string::npos);
  EXPECT_GE(events, 4u);  // request and reply, each at xmit and receive
}

TEST(Collect, SigtermDetachesFlushesAndExitsZero) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  std::string errfile = dir / "err.txt";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(errfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl(nst::nscope_bin(), "nscope", "collect", "-o", file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  // Wait until it says it is attached.
  bool attached = false;
  for (int i = 0; i < 200 && !attached; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    attached = nst::read_file(errfile).find("attached") != std::string::npos;
  }
  EXPECT_TRUE(attached) << nst::read_file(errfile);
  EXPECT_GT(collect_programs_loaded(false), 0);
  auto ping = nst::run({"ip", "netns", "exec", p.a.name(), "ping", "-c", "2", "-i", "0.2", "-W", "1", p.ip_b});
  EXPECT_EQ(ping.exit_code, 0) << ping.describe();
  // While collect runs, the file fills in with whole lines, for a user following it.
  std::string live;
  for (int i = 0; i < 40 && std::count(live.begin(), live.end(), '\n') < 9; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    live = nst::read_file(file);
  }
  EXPECT_GE(std::count(live.begin(), live.end(), '\n'), 9) << "startup and 8 events, before the stop";
  EXPECT_TRUE(!live.empty() && live.back() == '\n');
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << nst::read_file(errfile);
  json stats;
  auto events = read_events(file, nullptr, &stats);
  EXPECT_GE(events.size(), 8u);  // 2 requests + 2 replies, each at xmit and receive
  ASSERT_TRUE(stats.contains("stats")) << "no stats line: the file was not flushed";
  EXPECT_EQ(stats["stats"]["lost"], 0);
  EXPECT_NE(nst::read_file(errfile).find("stopped: signal"), std::string::npos);
  EXPECT_EQ(collect_programs_loaded(), 0);
}

TEST(Collect, BadInputExitsTwoNamingTheChoices) {
  auto r = nst::nscope({"collect", "-c", "skb,bogus", "--count", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("valid collectors: skb, ns, dev"), std::string::npos) << r.err;
  r = nst::nscope({"collect", "-p", "net:no_such_tracepoint"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such tracepoint"), std::string::npos) << r.err;
  r = nst::nscope({"collect", "-p", "sched:sched_switch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("carries no sk_buff"), std::string::npos) << r.err;
  // (A probe kind the kernel refuses: CollectFunctions.AKindTheKernelRefusesIsAUsageError.)
  r = nst::nscope({"collect", "-p", "kprobe:"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("kprobe:FUNC"), std::string::npos) << r.err;
  // Sizes and times read as every option reads them (src/cli/units.h); a bad one is named.
  r = nst::nscope({"collect", "--buffer-size", "lots"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--buffer-size: 'lots': give a size such as 64M (at most 2G)"),
            std::string::npos) << r.err;
  r = nst::nscope({"collect", "--buffer-size", "4G"});
  EXPECT_EQ(r.exit_code, 2);
  r = nst::nscope({"collect", "--duration", "-3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--duration: '-3': give a time such as 10s, 500ms or 2m"),
            std::string::npos) << r.err;
  // Every bad value is a usage error that names it, none a silent default.
  for (const char* count : {"-1", "0", "ten"}) {
    r = nst::nscope({"collect", "--count", count, "--duration", "1s"});
    EXPECT_EQ(r.exit_code, 2) << count;
    EXPECT_NE(r.err.find("--count: '" + std::string(count) + "': give a number of events above 0"),
              std::string::npos)
        << r.err;
  }
  r = nst::nscope({"collect", "-p", "", "--duration", "1s"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("-p: no probe given"), std::string::npos) << r.err;
  r = nst::nscope({"collect", "-p", "*:*", "--duration", "1s"});  // more tracepoints than slots
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("collect attaches at most 32"), std::string::npos) << r.err;
  // Not root: one clear line, exit 1.
  nst::RunOptions nobody;
  nobody.uid = 65534;
  nobody.gid = 65534;
  r = nst::nscope({"collect", "--count", "1"}, nobody);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("needs root"), std::string::npos) << r.err;
}

TEST(Collect, FullDiskKeepsTheFileValid) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string mnt = dir / "small";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  ASSERT_EQ(nst::run({"mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt}).exit_code, 0);
  nst::MountGuard guard(mnt);
  std::string file = mnt + "/events.json";
  auto r = nst::nscope({"collect", "-o", file, "--duration", "20", "--cmd",
                        "ip netns exec " + p.a.name() + " ping -c 300 -i 0.01 -W 1 " + p.ip_b +
                            " >/dev/null"},
                       nst::with_timeout(std::chrono::seconds(40)));
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("keeps every whole event"), std::string::npos) << r.err;
  // Every line is whole JSON (read_events fails the test otherwise), and there are some.
  auto events = read_events(file);
  EXPECT_GT(events.size(), 10u);
  std::string content = nst::read_file(file);
  ASSERT_FALSE(content.empty());
  EXPECT_EQ(content.back(), '\n');
  EXPECT_EQ(collect_programs_loaded(), 0);
}

// skb-tracking and skb-drop: a UDP datagram to a closed port in B keeps one id from A's
// transmit to B's drop, and the drop says why.
TEST(Collect, TrackingFollowsAPacketToItsDrop) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  // bash's /dev/udp sends one datagram; the neighbour is resolved first so it leaves at once,
  // and a short wait lets its drop happen before the command (and so the collection) ends.
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev,skb-tracking,skb-drop", "-o", file, "--cmd",
                        "ip netns exec " + p.a.name() + " bash -c 'ping -c 1 -W 1 " + p.ip_b +
                            " >/dev/null; echo nscope > /dev/udp/" + p.ip_b + "/9; sleep 0.3'"},
                       nst::with_timeout(std::chrono::seconds(30)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto events = read_events(file);
  // The datagram: find its transmit in A, then every event with the same id.
  std::string id_head, id_ts;
  for (const auto& ev : events) {
    if (!ev.contains("skb-tracking") || ev["kernel"]["symbol"] != "net:net_dev_start_xmit") continue;
    nscope::SymbolTable syms;
    nscope::Event e;
    ASSERT_TRUE(nscope::parse_event_line(ev.dump(), syms, e, nullptr).ok());
    std::string text;
    nscope::format_event_text(e, {}, text);
    if (text.find(p.ip_a) != std::string::npos && text.find(p.ip_b + ".9 ") != std::string::npos) {
      id_head = ev["skb-tracking"]["orig_head"].dump();
      id_ts = ev["skb-tracking"]["timestamp"].dump();
      EXPECT_EQ(nst::as_u64(ev["netns"]["inum"]), p.ino_a);
    }
  }
  ASSERT_FALSE(id_head.empty()) << "no transmit of the datagram in " << file;
  std::vector<std::string> path;
  std::string drop;
  for (const auto& ev : events) {
    if (!ev.contains("skb-tracking") || ev["skb-tracking"]["orig_head"].dump() != id_head ||
        ev["skb-tracking"]["timestamp"].dump() != id_ts)
      continue;
    path.push_back(std::string(ev["kernel"]["symbol"]) + "@" +
                   std::to_string(nst::as_u64(ev["netns"]["inum"])));
    if (ev.contains("skb-drop")) drop = ev["skb-drop"]["drop_reason"];
  }
  std::string a = std::to_string(p.ino_a), b = std::to_string(p.ino_b);
  ASSERT_GE(path.size(), 3u);
  EXPECT_EQ(path[0], "net:net_dev_start_xmit@" + a);
  EXPECT_EQ(path[1], "net:netif_receive_skb@" + b);
  EXPECT_EQ(path.back(), "skb:kfree_skb@" + b);
  EXPECT_EQ(drop, "NO_SOCKET");
}

// ct: in a namespace where conntrack runs (an nft rule that matches on ct state), events
// carry the connection's state and tuples.
TEST(Collect, ConntrackSectionInAConntrackNamespace) {
  if (nst::find_tool("nft").empty()) GTEST_SKIP() << "nft is not installed";
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string rules = dir / "ct.nft";
  {
    std::ofstream f(rules);
    f << "table inet nscopetest {\n  chain out {\n    type filter hook output priority 0;\n"
         "    ct state new,established accept\n  }\n}\n";
  }
  auto nft = nst::run({"ip", "netns", "exec", p.a.name(), "nft", "-f", rules});
  ASSERT_EQ(nft.exit_code, 0) << nft.describe();
  std::string file = dir / "events.json";
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev,ct", "-o", file, "--cmd",
                        "ip netns exec " + p.a.name() + " ping -c 1 -W 1 " + p.ip_b + " >/dev/null"},
                       nst::with_timeout(std::chrono::seconds(30)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  bool seen = false;
  for (const auto& ev : read_events(file)) {
    if (!ev.contains("ct") || ev["kernel"]["symbol"] != "net:net_dev_start_xmit") continue;
    if (nst::as_u64(ev["netns"]["inum"]) != p.ino_a) continue;
    const json& ct = ev["ct"];
    if (ct["orig"]["proto"] != 1) continue;
    seen = true;
    EXPECT_EQ(ct["state"], "NEW");
    EXPECT_EQ(ct["orig"]["src"], p.ip_a);
    EXPECT_EQ(ct["orig"]["dst"], p.ip_b);
    EXPECT_EQ(ct["reply"]["src"], p.ip_b);
    EXPECT_EQ(ct["reply"]["dst"], p.ip_a);
    EXPECT_EQ(ct["zone_id"], 0);
  }
  EXPECT_TRUE(seen) << "no ct section on the echo request leaving " << p.a.name();
}

// ---- kernel function probes: kprobe, kretprobe, fentry, fexit ------------------------

namespace {

// What `nscope info` says of a program type: empty when it loads here, else the reason.
std::string refused(const std::string& type) {
  auto r = nst::nscope({"info", "--json"});
  json j = json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("probes") || !j["probes"].contains(type))
    return "nscope info says nothing of " + type;
  const json& p = j["probes"][type];
  return p.value("ok", false) ? "" : p.value("error", std::string("refused"));
}

// The events of one ping from A to B, traced at net_dev_start_xmit and at `probe`, with
// skb-tracking: the echo request is seen leaving A and arriving in B at `probe`.
void expect_probe_sees_the_ping(const std::string& probe, const std::string& type,
                                const std::string& function) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev,skb-tracking", "-p",
                        "net:net_dev_start_xmit," + probe, "-o", file, "--cmd",
                        "ip netns exec " + p.a.name() + " ping -c 1 -W 2 " + p.ip_b + " >/dev/null"},
                       nst::with_timeout(std::chrono::seconds(60)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  json startup;
  auto events = read_events(file, &startup);
  ASSERT_TRUE(startup.contains("startup"));
  EXPECT_NE(startup["startup"]["probes"].dump().find(probe), std::string::npos) << startup.dump();
  Inside in_b = inside(p.b.path(), p.vb);
  std::string sent_id;  // the echo request's tracking id, leaving A (not its ARP request's)
  for (const auto& ev : events)
    if (ev["kernel"]["symbol"] == "net:net_dev_start_xmit" && ev.contains("skb-tracking") &&
        ev.contains("netns") && nst::as_u64(ev["netns"]["inum"]) == p.ino_a && nst::echo_request(ev))
      sent_id = ev["skb-tracking"].dump();
  ASSERT_FALSE(sent_id.empty()) << "no echo request leaving " << p.a.name();
  int seen = 0;
  for (const auto& ev : events) {
    if (ev["kernel"]["symbol"] != function) continue;
    EXPECT_EQ(ev["kernel"]["probe_type"], type) << ev.dump();
    if (!ev.contains("netns") || nst::as_u64(ev["netns"]["inum"]) != p.ino_b) continue;
    ++seen;
    EXPECT_EQ(ev["dev"]["name"], p.vb) << ev.dump();
    EXPECT_EQ(ev["dev"]["ifindex"], in_b.ifindex) << ev.dump();
    EXPECT_EQ(nst::as_u64(ev["netns"]["cookie"]), in_b.cookie) << ev.dump();
    EXPECT_TRUE(ev.contains("packet")) << ev.dump();
    if (ev.contains("skb-tracking") && ev["skb-tracking"].dump() == sent_id) seen += 100;
  }
  EXPECT_GE(seen, 100) << "the echo request did not reach " << function << " in "
                       << p.b.name() << " with the id it left " << p.a.name() << " with ("
                       << sent_id << "); " << seen << " events there";
  EXPECT_EQ(collect_programs_loaded(), 0);
}

}  // namespace

TEST(CollectFunctions, KprobeSeesThePingWithNamespaceDeviceAndId) {
  if (auto why = refused("kprobe"); !why.empty()) GTEST_SKIP() << "kprobes do not load here: " << why;
  expect_probe_sees_the_ping("kprobe:ip_rcv", "kprobe", "ip_rcv");
}

// At a function's return the packet may already be freed (ip_rcv delivers it and the echo
// request is consumed before ip_rcv returns): kretprobe and fexit are tried on a function that
// hands the packet back, the route lookup of the receive path.
std::string returning_function() {
  std::unique_ptr<btf, void (*)(btf*)> b(btf__load_vmlinux_btf(), btf__free);
  for (const char* f : {"ip_route_input_noref", "ip_route_input_slow"})
    if (b && btf__find_by_name_kind(b.get(), f, BTF_KIND_FUNC) > 0) return f;
  return "";
}

TEST(CollectFunctions, KretprobeSeesThePingWithTheArgumentsOfTheCall) {
  if (auto why = refused("kprobe"); !why.empty()) GTEST_SKIP() << "kprobes do not load here: " << why;
  std::string fn = returning_function();
  ASSERT_FALSE(fn.empty()) << "no route-input function in this kernel's BTF";
  expect_probe_sees_the_ping("kretprobe:" + fn, "kretprobe", fn);
}

TEST(CollectFunctions, FentrySeesThePingWithNamespaceDeviceAndId) {
  if (auto why = refused("fentry"); !why.empty()) GTEST_SKIP() << "fentry does not load here: " << why;
  expect_probe_sees_the_ping("fentry:ip_rcv", "fentry", "ip_rcv");
}

TEST(CollectFunctions, FexitSeesThePing) {
  if (auto why = refused("fentry"); !why.empty()) GTEST_SKIP() << "fentry does not load here: " << why;
  std::string fn = returning_function();
  ASSERT_FALSE(fn.empty()) << "no route-input function in this kernel's BTF";
  expect_probe_sees_the_ping("fexit:" + fn, "fexit", fn);
}

// A glob takes every matching function with a packet argument; each event names its own.
TEST(CollectFunctions, KprobeGlobNamesEachFunction) {
  if (auto why = refused("kprobe"); !why.empty()) GTEST_SKIP() << "kprobes do not load here: " << why;
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  // veth_xmit is the veth module's: its prototype is in the module's BTF.
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev", "-p",
                        "kprobe:ip_rcv*,kprobe:icmp_rcv,kprobe:veth_xmit", "-o", file, "--cmd",
                        "ip netns exec " + p.a.name() + " ping -c 1 -W 2 " + p.ip_b + " >/dev/null"},
                       nst::with_timeout(std::chrono::seconds(60)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  std::set<std::string> names;
  for (const auto& ev : read_events(file)) {
    std::string sym = ev["kernel"]["symbol"];
    names.insert(sym);
    EXPECT_TRUE(sym.starts_with("ip_rcv") || sym == "icmp_rcv" || sym == "veth_xmit") << sym;
    EXPECT_EQ(ev["kernel"]["probe_type"], "kprobe");
    if (sym == "veth_xmit" && ev.contains("netns") && nst::as_u64(ev["netns"]["inum"]) == p.ino_a) {
      EXPECT_EQ(ev["dev"]["name"], p.va) << ev.dump();
    }
  }
  EXPECT_TRUE(names.count("ip_rcv")) << r.err;
  EXPECT_TRUE(names.count("icmp_rcv")) << r.err;
  EXPECT_TRUE(names.count("veth_xmit")) << r.err;
  // One kprobe-multi link a slot where the kernel has it (6.12), a kprobe a function if not.
  bool multi = refused("kprobe_multi").empty();
  EXPECT_EQ(r.err.find("through kprobe-multi") != std::string::npos, multi) << r.err;
  EXPECT_EQ(collect_programs_loaded(), 0);
}

// --stack: each event carries the kernel stack from the probed code out, named.
TEST(CollectFunctions, StackNamesTheCallers) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  const bool kprobes = refused("kprobe").empty();
  // Where kprobes load, ip_rcv's callers; else the receive tracepoint's.
  const std::string probe = kprobes ? "kprobe:ip_rcv" : "net:netif_receive_skb";
  const std::string symbol = kprobes ? "ip_rcv" : "net:netif_receive_skb";
  const std::string top = kprobes ? "ip_rcv+" : "__netif_receive_skb";
  nst::TempDir dir;
  std::string file = dir / "events.json";
  auto r = nst::nscope({"collect", "--stack", "-c", "skb,ns,dev", "-p", probe, "-o", file,
                        "--print", "--cmd",
                        "ip netns exec " + p.a.name() + " ping -c 1 -W 2 " + p.ip_b + " >/dev/null"},
                       nst::with_timeout(std::chrono::seconds(60)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  int seen = 0;
  for (const auto& ev : read_events(file)) {
    if (ev["kernel"]["symbol"] != symbol || !ev.contains("netns") ||
        nst::as_u64(ev["netns"]["inum"]) != p.ino_b)
      continue;
    ASSERT_TRUE(ev["kernel"].contains("stack_trace")) << ev.dump();
    const json& st = ev["kernel"]["stack_trace"];
    ASSERT_TRUE(st.is_array() && st.size() >= 3) << st.dump();
    std::string first = st[0];
    EXPECT_TRUE(first.starts_with(top)) << "innermost frame " << first << " of " << st.dump();
    bool rx = false;  // whatever the path in, it came through the receive core
    for (const auto& f : st) rx |= std::string(f).find("netif_receive_skb") != std::string::npos;
    EXPECT_TRUE(rx) << st.dump();
    for (const auto& f : st) EXPECT_EQ(std::string(f).find("bpf_prog_"), std::string::npos) << st.dump();
    ++seen;
  }
  EXPECT_GE(seen, 1) << "no " << symbol << " event in " << p.b.name();
  // The text prints the frames under the event's first line, and print reads them back.
  EXPECT_NE(r.out.find("\n    " + top), std::string::npos) << r.out;
  auto pr = nst::nscope({"print", file});
  ASSERT_EQ(pr.exit_code, 0) << pr.describe();
  EXPECT_EQ(pr.out, r.out);
}

// Where the kernel refuses a kind (this host: no kprobes, no trampolines), collect says so,
// names what does load, and exits 2.
TEST(CollectFunctions, AKindTheKernelRefusesIsAUsageError) {
  int tried = 0;
  for (auto [kind, type] : {std::pair{"kprobe:ip_rcv", "kprobe"}, {"kretprobe:ip_rcv", "kprobe"},
                            {"fentry:ip_rcv", "fentry"}, {"fexit:ip_rcv", "fentry"}}) {
    if (refused(type).empty()) continue;
    ++tried;
    auto r = nst::nscope({"collect", "-p", kind, "--count", "1"});
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_NE(r.err.find(std::string(kind) + ": this kernel does not allow"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("what loads here: tp_btf"), std::string::npos) << r.err;
  }
  if (!tried) GTEST_SKIP() << "this kernel loads every kind of function probe";
}
