// The event-file reader and its fast scanner: recorded files (nscope's and Retis's), the
// fast path against parse_event_line line by line, and every fault a file can have.
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "events/fast_reader.h"
#include "events/file_reader.h"
#include "events/format.h"
#include "events/reader.h"

using namespace nscope;

namespace {

const std::string kFixtures = std::string(NSCOPE_FIXTURES) + "/events/";

// A reader over bytes held in a memfd.
std::unique_ptr<EventFileReader> reader_of(const std::string& bytes, ReadOptions ro,
                                           std::vector<std::string>* warnings = nullptr) {
  int fd = memfd_create("events", MFD_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  lseek(fd, 0, SEEK_SET);
  if (warnings) ro.warn = [warnings](const std::string& w) { warnings->push_back(w); };
  return std::make_unique<EventFileReader>(Fd(fd), "t.json", std::move(ro));
}

struct ReadAll {
  std::vector<Event> events;
  std::vector<std::string> warnings;
  std::string error;  // empty when the file read to its end
};

ReadAll read_all(const std::string& bytes, ReadOptions ro = {}) {
  ReadAll r;
  auto rd = reader_of(bytes, std::move(ro), &r.warnings);
  while (true) {
    Event e;
    auto n = rd->next(e);
    if (!n) {
      r.error = n.error().message;
      break;
    }
    if (!*n) break;
    r.events.push_back(e);
  }
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream f(path);
  for (std::string l; std::getline(f, l);) out.push_back(l);
  return out;
}

std::string text_of(const Event& e) {
  std::string s;
  format_event_text(e, {}, s);
  return s;
}
std::string json_of(const Event& e) {
  std::string s;
  format_event_json(e, s);
  return s;
}

// Both parsers give the same verdict and, for events, the same rendering.
void expect_same(const std::string& line) {
  SymbolTable syms;
  Event a, b;
  StartupInfo sa, sb;
  auto ra = parse_event_line(line, syms, a, &sa);
  auto rb = parse_event_line_fast(line, syms, b, &sb);
  ASSERT_EQ(ra.ok(), rb.ok()) << line;
  if (!ra.ok()) {
    EXPECT_EQ(ra.error().message, rb.error().message) << line;
    return;
  }
  ASSERT_EQ(*ra, *rb) << line;
  if (*ra != LineKind::event) return;
  EXPECT_EQ(json_of(a), json_of(b)) << line;
  EXPECT_EQ(text_of(a), text_of(b)) << line;
  EXPECT_EQ(a.l2_len, b.l2_len);
  EXPECT_EQ(a.probe_type, b.probe_type);
}

constexpr const char* kEvent =
    R"({"common":{"timestamp":100,"smp_id":1,"task":{"pid":7,"tgid":7,"comm":"ping"}},)"
    R"("kernel":{"probe_type":"raw_tracepoint","symbol":"net:netif_receive_skb"},)"
    R"("netns":{"inum":4026531840,"cookie":1},"dev":{"name":"eth0","ifindex":2}})";

std::string event_at(uint64_t ts) {
  std::string s = kEvent;
  s.replace(s.find("100"), 3, std::to_string(ts));
  return s;
}

}  // namespace

TEST(FileReader, ReadsNscopeFileWithStartupAndStats) {
  auto r = EventFileReader::open(kFixtures + "nscope_bridge.json");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EventFileReader& rd = **r;
  std::vector<Event> evs;
  for (Event e; *rd.next(e);) evs.push_back(e);
  EXPECT_EQ(evs.size(), 18u);
  EXPECT_TRUE(rd.has_startup());
  EXPECT_EQ(rd.startup().tool, "nscope");
  EXPECT_EQ(rd.startup().initial_netns, 4026531840u);
  EXPECT_EQ(rd.startup().netns_names.at(4026532301u), "web-1");
  EXPECT_EQ(rd.startup().netns_names.at(4026532302u), "db-1");
  EXPECT_EQ(rd.startup().mono_to_utc_ns, 1718000000250000000);
  EXPECT_EQ(rd.startup().probes,
            (std::vector<std::string>{"net:netif_receive_skb", "net:net_dev_start_xmit",
                                      "skb:kfree_skb", "skb:consume_skb"}));
  EXPECT_TRUE(rd.startup().traces_frees());
  EXPECT_TRUE(rd.collect_stats().present);
  EXPECT_EQ(rd.collect_stats().events, 18u);
  EXPECT_EQ(rd.lines(), 20u);
  EXPECT_EQ(rd.events(), 18u);
  EXPECT_TRUE(evs[1].has_tracking);
  EXPECT_EQ(evs[1].orig_head, 0xFFFF888004A1C000ull);
  EXPECT_EQ(evs[15].drop_reason, "NO_SOCKET");
}

TEST(FileReader, ReadsRetisFile) {
  std::vector<std::string> warnings;
  auto rd = reader_of(slurp(kFixtures + "retis_bridge.json"), {}, &warnings);
  std::vector<Event> evs;
  for (Event e; *rd->next(e);) evs.push_back(e);
  ASSERT_EQ(evs.size(), 14u);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(rd->startup().tool, "retis");
  EXPECT_EQ(rd->startup().version, "v1.5.0");
  EXPECT_EQ(rd->startup().mono_to_utc_ns, 1742309146691042000);
  EXPECT_TRUE(rd->startup().probes.empty());  // Retis does not say: learned from the events
  EXPECT_FALSE(rd->startup().traces_frees());
  const Event& syn_drop = evs[4];
  EXPECT_EQ(syn_drop.symbol, "skb:kfree_skb");
  EXPECT_EQ(syn_drop.drop_reason, "NO_SOCKET");
  ASSERT_TRUE(syn_drop.has_ct);
  EXPECT_EQ(syn_drop.ct.orig.proto, 6);
  EXPECT_EQ(syn_drop.ct.orig.dport, 8080);
  EXPECT_EQ(evs[0].len, 66u);  // skb.meta.len
  EXPECT_EQ(evs[0].ifindex, 11u);
  EXPECT_EQ(fixed_str(evs[0].ifname), "veth-ns01");
  EXPECT_EQ(evs[0].netns_cookie, 3u);
  EXPECT_EQ(evs[2].rx_ifindex, 10u);
}

TEST(FastParser, AgreesWithFullParserOnRecordedFiles) {
  for (const char* f : {"nscope_bridge.json", "retis_bridge.json"}) {
    for (const auto& line : lines_of(kFixtures + f)) {
      expect_same(line);
      SymbolTable syms;
      Event e;
      // Event lines never need the full parser (but for the rarer sections it keeps: ovs).
      bool event = line.find("\"startup\"") == std::string::npos &&
                   line.find("\"stats\"") == std::string::npos &&
                   line.find("\"ovs\"") == std::string::npos;
      if (event) {
        EXPECT_TRUE(try_parse_event_fast(line, syms, e)) << line;
      }
    }
  }
}

TEST(FastParser, AgreesWithFullParserOnOddLines) {
  const std::vector<std::string> odd = {
      "", "   ", "{", "}", "{}", "[]", "null", "42", "\"x\"", "{\"common\":1}",
      R"({"common":{}})", R"({"common":{"timestamp":-1}})", R"({"common":{"timestamp":1.5}})",
      R"({"common":{"timestamp":1e3}})", R"({"common":{"timestamp":"0x10"}})",
      R"({"common":{"timestamp":"017"}})", R"({"common":{"timestamp":" 5"}})",
      R"({"common":{"timestamp":18446744073709551615}})",
      R"({"common":{"timestamp":18446744073709551616}})",
      R"({"common":{"timestamp":"18446744073709551616"}})",
      R"({"common":{"timestamp":00}})", R"({"common":{"timestamp":1}} x)",
      R"({"common":{"timestamp":1},"common":{"timestamp":2}})",
      R"({"common":{"timestamp":1,"timestamp":2}})",
      R"({"common":{"timestamp":1,"task":{"comm":"a\"b"}}})",
      R"({"common":{"timestamp":1,"task":{"comm":"é"}}})",
      R"({"common":{"timestamp":1,"task":{"comm":7}}})",
      R"({"common":{"timestamp":1,"task":{"pid":5}}})",
      R"({"common":{"timestamp":1},"kernel":{"symbol":null}})",
      R"({"common":{"timestamp":1},"skb-drop":{"drop_reason":3}})",
      R"({"common":{"timestamp":1},"skb-drop":{}})",
      R"({"common":{"timestamp":1},"packet":{"data":"!!"}})",
      R"({"common":{"timestamp":1},"packet":{"data":"AAE=garbage"}})",
      R"({"common":{"timestamp":1},"packet":{"data":"AAECAwQFBgcICQoLDA0ODxAREhM","len":0}})",
      R"({"common":{"timestamp":1},"packet":{"len":9}})",
      R"({"common":{"timestamp":1},"skb":{"meta":{"len":70},"len":0}})",
      R"({"common":{"timestamp":1},"ovs":{"a":[1,2,{"b":null,"c":true,"d":false}],"e":-0}})",
      R"({"common":{"timestamp":1},"x":[1.5e10]})",
      R"({"common":{"timestamp":1},"x":123456789012345678901234567890})",
      R"({"common":{"timestamp":1},"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})",
      R"({"common":{"timestamp":1},"ct":{"state":"established","orig":{"src":"10.0.0.1","dst":"10.0.0.2","version":4,"proto":17,"sport":1,"dport":2}}})",
      R"({"common":{"timestamp":1},"ct":{"state":"NEW","base":{"orig":{"ip":{"src":"fe80::1","dst":"fe80::2","version":"v6"},"proto":{"icmpv6":{"type":128,"code":0,"id":9}}}},"status":3}})",
      R"({"common":{"timestamp":1},"ct":{"base":{"orig":{"proto":{"tcp":{},"udp":{}}}}}})",
      R"({"common":{"timestamp":1},"ct":{"base":{"orig":{"proto":{"":{"sport":1}}}}}})",
      R"({"common":{"timestamp":1},"ct":{"base":{"orig":{"ip":{"src":"999.1.1.1"},"proto":{"tcp":5}}}}})",
      // Where the status is: ct_status (Retis 1.5+) before status, the connection ("base"
      // when there is one) before the section; a parent's is never read.
      R"({"common":{"timestamp":1},"ct":{"state":"new","ct_status":392,"status":3}})",
      R"({"common":{"timestamp":1},"ct":{"status":3,"ct_status":392}})",
      R"({"common":{"timestamp":1},"ct":{"ct_status":7,"base":{"status":9}}})",
      R"({"common":{"timestamp":1},"ct":{"status":7,"base":{"ct_status":9,"mark":1}}})",
      R"({"common":{"timestamp":1},"ct":{"ct_status":7,"base":{"zone_id":4}}})",
      R"({"common":{"timestamp":1},"ct":{"base":5,"ct_status":7}})",
      R"({"common":{"timestamp":1},"ct":{"ct_status":null}})",
      R"({"common":{"timestamp":1},"ct":{"ct_status":"0x188"}})",
      R"({"common":{"timestamp":1},"ct":{"ct_status":1,"ct_status":2}})",
      R"({"common":{"timestamp":1},"ct":{"ct_status":18446744073709551615}})",
      R"({"common":{"timestamp":1},"ct":{"parent":{"ct_status":10,"mark":5,"zone_id":1},"labels":{"hi":1,"lo":2},"zone_dir":"Reply","tcp_state":"SYN_SENT"}})",
      R"({"startup":{"nscope_version":"0.1","netns_names":{"5":"a"}}})",
      R"({"common":{"timestamp":3},"startup":{"retis_version":"v1.6.0"}})",
      R"({"stats":{"events":1}})", R"({"md":1})", "{\"common\":{\"timestamp\":1}}\r",
      std::string("{\"common\":{\"timestamp\":1}}\0", 28),
      "\xef\xbb\xbf{\"common\":{\"timestamp\":1}}",
  };
  for (const auto& l : odd) expect_same(l);
}

