// System tests for collect across CPUs: a ring buffer per CPU, several reader threads, and
// --cpus. Real namespaces joined by a veth pair, pings pinned to each CPU, real BPF programs.
// Every object is named with the test prefix and removed by its guard.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "testenv.h"
#include "util/cpus.h"
#include "util/strings.h"

namespace {

using nst::json;

struct File {
  std::vector<json> events;
  json stats;
};

File read_file_events(const std::string& path) {
  File f;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (j.contains("stats")) f.stats = j["stats"];
    else if (!j.contains("startup")) f.events.push_back(j);
  }
  return f;
}

// The CPUs a file's events came from, and how far its worst event is behind one written
// before it (0 for a file in time order).
struct Order {
  std::set<int> cpus;
  uint64_t disorder = 0;
};
Order order_of(const File& f) {
  Order o;
  uint64_t clock = 0;
  for (const json& e : f.events) {
    o.cpus.insert(e["common"]["smp_id"].get<int>());
    uint64_t ts = e["common"]["timestamp"];
    o.disorder = std::max(o.disorder, clock > ts ? clock - ts : 0);
    clock = std::max(clock, ts);
  }
  return o;
}

// A shell command that pings from a to b on each online CPU at once (taskset), `n` echoes
// each, and waits for all of them.
std::string pings_on_every_cpu(const nst::VethPair& p, int n) {
  std::string cmd;
  for (int cpu : nscope::online_cpus())
    cmd += fmt::format("taskset -c {} ip netns exec {} ping -q -c {} -i 0.01 -W 1 {} >/dev/null & ", cpu,
                       p.a.name(), n, p.ip_b);
  return cmd + "wait";
}

// Nscope ring buffers the kernel still holds (bpftool names them nscope_ring).
int rings_left() {
  int n = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = nst::run({"bpftool", "map", "show"});
    n = 0;
    for (size_t at = 0; (at = r.out.find("name nscope_ring", at)) != std::string::npos; ++at) ++n;
    if (n == 0) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return n;
}

