// `sort` keeps packets whole and ends them by the file's rule; `pcap` writes what was on the
// wire, takes collect's probe forms and leaves nothing cut short behind. Each test writes
// its own event files into a TempDir (removed whatever the outcome).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "testenv.h"

namespace {

using nst::json;

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint32_t kHost = 4026531840u;

using nst::write_file;

using nst::split_lines;

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = uint8_t(bytes[i]) << 16 | uint8_t(bytes[i + 1]) << 8 | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (size_t rest = bytes.size() - i) {
    uint32_t v = uint8_t(bytes[i]) << 16 | (rest == 2 ? uint8_t(bytes[i + 1]) << 8 : 0);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += rest == 2 ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// An Ethernet + IPv4 + TCP frame `wire` bytes long (payload zeros).
std::string tcp_frame(size_t wire) {
  std::string f;
  f += std::string("\x02\x00\x0a\xd5\x00\x02\x02\x00\x0a\xd5\x00\x01\x08\x00", 14);
  uint16_t ip_len = static_cast<uint16_t>(wire - 14);
  std::string ip = std::string("\x45\x00", 2) + char(ip_len >> 8) + char(ip_len & 0xff) +
                   std::string("\x12\x34\x40\x00\x40\x06\x00\x00\x0a\xd5\x00\x01\x0a\xd5\x00\x02", 16);
  f += ip;
  f += std::string("\x9c\x40\x00\x50\x00\x00\x00\x01\x00\x00\x00\x00\x50\x10\xfa\xf0\x00\x00\x00\x00", 20);
  f.resize(wire, '\0');
  return f;
}

// A minimal tracked event in nscope's layout.
std::string tracked(uint64_t ts, uint64_t first_seen, uint64_t head, const char* symbol) {
  return R"({"common":{"timestamp":)" + std::to_string(ts) +
         R"(},"kernel":{"probe_type":"raw_tracepoint","symbol":")" + symbol +
         R"("},"netns":{"inum":4026531840},"skb-tracking":{"orig_head":)" + std::to_string(head) +
         R"(,"timestamp":)" + std::to_string(first_seen) + "}}\n";
}

// An event in Retis's layout with packet bytes: `frame` is what was on the wire, `captured`
// bytes of it are in the file.
std::string retis_event(uint64_t ts, const char* type, const char* symbol, const std::string& frame,
                        size_t captured) {
  std::string cap = frame.substr(0, captured);
  return R"({"common":{"timestamp":)" + std::to_string(ts) +
         R"(,"smp_id":1,"task":{"pid":7,"tgid":7,"comm":"t"}},"kernel":{"symbol":")" + symbol +
         R"(","probe_type":")" + type +
         R"("},"skb-tracking":{"orig_head":18446619372617628672,"timestamp":)" +
         std::to_string(ts) + R"(,"skb":18446619372617628672},"dev":{"name":"eth0","ifindex":2},)" +
         R"("netns":{"cookie":1,"inum":4026531840},"skb":{"meta":{"len":)" +
         std::to_string(frame.size() - 14) +
         R"(,"data_len":0,"hash":0,"ip_summed":0,"csum":0,"csum_level":0,"priority":0}},)"
         R"("packet":{"len":)" +
         std::to_string(frame.size()) + R"(,"capture_len":)" + std::to_string(cap.size()) +
         R"(,"data":")" + base64(cap) + "\"}}\n";
}

const std::string kRetisStartup =
    R"({"common":{"timestamp":1},"startup":{"retis_version":"v1.6.0","cmdline":"retis collect -o x.json","clock_monotonic_offset":{"sec":1742309146,"nsec":0}}})"
    "\n";