TEST(FastParser, ReadsRetis16CtItself) {
  // Retis 1.5 and later: the connection flattened into the section, "ct_status", "labels",
  // "zone_dir", "tcp_state", and the related connection's "parent".
  const std::string line =
      R"({"common":{"timestamp":30419169061793,"smp_id":6,"task":{"pid":11330,"tgid":11330,)"
      R"("comm":"curl"}},"kernel":{"symbol":"net:net_dev_start_xmit","probe_type":)"
      R"("raw_tracepoint"},"ct":{"state":"related","zone_id":0,"zone_dir":"Default","orig":)"
      R"({"ip":{"src":"192.168.125.10","dst":"192.168.125.11","version":"v4"},"proto":{"tcp":)"
      R"({"sport":43512,"dport":8080}}},"reply":{"ip":{"src":"192.168.125.11","dst":)"
      R"("192.168.125.10","version":"v4"},"proto":{"tcp":{"sport":8080,"dport":43512}}},)"
      R"("tcp_state":"ESTABLISHED","mark":7,"labels":{"hi":0,"lo":1},"ct_status":398,"parent":)"
      R"({"zone_id":0,"zone_dir":"Default","orig":{"ip":{"src":"192.168.125.10","dst":)"
      R"("192.168.125.11","version":"v4"},"proto":{"tcp":{"sport":40000,"dport":21}}},"reply":)"
      R"({"ip":{"src":"192.168.125.11","dst":"192.168.125.10","version":"v4"},"proto":{"tcp":)"
      R"({"sport":21,"dport":40000}}},"tcp_state":"ESTABLISHED","ct_status":14}}})";
  expect_same(line);
  SymbolTable syms;
  Event e;
  ASSERT_TRUE(try_parse_event_fast(line, syms, e)) << "handed to the full parser";
  EXPECT_EQ(e.ct_state, CtState::related);
  EXPECT_EQ(e.ct.status, 398u);
  EXPECT_EQ(e.ct.mark, 7u);
  EXPECT_EQ(e.ct.orig.sport, 43512);
  EXPECT_EQ(e.ct.orig.dport, 8080);
  EXPECT_EQ(e.ct.reply.sport, 8080);
}

