// System tests for `nscope print`, `sort` and `pcap`: files collected from real namespaces
// (root, BPF), the recorded fixtures (nscope's and Retis's layout), tshark reading the
// pcapng back, and every kind of bad input.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "events/file_reader.h"
#include "events/format.h"
#include "testenv.h"

namespace {

using nst::json;

const std::string kFixtures = std::string(NSCOPE_FIXTURES) + "/events/";
const std::string kNotEvents =
    "not an event file (expected JSON lines written by nscope collect or retis collect -o)";

// Two named namespaces joined by a veth pair, 10.215.N.1 and .2.
struct Pair : nst::VethPair {
  Pair() : nst::VethPair(215) {}
};

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  return out;
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
}

// The events of a file, each rendered as print renders it (the reference for comments).
std::vector<std::string> event_texts(const std::string& path) {
  std::vector<std::string> out;
  auto r = nscope::EventFileReader::open(path);
  if (!r) return out;
  nscope::TextOptions opt;
  opt.names = &(*r)->startup().netns_names;
  for (nscope::Event e; *(*r)->next(e);) {
    if (!e.has_packet) continue;
    std::string t;
    nscope::format_event_text(e, opt, t);
    while (!t.empty() && t.back() == '\n') t.pop_back();
    out.push_back(t);
  }
  return out;
}

// tshark's view of a pcapng: one row per frame, fields separated by tabs.
struct Tshark {
  bool available = false;
  std::vector<std::vector<std::string>> rows;
  std::string error;
};
Tshark tshark(const std::string& pcap, const std::vector<std::string>& fields) {
  Tshark t;
  if (nst::find_tool("tshark").empty()) return t;
  t.available = true;
  std::vector<std::string> argv{"tshark", "-r", pcap, "-T", "fields", "-E", "separator=/t"};
  for (const auto& f : fields) {
    argv.push_back("-e");
    argv.push_back(f);
  }
  auto r = nst::run(argv, nst::with_timeout(std::chrono::seconds(60)));
  if (r.exit_code != 0) {
    t.error = r.describe();
    return t;
  }
  for (const auto& line : split_lines(r.out)) {
    std::vector<std::string> row;
    size_t at = 0;
    while (true) {
      size_t tab = line.find('\t', at);
      row.push_back(line.substr(at, tab == std::string::npos ? std::string::npos : tab - at));
      if (tab == std::string::npos) break;
      at = tab + 1;
    }
    t.rows.push_back(row);
  }
  return t;
}

// tshark shows a comment's newlines as "\n".
std::string escaped(std::string s) {
  for (size_t at = s.find('\n'); at != std::string::npos; at = s.find('\n', at + 2))
    s.replace(at, 1, "\\n");
  return s;
}

}  // namespace