struct Tshark {
  bool available = false;
  std::string error;
  std::vector<std::vector<std::string>> rows;
};
Tshark tshark(const std::string& pcap, const std::vector<std::string>& fields) {
  Tshark t;
  if (nst::find_tool("tshark").empty()) return t;
  t.available = true;
  std::vector<std::string> argv{"tshark", "-r", pcap, "-T", "fields", "-E", "separator=/t"};
  for (const auto& f : fields) argv.insert(argv.end(), {"-e", f});
  auto r = nst::run(argv, nst::with_timeout(std::chrono::seconds(60)));
  if (r.exit_code != 0) t.error = r.describe();
  for (const auto& line : split_lines(r.out)) {
    std::vector<std::string> row;
    std::istringstream is(line);
    for (std::string f; std::getline(is, f, '\t');) row.push_back(f);
    t.rows.push_back(row);
  }
  return t;
}

// if_snaplen of each Interface Description Block of a pcapng file (in host order, as
// nscope writes it).
std::vector<uint32_t> idb_snaplens(const std::string& bytes) {
  std::vector<uint32_t> out;
  for (size_t at = 0; at + 12 <= bytes.size();) {
    uint32_t type, len;
    std::memcpy(&type, bytes.data() + at, 4);
    std::memcpy(&len, bytes.data() + at + 4, 4);
    if (len < 12) break;
    if (type == 1 && at + 16 <= bytes.size()) {
      uint32_t snap;
      std::memcpy(&snap, bytes.data() + at + 12, 4);
      out.push_back(snap);
    }
    at += len;
  }
  return out;
}

}  // namespace