TEST(FastParser, ParsesTheUsualShapesItself) {
  SymbolTable syms;
  Event e;
  EXPECT_TRUE(try_parse_event_fast(kEvent, syms, e));
  EXPECT_EQ(e.ts, 100u);
  EXPECT_EQ(e.netns_inum, 4026531840u);
  EXPECT_TRUE(try_parse_event_fast(
      R"({"common":{"timestamp":1},"skb-tracking":{"orig_head":"18446612682135109888","timestamp":5,"skb":"0xffff888003e10100"}})",
      syms, e));
  EXPECT_EQ(e.orig_head, 18446612682135109888ull);
  EXPECT_EQ(e.skb_addr, 0xffff888003e10100ull);
  // Escapes go to the full parser, which gets them right.
  EXPECT_FALSE(try_parse_event_fast(R"({"common":{"timestamp":1,"task":{"comm":"a\"b"}}})", syms, e));
  auto k = parse_event_line_fast(R"({"common":{"timestamp":1,"task":{"comm":"a\"b"}}})", syms, e, nullptr);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(fixed_str(e.comm), "a\"b");
}

TEST(FileReader, NotAnEventFile) {
  auto r = read_all("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/sh\n");
  EXPECT_EQ(r.error, "t.json:1: " + std::string(kNotAnEventFile));
  EXPECT_TRUE(r.events.empty());
  // Blank lines first: the line number is the first line with something on it.
  r = read_all("\n\n[1,2,3]\n");
  EXPECT_EQ(r.error, "t.json:3: " + std::string(kNotAnEventFile));
  // JSON, but no event in it.
  r = read_all("{\"name\":\"package\",\"version\":\"1.0\"}\n");
  EXPECT_EQ(r.error, "t.json:1: " + std::string(kNotAnEventFile));
  // Pretty-printed JSON is not JSON lines.
  r = read_all("{\n  \"common\": {\"timestamp\": 1}\n}\n");
  EXPECT_EQ(r.error, "t.json:1: " + std::string(kNotAnEventFile));
  // --skip-bad does not make a file an event file.
  ReadOptions skip;
  skip.skip_bad = true;
  r = read_all("hello\n", skip);
  EXPECT_EQ(r.error, "t.json:1: " + std::string(kNotAnEventFile));
}

