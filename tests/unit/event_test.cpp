#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include "collect/decode.h"
#include "events/format.h"
#include "events/reader.h"

using namespace nscope;

namespace {
nscope_event raw_icmp() {
  nscope_event r{};
  r.ts = 202389123456789ull;
  r.skb = 0xffff888012345678ull;
  r.netns_cookie = 12345678;
  r.probe = 1;
  r.cpu = 1;
  r.pid = 4242;
  r.tgid = 4242;
  r.netns_inum = 4026532256u;
  r.ifindex = 5;
  r.rx_ifindex = 0;
  r.len = 98;
  r.protocol = htons(0x0800);
  r.flags = NSCOPE_EV_HAS_SKB | NSCOPE_EV_HAS_MAC;
  r.ns_src = NSCOPE_NS_SKB_DEV;
  r.l2len = 14;
  std::strcpy(r.comm, "ping");
  std::strcpy(r.ifname, "veth1");
  const uint8_t frame[] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
                           0x45, 0, 0, 84, 0x30, 0x39, 0x40, 0, 64, 1, 0, 0,
                           10, 0, 0, 100, 10, 0, 0, 1, 8, 0, 0, 0, 0, 1, 0, 1};
  std::memcpy(r.data, frame, sizeof frame);
  r.caplen = sizeof frame;
  return r;
}

DecodeContext ctx() {
  DecodeContext c;
  c.slot_symbols = {"net:netif_receive_skb", "net:net_dev_start_xmit"};
  return c;
}
}  // namespace

TEST(Event, TextAsRetisPrintsIt) {
  Event e;
  decode_event(raw_icmp(), ctx(), e);
  std::unordered_map<uint32_t, std::string> names{{4026532256u, "web-1"}};
  TextOptions opt;
  opt.names = &names;
  std::string out;
  format_event_text(e, opt, out);
  EXPECT_EQ(out,
            "202389123456789 [ping] 4242 [tp] net:net_dev_start_xmit\n"
            "  if 5 (veth1) 10.0.0.100 > 10.0.0.1 ttl 64 tos 0x0 id 12345 off 0 [DF] len 84 proto ICMP "
            "(1) type 8 code 0 id 1 seq 1\n"
            "  netns 4026532256 cookie 12345678 (web-1)\n");
}

TEST(Event, JsonRoundTrip) {
  Event e;
  decode_event(raw_icmp(), ctx(), e);
  std::string line;
  format_event_json(e, line);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  SymbolTable syms;
  Event back;
  auto kind = parse_event_line(line, syms, back, nullptr);
  ASSERT_TRUE(kind.ok()) << kind.error().message;
  EXPECT_EQ(*kind, LineKind::event);
  std::string a, b;
  format_event_text(e, {}, a);
  format_event_text(back, {}, b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(back.skb_addr, e.skb_addr);
  EXPECT_EQ(back.netns_cookie, 12345678u);
  EXPECT_EQ(back.caplen, e.caplen);
  EXPECT_EQ(0, std::memcmp(back.data.data(), e.data.data(), e.caplen));
  // The skb address is above 2^53: written as a string, read back exactly.
  EXPECT_NE(line.find("\"addr\":\"0xffff888012345678\""), std::string::npos) << line;
}

TEST(Event, NetworkHeaderCaptureGetsEthernetHeader) {
  nscope_event r = raw_icmp();
  r.flags = NSCOPE_EV_HAS_SKB | NSCOPE_EV_HAS_NET;
  std::memmove(r.data, r.data + 14, r.caplen - 14);
  r.caplen -= 14;
  Event e;
  decode_event(r, ctx(), e);
  ASSERT_TRUE(e.has_packet);
  EXPECT_EQ(e.caplen, r.caplen + 14);
  EXPECT_EQ(e.data[12], 0x08);
  EXPECT_EQ(e.data[13], 0x00);
  EXPECT_EQ(e.data[14], 0x45);
}

TEST(Event, CollectorsDecideSections) {
  DecodeContext c = ctx();
  c.collectors = NSCOPE_COLLECT_NS;
  Event e;
  decode_event(raw_icmp(), c, e);
  EXPECT_TRUE(e.has_netns);
  EXPECT_FALSE(e.has_dev);
  EXPECT_FALSE(e.has_skb);
  EXPECT_FALSE(e.has_packet);
}

TEST(Event, ReaderRejectsAndSkipsClearly) {
  SymbolTable syms;
  Event e;
  StartupInfo st;
  EXPECT_FALSE(parse_event_line("not json", syms, e, nullptr).ok());
  EXPECT_FALSE(parse_event_line("[1,2]", syms, e, nullptr).ok());
  EXPECT_FALSE(parse_event_line("{\"common\":{}}", syms, e, nullptr).ok());
  EXPECT_FALSE(parse_event_line("{\"common\":{\"timestamp\":1},\"packet\":{\"data\":\"!!\"}}", syms, e,
                                nullptr).ok());
  auto k = parse_event_line(
      "{\"startup\":{\"nscope_version\":\"0.1\",\"clock_monotonic_offset\":{\"sec\":2,\"nsec\":5}}}",
      syms, e, &st);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, LineKind::startup);
  EXPECT_EQ(st.mono_to_utc_ns, 2000000005);
  EXPECT_EQ(*parse_event_line("{\"stats\":{}}", syms, e, nullptr), LineKind::stats);
  EXPECT_EQ(*parse_event_line("{\"md\":1}", syms, e, nullptr), LineKind::other);
}