TEST(SortPcapMore, TwoHundredThousandPacketsWithHalvesTenSecondsApart) {
  // 200,000 packets 200 us apart (40 s of traffic), each seen again 10 s after its first
  // sighting: every second half arrives after its first was written (window 5 s), and must
  // say it continues. (At most 50,000 series are open at once, below --max-buffered.)
  constexpr uint64_t kPackets = 200'000, kGap = 200'000, kApart = 10 * kSec;
  std::string file =
      R"({"startup":{"nscope_version":"0.1.0","initial_netns":4026531840,"probes":["net:net_dev_start_xmit","skb:kfree_skb","skb:consume_skb"]}})"
      "\n";
  file.reserve(kPackets * 2 * 190);
  auto t1 = [&](uint64_t i) { return kSec + i * kGap; };
  for (uint64_t first = 0, second = 0; second < kPackets;) {
    if (first < kPackets && t1(first) <= t1(second) + kApart) {
      file += tracked(t1(first), t1(first), 0xffff888000000000ull + first, "net:net_dev_start_xmit");
      ++first;
    } else {
      file += tracked(t1(second) + kApart, t1(second), 0xffff888000000000ull + second,
                      "skb:consume_skb");
      ++second;
    }
  }
  nst::TempDir dir;
  write_file(dir / "halves.json", file);
  file.clear();
  file.shrink_to_fit();

  auto r = nst::nscope({"sort", dir / "halves.json", "-o", dir / "series.json"},
                       nst::with_timeout(std::chrono::seconds(120)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "nscope: 400000 events in 400000 series written to " + (dir / "series.json") +
                       "\nnscope: 200000 series continue a packet written out earlier (marked "
                       "\"(continued)\"): its events were more than --window 5s apart; raise it "
                       "to keep such packets in one series\n");
  std::ifstream in(dir / "series.json");
  uint64_t firsts = 0, marked = 0, unmarked = 0;
  for (std::string line; std::getline(in, line);) {
    bool second = line.find("skb:consume_skb") != std::string::npos;
    bool cont = line.find("\"continued\":true") != std::string::npos;
    if (!second) {
      ++firsts;
      EXPECT_FALSE(cont);
    } else if (cont && line.find("\"first_n\":1,") != std::string::npos) {
      ++marked;
    } else {
      ++unmarked;
    }
  }
  EXPECT_EQ(firsts, kPackets);
  EXPECT_EQ(marked, kPackets);
  EXPECT_EQ(unmarked, 0u);
}

TEST(SortPcapMore, EndsDoNotDependOnTheOrderOfUnrelatedPackets) {
  // Packet 1 is received and then quiet; packet 2 is dropped. The same lines in two orders:
  // packet 1's series goes out before the drop is read in one, after it in the other. Its
  // end is the file's rule either way.
  std::string p1 = tracked(1 * kSec, 1 * kSec, 1, "net:net_dev_start_xmit") +
                   tracked(1 * kSec + 100'000, 1 * kSec, 1, "net:netif_receive_skb");
  std::string p2 = tracked(8 * kSec, 8 * kSec, 2, "net:net_dev_start_xmit") +
                   tracked(8 * kSec + 100'000, 8 * kSec, 2, "skb:kfree_skb");
  auto nscope_startup = [](const char* probes) {
    return std::string(R"({"startup":{"nscope_version":"0.1.0","initial_netns":4026531840,"probes":[)") +
           probes + "]}}\n";
  };
  auto retis_startup = [](const char* cmdline) {
    return std::string(R"({"common":{"timestamp":1},"startup":{"retis_version":"v1.6.0","cmdline":")") +
           cmdline + R"(","clock_monotonic_offset":{"sec":1742309146,"nsec":0}}})" + "\n";
  };
  struct Case {
    std::string name, startup, end1;
  };
  std::vector<Case> cases = {
      {"no startup line", "", "in_flight"},
      {"nscope, drops only", nscope_startup(R"("net:netif_receive_skb","skb:kfree_skb")"), "delivered"},
      {"nscope, consume traced",
       nscope_startup(R"("net:netif_receive_skb","skb:kfree_skb","skb:consume_skb")"), "in_flight"},
      {"retis 1.5, no cmdline",
       R"({"common":{"timestamp":1},"startup":{"retis_version":"v1.5.0","clock_monotonic_offset":{"sec":1,"nsec":0}}})"
       "\n",
       "in_flight"},
      {"retis, skb-drop", retis_startup("retis collect -c skb,skb-drop,skb-tracking -o x.json"),
       "delivered"},
      {"retis, consume probe",
       retis_startup("retis collect -c skb,skb-drop,skb-tracking -p tp:skb:consume_skb -p net:netif_receive_skb"),
       "in_flight"},
  };
  nst::TempDir dir;
  for (const auto& c : cases) {
    std::map<std::string, std::string> ends[2];
    int order = 0;
    for (const std::string& body : {p1 + p2, p2 + p1}) {
      write_file(dir / "in.json", c.startup + body);
      auto r = nst::nscope({"sort", dir / "in.json", "-o", dir / "out.json"});
      ASSERT_EQ(r.exit_code, 0) << c.name << r.describe();
      for (const auto& line : split_lines(nst::read_file(dir / "out.json"))) {
        json s = json::parse(line);
        ends[order][s["id"].get<std::string>()] = s["end"]["state"].get<std::string>();
      }
      ++order;
    }
    ASSERT_EQ(ends[0].size(), 2u) << c.name;
    EXPECT_EQ(ends[0], ends[1]) << c.name;
    std::set<std::string> states;
    for (const auto& [id, end] : ends[0]) states.insert(end);
    EXPECT_EQ(states, (std::set<std::string>{c.end1, "dropped"})) << c.name;
  }
}

