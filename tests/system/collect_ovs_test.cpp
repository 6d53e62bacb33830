// System tests for `collect -c ovs`: a real Open vSwitch, Debian's
// openvswitch-switch (ovsdb-server and ovs-vswitchd, unpacked where
// NSCOPE_OVS_ROOT says: tests/kernels/run.sh fetches it), driving the kernel
// datapath of the openvswitch module. A bridge with two ports, veths whose
// other ends are in two namespaces, a ping across: the first packets miss the
// datapath's flow table, go up to ovs-vswitchd (ovs_dp_upcall), and come back
// as new skbs it executes (ovs_do_execute_action). Skipped where the module
// cannot be loaded (the development hosts); run under Debian's 6.1 kernel by
// tests/kernels/run.sh.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "testenv.h"

namespace {

using nst::json;

bool module_loaded() { return access("/sys/module/openvswitch", F_OK) == 0; }

// An ovsdb-server and an ovs-vswitchd of our own, their sockets, database and
// logs in a temporary directory; stopped (by their pid files) and the bridge
// deleted on destruction.
struct OvsSwitch {
  std::string root;  // NSCOPE_OVS_ROOT
  nst::TempDir dir;
  std::string bridge = nst::unique_name('o');
  bool ok = false;
  std::string error;

  explicit OvsSwitch(std::string r) : root(std::move(r)) {
    std::string d = dir.path(), sock = "unix:" + dir / "db.sock";
    std::string script = fmt::format(
        "set -e\n"
        "ovsdb-tool create {d}/conf.db "
        "{r}/usr/share/openvswitch/vswitch.ovsschema\n"
        "ovsdb-server {d}/conf.db --remote=punix:{d}/db.sock "
        "--pidfile={d}/ovsdb-server.pid "
        "--log-file={d}/ovsdb-server.log --no-chdir --detach\n"
        "ovs-vsctl --db={s} --no-wait init\n"
        "{r}/usr/lib/openvswitch-switch/ovs-vswitchd {s} "
        "--pidfile={d}/ovs-vswitchd.pid "
        "--log-file={d}/ovs-vswitchd.log --no-chdir --detach\n"
        "ovs-vsctl --db={s} --timeout=60 add-br {b}\n",
        fmt::arg("d", d), fmt::arg("r", root), fmt::arg("s", sock), fmt::arg("b", bridge));
    auto res = sh(script);
    ok = res.exit_code == 0;
    if (!ok) error = res.describe() + logs();
  }
  ~OvsSwitch() {
    sh(fmt::format("ovs-vsctl --db=unix:{} --timeout=20 --if-exists del-br {}", dir / "db.sock",
                   bridge));
    for (const char* daemon : {"ovs-vswitchd", "ovsdb-server"}) {
      std::ifstream f(dir / (std::string(daemon) + ".pid"));
      pid_t pid = 0;
      if (f >> pid && pid > 1) kill(pid, SIGTERM);
    }
  }
  nst::RunResult sh(const std::string& script) const {
    nst::RunOptions o = nst::with_timeout(std::chrono::seconds(120));
    o.env = {"PATH=" + root + "/usr/bin:" + root + "/usr/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LD_LIBRARY_PATH=" + root + "/usr/lib/x86_64-linux-gnu",
             "OVS_RUNDIR=" + dir.path(),
             "OVS_LOGDIR=" + dir.path(),
             "OVS_DBDIR=" + dir.path(),
             "OVS_SYSCONFDIR=" + dir.path(),
             "OVS_PKGDATADIR=" + root + "/usr/share/openvswitch"};
    return nst::run({"/bin/sh", "-c", script}, o);
  }
  nst::RunResult vsctl(const std::string& args) const {
    return sh(fmt::format("ovs-vsctl --db=unix:{} --timeout=60 {}", dir / "db.sock", args));
  }
  std::string logs() const {
    return "\novs-vswitchd.log:\n" + nst::read_file(dir / "ovs-vswitchd.log") +
           "\novsdb-server.log:\n" + nst::read_file(dir / "ovsdb-server.log");
  }
};

std::vector<json> json_lines(const std::string& path) {
  std::vector<json> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// The body of both tests. kprobes: collect runs with NSCOPE_OVS_MODE=kprobe,
// the fallback for kernels whose module has no tracepoints.
void upcall_and_execution_in_one_series(bool kprobes);

}  // namespace

TEST(CollectOvs, UpcallAndItsExecutionAreOneSeriesInSort) { upcall_and_execution_in_one_series(false); }

// Where kprobes load (the 6.1 VM), the fallback on the same bridge and ping.
TEST(CollectOvs, KprobeFallbackGivesTheSameSeries) { upcall_and_execution_in_one_series(true); }

namespace {
void upcall_and_execution_in_one_series(bool kprobes) {
  if (!module_loaded()) nst::run({"modprobe", "openvswitch"});
  if (!module_loaded()) GTEST_SKIP() << "no openvswitch module on this kernel";
  const char* root = getenv("NSCOPE_OVS_ROOT");
  if (!root || access((std::string(root) + "/usr/sbin/ovsdb-server").c_str(), X_OK) != 0)
    GTEST_SKIP() << "no Open vSwitch userspace (NSCOPE_OVS_ROOT: "
                    "tests/kernels/run.sh sets it)";

  OvsSwitch sw(root);
  ASSERT_TRUE(sw.ok) << sw.error;
  nst::NamedNetns a{nst::unique_name('a')}, b{nst::unique_name('b')};
  ASSERT_TRUE(a.ok() && b.ok()) << a.error() << b.error();
  std::string va = nst::unique_name('v'), vb = nst::unique_name('w');
  std::string pa = nst::unique_name('p'), pb = nst::unique_name('q');
  int x = getpid() % 200 + 20;
  std::string ip_a = fmt::format("10.{}.0.1", x), ip_b = fmt::format("10.{}.0.2", x);
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ip", "link", "add", va, "netns", a.name(), "type", "veth", "peer", "name", pa},
           {"ip", "link", "add", vb, "netns", b.name(), "type", "veth", "peer", "name", pb},
           {"ip", "-n", a.name(), "addr", "add", ip_a + "/24", "dev", va},
           {"ip", "-n", b.name(), "addr", "add", ip_b + "/24", "dev", vb},
           {"ip", "-n", a.name(), "link", "set", va, "up"},
           {"ip", "-n", b.name(), "link", "set", vb, "up"},
           {"ip", "link", "set", pa, "up"},
           {"ip", "link", "set", pb, "up"}}) {
    auto r = nst::run(argv);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }
  auto ports =
      sw.vsctl(fmt::format("add-port {} {} -- add-port {} {}", sw.bridge, pa, sw.bridge, pb));
  ASSERT_EQ(ports.exit_code, 0) << ports.describe() << sw.logs();