TEST(Event, Base64) {
  const uint8_t in[] = {0, 1, 2, 250, 251};
  for (size_t n = 0; n <= sizeof in; ++n) {
    std::string s;
    base64_encode(in, n, s);
    uint8_t out[8];
    size_t len = 0;
    ASSERT_TRUE(base64_decode(s, out, sizeof out, &len));
    ASSERT_EQ(len, n);
    EXPECT_EQ(0, std::memcmp(in, out, n));
  }
  std::string esc;
  json_escape("a\"b\\c\n\x01", esc);
  EXPECT_EQ(esc, "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(Event, TrackingDropAndCtRoundTrip) {
  Event e;
  decode_event(raw_icmp(), ctx(), e);
  e.has_tracking = true;
  e.track_ts = 0x1a2b3c;
  e.orig_head = 0xffff888011110000ull;
  e.has_drop = true;
  SymbolTable syms;
  e.drop_reason = syms.intern("NO_SOCKET");
  e.has_ct = true;
  e.ct_state = CtState::new_;
  e.ct.status = 0x188;
  e.ct.zone_dir = CtZoneDir::default_;  // as collect's decoder sets them
  e.ct.has_mark = true;
  e.ct.orig = {4, 17, {10, 0, 0, 1}, {10, 0, 0, 2}, 5353, 53};
  e.ct.reply = {4, 17, {10, 0, 0, 2}, {10, 0, 0, 1}, 53, 5353};
  std::string text;
  format_event_text(e, {}, text);
  EXPECT_NE(text.find("net:net_dev_start_xmit #1a2b3cffff888011110000 (skb 18446612682375452280)"),
            std::string::npos) << text;
  EXPECT_NE(text.find("  drop (reason NO_SOCKET)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  ct_state NEW status 0x188 udp orig [10.0.0.1.5353 > 10.0.0.2.53] reply "
                      "[10.0.0.2.53 > 10.0.0.1.5353] zone 0 mark 0\n"),
            std::string::npos) << text;
  std::string line;
  format_event_json(e, line);
  Event back;
  ASSERT_TRUE(parse_event_line(line, syms, back, nullptr).ok());
  std::string text2;
  format_event_text(back, {}, text2);
  EXPECT_EQ(text, text2);
  EXPECT_TRUE(back.same_packet(e));
}

TEST(Event, ReadsRetisCtShape) {
  SymbolTable syms;
  Event e;
  auto k = parse_event_line(
      R"({"common":{"timestamp":5},"kernel":{"probe_type":"kprobe","symbol":"ip_rcv"},)"
      R"("ct":{"state":"Established","base":{"orig":{"ip":{"src":"10.0.0.1","dst":"10.0.0.2",)"
      R"("version":"v4"},"proto":{"tcp":{"sport":1234,"dport":80}}},"reply":{"ip":{"src":)"
      R"("10.0.0.2","dst":"10.0.0.1","version":"v4"},"proto":{"tcp":{"sport":80,"dport":1234}}},)"
      R"("zone_id":3,"mark":7}}})",
      syms, e, nullptr);
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(e.has_ct);
  EXPECT_EQ(e.ct_state, CtState::established);
  EXPECT_EQ(e.ct.orig.proto, 6);
  EXPECT_EQ(e.ct.orig.sport, 1234);
  EXPECT_EQ(e.ct.reply.dport, 1234);
  EXPECT_EQ(e.ct.zone, 3);
  EXPECT_EQ(e.ct.mark, 7u);
  std::string text;
  format_event_text(e, {}, text);
  EXPECT_NE(text.find("5 [k] ip_rcv"), std::string::npos) << text;
}

// Retis 1.5 and later (retis-events ct.rs): the connection is flattened into the section
// next to "state" (no "base" object), its status is "ct_status", "mark" and "labels" are left
// out when unset, and a related connection carries its master as "parent". A line of that
// shape, as `retis collect -c ct -o` writes it.
constexpr const char* kRetis16Ct =
    R"({"common":{"timestamp":30419169061793,"smp_id":6,"task":{"pid":11330,"tgid":11330,)"
    R"("comm":"curl"}},"kernel":{"symbol":"net:net_dev_start_xmit","probe_type":"raw_tracepoint"},)"
    R"("ct":{"state":"established","zone_id":0,"zone_dir":"Default","orig":{"ip":{"src":)"
    R"("192.168.125.10","dst":"192.168.125.11","version":"v4"},"proto":{"tcp":{"sport":43512,)"
    R"("dport":8080}}},"reply":{"ip":{"src":"192.168.125.11","dst":"192.168.125.10","version":)"
    R"("v4"},"proto":{"tcp":{"sport":8080,"dport":43512}}},"tcp_state":"ESTABLISHED","mark":7,)"
    R"("labels":{"hi":0,"lo":1},"ct_status":398}})";

TEST(Event, ReadsRetis16CtShape) {
  SymbolTable syms;
  Event e;
  auto k = parse_event_line(kRetis16Ct, syms, e, nullptr);
  ASSERT_TRUE(k.ok()) << k.error().message;
  ASSERT_TRUE(e.has_ct);
  EXPECT_EQ(e.ct_state, CtState::established);
  EXPECT_EQ(e.ct.status, 398u);
  EXPECT_EQ(e.ct.mark, 7u);
  EXPECT_EQ(e.ct.zone, 0);
  EXPECT_EQ(e.ct.orig.family, 4);
  EXPECT_EQ(e.ct.orig.proto, 6);
  EXPECT_EQ(e.ct.orig.sport, 43512);
  EXPECT_EQ(e.ct.reply.sport, 8080);
  std::string text;
  format_event_text(e, {}, text);
  // The TCP state Retis records, in brackets as Retis shows it.
  EXPECT_NE(text.find("  ct_state ESTABLISHED status 0x18e tcp (ESTABLISHED) orig [192.168.125.10.43512 > "
                      "192.168.125.11.8080] reply [192.168.125.11.8080 > 192.168.125.10.43512] "
                      "zone 0 mark 7 labels 0x1\n"),
            std::string::npos)
      << text;
}

TEST(Event, RetisRelatedCtReadsTheConnectionNotItsParent) {
  // An ICMP error related to a UDP flow: the parent's tuples and status must not leak into
  // the event's own; no mark (unset) reads as 0.
  std::string line =
      R"({"common":{"timestamp":9},"ct":{"state":"related","zone_id":2,"zone_dir":"Original",)"
      R"("orig":{"ip":{"src":"10.0.0.2","dst":"10.0.0.1","version":"v4"},"proto":{"icmp":)"
      R"({"code":3,"type":3,"id":0}}},"reply":{"ip":{"src":"10.0.0.1","dst":"10.0.0.2",)"
      R"("version":"v4"},"proto":{"icmp":{"code":0,"type":0,"id":0}}},"ct_status":8,)"
      R"("parent":{"zone_id":0,"zone_dir":"Default","orig":{"ip":{"src":"10.0.0.1","dst":)"
      R"("10.0.0.2","version":"v4"},"proto":{"udp":{"sport":5000,"dport":9}}},"reply":{"ip":)"
      R"({"src":"10.0.0.2","dst":"10.0.0.1","version":"v4"},"proto":{"udp":{"sport":9,)"
      R"("dport":5000}}},"mark":5,"ct_status":10}}})";
  SymbolTable syms;
  Event e;
  ASSERT_TRUE(parse_event_line(line, syms, e, nullptr).ok());
  EXPECT_EQ(e.ct_state, CtState::related);
  EXPECT_EQ(e.ct.status, 8u);
  EXPECT_EQ(e.ct.mark, 0u);
  EXPECT_EQ(e.ct.zone, 2);
  EXPECT_EQ(e.ct.orig.proto, 1);
  EXPECT_EQ(e.ct.orig.sport, 3 << 8 | 3);  // ICMP: type/code
  std::string text;
  format_event_text(e, {}, text);
  EXPECT_NE(text.find("  ct_state RELATED status 0x8 icmp orig [10.0.0.2 > 10.0.0.1"),
            std::string::npos)
      << text;
}
