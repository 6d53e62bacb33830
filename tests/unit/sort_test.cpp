// `sort`: series per packet, their order, path and end, the streaming window and its splits,
// and the text and JSON renderings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "events/file_reader.h"
#include "events/sort.h"

using namespace nscope;
using nlohmann::json;

namespace {

const std::string kFixtures = std::string(NSCOPE_FIXTURES) + "/events/";

constexpr uint32_t kA = 4026532301, kHost = 4026531840, kC = 4026532302;

struct Builder {
  SymbolTable syms;
  Event ev(uint64_t ts, uint64_t id, uint32_t netns, uint32_t ifindex, const char* ifname,
           const char* symbol = "net:netif_receive_skb") {
    Event e;
    e.ts = ts;
    e.symbol = syms.intern(symbol);
    e.probe_type = syms.intern("raw_tracepoint");
    if (id) {
      e.has_tracking = true;
      e.track_ts = id;
      e.orig_head = 0xffff888000000000ull + id;
    }
    if (netns) {
      e.has_netns = true;
      e.netns_inum = netns;
    }
    if (ifindex) {
      e.has_dev = true;
      e.ifindex = ifindex;
      std::strncpy(e.ifname.data(), ifname, e.ifname.size() - 1);
    }
    return e;
  }
  Event drop(uint64_t ts, uint64_t id, uint32_t netns, const char* reason) {
    Event e = ev(ts, id, netns, 0, "", "skb:kfree_skb");
    if (reason) {
      e.has_drop = true;
      e.drop_reason = syms.intern(reason);
    }
    return e;
  }
};

// What the sorter wrote, copied out of the callback.
struct Out {
  bool tracked, continued;
  uint32_t first_n;
  std::vector<uint64_t> ts;
  std::vector<Hop> path;
  SeriesEnd end;
  std::string reason;
};

struct Collect {
  std::vector<Out> series;
  Sorter::Emit emit() {
    return [this](const Series& s) {
      Out o{s.tracked, s.continued, s.first_n, {}, s.path, s.end, std::string(s.drop_reason)};
      for (const Event* e : s.events) o.ts.push_back(e->ts);
      series.push_back(std::move(o));
    };
  }
};

std::vector<uint64_t> ts(std::initializer_list<uint64_t> l) { return l; }

std::unordered_map<uint32_t, std::string> kNames{{kA, "web-1"}, {kC, "db-1"}};
PathNames names() { return {&kNames, kHost}; }

}  // namespace

TEST(Sort, GroupsByTrackingIdInTimeOrder) {
  Builder b;
  Collect c;
  Sorter s({}, c.emit());
  // Two packets interleaved, an untracked event between, one event out of order.
  s.add(b.ev(100, 1, kA, 2, "eth0", "net:net_dev_start_xmit"));
  s.add(b.ev(105, 2, kA, 2, "eth0", "net:net_dev_start_xmit"));
  s.add(b.ev(107, 0, kA, 2, "eth0"));
  s.add(b.ev(120, 1, kHost, 10, "veth-web1"));
  s.add(b.ev(110, 1, kHost, 10, "veth-web1", "net:net_dev_start_xmit"));  // late in the file
  s.add(b.ev(130, 2, kHost, 10, "veth-web1"));
  s.finish();
  ASSERT_EQ(c.series.size(), 3u);
  EXPECT_EQ(c.series[0].ts, ts({100, 110, 120}));
  EXPECT_EQ(c.series[1].ts, ts({105, 130}));
  EXPECT_EQ(c.series[2].ts, ts({107}));
  EXPECT_FALSE(c.series[2].tracked);
  EXPECT_EQ(c.series[2].end, SeriesEnd::unknown);
  EXPECT_EQ(s.stats().series, 3u);
  EXPECT_EQ(s.stats().events, 6u);
  EXPECT_EQ(s.stats().continued, 0u);
}

