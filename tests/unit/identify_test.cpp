// pids and identify without root: target syntax, /proc fixtures laid out as the kernel lays
// them out (status files, ns symlinks), made-up scans, and what the renderers write.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "discover/identify.h"
#include "discover/pids.h"
#include "render/list.h"
#include "render/pids.h"

using namespace nscope;
namespace fs = std::filesystem;

namespace {

// A temporary directory, removed with everything below it.
struct Tmp {
  std::string path;
  Tmp() {
    std::string t = (fs::temp_directory_path() / "nscope-identify-XXXXXX").string();
    path = mkdtemp(t.data()) ? t : "";
  }
  ~Tmp() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& rel) const { return path + "/" + rel; }
};

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string status(int tgid, int pid, char state, const std::string& name) {
  return "Name:\t" + name + "\nUmask:\t0022\nState:\t" + state + " (x)\nTgid:\t" + std::to_string(tgid) +
         "\nNgid:\t0\nPid:\t" + std::to_string(pid) + "\nPPid:\t1\n";
}

// ---- the target -------------------------------------------------------------------------

TEST(IdentifyTarget, NumbersAndPaths) {
  auto t = parse_identify_target("4711");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, IdentifyKind::process);
  EXPECT_EQ(t->pid, 4711);
  EXPECT_EQ(parse_identify_target("pid:12")->pid, 12);
  EXPECT_EQ(parse_identify_target("tid:13")->pid, 13);
  auto p = parse_identify_target("/run/netns/web");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, IdentifyKind::path);
  EXPECT_EQ(p->path, "/run/netns/web");
  EXPECT_EQ(parse_identify_target("netns-file")->kind, IdentifyKind::path);  // relative: a path
  for (auto bad : {"", "0", "pid:0", "99999999999999", "99999999999999999999999"}) {
    auto r = parse_identify_target(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::usage) << bad;
  }
}

TEST(IdentifyTarget, LocateProcessThreadZombieAndNone) {
  Tmp proc;
  ASSERT_FALSE(proc.path.empty());
  write(proc / "100/status", status(100, 100, 'S', "web"));
  write(proc / "101/status", status(100, 101, 'S', "worker"));
  write(proc / "102/status", status(102, 102, 'Z', "dead"));
  auto p = locate_task(100, proc.path);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, IdentifyKind::process);
  EXPECT_EQ(p->pid, 100);
  EXPECT_EQ(p->tid, 0);
  EXPECT_EQ(p->command, "web");
  auto t = locate_task(101, proc.path);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->kind, IdentifyKind::thread);
  EXPECT_EQ(t->pid, 100);
  EXPECT_EQ(t->tid, 101);
  EXPECT_EQ(t->command, "worker");
  auto z = locate_task(102, proc.path);
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.error().kind, ErrorKind::gone);
  EXPECT_NE(z.error().message.find("zombie"), std::string::npos) << z.error().message;
  auto none = locate_task(103, proc.path);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::usage);  // as `show pid:N` for a pid that names nothing
  EXPECT_EQ(none.error().message, "no process or thread 103");
}

// ---- the links --------------------------------------------------------------------------

TEST(IdentifyLinks, ReadOrderedForChildrenOnlyWhereTheyDiffer) {
  Tmp dir;
  ASSERT_FALSE(dir.path.empty());
  const std::vector<std::pair<std::string, std::string>> links{
      {"cgroup", "cgroup:[4026531835]"}, {"ipc", "ipc:[4026531839]"},
      {"mnt", "mnt:[4026531841]"},       {"net", "net:[4026532281]"},
      {"pid", "pid:[4026531836]"},       {"pid_for_children", "pid:[4026531836]"},
      {"time", "time:[4026531834]"},     {"time_for_children", "time:[4026532999]"},
      {"user", "user:[4026531837]"},     {"uts", "uts:[4026531838]"},
      {"newfangled", "newfangled:[5]"}};
  for (auto& [name, target] : links) ASSERT_EQ(symlink(target.c_str(), (dir / name).c_str()), 0) << name;
  std::vector<std::string> notes;
  auto r = read_ns_links(dir.path, &notes);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<std::string> order;
  for (auto& l : *r) order.push_back(l.link);
  EXPECT_EQ(order, (std::vector<std::string>{"net", "mnt", "pid", "uts", "ipc", "user", "cgroup", "time",
                                             "time_for_children"}));
  EXPECT_EQ((*r)[0].type, NsType::net);
  EXPECT_EQ((*r)[0].inode, 4026532281u);
  EXPECT_EQ(r->back().type, NsType::time);
  EXPECT_EQ(r->back().inode, 4026532999u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("newfangled"), std::string::npos) << notes[0];
}