TEST(SortPcapMore, LargeSeriesStayWholeAndMaxTextNamesItself) {
  // One packet, 17 events of 4 MiB lines each (a long stack trace): 68 MiB,
  // past the 64 MiB that once split such a series without a word.
  std::string pad(4u << 20, 'x');
  std::string file;
  for (uint64_t i = 0; i < 17; ++i) {
    std::string e = tracked(kSec + i * 1000, kSec, 1, "net:net_dev_start_xmit");
    std::string frames = R"(,"stack_trace":[")" + pad + "\"]";
    e.insert(e.find(R"("},"netns")") + 1, frames);
    file += e;
  }
  nst::TempDir dir;
  write_file(dir / "big.json", file);
  file.clear();
  auto r = nst::nscope({"sort", dir / "big.json", "-o", dir / "out.json"},
                       nst::with_timeout(std::chrono::seconds(120)));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "nscope: 17 events in 1 series written to " + (dir / "out.json") + "\n");
  auto lines = split_lines(nst::read_file(dir / "out.json"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(json::parse(lines[0])["events"].size(), 17u);

  // A limit given on the line cuts, and says which it was.
  auto small = nst::nscope({"sort", dir / "big.json", "-o", dir / "out.json", "--max-text", "8M"},
                           nst::with_timeout(std::chrono::seconds(120)));
  ASSERT_EQ(small.exit_code, 0) << small.describe();
  EXPECT_NE(small.err.find("or their lines held more than --max-text 8M; raise them"),
            std::string::npos)
      << small.err;
  EXPECT_NE(small.err.find("series written out before complete: the events pending held more "
                           "than --max-text 8M of lines\n"),
            std::string::npos)
      << small.err;
  EXPECT_GT(split_lines(nst::read_file(dir / "out.json")).size(), 1u);

  for (const char* bad : {"0", "lots", "-1M", "12Q"}) {
    auto u = nst::nscope({"sort", dir / "big.json", "-o", dir / "u.json", "--max-text", bad});
    EXPECT_EQ(u.exit_code, 2) << bad;
    EXPECT_NE(u.err.find("--max-text: '" + std::string(bad) + "': give a size such as 512M"),
              std::string::npos)
        << u.err;
    EXPECT_FALSE(exists(dir / "u.json"));
  }
}

TEST(SortPcapMore, PcapOriginalLengthIsTheWireLengthAndShortCapturesAreCounted) {
  // Retis's layout: a 1514-byte frame of which 256 bytes were captured, and a 98-byte frame
  // captured whole.
  nst::TempDir dir;
  write_file(dir / "wire.json", kRetisStartup +
                                    retis_event(10 * kSec, "raw_tracepoint", "net:netif_receive_skb",
                                                tcp_frame(1514), 256) +
                                    retis_event(11 * kSec, "raw_tracepoint", "net:net_dev_start_xmit",
                                                tcp_frame(98), 98));
  std::string pcap = dir / "wire.pcapng";
  auto r = nst::nscope({"pcap", dir / "wire.json", "-o", pcap});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "nscope: 2 packets on 1 interface written to " + pcap +
                       "; 1 packet captured short (snap length 256 bytes)\n");
  for (uint32_t snap : idb_snaplens(nst::read_file(pcap))) EXPECT_EQ(snap, 256u);
  EXPECT_EQ(idb_snaplens(nst::read_file(pcap)).size(), 1u);
  auto t = tshark(pcap, {"frame.len", "frame.cap_len"});
  if (!t.available) GTEST_SKIP() << "tshark is not installed (scripts/install-deps.sh test)";
  ASSERT_TRUE(t.error.empty()) << t.error;
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"1514", "256"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"98", "98"}));
}