TEST(Sort, PathCollapsesHopsAndNamesNamespaces) {
  Builder b;
  Collect c;
  Sorter s({}, c.emit());
  s.add(b.ev(1, 1, kA, 2, "eth0", "net:net_dev_start_xmit"));
  s.add(b.ev(2, 1, kA, 2, "eth0", "net:net_dev_queue"));        // same hop
  s.add(b.ev(3, 1, kHost, 10, "veth-web1"));
  s.add(b.ev(4, 1, kHost, 9, "br0", "net:netif_receive_skb"));   // same netns, new device
  s.add(b.ev(5, 1, 0, 0, "", "net:napi_gro_receive_entry"));    // no netns: no hop
  s.add(b.ev(6, 1, kHost, 11, "veth-db1", "net:net_dev_start_xmit"));
  s.add(b.ev(7, 1, kC, 0, "", "ip:ip_rcv"));                     // no device yet...
  s.add(b.ev(8, 1, kC, 2, "eth0"));                              // ...named by the next
  s.add(b.drop(9, 1, kC, "NO_SOCKET"));                          // no device: stays
  s.finish();
  ASSERT_EQ(c.series.size(), 1u);
  const auto& p = c.series[0].path;
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0].netns, kA);
  EXPECT_EQ(p[1].ifindex, 10u);
  EXPECT_EQ(p[2].ifindex, 9u);
  EXPECT_EQ(p[3].ifindex, 11u);
  EXPECT_EQ(p[4].netns, kC);
  EXPECT_EQ(p[4].ifindex, 2u);
  EXPECT_EQ(fixed_str(p[4].ifname), "eth0");
  EXPECT_EQ(c.series[0].end, SeriesEnd::dropped);
  EXPECT_EQ(c.series[0].reason, "NO_SOCKET");

  // The text: hops in one namespace read as one stop.
  Series one;
  std::vector<Event> evs = {b.ev(1, 1, kA, 2, "eth0"), b.ev(2, 1, kHost, 10, "veth-web1"),
                            b.ev(3, 1, kHost, 11, "veth-db1"), b.ev(4, 1, 4026532999u, 2, "eth0"),
                            b.drop(5, 1, 4026532999u, "NO_SOCKET")};
  for (auto& e : evs) one.events.push_back(&e);
  one.tracked = true;
  series_path(one, one.path);
  one.end = series_end(one, ConsumeTraced::yes, &one.drop_reason);
  std::string text;
  format_series_text(one, {}, names(), text);
  EXPECT_NE(text.find("\n  path: ns web-1 (eth0) -> host (veth-web1, veth-db1) -> ns 4026532999 "
                      "(eth0); dropped (reason NO_SOCKET)\n\n"),
            std::string::npos)
      << text;
}

TEST(Sort, WhereASeriesEnds) {
  Builder b;
  constexpr auto yes = ConsumeTraced::yes, no = ConsumeTraced::no, unknown = ConsumeTraced::unknown;
  auto end_of = [&](std::vector<Event> evs, ConsumeTraced consume, bool tracked = true) {
    Series s;
    s.tracked = tracked;
    for (auto& e : evs) s.events.push_back(&e);
    std::string_view reason;
    SeriesEnd end = series_end(s, consume, &reason);
    return std::make_pair(end, std::string(reason));
  };
  using P = std::pair<SeriesEnd, std::string>;
  EXPECT_EQ(end_of({b.ev(1, 1, kA, 2, "eth0"), b.drop(2, 1, kA, "NO_SOCKET")}, yes),
            P(SeriesEnd::dropped, "NO_SOCKET"));
  EXPECT_EQ(end_of({b.drop(2, 1, kA, nullptr)}, yes), P(SeriesEnd::dropped, ""));
  EXPECT_EQ(end_of({b.ev(1, 1, kA, 2, "eth0", "skb:consume_skb")}, yes),
            P(SeriesEnd::delivered, ""));
  EXPECT_EQ(end_of({b.ev(1, 1, kA, 2, "eth0", "consume_skb")}, yes), P(SeriesEnd::delivered, ""));
  // netif_receive_skb is the end when the file does not trace consume_skb...
  EXPECT_EQ(end_of({b.ev(1, 1, kA, 2, "eth0")}, no), P(SeriesEnd::delivered, ""));
  // ...but a packet whose consume was traced and not seen here is still on its way, and so
  // is one in a file that does not say.
  EXPECT_EQ(end_of({b.ev(1, 1, kA, 2, "eth0")}, yes), P(SeriesEnd::in_flight, ""));
  EXPECT_EQ(end_of({b.ev(1, 1, kA, 2, "eth0")}, unknown), P(SeriesEnd::in_flight, ""));
  EXPECT_EQ(end_of({b.ev(1, 1, kA, 2, "eth0", "net:net_dev_start_xmit")}, no),
            P(SeriesEnd::in_flight, ""));
  EXPECT_EQ(end_of({b.ev(1, 0, kA, 2, "eth0", "net:net_dev_start_xmit")}, no, false),
            P(SeriesEnd::unknown, ""));
  EXPECT_EQ(end_of({b.drop(1, 0, kA, "NO_SOCKET")}, no, false),
            P(SeriesEnd::dropped, "NO_SOCKET"));
}