TEST(PrintSortPcap, PrintOfACollectedFileIsWhatCollectPrintedLive) {
  Pair p;
  ASSERT_TRUE(p.ok) << p.error;
  nst::TempDir dir;
  std::string file = dir / "events.json";
  auto live = nst::nscope({"collect", "-o", file, "--print", "--cmd",
                           "ip netns exec " + p.a.name() + " ping -c 3 -i 0.2 -W 1 " + p.ip_b +
                               " >/dev/null"},
                          nst::with_timeout(std::chrono::seconds(30)));
  ASSERT_EQ(live.exit_code, 0) << live.describe();
  ASSERT_GE(count(live.out, "\n  if "), 12u) << live.out;  // 3 requests, 3 replies, xmit + receive

  auto printed = nst::nscope({"print", file});
  ASSERT_EQ(printed.exit_code, 0) << printed.describe();
  EXPECT_EQ(printed.out, live.out);
  EXPECT_EQ(printed.err, "");
  // The names recorded at collect time name the namespaces offline.
  EXPECT_NE(printed.out.find("(" + p.a.name() + ")\n"), std::string::npos);

  auto eth = nst::nscope({"print", "-e", file});
  ASSERT_EQ(eth.exit_code, 0);
  auto live_eth = nst::nscope({"print", file, "--ethernet"});
  EXPECT_EQ(eth.out, live_eth.out);
  EXPECT_NE(eth.out.find(" > "), std::string::npos);
  EXPECT_NE(eth.out, printed.out);  // link headers shown

  auto utc = nst::nscope({"print", "--utc", file});
  ASSERT_EQ(utc.exit_code, 0);
  std::string year = std::to_string(1900 + [] {
    time_t now = time(nullptr);
    struct tm tm {};
    gmtime_r(&now, &tm);
    return tm.tm_year;
  }());
  EXPECT_EQ(utc.out.rfind(year + "-", 0), 0u) << utc.out.substr(0, 80);

  // Every event of the file, as its own series (no skb-tracking collector) or grouped.
  auto sorted = nst::nscope({"sort", file});
  ASSERT_EQ(sorted.exit_code, 0) << sorted.describe();
  size_t events = count(printed.out, "\n  netns ");
  EXPECT_EQ(count(sorted.out, "\n  path: "), count(sorted.out, " n 0"));
  EXPECT_EQ(count(sorted.out, "  netns "), events);
  EXPECT_NE(sorted.err.find("nscope: " + std::to_string(events) + " events in "), std::string::npos)
      << sorted.err;

  // pcapng: tshark reads the same packets, on interfaces named after the namespaces.
  std::string pcap = dir / "out.pcapng";
  auto pc = nst::nscope({"pcap", file, "-o", pcap});
  ASSERT_EQ(pc.exit_code, 0) << pc.describe();
  auto texts = event_texts(file);
  ASSERT_FALSE(texts.empty());
  EXPECT_NE(pc.err.find(std::to_string(texts.size()) + " packets on"), std::string::npos) << pc.err;
  auto t = tshark(pcap, {"frame.interface_name", "frame.comment", "ip.src", "ip.dst"});
  if (!t.available) GTEST_SKIP() << "tshark is not installed (scripts/install-deps.sh test)";
  ASSERT_TRUE(t.error.empty()) << t.error;
  ASSERT_EQ(t.rows.size(), texts.size());
  // collect sees the whole host: count our pings among whatever else ran meanwhile.
  size_t ours = 0;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    ASSERT_EQ(t.rows[i].size(), 4u);
    EXPECT_EQ(t.rows[i][1], escaped(texts[i]));
    const auto& name = t.rows[i][0];
    bool pair = (t.rows[i][2] == p.ip_a && t.rows[i][3] == p.ip_b) ||
                (t.rows[i][2] == p.ip_b && t.rows[i][3] == p.ip_a);
    if (!pair) continue;
    // "<netns name>/<device>", or "/-" for an event without a device (a free).
    EXPECT_TRUE(name == p.a.name() + "/" + p.va || name == p.b.name() + "/" + p.vb ||
                name == p.a.name() + "/-" || name == p.b.name() + "/-")
        << name;
    ++ours;
  }
  EXPECT_GE(ours, 12u);
}

