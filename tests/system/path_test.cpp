// System tests for issue 5's scenario end to end: three namespaces, A and C each joined by a
// veth to a bridge in B; a real `nscope collect` with skb-tracking and skb-drop while A pings
// C and sends a datagram to a closed port in C; then `nscope sort` (text and -o JSON) must
// give one series per packet whose path reads A -> B -> C with the namespaces' inodes and
// names and the interfaces in the order the packet crossed them, and how it ended.
//
// Two wirings:
//   bridged  one subnet: B only switches frames from one bridge port to the other.
//   routed   A and C in different subnets, the bridge holding both gateways and B forwarding
//            (net.ipv4.ip_forward=1 in B). The packet enters B through a bridge port, goes up
//            through the bridge device into B's IP stack (route lookup, TTL decrement), down
//            through the bridge again and out the other port: an L2 and an L3 hop in one
//            namespace, which is the hardest path for skb-tracking to keep one id across and
//            for sort to render (the bridge device shows between the two ports).
//
// collect sees the whole host: only series that start in our namespace A (or, for replies,
// in C) are looked at. Every object lives inside the test's own named namespaces, so
// deleting them (the guards do, also on failure) removes the veths and the bridge too.
#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "discover/netns.h"
#include "events/file_reader.h"
#include "events/format.h"
#include "events/reader.h"
#include "netlink/rtnl.h"
#include "testenv.h"
#include "util/fd.h"