TEST(Sort, TheFilesProbesDecideEverySeriesAlike) {
  // A packet received, then quiet past the window: its series is written before the file's
  // first free event. Its end, like the second packet's after the free, is the file's rule,
  // not learned from the events read so far.
  Builder b;
  auto run = [&](ConsumeTraced consume, uint64_t* unsure) {
    Collect c;
    SortOptions o;
    o.window_ns = 1000;
    o.consume = consume;
    Sorter s(o, c.emit());
    s.add(b.ev(100, 1, kA, 2, "eth0", "net:net_dev_start_xmit"));
    s.add(b.ev(200, 1, kC, 2, "eth0"));
    for (uint64_t t = 300; t <= 2000; t += 100) s.add(b.ev(t, 0, kA, 2, "eth0"));
    EXPECT_GE(c.series.size(), 1u);  // packet 1 written, no free seen yet
    s.add(b.ev(2100, 2, kA, 2, "eth0", "net:net_dev_start_xmit"));
    s.add(b.ev(2200, 2, kC, 2, "eth0"));
    s.add(b.drop(2300, 3, kC, "NO_SOCKET"));
    s.add(b.ev(2400, 4, kA, 2, "eth0", "skb:consume_skb"));
    s.finish();
    *unsure = s.stats().receive_unsure;
    std::vector<SeriesEnd> ends;
    for (const auto& o2 : c.series)
      if (o2.tracked && o2.ts.size() == 2) ends.push_back(o2.end);
    return ends;
  };
  uint64_t unsure = 0;
  using V = std::vector<SeriesEnd>;
  EXPECT_EQ(run(ConsumeTraced::no, &unsure), (V{SeriesEnd::delivered, SeriesEnd::delivered}));
  EXPECT_EQ(unsure, 0u);
  EXPECT_EQ(run(ConsumeTraced::yes, &unsure), (V{SeriesEnd::in_flight, SeriesEnd::in_flight}));
  EXPECT_EQ(unsure, 0u);
  EXPECT_EQ(run(ConsumeTraced::unknown, &unsure), (V{SeriesEnd::in_flight, SeriesEnd::in_flight}));
  EXPECT_EQ(unsure, 2u);
}

TEST(Sort, QuietLongerThanTheWindowSplitsTheSeries) {
  Builder b;
  Collect c;
  SortOptions o;
  o.window_ns = 1000;
  Sorter s(o, c.emit());
  s.add(b.ev(100, 1, kA, 2, "eth0", "net:net_dev_start_xmit"));
  s.add(b.ev(200, 1, kHost, 10, "veth-web1"));
  for (uint64_t t = 300; t <= 5000; t += 100) s.add(b.ev(t, 0, kA, 2, "eth0"));  // time passes
  EXPECT_EQ(c.series.size(), 49u);  // packet 1 complete and written; the rest as they come
  s.add(b.ev(5100, 1, kC, 2, "eth0"));  // packet 1 again, 4.9 us later
  s.finish();
  ASSERT_EQ(c.series.size(), 50u);
  EXPECT_EQ(c.series[0].ts, ts({100, 200}));
  EXPECT_FALSE(c.series[0].continued);
  const Out& cont = c.series.back();
  EXPECT_TRUE(cont.continued);
  EXPECT_EQ(cont.first_n, 2u);  // its first event is the packet's third
  EXPECT_EQ(cont.ts, ts({5100}));
  EXPECT_EQ(s.stats().continued, 1u);
  EXPECT_EQ(s.stats().forced, 0u);
}

TEST(Sort, BufferLimitWritesTheOldestEarlyAndKeepsOrder) {
  Builder b;
  Collect c;
  SortOptions o;
  o.max_buffered = 4;
  Sorter s(o, c.emit());
  // Packet 1 stays active throughout; packets 2..9 come and go.
  uint64_t t = 0;
  for (uint64_t id = 2; id <= 9; ++id) {
    s.add(b.ev(++t, 1, kA, 2, "eth0"));
    s.add(b.ev(++t, id, kA, 2, "eth0"));
    s.add(b.ev(++t, id, kHost, 10, "veth-web1"));
  }
  s.finish();
  EXPECT_LE(s.stats().peak_buffered, 5u);
  EXPECT_GT(s.stats().forced, 0u);
  EXPECT_GT(s.stats().continued, 0u);
  // Written in order of first event time, packet 1 in several parts whose positions run on.
  uint64_t last_first = 0;
  uint32_t next_n = 0;
  size_t parts = 0;
  for (const Out& o2 : c.series) {
    EXPECT_GE(o2.ts.front(), last_first);
    last_first = o2.ts.front();
    if (o2.ts.front() % 3 == 1) {  // packet 1's events are at t = 1, 4, 7, ...
      EXPECT_EQ(o2.first_n, next_n);
      EXPECT_EQ(o2.continued, parts > 0);
      next_n += static_cast<uint32_t>(o2.ts.size());
      ++parts;
    }
  }
  EXPECT_EQ(next_n, 8u);
  EXPECT_GT(parts, 1u);
}