TEST(SortPcapMore, PcapProbesInCollectsForms) {
  std::string f = tcp_frame(98);
  nst::TempDir dir;
  std::string file = kRetisStartup;
  uint64_t ts = 10 * kSec;
  for (auto [type, sym] : std::vector<std::pair<const char*, const char*>>{
           {"raw_tracepoint", "net:netif_receive_skb"},
           {"kprobe", "ip_rcv"},
           {"kretprobe", "ovs_dp_upcall"},
           {"fentry", "tcp_v4_rcv"},
           {"fexit", "tcp_v4_rcv"}})
    file += retis_event(ts += 1000, type, sym, f, f.size());
  write_file(dir / "probes.json", file);
  std::string pcap = dir / "p.pcapng";
  auto packets = [&](const std::string& probe) {
    auto r = nst::nscope({"pcap", dir / "probes.json", "-o", pcap, "-p", probe});
    EXPECT_EQ(r.exit_code, 0) << probe << r.describe();
    return r.err.substr(0, r.err.find(" packet"));
  };
  for (const char* p : {"tp:net:netif_receive_skb", "raw_tracepoint:net:netif_receive_skb",
                        "net:netif_receive_skb", "netif_receive_skb", "kprobe:ip_rcv", "k:ip_rcv",
                        "k:ip_*", "kretprobe:ovs_dp_upcall", "kr:ovs_dp_upcall",
                        "fentry:tcp_v4_rcv", "fexit:tcp_v4_rcv"})
    EXPECT_EQ(packets(p), "nscope: 1") << p;
  EXPECT_EQ(packets("tcp_v4_rcv"), "nscope: 2");  // a bare name: whatever the probe type
  EXPECT_EQ(packets("ip_rcv,kr:ovs_dp_upcall"), "nscope: 2");

  // A probe no event came from: an error listing the ones the file has, and no pcapng.
  ASSERT_EQ(unlink(pcap.c_str()), 0);
  auto none = nst::nscope({"pcap", dir / "probes.json", "-o", pcap, "-p", "kprobe:ovs_dp_upcall"});
  EXPECT_EQ(none.exit_code, 1) << none.describe();
  EXPECT_EQ(none.err, "nscope: " + pcap + " removed: the error below cut it short\n"
                      "nscope: probe 'kprobe:ovs_dp_upcall' (-p) matches no event in " +
                          (dir / "probes.json") +
                          "; its events come from: net:netif_receive_skb (1), kprobe:ip_rcv (1), "
                          "kretprobe:ovs_dp_upcall (1), fentry:tcp_v4_rcv (1), fexit:tcp_v4_rcv "
                          "(1)\n");
  EXPECT_FALSE(exists(pcap));
  auto two = nst::nscope({"pcap", dir / "probes.json", "-o", pcap, "-p", "ip_rcv", "-p",
                          "fentry:nothing,net:nothing"});
  EXPECT_EQ(two.exit_code, 1);
  EXPECT_NE(two.err.find("probes 'fentry:nothing', 'net:nothing' (-p) match no event"),
            std::string::npos)
      << two.err;
  EXPECT_FALSE(exists(pcap));

  // A malformed probe is a usage error, before any output.
  for (const char* bad : {"kprobe:", "kr:", "tp:net", "net:"}) {
    auto u = nst::nscope({"pcap", dir / "probes.json", "-o", pcap, "-p", bad});
    EXPECT_EQ(u.exit_code, 2) << bad;
    EXPECT_NE(u.err.find("-p: probe '" + std::string(bad) + "': expected GROUP:NAME"),
              std::string::npos)
        << u.err;
    EXPECT_FALSE(exists(pcap));
  }
}

TEST(SortPcapMore, OutputCutShortByAnErrorIsNotLeftLookingWhole) {
  // 6,000 packets (a few MiB of pcapng, so some was written) and then a malformed line.
  std::string f = tcp_frame(256);
  std::string good;
  for (uint64_t i = 0; i < 6000; ++i)
    good += retis_event(10 * kSec + i * 1000, "raw_tracepoint", "net:netif_receive_skb", f, 256);
  nst::TempDir dir;
  write_file(dir / "bad.json", kRetisStartup + good + "{\"common\": nope\n" + good);
  std::string pcap = dir / "cut.pcapng", series = dir / "cut.series";

  auto r = nst::nscope({"pcap", dir / "bad.json", "-o", pcap});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err.rfind("nscope: " + pcap + " removed: the error below cut it short\nnscope: " +
                            (dir / "bad.json") + ":6002: ",
                        0),
            0u)
      << r.err;
  EXPECT_FALSE(exists(pcap));
  auto s = nst::nscope({"sort", dir / "bad.json", "-o", series});
  EXPECT_EQ(s.exit_code, 1) << s.describe();
  EXPECT_NE(s.err.find(series + " removed"), std::string::npos) << s.err;
  EXPECT_FALSE(exists(series));

  // A file that was there before was truncated when opened: it is left empty, and says so.
  write_file(pcap, "an older capture");
  r = nst::nscope({"pcap", dir / "bad.json", "-o", pcap});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(pcap + " emptied: the error below cut it short"), std::string::npos) << r.err;
  struct stat st {};
  ASSERT_EQ(stat(pcap.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);

  // Skipping the bad line, the whole file is written.
  r = nst::nscope({"pcap", dir / "bad.json", "-o", pcap, "--skip-bad"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("nscope: 12000 packets on 1 interface written to " + pcap), std::string::npos)
      << r.err;
  EXPECT_TRUE(exists(pcap));
}