TEST(PrintSortPcap, RetisFilePrintsAndSorts) {
  auto printed = nst::nscope({"print", kFixtures + "retis_bridge.json"});
  ASSERT_EQ(printed.exit_code, 0) << printed.describe();
  EXPECT_EQ(printed.err, "");
  EXPECT_EQ(count(printed.out, "\n  netns "), 14u);
  EXPECT_EQ(printed.out.rfind(
                "30419169061793 [curl] 11330 [tp] net:net_dev_start_xmit #1baa83c42ba1ffff8e95c3b67c00 "
                "(skb 18446619372874141952)\n"
                "  if 11 (veth-ns01) 192.168.125.10.43512 > 192.168.125.11.8080 ttl 64 tos 0x0 id "
                "40001 off 0 [DF] len 52 proto TCP (6) flags [S] seq 472727119 win 64240\n"
                "  ct_state NEW status 0x0 tcp orig [192.168.125.10.43512 > 192.168.125.11.8080] "
                "reply [192.168.125.11.8080 > 192.168.125.10.43512] zone 0 mark 0\n"
                "  skb [csum none len 66 priority 0 users 1 dataref 1]\n"
                "  netns 4026532741 cookie 3\n",
                0),
            0u)
      << printed.out;
  EXPECT_NE(printed.out.find("  drop (reason NO_SOCKET)\n"), std::string::npos);
  auto utc = nst::nscope({"print", "--utc", kFixtures + "retis_bridge.json"});
  EXPECT_EQ(utc.out.rfind("2025-03-18 ", 0), 0u) << utc.out.substr(0, 60);  // Retis' clock offset

  auto sorted = nst::nscope({"sort", kFixtures + "retis_bridge.json"});
  ASSERT_EQ(sorted.exit_code, 0) << sorted.describe();
  // Retis 1.5 recorded no command line: whether consume_skb was traced is not known, and the
  // reply last seen at netif_receive_skb is not called delivered.
  EXPECT_EQ(sorted.err,
            "nscope: 14 events in 3 series\n"
            "nscope: 1 series last seen at netif_receive_skb read \"still in flight\": the file "
            "does not say whether skb:consume_skb, a delivered packet's end, was traced\n");
  auto paths = split_lines(sorted.out);
  std::vector<std::string> got;
  for (const auto& l : paths)
    if (l.rfind("  path: ", 0) == 0) got.push_back(l);
  std::vector<std::string> want = {
      "  path: ns 4026532741 (veth-ns01) -> ns 4026531840 (veth-ns01-br, veth-ns02-br) -> ns "
      "4026532867 (veth-ns02); dropped (reason NO_SOCKET)",
      "  path: ns 4026532741 (veth-ns01) -> ns 4026531840 (veth-ns01-br, veth-ns02-br) -> ns "
      "4026532867 (veth-ns02); delivered",
      "  path: ns 4026532867 (veth-ns02) -> ns 4026531840 (veth-ns02-br, veth-ns01-br) -> ns "
      "4026532741 (veth-ns01); still in flight"};
  EXPECT_EQ(got, want) << sorted.out;
  // The request's consume_skb came after the reply started: it is in the request's series.
  EXPECT_NE(sorted.out.find("  + 30420178561004 [ping] 11402 [tp] skb:consume_skb "
                            "#1baabfed3683ffff8e95c3b62800 (skb 18446619372874142208) n 4\n"),
            std::string::npos)
      << sorted.out;

  // JSON series keep Retis's sections as they were.
  nst::TempDir dir;
  auto js = nst::nscope({"sort", kFixtures + "retis_bridge.json", "-o", dir / "s.json"});
  ASSERT_EQ(js.exit_code, 0) << js.describe();
  EXPECT_EQ(js.out, "");
  auto lines = split_lines(nst::read_file(dir / "s.json"));
  ASSERT_EQ(lines.size(), 3u);
  json first = json::parse(lines[0]);
  EXPECT_EQ(first["id"], "#1baa83c42ba1ffff8e95c3b67c00");
  ASSERT_EQ(first["events"].size(), 5u);
  EXPECT_EQ(first["events"][2]["ovs"]["event_type"], "upcall");
  EXPECT_EQ(first["events"][0]["skb"]["data_ref"]["users"], 1);
  EXPECT_EQ(first["end"]["state"], "dropped");
  EXPECT_EQ(first["end"]["reason"], "NO_SOCKET");
  EXPECT_EQ(first["path"].size(), 4u);
}