TEST(IdentifyLinks, AGoneTaskIsGone) {
  auto r = read_ns_links("/nonexistent-nscope-test/ns", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::gone);
}

TEST(IdentifyLinks, OwnProcessAsAPath) {
  // Our own /proc/self/ns links open for anyone.
  auto l = read_nsfs_path("/proc/self/ns/net");
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ(l->link, "net");
  EXPECT_EQ(l->type, NsType::net);
  struct stat st {};
  ASSERT_EQ(stat("/proc/self/ns/net", &st), 0);
  EXPECT_EQ(l->inode, st.st_ino);
  auto u = read_nsfs_path("/proc/self/ns/uts");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->type, NsType::uts);
}

TEST(IdentifyLinks, NotANamespaceFileIsAUsageErrorSayingWhy) {
  Tmp dir;
  ASSERT_FALSE(dir.path.empty());
  write(dir / "plain", "x");
  struct Case {
    std::string path, why;
  };
  for (auto& c : std::vector<Case>{{dir / "plain", "not on nsfs"},
                                   {dir.path, "a directory"},
                                   {dir / "missing", "no such file"},
                                   {"/proc/self/ns", "a directory"}}) {
    auto r = read_nsfs_path(c.path);
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_EQ(r.error().kind, ErrorKind::usage) << c.path;
    EXPECT_NE(r.error().message.find(c.path + " is not a namespace file: " + c.why), std::string::npos)
        << r.error().message;
  }
}

// ---- annotation -------------------------------------------------------------------------

ScanResult made_up_scan() {
  ScanResult s;
  auto add = [&](NsType t, uint64_t ino) -> Namespace& {
    Namespace n;
    n.type = t;
    n.inode = ino;
    s.namespaces.push_back(std::move(n));
    return s.namespaces.back();
  };
  Namespace& web = add(NsType::net, 4026532281);
  web.names = {"web"};
  web.nsid = 3;
  web.processes = 2;
  web.pid = 200;
  auto holder = [](HolderKind k, int pid) {
    Holder h;
    h.kind = k;
    h.pid = pid;
    h.command = "c" + std::to_string(pid);
    return h;
  };
  Holder mount;
  mount.kind = HolderKind::mount;
  mount.path = "/run/netns/web";
  mount.mntns = 4026531841;
  mount.pid = 1;
  Holder peer;
  peer.kind = HolderKind::peer;
  peer.netns = 4026531840;
  peer.ifindex = 7;
  peer.ifname = "veth-web";
  peer.peer_ifindex = 2;
  Holder thread = holder(HolderKind::thread, 150);
  thread.tid = 151;
  Holder sock = holder(HolderKind::socket, 120);
  sock.fd = 9;
  sock.sockets = 3;
  Holder fd = holder(HolderKind::fd, 130);
  fd.fd = 4;
  web.holders = {peer, mount, holder(HolderKind::process, 300), sock, thread, fd, holder(HolderKind::process, 200)};
  Namespace& mnt = add(NsType::mnt, 4026531841);
  mnt.initial = true;
  mnt.processes = 90;
  add(NsType::net, 4026531840).initial = true;
  return s;
}

TEST(IdentifyAnnotate, ScannedAndNot) {
  ScanResult s = made_up_scan();
  std::vector<NsLink> links{{"net", NsType::net, 4026532281}, {"mnt", NsType::mnt, 4026531841},
                            {"pid", NsType::pid, 4026531836}};
  auto a = annotate_links(links, s);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_TRUE(a[0].scanned);
  EXPECT_EQ(a[0].ns.names, std::vector<std::string>{"web"});
  EXPECT_EQ(a[0].ns.holders.size(), 7u);
  EXPECT_TRUE(a[1].scanned);
  EXPECT_TRUE(a[1].ns.initial);
  EXPECT_FALSE(a[2].scanned);
  EXPECT_EQ(a[2].ns.type, NsType::pid);
  EXPECT_EQ(a[2].ns.inode, 4026531836u);
}