namespace {

using nst::json;

int ifindex_in(const std::string& nspath, const std::string& ifname) {
  int idx = 0;
  nscope::Fd fd(::open(nspath.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return 0;
  (void)nscope::in_netns(fd.get(), [&] { idx = static_cast<int>(if_nametoindex(ifname.c_str())); });
  return idx;
}

enum class Wiring { bridged, routed };

// A --(va|vab)-- [bridge br in B] --(vcb|vc)-- C
struct ThreeNs {
  explicit ThreeNs(Wiring w);
  Wiring wiring;
  nst::NamedNetns a{nst::unique_name('a')}, b{nst::unique_name('b')}, c{nst::unique_name('c')};
  std::string va = nst::unique_name('v'), vab = nst::unique_name('w');
  std::string vc = nst::unique_name('v'), vcb = nst::unique_name('w');
  std::string br = nst::unique_name('r');
  std::string ip_a, ip_c;
  uint64_t ino_a = 0, ino_b = 0, ino_c = 0;
  int if_va = 0, if_vab = 0, if_vc = 0, if_vcb = 0, if_br = 0;
  bool ok = false;
  std::string error;
};

ThreeNs::ThreeNs(Wiring w) : wiring(w) {
  static int n = 0;
  std::string s = std::to_string((getpid() + n++) % 200 + 20);
  if (!a.ok() || !b.ok() || !c.ok()) {
    error = a.error() + b.error() + c.error();
    return;
  }
  // ping in A uses an ICMP datagram socket (root is outside the default group range): each
  // echo reply then has one fate. With a raw socket the kernel queues ping a clone and drops
  // the original NO_SOCKET microseconds apart, and whichever comes last would decide the end
  // sort reports for the reply.
  std::vector<std::vector<std::string>> steps = {
      {"ip", "netns", "exec", a.name(), "sysctl", "-qw", "net.ipv4.ping_group_range=0 0"}};
  if (w == Wiring::routed) {
    ip_a = "10.217." + s + ".1";
    ip_c = "10.218." + s + ".1";
    // Forwarding on; no ICMP redirects (A and C share the bridge's segment, so B would
    // otherwise tell A to go direct): only the test's own packets cross B. `default` is
    // set before the bridge exists so the bridge starts with it.
    steps.push_back({"ip", "netns", "exec", b.name(), "sysctl", "-qw", "net.ipv4.ip_forward=1",
                     "net.ipv4.conf.all.send_redirects=0",
                     "net.ipv4.conf.default.send_redirects=0"});
  } else {
    ip_a = "10.216." + s + ".1";
    ip_c = "10.216." + s + ".2";
  }
  std::string plen = "/24";
  for (auto& st : std::vector<std::vector<std::string>>{
           {"ip", "link", "add", va, "netns", a.name(), "type", "veth", "peer", "name", vab,
            "netns", b.name()},
           {"ip", "link", "add", vc, "netns", c.name(), "type", "veth", "peer", "name", vcb,
            "netns", b.name()},
           {"ip", "-n", b.name(), "link", "add", br, "type", "bridge"},
           {"ip", "-n", b.name(), "link", "set", vab, "master", br, "up"},
           {"ip", "-n", b.name(), "link", "set", vcb, "master", br, "up"},
           {"ip", "-n", b.name(), "link", "set", br, "up"},
           {"ip", "-n", a.name(), "addr", "add", ip_a + plen, "dev", va},
           {"ip", "-n", c.name(), "addr", "add", ip_c + plen, "dev", vc},
           {"ip", "-n", a.name(), "link", "set", va, "up"},
           {"ip", "-n", c.name(), "link", "set", vc, "up"}})
    steps.push_back(st);
  if (w == Wiring::routed) {
    std::string gw_a = "10.217." + s + ".254", gw_c = "10.218." + s + ".254";
    steps.push_back({"ip", "-n", b.name(), "addr", "add", gw_a + plen, "dev", br});
    steps.push_back({"ip", "-n", b.name(), "addr", "add", gw_c + plen, "dev", br});
    steps.push_back({"ip", "-n", a.name(), "route", "add", "default", "via", gw_a});
    steps.push_back({"ip", "-n", c.name(), "route", "add", "default", "via", gw_c});
  }
  for (const auto& argv : steps) {
    auto r = nst::run(argv, nst::with_timeout(std::chrono::seconds(10)));
    if (r.exit_code != 0) {
      error = argv[0] + " " + argv[1] + " " + argv[2] + " " + argv[3] + ": " + r.describe();
      return;
    }
  }
  ino_a = nst::ns_inode(a.path());
  ino_b = nst::ns_inode(b.path());
  ino_c = nst::ns_inode(c.path());
  if_va = ifindex_in(a.path(), va);
  if_vab = ifindex_in(b.path(), vab);
  if_vc = ifindex_in(c.path(), vc);
  if_vcb = ifindex_in(b.path(), vcb);
  if_br = ifindex_in(b.path(), br);
  ok = ino_a && ino_b && ino_c && if_va && if_vab && if_vc && if_vcb && if_br;
  if (!ok) error = "could not read the namespaces' inodes or interface indexes";
}

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t e = s.find(sep, at);
    if (e == std::string::npos) e = s.size();
    if (e > at) out.push_back(s.substr(at, e - at));
    at = e + sep.size();
  }
  return out;
}

// An event of a `sort -o` series, as print renders it (the same model as collect's text).
std::string event_text(const json& ev) {
  nscope::SymbolTable syms;
  nscope::Event e;
  std::string text;
  auto k = nscope::parse_event_line(ev.dump(), syms, e, nullptr);
  if (!k.ok()) return "(unreadable: " + k.error().message + ")";
  nscope::format_event_text(e, {}, text);
  return text;
}

// "seq N" of an ICMP echo in an event's text, or -1.
int echo_seq(const std::string& text) {
  auto at = text.find(" seq ");
  if (at == std::string::npos) return -1;
  return std::atoi(text.c_str() + at + 5);
}

struct Hop {
  uint64_t netns;
  std::string name;
  int ifindex;
  std::string ifname;
};

json hops_json(const std::vector<Hop>& hops) {
  json j = json::array();
  for (const auto& h : hops)
    j.push_back(
        {{"netns", h.netns}, {"name", h.name}, {"ifindex", h.ifindex}, {"ifname", h.ifname}});
  return j;
}

// "ns NAME (if1, if2) -> ..." as sort prints a path: consecutive hops in one namespace
// read as one stop.
std::string hops_text(const std::vector<Hop>& hops) {
  std::string s;
  for (size_t i = 0; i < hops.size();) {
    if (i) s += " -> ";
    s += "ns " + hops[i].name + " (";
    size_t j = i;
    for (; j < hops.size() && hops[j].netns == hops[i].netns; ++j)
      s += (j > i ? ", " : "") + hops[j].ifname;
    s += ")";
    i = j;
  }
  return s;
}

// Everything sort said about the test's packets.
struct Sorted {
  // Text blocks (one series each, without the empty line after it) by their first event's
  // packet: the echo requests and replies by sequence number, and the datagram.
  std::map<int, std::vector<std::string>> req_text, rep_text;
  std::vector<std::string> udp_text;
  std::map<int, json> req_json, rep_json;
  std::vector<json> udp_json;
  std::string text, json_out;
};

// Runs collect around `cmd` (run in A), then sort and sort -o on the file.
void collect_and_sort(const ThreeNs& t, const std::string& cmd, nst::TempDir& dir, Sorted& out) {
  std::string file = dir / "events.json";
  auto r = nst::nscope({"collect", "-c", "skb,ns,dev,skb-tracking,skb-drop", "-o", file, "--cmd",
                        "ip netns exec " + t.a.name() + " bash -c '" + cmd + "'"},
                       nst::with_timeout(std::chrono::seconds(40)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("4 probes attached"), std::string::npos) << r.err;
  // The file says which probes ran (skb-tracking added the frees), so sort knows every
  // packet's end was traced.
  {
    auto rd = nscope::EventFileReader::open(file);
    ASSERT_TRUE(rd.ok()) << rd.error().message;
    nscope::Event e;
    auto first = (*rd)->next(e);  // the startup line is read on the way to the first event
    ASSERT_TRUE(first.ok() && *first);
    EXPECT_EQ((*rd)->startup().probes,
              (std::vector<std::string>{"net:netif_receive_skb", "net:net_dev_start_xmit",
                                        "skb:kfree_skb", "skb:consume_skb"}));
    EXPECT_TRUE((*rd)->startup().traces_frees());
  }

  auto sorted = nst::nscope({"sort", file});
  ASSERT_EQ(sorted.exit_code, 0) << sorted.describe();
  out.text = sorted.out;
  auto js = nst::nscope({"sort", file, "-o", dir / "series.json"});
  ASSERT_EQ(js.exit_code, 0) << js.describe();
  out.json_out = nst::read_file(dir / "series.json");

  std::string req = t.ip_a + " > " + t.ip_c + " ", rep = t.ip_c + " > " + t.ip_a + " ";
  std::string udp = " > " + t.ip_c + ".9 ";
  // Text: a series is its lines up to the empty line; its first event's packet summary and
  // namespace are its second and third lines.
  const std::string in_a = "  netns " + std::to_string(t.ino_a) + " ";
  const std::string in_c = "  netns " + std::to_string(t.ino_c) + " ";
  for (const auto& block : split(sorted.out, "\n\n")) {
    auto lines = split(block, "\n");
    if (lines.size() < 3) continue;
    const std::string &pkt = lines[1], &ns = lines[2];
    if (ns.starts_with(in_a) && pkt.find(req) != std::string::npos &&
        pkt.find("type 8 code 0") != std::string::npos)
      out.req_text[echo_seq(pkt)].push_back(block);
    else if (ns.starts_with(in_c) && pkt.find(rep) != std::string::npos &&
             pkt.find("type 0 code 0") != std::string::npos)
      out.rep_text[echo_seq(pkt)].push_back(block);
    else if (ns.starts_with(in_a) && pkt.find(t.ip_a + ".") != std::string::npos &&
             pkt.find(udp) != std::string::npos)
      out.udp_text.push_back(block);
  }
  // JSON: the same, from each series' first event.
  for (const auto& line : split(out.json_out, "\n")) {
    json s = json::parse(line, nullptr, false);
    ASSERT_FALSE(s.is_discarded()) << "not JSON: " << line;
    ASSERT_TRUE(s.contains("events") && !s["events"].empty()) << line;
    const json& first = s["events"][0];
    if (!first.contains("netns")) continue;
    uint64_t ns = nst::as_u64(first["netns"]["inum"]);
    if (ns != t.ino_a && ns != t.ino_c) continue;
    std::string text = event_text(first);
    if (ns == t.ino_a && text.find(req) != std::string::npos &&
        text.find("type 8 code 0") != std::string::npos) {
      EXPECT_FALSE(out.req_json.count(echo_seq(text))) << "two series for one request: " << line;
      out.req_json[echo_seq(text)] = s;
    } else if (ns == t.ino_c && text.find(rep) != std::string::npos &&
               text.find("type 0 code 0") != std::string::npos) {
      EXPECT_FALSE(out.rep_json.count(echo_seq(text))) << "two series for one reply: " << line;
      out.rep_json[echo_seq(text)] = s;
    } else if (ns == t.ino_a && text.find(udp) != std::string::npos) {
      out.udp_json.push_back(s);
    }
  }
}

// The events of a series are in time order and their symbols, one per line.
std::vector<std::string> symbols_in_order(const json& series) {
  std::vector<std::string> syms;
  uint64_t last = 0;
  for (const auto& ev : series["events"]) {
    uint64_t ts = nst::as_u64(ev["common"]["timestamp"]);
    EXPECT_GE(ts, last) << "events out of time order in " << series.dump();
    last = ts;
    syms.push_back(ev["kernel"]["symbol"]);
  }
  return syms;
}

void check_paths(const ThreeNs& t, int pings) {
  nst::TempDir dir;
  Sorted s;
  collect_and_sort(t, "ping -c " + std::to_string(pings) + " -i 0.2 -W 1 " + t.ip_c +
                          " >/dev/null; echo nscope > /dev/udp/" + t.ip_c + "/9; sleep 0.3",
                   dir, s);
  if (::testing::Test::HasFatalFailure()) return;

  // The hops, in the order the packets cross them: A's veth, B's bridge port (and, routed,
  // the bridge device itself, up into B's IP stack and down again), B's port to C, C's veth.
  std::vector<Hop> there = {{t.ino_a, t.a.name(), t.if_va, t.va},
                            {t.ino_b, t.b.name(), t.if_vab, t.vab}};
  if (t.wiring == Wiring::routed) there.push_back({t.ino_b, t.b.name(), t.if_br, t.br});
  there.push_back({t.ino_b, t.b.name(), t.if_vcb, t.vcb});
  there.push_back({t.ino_c, t.c.name(), t.if_vc, t.vc});
  std::vector<Hop> back = {{t.ino_c, t.c.name(), t.if_vc, t.vc},
                           {t.ino_b, t.b.name(), t.if_vcb, t.vcb}};
  if (t.wiring == Wiring::routed) back.push_back({t.ino_b, t.b.name(), t.if_br, t.br});
  back.push_back({t.ino_b, t.b.name(), t.if_vab, t.vab});
  back.push_back({t.ino_a, t.a.name(), t.if_va, t.va});

  // One series per echo request and per reply, every sequence number once.
  std::set<int> seqs;
  for (int i = 1; i <= pings; ++i) seqs.insert(i);
  auto keys = [](const auto& m) {
    std::set<int> k;
    for (const auto& [seq, v] : m) k.insert(seq);
    return k;
  };
  EXPECT_EQ(keys(s.req_json), seqs) << s.json_out;
  EXPECT_EQ(keys(s.rep_json), seqs) << s.json_out;
  EXPECT_EQ(keys(s.req_text), seqs) << s.text;
  EXPECT_EQ(keys(s.rep_text), seqs) << s.text;

  const std::string ttl_in_c = t.wiring == Wiring::routed ? " ttl 63 " : " ttl 64 ";
  for (const auto& [seq, series] : s.req_json) {
    SCOPED_TRACE("echo request seq " + std::to_string(seq));
    EXPECT_TRUE(series["id"].is_string()) << series.dump();
    EXPECT_EQ(series["continued"], false);
    EXPECT_EQ(series["first_n"], 0);
    EXPECT_EQ(series["path"], hops_json(there));
    EXPECT_EQ(series["end"], json({{"state", "delivered"}, {"netns", t.ino_c},
                                   {"symbol", "skb:consume_skb"}}));
    auto syms = symbols_in_order(series);
    ASSERT_FALSE(syms.empty());
    EXPECT_EQ(syms.front(), "net:net_dev_start_xmit");
    // Received in C with the TTL B's routing left it (64: B only switched it).
    bool rx_in_c = false;
    for (const auto& ev : series["events"])
      if (ev["kernel"]["symbol"] == "net:netif_receive_skb" &&
          nst::as_u64(ev["netns"]["inum"]) == t.ino_c) {
        rx_in_c = true;
        EXPECT_NE(event_text(ev).find(ttl_in_c), std::string::npos) << event_text(ev);
      }
    EXPECT_TRUE(rx_in_c) << series.dump();
  }
  for (const auto& [seq, series] : s.rep_json) {
    SCOPED_TRACE("echo reply seq " + std::to_string(seq));
    EXPECT_EQ(series["path"], hops_json(back));
    EXPECT_EQ(series["end"]["state"], "delivered");
    EXPECT_EQ(series["end"]["netns"], t.ino_a);
  }

  // What a user reads: each series' events numbered in order under its first one, then the
  // path line.
  const std::string req_path = "  path: " + hops_text(there) + "; delivered";
  const std::string rep_path = "  path: " + hops_text(back) + "; delivered";
  for (const auto& [seq, blocks] : s.req_text) {
    ASSERT_EQ(blocks.size(), 1u) << "request seq " << seq << " in several series:\n" << s.text;
    const std::string& block = blocks[0];
    auto lines = split(block, "\n");
    EXPECT_EQ(lines.back(), req_path) << block;
    EXPECT_NE(lines[0].find("[tp] net:net_dev_start_xmit #"), std::string::npos) << block;
    EXPECT_NE(lines[0].find(" n 0"), std::string::npos) << block;
    int n = 1;
    for (const auto& l : lines)
      if (l.rfind("  + ", 0) == 0) {
        EXPECT_NE(l.find(" n " + std::to_string(n)), std::string::npos) << block;
        ++n;
      }
    EXPECT_GE(n, static_cast<int>(there.size())) << block;
  }
  for (const auto& [seq, blocks] : s.rep_text) {
    ASSERT_EQ(blocks.size(), 1u) << "reply seq " << seq << " in several series:\n" << s.text;
    EXPECT_EQ(split(blocks[0], "\n").back(), rep_path) << blocks[0];
  }

  // The datagram to C's closed port: across the same hops, dropped in C, saying why.
  ASSERT_EQ(s.udp_json.size(), 1u) << s.json_out;
  const json& udp = s.udp_json[0];
  EXPECT_EQ(udp["path"], hops_json(there));
  EXPECT_EQ(udp["end"], json({{"state", "dropped"}, {"reason", "NO_SOCKET"}, {"netns", t.ino_c},
                              {"symbol", "skb:kfree_skb"}}));
  ASSERT_EQ(s.udp_text.size(), 1u) << s.text;
  auto lines = split(s.udp_text[0], "\n");
  EXPECT_EQ(lines.back(), "  path: " + hops_text(there) + "; dropped (reason NO_SOCKET)")
      << s.udp_text[0];
  EXPECT_NE(s.udp_text[0].find("\n    drop (reason NO_SOCKET)\n"), std::string::npos)
      << s.udp_text[0];
}

}  // namespace

TEST(PathAcrossNamespaces, PingThroughABridgeInAThirdNamespace) {
  ThreeNs t(Wiring::bridged);
  ASSERT_TRUE(t.ok) << t.error;
  auto pre = nst::run({"ip", "netns", "exec", t.a.name(), "ping", "-c", "1", "-W", "2", t.ip_c});
  ASSERT_EQ(pre.exit_code, 0) << "the test network does not pass traffic: " << pre.describe();
  check_paths(t, 3);
}

TEST(PathAcrossNamespaces, PingRoutedByTheBridgeNamespace) {
  ThreeNs t(Wiring::routed);
  ASSERT_TRUE(t.ok) << t.error;
  auto pre = nst::run({"ip", "netns", "exec", t.a.name(), "ping", "-c", "1", "-W", "2", t.ip_c});
  ASSERT_EQ(pre.exit_code, 0) << "the test network does not pass traffic: " << pre.describe();
  check_paths(t, 3);
}