TEST(FileReader, BinaryFileIsRefusedWithoutReadingItAll) {
  std::string junk(8 << 20, '\x7f');  // 8 MiB, no newline
  ReadOptions ro;
  ro.buffer_size = 1 << 16;
  auto r = read_all(junk, ro);
  EXPECT_EQ(r.error, "t.json:1: " + std::string(kNotAnEventFile));
}

TEST(FileReader, MalformedLineInTheMiddle) {
  std::string file = event_at(1) + "\n" + event_at(2) + "\n{\"common\":{\"timestamp\":3}\n" +
                     event_at(4) + "\n";
  auto r = read_all(file);
  EXPECT_EQ(r.error, "t.json:3: not valid JSON: unexpected end of input at byte 26 (--skip-bad skips malformed lines)");
  EXPECT_EQ(r.events.size(), 2u);  // what came before is delivered first

  ReadOptions skip;
  skip.skip_bad = true;
  r = read_all(file, skip);
  EXPECT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[2].ts, 4u);
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0], "t.json:3: not valid JSON: unexpected end of input at byte 26; skipped");
  EXPECT_EQ(r.warnings[1], "t.json: 1 malformed line skipped in all");  // always counted
}

TEST(FileReader, ManyBadLinesAreCountedNotListed) {
  std::string file = event_at(1) + "\n";
  for (int i = 0; i < 25; ++i) file += "garbage\n";
  file += event_at(2) + "\n";
  ReadOptions skip;
  skip.skip_bad = true;
  std::vector<std::string> warnings;
  auto rd = reader_of(file, skip, &warnings);
  int n = 0;
  for (Event e; *rd->next(e);) ++n;
  EXPECT_EQ(n, 2);
  EXPECT_EQ(rd->bad_lines(), 25u);
  ASSERT_EQ(warnings.size(), 11u);
  EXPECT_EQ(warnings.back(), "t.json: 25 malformed lines skipped in all");
}