TEST(IdentifyAnnotate, LinksFromTheScanWhenProcRefuses) {
  ScanResult s;
  auto add = [&](NsType t, uint64_t ino, std::vector<Holder> hs) {
    Namespace n;
    n.type = t;
    n.inode = ino;
    n.holders = std::move(hs);
    s.namespaces.push_back(std::move(n));
  };
  Holder p1;
  p1.pid = 1;
  Holder p1_children = p1;
  p1_children.via = "pid_for_children";
  Holder t7;
  t7.kind = HolderKind::thread;
  t7.pid = 1;
  t7.tid = 7;
  Holder other;
  other.pid = 9;
  add(NsType::net, 10, {p1, other});
  add(NsType::net, 11, {t7});
  add(NsType::mnt, 20, {p1});
  add(NsType::pid, 30, {p1});
  add(NsType::pid, 31, {p1_children});
  auto names = [](const std::vector<NsLink>& ls) {
    std::vector<std::string> out;
    for (auto& l : ls) out.push_back(l.link + ":" + std::to_string(l.inode));
    return out;
  };
  IdentifyTarget process{IdentifyKind::process, 1, 0, "", ""};
  EXPECT_EQ(names(links_from_scan(process, s)),
            (std::vector<std::string>{"net:10", "mnt:20", "pid:30", "pid_for_children:31"}));
  IdentifyTarget thread{IdentifyKind::thread, 1, 7, "", ""};
  EXPECT_EQ(names(links_from_scan(thread, s)),
            (std::vector<std::string>{"net:11", "mnt:20", "pid:30", "pid_for_children:31"}));
  IdentifyTarget unseen{IdentifyKind::process, 5, 0, "", ""};
  EXPECT_TRUE(links_from_scan(unseen, s).empty());
}

TEST(IdentifyRender, TableAndJson) {
  IdentifyReport r;
  r.target = {IdentifyKind::thread, 100, 101, "", "worker"};
  r.namespaces = annotate_links({{"net", NsType::net, 4026532281}, {"mnt", NsType::mnt, 4026531841},
                                 {"pid_for_children", NsType::pid, 4026532500}},
                                made_up_scan());
  r.source = "bpf";
  std::ostringstream out;
  render_identify_table(r, true, out);
  std::string text = out.str();
  std::istringstream lines(text);
  std::string header, net, mnt, pid;
  std::getline(lines, header);
  std::getline(lines, net);
  std::getline(lines, mnt);
  std::getline(lines, pid);
  EXPECT_EQ(header.substr(0, 3), "NS ");
  for (auto col : {"TYPE", "INITIAL", "NPROCS", "NSID", "NAME", "CONTAINER", "HOLDERS"})
    EXPECT_NE(header.find(col), std::string::npos) << col;
  // The net row carries what `ip netns identify` prints: the name.
  EXPECT_NE(net.find(" web "), std::string::npos) << net;
  EXPECT_NE(net.find("processes:2"), std::string::npos) << net;
  EXPECT_NE(net.find("mount:/run/netns/web"), std::string::npos) << net;
  EXPECT_NE(mnt.find(" yes "), std::string::npos) << mnt;
  EXPECT_EQ(pid.rfind("4026532500 pid_for_children", 0), 0u) << pid;
  EXPECT_NE(pid.find(" ? "), std::string::npos) << "not scanned: unknown, not none: " << pid;

  auto j = identify_to_json(r);
  EXPECT_EQ(j["target"]["kind"], "thread");
  EXPECT_EQ(j["target"]["pid"], 100);
  EXPECT_EQ(j["target"]["tid"], 101);
  EXPECT_EQ(j["target"]["command"], "worker");
  ASSERT_EQ(j["namespaces"].size(), 3u);
  EXPECT_EQ(j["namespaces"][0]["link"], "net");
  EXPECT_EQ(j["namespaces"][0]["type"], "net");
  EXPECT_EQ(j["namespaces"][0]["names"][0], "web");
  EXPECT_EQ(j["namespaces"][0]["nsid"], 3);
  EXPECT_EQ(j["namespaces"][0]["holders"].size(), 7u);
  EXPECT_EQ(j["namespaces"][2]["link"], "pid_for_children");
  EXPECT_EQ(j["namespaces"][2]["type"], "pid");
  EXPECT_EQ(j["namespaces"][2]["scanned"], false);
  EXPECT_EQ(j["source"], "bpf");
  // Exactly list --json's fields, plus link and scanned.
  auto listed = namespace_to_json(made_up_scan().namespaces[0]);
  for (auto& [k, v] : listed.items()) EXPECT_TRUE(j["namespaces"][0].contains(k)) << k;
  EXPECT_EQ(j["namespaces"][0].size(), listed.size() + 2);
}