// Each CPU's events come through its own ring and one of two readers: pings running on every
// CPU at once are all seen, from every CPU, at both ends of the veth; the file is out of time
// order by well under sort's window, and sort makes whole paths of it.
TEST(CollectPerCpu, EveryCpuEveryEventThroughTwoReaders) {
  if (nscope::online_cpus().size() < 2) GTEST_SKIP() << "one CPU online";
  nst::VethPair p(217);
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  const int n = 50;
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev,skb-tracking", "--readers", "2", "-o", file, "--cmd",
                        pings_on_every_cpu(p, n)},
                       nst::with_timeout(std::chrono::seconds(60)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  size_t cpus = nscope::online_cpus().size();
  EXPECT_NE(r.err.find(fmt::format("({} ring buffers of", cpus)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 readers)"), std::string::npos) << r.err;
  File f = read_file_events(file);
  EXPECT_EQ(f.stats["lost"], 0);
  EXPECT_EQ(f.stats["events"], f.events.size());

  // Echo requests (ICMP type 8) by pinger (ICMP id) and sequence: sent from a, received in b.
  Order order = order_of(f);
  std::map<std::string, std::set<std::pair<int, int>>> requests;  // "xmit a" / "recv b"
  for (const json& e : f.events) {
    auto key = nst::echo_request(e);
    if (!key) continue;
    std::string sym = e["kernel"]["symbol"];
    uint64_t ns = e["netns"]["inum"];
    if (sym == "net:net_dev_start_xmit" && ns == p.ino_a) requests["xmit a"].insert(*key);
    if (sym == "net:netif_receive_skb" && ns == p.ino_b) requests["recv b"].insert(*key);
  }
  EXPECT_EQ(order.cpus.size(), cpus) << "events from every CPU";
  EXPECT_GE(requests["xmit a"].size(), cpus * n * 9 / 10);  // ping -W 1 may give up on a few
  EXPECT_EQ(requests["recv b"], requests["xmit a"]) << "every request seen at both ends";
  EXPECT_LT(order.disorder, 1'000'000'000u) << "file order within a second of time order";

  auto sorted = nst::nscope({"sort", file}, nst::with_timeout(std::chrono::seconds(30)));
  ASSERT_EQ(sorted.exit_code, 0) << sorted.describe();
  EXPECT_EQ(sorted.err.find("continued"), std::string::npos) << sorted.err;
  EXPECT_EQ(rings_left(), 0);
}

// One reader merges its CPUs' rings by time: the file is in time order (to within what an
// interrupt nesting one event inside another on a CPU can do: microseconds), where reading
// one ring after the other jumped back by up to a poll's worth of events at every switch.
TEST(CollectPerCpu, OneReaderWritesInTimeOrder) {
  if (nscope::online_cpus().size() < 2) GTEST_SKIP() << "one CPU online";
  nst::VethPair p(217);
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  auto r = nst::nscope({"collect", "--readers", "1", "-o", file, "--cmd", pings_on_every_cpu(p, 50)},
                       nst::with_timeout(std::chrono::seconds(60)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  File f = read_file_events(file);
  Order order = order_of(f);
  EXPECT_EQ(order.cpus.size(), nscope::online_cpus().size());
  EXPECT_GE(f.events.size(), 200u);
  EXPECT_LT(order.disorder, 1'000'000u) << "an event more than 1 ms behind one written before it";
}

// --count is exact however many readers take events at once.
TEST(CollectPerCpu, CountIsExactAcrossReaders) {
  if (nscope::online_cpus().size() < 2) GTEST_SKIP() << "one CPU online";
  nst::VethPair p(217);
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  nst::Child traffic([&](nst::Channel& c) {
    c.send("ready");
    std::string cmd = pings_on_every_cpu(p, 200);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  });
  traffic.wait_ready();
  auto r = nst::nscope({"collect", "--readers", "2", "-o", file, "--count", "37"},
                       nst::with_timeout(std::chrono::seconds(20)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  File f = read_file_events(file);
  EXPECT_EQ(f.events.size(), 37u);
  EXPECT_EQ(f.stats["events"], 37);
  EXPECT_NE(r.err.find("stopped: count"), std::string::npos) << r.err;
}

// The threads' CPUs, from /proc/PID/task/*/status: "Cpus_allowed_list: 1".
std::set<std::string> thread_cpus(pid_t pid) {
  std::set<std::string> out;
  for (const auto& t : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid))) {
    std::string status = nst::read_file(t.path() / "status");
    size_t at = status.find("Cpus_allowed_list:");
    if (at == std::string::npos) continue;
    size_t end = status.find('\n', at);
    out.insert(std::string(nscope::trim(status.substr(at + 18, end - at - 18))));
  }
  return out;
}

// --cpus puts every one of nscope's threads there; SIGTERM then stops all the readers, and
// what they read is in the file with the stats line, nothing left in the kernel.
TEST(CollectPerCpu, CpusPinsEveryThreadAndSigtermDrainsEveryReader) {
  std::vector<int> online = nscope::online_cpus();
  if (online.size() < 2) GTEST_SKIP() << "one CPU online";
  nst::VethPair p(217);
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json", errfile = dir / "err.txt";
  std::string cpu = std::to_string(online.back());
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(errfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    execl(nst::nscope_bin(), "nscope", "collect", "--cpus", cpu.c_str(), "--readers", "2", "-o", file.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  bool attached = false;
  for (int i = 0; i < 200 && !attached; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    attached = nst::read_file(errfile).find("attached") != std::string::npos;
  }
  EXPECT_TRUE(attached) << nst::read_file(errfile);
  std::set<std::string> pinned = thread_cpus(pid);
  auto ping = nst::run({"sh", "-c", pings_on_every_cpu(p, 20)});
  EXPECT_EQ(ping.exit_code, 0) << ping.describe();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << nst::read_file(errfile);
  EXPECT_EQ(pinned, std::set<std::string>{cpu}) << "every thread on CPU " << cpu;
  File f = read_file_events(file);
  EXPECT_EQ(f.stats["lost"], 0);
  EXPECT_EQ(f.stats["events"], f.events.size());
  size_t requests = 0;
  for (const json& e : f.events)
    if (nst::echo_request(e) && e["kernel"]["symbol"] == "net:netif_receive_skb") ++requests;
  EXPECT_GE(requests, online.size() * 20 * 9 / 10) << "the echo requests, received in b";
  EXPECT_EQ(rings_left(), 0);
}

// --cpus is where nscope runs, not the command it starts: --cmd keeps the CPUs collect was
// started with.
TEST(CollectPerCpu, CommandKeepsItsCpus) {
  std::vector<int> online = nscope::online_cpus();
  if (online.size() < 2) GTEST_SKIP() << "one CPU online";
  nst::TempDir dir;
  std::string seen = dir / "cpus.txt";
  auto r = nst::nscope({"collect", "--cpus", std::to_string(online.back()), "-o", "/dev/null", "--cmd",
                        "grep Cpus_allowed_list /proc/self/status > " + seen},
                       nst::with_timeout(std::chrono::seconds(20)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  std::string line = nst::read_file(seen);
  EXPECT_NE(line.find(nscope::format_cpu_list(nscope::allowed_cpus())), std::string::npos) << line;
}

// A CPU list nscope cannot use is a usage error that names it and what may be used.
TEST(CollectPerCpu, BadCpusAndReadersExitTwo) {
  std::string may = nscope::format_cpu_list(nscope::allowed_cpus());
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--cpus", "1000"}, "CPU 1000 is not one nscope may run on (it may use " + may + ")"},
      {{"--cpus", "1-x"}, "'1-x' is not a CPU or a range of CPUs (such as 0-3,8)"},
      {{"--cpus", "3-1"}, "'3-1' is not a CPU"},
      {{"--readers", "0"}, "--readers"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{"collect", "-o", "/dev/null"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = nst::nscope(args);
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.describe();
  }
}

}  // namespace