TEST(FileReader, TruncatedLastLineIsAWarning) {
  std::string last = event_at(3);
  std::string file = event_at(1) + "\n" + event_at(2) + "\n" + last.substr(0, last.size() / 2);
  auto r = read_all(file);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.events.size(), 2u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("t.json:3: the last line is incomplete"), std::string::npos)
      << r.warnings[0];
  // A whole last line without its newline is fine.
  r = read_all(event_at(1) + "\n" + event_at(2));
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.events.size(), 2u);
  EXPECT_TRUE(r.warnings.empty());
}

TEST(FileReader, BlankLinesCrlfAndObjectsThatAreNoEvents) {
  std::string file = "\n" + event_at(1) + "\r\n   \n\r\n{\"md\":1}\n{\"md\":2}\n" + event_at(2) + "\n\n";
  auto r = read_all(file);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.events.size(), 2u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("t.json:5: a JSON object that is no event"), std::string::npos);
}

TEST(FileReader, EmptyFileAndLostEvents) {
  auto r = read_all("");
  EXPECT_TRUE(r.error.empty());
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "t.json: empty file, no events");

  r = read_all(event_at(1) + "\n{\"stats\":{\"events\":1,\"lost\":7}}\n");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "t.json: collect lost 7 events while recording (its ring buffer was full)");
}