  // ovs-vswitchd restarts its handler threads after the ports come: wait until
  // the bridge passes a ping, then empty the datapath's flow table so that the
  // ping traced misses it.
  bool passes = false;
  for (int i = 0; i < 10 && !passes; ++i)
    passes = nst::run({"ip", "netns", "exec", a.name(), "ping", "-c", "1", "-W", "2", ip_b},
                      nst::with_timeout(std::chrono::seconds(10)))
                 .exit_code == 0;
  ASSERT_TRUE(passes) << "the bridge passes no ping" << sw.logs();
  auto flushed = sw.sh("ovs-dpctl del-flows");
  ASSERT_EQ(flushed.exit_code, 0) << flushed.describe();

  nst::TempDir dir;
  std::string file = dir / "events.json", sorted = dir / "sorted.json";
  // skb-tracking comes with ovs; ct and --stack put their parts of a record around ovs's.
  if (kprobes) setenv("NSCOPE_OVS_MODE", "kprobe", 1);
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev,ct,ovs", "--stack", "-o", file, "--cmd",
                        "sleep 1; ip netns exec " + a.name() + " ping -c 3 -i 0.5 -W 5 " + ip_b},
                       nst::with_timeout(std::chrono::seconds(120)));
  unsetenv("NSCOPE_OVS_MODE");
  if (kprobes && r.err.find("does not allow kprobes") != std::string::npos)
    GTEST_SKIP() << "this kernel does not allow kprobes";
  ASSERT_EQ(r.exit_code, 0) << "ping's status " << r.describe() << sw.logs();
  EXPECT_EQ(r.err.find("ovs: kprobes on ovs_dp_upcall") != std::string::npos, kprobes) << r.err;
  const std::string upcall_symbol = kprobes ? "ovs_dp_upcall" : "openvswitch:ovs_dp_upcall";
  const std::string exec_symbol =
      kprobes ? "do_execute_actions" : "openvswitch:ovs_do_execute_action";

  // The events: upcalls from port pa's device with a queue id, executions with
  // actions.
  std::set<uint64_t> upcall_queues;
  int upcalls = 0, executes = 0, outputs = 0;
  bool linked_by_queue = false;
  uint64_t host_ns = nst::own_ns_inode("net");
  for (const json& ev : json_lines(file)) {
    if (!ev.contains("ovs")) continue;
    const json& o = ev["ovs"];
    EXPECT_TRUE(ev.contains("skb-tracking")) << ev.dump();
    ASSERT_TRUE(ev.contains("netns")) << ev.dump();
    EXPECT_EQ(nst::as_u64(ev["netns"]["inum"]), host_ns) << "the bridge's ports are the host's";
    if (o["event_type"] == "upcall") {
      ++upcalls;
      EXPECT_EQ(ev["kernel"]["symbol"], upcall_symbol) << ev.dump();
      EXPECT_EQ(o["cmd"], 1) << "a miss: " << ev.dump();
      EXPECT_GT(o["port"].get<uint64_t>(), 0u) << ev.dump();
      ASSERT_TRUE(o.contains("queue_id")) << ev.dump();
      upcall_queues.insert(o["queue_id"].get<uint64_t>());
      ASSERT_TRUE(ev["kernel"].contains("stack_trace")) << ev.dump();
      EXPECT_NE(ev["kernel"]["stack_trace"].dump().find("ovs_dp_process_packet"), std::string::npos)
          << ev.dump();
      EXPECT_TRUE(ev["dev"]["name"] == pa || ev["dev"]["name"] == pb) << ev.dump();
    } else if (o["event_type"] == "action_execute") {
      ++executes;
      EXPECT_EQ(ev["kernel"]["symbol"], exec_symbol) << ev.dump();
      if (o["action"] == "output") {
        ++outputs;
        EXPECT_GT(o["port"].get<uint64_t>(), 0u) << ev.dump();
      }
      if (o.contains("queue_id") && upcall_queues.count(o["queue_id"].get<uint64_t>()))
        linked_by_queue = true;
    }
  }
  EXPECT_GT(upcalls, 0) << r.err;
  EXPECT_GT(executes, 0) << r.err;
  EXPECT_GT(outputs, 0);
  EXPECT_TRUE(linked_by_queue) << "no execution carried an upcall's queue id";

  // sort: one series holds an upcall and the execution of the packet sent back.
  auto s = nst::nscope({"sort", file, "-o", sorted});
  ASSERT_EQ(s.exit_code, 0) << s.describe();
  int series_with_both = 0;
  for (const json& series : json_lines(sorted)) {
    bool up = false, exec = false;
    for (const json& ev : series["events"])
      if (ev.contains("ovs")) {
        up |= ev["ovs"]["event_type"] == "upcall";
        exec |= ev["ovs"]["event_type"] == "action_execute";
      }
    series_with_both += up && exec;
  }
  EXPECT_GT(series_with_both, 0) << nst::read_file(sorted);
  auto text = nst::nscope({"sort", file});
  ASSERT_EQ(text.exit_code, 0) << text.describe();
  EXPECT_NE(text.out.find("upcall (miss) port"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("exec oport"), std::string::npos) << text.out;
}
}  // namespace