// ---- pids -------------------------------------------------------------------------------

TEST(Pids, HoldersProcessesFirstAndPidsAsIpNetnsPids) {
  ScanResult s = made_up_scan();
  auto r = pids_report("web", s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<std::string> kinds;
  for (auto& h : r->ns.holders) kinds.push_back(std::string(holder_kind_name(h.kind)));
  EXPECT_EQ(kinds, (std::vector<std::string>{"process", "process", "thread", "fd", "socket", "mount", "peer"}));
  EXPECT_EQ(r->ns.holders[0].pid, 200);
  EXPECT_EQ(r->ns.holders[1].pid, 300);
  EXPECT_EQ(r->pids, (std::vector<int>{200, 300}));
  EXPECT_TRUE(r->holders_known);
  EXPECT_EQ(pids_report("4026532281", s)->pids, r->pids);
}

TEST(Pids, ProcessPidsLeavesOutForChildrenAndDuplicates) {
  Namespace n;
  n.type = NsType::pid;
  for (int pid : {5, 3, 5}) {
    Holder h;
    h.pid = pid;
    n.holders.push_back(h);
  }
  Holder via;
  via.pid = 1;
  via.via = "pid_for_children";
  n.holders.push_back(via);
  Holder thread;
  thread.kind = HolderKind::thread;
  thread.pid = 2;
  n.holders.push_back(thread);
  EXPECT_EQ(process_pids(n), (std::vector<int>{3, 5}));
}

TEST(Pids, UnknownReferenceIsAUsageErrorWithCandidates) {
  ScanResult s = made_up_scan();
  auto r = pids_report("wbe", s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::usage);
  EXPECT_NE(r.error().message.find("name web"), std::string::npos) << r.error().message;
}

TEST(PidsRender, PlainTableJson) {
  auto r = pids_report("web", made_up_scan());
  ASSERT_TRUE(r.ok());
  std::ostringstream plain;
  render_pids_plain(*r, plain);
  EXPECT_EQ(plain.str(), "200\n300\n");

  std::ostringstream table;
  render_pids_table(*r, true, table);
  std::istringstream lines(table.str());
  std::vector<std::string> rows;
  for (std::string l; std::getline(lines, l);) rows.push_back(l);
  ASSERT_EQ(rows.size(), 8u) << table.str();
  EXPECT_EQ(rows[0].rfind("KIND", 0), 0u);
  for (auto col : {"PID", "TID", "COMMAND", "DETAIL"}) EXPECT_NE(rows[0].find(col), std::string::npos);
  EXPECT_EQ(rows[1].rfind("process", 0), 0u);

  EXPECT_EQ(holder_row(r->ns.holders[2]), (std::vector<std::string>{"thread", "150", "151", "c150", "-"}));
  EXPECT_EQ(holder_row(r->ns.holders[3]), (std::vector<std::string>{"fd", "130", "-", "c130", "fd 4"}));
  EXPECT_EQ(holder_row(r->ns.holders[4]),
            (std::vector<std::string>{"socket", "120", "-", "c120", "fd 9 and 2 more sockets"}));
  EXPECT_EQ(holder_row(r->ns.holders[5]),
            (std::vector<std::string>{"mount", "-", "-", "-", "/run/netns/web in mntns 4026531841 (pid 1)"}));
  EXPECT_EQ(holder_row(r->ns.holders[6]),
            (std::vector<std::string>{"peer", "-", "-", "-",
                                      "veth-web ifindex 7 in netns 4026531840, peer of ifindex 2"}));

  auto j = pids_to_json(*r);
  EXPECT_EQ(j["pids"], nlohmann::json({200, 300}));
  EXPECT_EQ(j["namespace"]["inode"], 4026532281u);
  ASSERT_EQ(j["namespace"]["holders"].size(), 7u);
  for (size_t i = 0; i < r->ns.holders.size(); ++i)
    EXPECT_EQ(j["namespace"]["holders"][i], holder_to_json(r->ns.holders[i])) << i;
  EXPECT_EQ(j["namespace"]["holders"][4]["sockets"], 3);
}

}  // namespace