TEST(FileReader, MissingFile) {
  auto r = EventFileReader::open("/nonexistent/events.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cannot open /nonexistent/events.json: No such file or directory");
}

TEST(FileReader, LongLinesGrowTheBufferUpToALimit) {
  std::string pad(5000, 'x');
  std::string big = R"({"common":{"timestamp":9},"pad":")" + pad + "\"}";
  ReadOptions ro;
  ro.buffer_size = 256;
  auto r = read_all(event_at(1) + "\n" + big + "\n" + event_at(2) + "\n", ro);
  EXPECT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[1].ts, 9u);
  ro.max_line = 1024;
  r = read_all(event_at(1) + "\n" + big + "\n", ro);
  EXPECT_NE(r.error.find("t.json:2: a line longer than"), std::string::npos) << r.error;
}

TEST(FileReader, BackgroundThreadGivesTheSameSequence) {
  // Events, a startup line in the middle, warnings: in file order either way.
  std::string file;
  for (int i = 1; i <= 3000; ++i) {
    file += event_at(static_cast<uint64_t>(i)) + "\n";
    if (i == 1500)
      file += R"({"startup":{"nscope_version":"0.1","netns_names":{"4026531840":"h"}}})" "\n";
    if (i % 1000 == 0) file += "bad line\n";
  }
  for (bool bg : {false, true}) {
    ReadOptions ro;
    ro.skip_bad = true;
    ro.background = bg;
    ro.buffer_size = 4096;
    ro.keep_text = true;
    std::vector<std::string> seen;
    ro.warn = [&](const std::string& w) { seen.push_back("W " + w); };
    auto rd2 = reader_of(file, ro);
    uint64_t expect = 1;
    while (true) {
      auto e = rd2->next();
      ASSERT_TRUE(e.ok());
      if (!*e) break;
      EXPECT_EQ((*e)->ts, expect++);
      EXPECT_EQ(rd2->text(), event_at((*e)->ts));
      // The startup line in the middle applies from the event after it.
      EXPECT_EQ(rd2->has_startup(), (*e)->ts > 1500) << (*e)->ts;
      if ((*e)->ts % 1000 == 1 && (*e)->ts > 1) seen.push_back("E " + std::to_string((*e)->ts));
    }
    EXPECT_EQ(expect, 3001u);
    EXPECT_EQ(rd2->bad_lines(), 3u);
    EXPECT_EQ(rd2->startup().netns_names.at(4026531840u), "h");
    // Each warning arrives right before the event that follows the bad line.
    std::vector<std::string> want = {"W t.json:1001: not valid JSON: invalid literal at byte 1; skipped", "E 1001",
                                     "W t.json:2003: not valid JSON: invalid literal at byte 1; skipped", "E 2001",
                                     "W t.json:3004: not valid JSON: invalid literal at byte 1; skipped",
                                     "W t.json: 3 malformed lines skipped in all"};
    EXPECT_EQ(seen, want) << "background " << bg;
  }
}

TEST(FileReader, BackgroundReaderStopsCleanlyWhenDroppedEarly) {
  std::string file;
  for (int i = 1; i <= 20000; ++i) file += event_at(static_cast<uint64_t>(i)) + "\n";
  ReadOptions ro;
  ro.background = true;
  ro.chunk_events = 16;
  auto rd = reader_of(file, ro);
  Event e;
  ASSERT_TRUE(*rd->next(e));
  rd.reset();  // the thread is blocked on a full queue: it must end and be joined
  SUCCEED();
}