TEST(PrintSortPcap, SortFollowsPacketsThroughTheHostBridge) {
  // web-1 -> host bridge -> db-1: a ping there and back, a datagram dropped in db-1, a
  // packet still on the bridge when the file ends, an ARP without tracking.
  auto sorted = nst::nscope({"sort", kFixtures + "nscope_bridge.json"});
  ASSERT_EQ(sorted.exit_code, 0) << sorted.describe();
  std::vector<std::string> paths;
  for (const auto& l : split_lines(sorted.out))
    if (l.rfind("  path: ", 0) == 0) paths.push_back(l);
  std::vector<std::string> want = {
      "  path: ns web-1 (eth0); fate unknown (no tracking id)",
      "  path: ns web-1 (eth0) -> host (veth-web1, veth-db1) -> ns db-1 (eth0); delivered",
      "  path: ns db-1 (eth0) -> host (veth-db1, veth-web1) -> ns web-1 (eth0); delivered",
      "  path: ns web-1 (eth0) -> host (veth-web1, veth-db1) -> ns db-1 (eth0); dropped (reason "
      "NO_SOCKET)",
      "  path: ns web-1 (eth0) -> host (veth-web1); still in flight"};
  EXPECT_EQ(paths, want) << sorted.out;
  EXPECT_EQ(count(sorted.out, " n 0\n"), 5u);
  EXPECT_EQ(count(sorted.out, " n 4\n"), 3u);
  EXPECT_EQ(count(sorted.out, "\n\n"), 5u);  // an empty line after each series

  nst::TempDir dir;
  auto js = nst::nscope({"sort", kFixtures + "nscope_bridge.json", "-o", dir / "s.json"});
  ASSERT_EQ(js.exit_code, 0) << js.describe();
  EXPECT_EQ(js.err, "nscope: 18 events in 5 series written to " + (dir / "s.json") + "\n");
  auto lines = split_lines(nst::read_file(dir / "s.json"));
  ASSERT_EQ(lines.size(), 5u);
  json drop = json::parse(lines[3]);
  EXPECT_EQ(drop["end"], json({{"state", "dropped"}, {"reason", "NO_SOCKET"}, {"netns", 4026532302u},
                               {"symbol", "skb:kfree_skb"}}));
  ASSERT_EQ(drop["path"].size(), 4u);
  EXPECT_EQ(drop["path"][1], json({{"netns", 4026531840u}, {"name", "host"}, {"ifindex", 10},
                                   {"ifname", "veth-web1"}}));
  EXPECT_EQ(drop["path"][3]["name"], "db-1");
}

TEST(PrintSortPcap, SeriesCutByTheWindowIsMarkedContinued) {
  // One packet seen at 0 s and again 10 s later, with other traffic in between.
  auto ev = [](uint64_t ts, uint64_t id, const char* sym) {
    std::string s = R"({"common":{"timestamp":)" + std::to_string(ts) +
                    R"(},"kernel":{"probe_type":"raw_tracepoint","symbol":")" + sym +
                    R"("},"netns":{"inum":4026531840})";
    if (id)
      s += R"(,"skb-tracking":{"orig_head":)" + std::to_string(id) + R"(,"timestamp":)" +
           std::to_string(id) + "}";
    return s + "}\n";
  };
  std::string file;
  file += ev(1'000'000'000, 1'000'000'000, "net:net_dev_start_xmit");
  file += ev(1'000'100'000, 1'000'000'000, "net:netif_receive_skb");
  for (uint64_t s = 2; s <= 10; ++s) file += ev(s * 1'000'000'000, 0, "net:netif_receive_skb");
  file += ev(11'000'000'000, 1'000'000'000, "skb:consume_skb");
  nst::TempDir dir;
  write_file(dir / "split.json", file);

  auto r = nst::nscope({"sort", dir / "split.json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("11000000000 [tp] skb:consume_skb #3b9aca003b9aca00 (skb 0) n 2 (continued)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("nscope: 1 series continue a packet written out earlier (marked "
                       "\"(continued)\")"),
            std::string::npos)
      << r.err;

  auto js = nst::nscope({"sort", dir / "split.json", "-o", dir / "s.json"});
  ASSERT_EQ(js.exit_code, 0);
  auto lines = split_lines(nst::read_file(dir / "s.json"));
  ASSERT_EQ(lines.size(), 11u);
  json last = json::parse(lines.back());
  EXPECT_EQ(last["continued"], true);
  EXPECT_EQ(last["first_n"], 2);

  // A window wide enough keeps the packet whole.
  auto wide = nst::nscope({"sort", dir / "split.json", "--window", "20s"});
  ASSERT_EQ(wide.exit_code, 0);
  EXPECT_EQ(wide.out.find("(continued)"), std::string::npos);
  EXPECT_NE(wide.out.find("skb:consume_skb #3b9aca003b9aca00 (skb 0) n 2\n"), std::string::npos);
  EXPECT_EQ(wide.err, "nscope: 12 events in 10 series\n");
}