TEST(Sort, MemoryStaysBoundedOnALongStream) {
  Builder b;
  size_t series = 0;
  SortOptions o;
  o.max_buffered = 1000;
  Sorter s(o, [&](const Series&) { ++series; });
  for (uint64_t i = 0; i < 200000; ++i) s.add(b.ev(i * 10, i / 4 + 1, kA, 2, "eth0"));
  s.finish();
  EXPECT_EQ(series, 50000u);
  EXPECT_LE(s.stats().peak_buffered, 1001u);
  EXPECT_EQ(s.stats().continued, 0u);
}

TEST(Sort, TextAsTheSeedDocumentShowsIt) {
  auto rd = EventFileReader::open(kFixtures + "nscope_bridge.json");
  ASSERT_TRUE(rd.ok());
  std::vector<Event> evs;
  for (Event e; *(*rd)->next(e);) evs.push_back(e);
  const StartupInfo& st = (*rd)->startup();
  TextOptions opt;
  opt.names = &st.netns_names;
  PathNames pn{&st.netns_names, st.initial_netns};
  std::vector<std::string> texts;
  Sorter s({}, [&](const Series& x) {
    std::string t;
    format_series_text(x, opt, pn, t);
    texts.push_back(t);
  });
  for (auto& e : evs) s.add(e);
  s.finish();
  ASSERT_EQ(texts.size(), 5u);
  EXPECT_EQ(texts[4],
            "5002000000000 [ping] 7001 [tp] net:net_dev_start_xmit #48c9e6ee400ffff888004d4f000 "
            "(skb 18446612682135110656) n 0\n"
            "  if 2 (eth0) 10.213.0.1 > 10.213.0.2 ttl 64 tos 0x0 id 12353 off 0 [DF] len 84 "
            "proto ICMP (1) type 8 code 0 id 4242 seq 2\n"
            "  netns 4026532301 cookie 4097 (web-1)\n"
            "  + 5002000012000 [ping] 7001 [tp] net:netif_receive_skb #48c9e6ee400ffff888004d4f000 "
            "(skb 18446612682135110656) n 1\n"
            "    if 10 (veth-web1) 10.213.0.1 > 10.213.0.2 ttl 64 tos 0x0 id 12353 off 0 [DF] "
            "len 84 proto ICMP (1) type 8 code 0 id 4242 seq 2\n"
            "    netns 4026531840 cookie 1\n"
            "  path: ns web-1 (eth0) -> host (veth-web1); still in flight\n\n");
}

TEST(Sort, JsonSeries) {
  Builder b;
  std::vector<std::string> out;
  Sorter s({}, [&](const Series& x) {
    std::string t;
    format_series_json(x, names(), t);
    out.push_back(t);
  });
  s.add(b.ev(1, 7, kA, 2, "eth0", "net:net_dev_start_xmit"), R"({"common":{"timestamp":1},"keep":"me"})");
  s.add(b.ev(2, 7, kHost, 10, "veth-web1"));
  s.add(b.drop(3, 7, kC, "NO_SOCKET"));
  s.add(b.ev(4, 0, 4026532999u, 3, "eth1"));
  s.finish();
  ASSERT_EQ(out.size(), 2u);
  json j = json::parse(out[0]);
  EXPECT_EQ(j["id"], "#7ffff888000000007");
  EXPECT_EQ(j["continued"], false);
  EXPECT_EQ(j["first_n"], 0);
  ASSERT_EQ(j["events"].size(), 3u);
  EXPECT_EQ(j["events"][0]["keep"], "me");  // as read
  EXPECT_EQ(j["events"][1]["kernel"]["symbol"], "net:netif_receive_skb");  // as formatted
  ASSERT_EQ(j["path"].size(), 3u);
  EXPECT_EQ(j["path"][0], json({{"netns", kA}, {"name", "web-1"}, {"ifindex", 2}, {"ifname", "eth0"}}));
  EXPECT_EQ(j["path"][1]["name"], "host");
  EXPECT_EQ(j["path"][2], json({{"netns", kC}, {"name", "db-1"}, {"ifindex", 0}, {"ifname", nullptr}}));
  EXPECT_EQ(j["end"], json({{"state", "dropped"}, {"reason", "NO_SOCKET"}, {"netns", kC},
                            {"symbol", "skb:kfree_skb"}}));
  json u = json::parse(out[1]);
  EXPECT_TRUE(u["id"].is_null());
  EXPECT_TRUE(u["path"][0]["name"].is_null());
  EXPECT_EQ(u["end"]["state"], "unknown");
}