TEST(PrintSortPcap, RecordedProbesDecideHowTheFirstSeriesEnds) {
  // A packet received and then quiet past the window, so its series is written before the
  // file's first free event. collect's startup line lists the probes: when they include
  // skb:consume_skb, being received is not the end, however early the series goes out; when
  // they do not (skb:kfree_skb alone shows drops, not deliveries), it is.
  auto ev = [](uint64_t ts, uint64_t id, const char* sym) {
    return R"({"common":{"timestamp":)" + std::to_string(ts) +
           R"(},"kernel":{"probe_type":"raw_tracepoint","symbol":")" + sym +
           R"("},"netns":{"inum":4026531840},"skb-tracking":{"orig_head":)" + std::to_string(id) +
           R"(,"timestamp":)" + std::to_string(id) + "}}\n";
  };
  std::string events = ev(1'000'000'000, 1, "net:net_dev_start_xmit") +
                       ev(1'000'100'000, 1, "net:netif_receive_skb") +
                       ev(9'000'000'000, 2, "net:net_dev_start_xmit") +
                       ev(9'000'100'000, 2, "skb:kfree_skb");
  auto startup = [](const std::string& probes) {
    return R"({"startup":{"nscope_version":"0.1.0","initial_netns":4026531840,"probes":[)" +
           probes + "]}}\n";
  };
  nst::TempDir dir;
  write_file(dir / "consume.json",
             startup(R"("net:netif_receive_skb","skb:kfree_skb","skb:consume_skb")") + events);
  write_file(dir / "drops.json",
             startup(R"("net:netif_receive_skb","net:net_dev_start_xmit","skb:kfree_skb")") +
                 events);
  write_file(dir / "nofrees.json", startup(R"("net:netif_receive_skb")") + events);
  write_file(dir / "unknown.json", events);  // no startup line: the file does not say

  auto first_end = [&](const std::string& file) {
    auto r = nst::nscope({"sort", dir / file, "-o", dir / (file + ".series")});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    auto lines = split_lines(nst::read_file(dir / (file + ".series")));
    return lines.empty() ? json() : json::parse(lines[0])["end"]["state"];
  };
  EXPECT_EQ(first_end("consume.json"), "in_flight");
  EXPECT_EQ(first_end("drops.json"), "delivered");
  EXPECT_EQ(first_end("nofrees.json"), "delivered");
  EXPECT_EQ(first_end("unknown.json"), "in_flight");
  auto text = nst::nscope({"sort", dir / "consume.json"});
  EXPECT_NE(text.out.find("  path: host; still in flight\n"), std::string::npos) << text.out;
  EXPECT_EQ(text.err, "nscope: 4 events in 2 series\n");
}

TEST(PrintSortPcap, PcapOfTheBridgeFileInTshark) {
  nst::TempDir dir;
  std::string pcap = dir / "bridge.pcapng";
  auto r = nst::nscope({"pcap", kFixtures + "nscope_bridge.json", "-o", pcap});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "nscope: 18 packets on 5 interfaces written to " + pcap + "\n");
  auto t = tshark(pcap, {"frame.interface_name", "frame.interface_description", "frame.comment",
                         "frame.time_epoch", "frame.len", "frame.cap_len", "frame.protocols"});
  if (!t.available) GTEST_SKIP() << "tshark is not installed (scripts/install-deps.sh test)";
  ASSERT_TRUE(t.error.empty()) << t.error;
  auto texts = event_texts(kFixtures + "nscope_bridge.json");
  ASSERT_EQ(t.rows.size(), 18u);
  ASSERT_EQ(texts.size(), 18u);
  for (size_t i = 0; i < 18; ++i) EXPECT_EQ(t.rows[i][2], escaped(texts[i])) << i;
  EXPECT_EQ(t.rows[0][0], "web-1/eth0");
  EXPECT_EQ(t.rows[0][1], "netns 4026532301 (web-1), ifindex 2");
  EXPECT_EQ(t.rows[0][6], "eth:ethertype:arp");
  EXPECT_EQ(t.rows[2][0], "host/veth-web1");
  EXPECT_EQ(t.rows[4][0], "db-1/eth0");
  EXPECT_EQ(t.rows[15][0], "db-1/-");  // kfree_skb without a device
  // Monotonic 5000.000000000 s + the startup offset 1718000000.25 s.
  EXPECT_EQ(t.rows[1][3], "1718005000.250000000");
  EXPECT_EQ(t.rows[1][4], "98");
  EXPECT_EQ(t.rows[1][6], "eth:ethertype:ip:icmp:data");
  EXPECT_EQ(t.rows[11][6], "eth:ethertype:ip:udp:data");

  // Only some probes.
  auto rx = nst::nscope({"pcap", kFixtures + "nscope_bridge.json", "-o", pcap, "-p",
                         "netif_receive_skb"});
  ASSERT_EQ(rx.exit_code, 0) << rx.describe();
  EXPECT_EQ(rx.err, "nscope: 7 packets on 4 interfaces written to " + pcap +
                        "; 11 events at other probes left out\n");
  t = tshark(pcap, {"frame.interface_name"});
  EXPECT_EQ(t.rows.size(), 7u);

  // The Retis file too.
  auto rt = nst::nscope({"pcap", kFixtures + "retis_bridge.json", "-o", pcap});
  ASSERT_EQ(rt.exit_code, 0) << rt.describe();
  t = tshark(pcap, {"frame.interface_name", "tcp.flags.syn"});
  ASSERT_EQ(t.rows.size(), 14u);
  EXPECT_EQ(t.rows[0][0], "ns:4026532741/veth-ns01");
  EXPECT_EQ(t.rows[0][1], "1");
}

TEST(PrintSortPcap, BadInput) {
  nst::TempDir dir;
  for (const char* cmd : {"print", "sort", "pcap"}) {
    std::vector<std::string> extra;
    if (std::string(cmd) == "pcap") extra = {"-o", dir / "out.pcapng"};
    auto with = [&](std::vector<std::string> args) {
      args.insert(args.begin(), cmd);
      args.insert(args.end(), extra.begin(), extra.end());
      return nst::nscope(args);
    };
    auto r = with({"/etc/passwd"});
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_EQ(r.err, "nscope: /etc/passwd:1: " + kNotEvents + "\n") << cmd;
    EXPECT_EQ(r.out, "");
    r = with({dir / "missing.json"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "nscope: cannot open " + (dir / "missing.json") +
                         ": No such file or directory\n");
    r = with({"/"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "nscope: cannot read /: Is a directory\n");
    r = with({});
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_NE(r.err.find("FILE is required"), std::string::npos) << r.err;
    r = with({kFixtures + "nscope_bridge.json", "--bogus"});
    EXPECT_EQ(r.exit_code, 2);
  }
  // No pcapng is left behind for a file that is not an event file.
  EXPECT_NE(access((dir / "out.pcapng").c_str(), F_OK), 0);
  EXPECT_EQ(nst::nscope({"pcap", kFixtures + "nscope_bridge.json"}).exit_code, 2);  // no -o
  EXPECT_EQ(nst::nscope({"sort", kFixtures + "nscope_bridge.json", "--window", "soon"}).exit_code, 2);
  EXPECT_EQ(nst::nscope({"sort", kFixtures + "nscope_bridge.json", "--max-buffered", "0"}).exit_code, 2);

  // A collect killed mid-write: the whole events print, with a warning.
  std::string content = nst::read_file(kFixtures + "nscope_bridge.json");
  auto lines = split_lines(content);
  std::string cut;
  for (size_t i = 0; i + 2 < lines.size(); ++i) cut += lines[i] + "\n";
  cut += lines[lines.size() - 2].substr(0, 100);
  write_file(dir / "cut.json", cut);
  auto r = nst::nscope({"print", dir / "cut.json"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(count(r.out, "\n  netns "), 17u);
  EXPECT_EQ(r.err, "nscope: " + (dir / "cut.json") +
                       ":19: the last line is incomplete (no newline at the end: was collect "
                       "stopped mid-write?); ignored\n");

  // A damaged line in the middle: an error naming it, or skipped on request.
  std::string bad = lines[0] + "\n" + lines[1] + "\n" + lines[2].substr(0, 50) + "\n" + lines[3] + "\n";
  write_file(dir / "bad.json", bad);
  r = nst::nscope({"sort", dir / "bad.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "nscope: " + (dir / "bad.json") +
                       ":3: not valid JSON: invalid string: missing closing quote at byte 51 (--skip-bad skips "
                       "malformed lines)\n");
  r = nst::nscope({"print", dir / "bad.json", "--skip-bad"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(count(r.out, "\n  netns "), 2u);
  EXPECT_EQ(r.err, "nscope: " + (dir / "bad.json") +
                       ":3: not valid JSON: invalid string: missing closing quote at byte 51; "
                       "skipped\nnscope: " +
                       (dir / "bad.json") + ": 1 malformed line skipped in all\n");

  // Empty file: nothing to show, said once.
  write_file(dir / "empty.json", "");
  r = nst::nscope({"print", dir / "empty.json"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "nscope: " + (dir / "empty.json") + ": empty file, no events\n");

  // Standard input works as a file.
  r = nst::nscope({"print", "-"});  // stdin is /dev/null here
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "nscope: <stdin>: empty file, no events\n");
}

// `print -` on a live pipe prints each event when it arrives: a collection piped into print
// must not wait for a chunk of lines or the end of the input.
TEST(PrintSortPcap, PrintFromAPipeShowsEachEventAsItComes) {
  auto lines = split_lines(nst::read_file(kFixtures + "nscope_bridge.json"));
  ASSERT_GE(lines.size(), 3u);
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    execl(nst::nscope_bin(), "nscope", "print", "-", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  // What print shows within 5 s, or until `want` appears.
  std::string shown;
  auto read_until = [&](const std::string& want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (shown.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      shown.append(buf, static_cast<size_t>(n));
    }
    return shown.find(want) != std::string::npos;
  };
  auto send = [&](const std::string& line) {
    std::string l = line + "\n";
    return write(in[1], l.data(), l.size()) == static_cast<ssize_t>(l.size());
  };
  // The startup line and one event, the pipe kept open: the event shows.
  ASSERT_TRUE(send(lines[0]) && send(lines[1]));
  json first = json::parse(lines[1]);
  std::string ts1 = std::to_string(first["common"]["timestamp"].get<uint64_t>());
  EXPECT_TRUE(read_until(ts1 + " [ping]")) << "after one event, print showed: " << shown;
  // Then the next one alone.
  ASSERT_TRUE(send(lines[2]));
  json second = json::parse(lines[2]);
  std::string ts2 = std::to_string(second["common"]["timestamp"].get<uint64_t>());
  EXPECT_TRUE(read_until(ts2 + " [")) << "after two events, print showed: " << shown;
  close(in[1]);
  read_until("\x01");  // to the end of its output
  int status = 0;
  waitpid(pid, &status, 0);
  close(out[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(count(shown, " [ping] "), 2u) << shown;
}
