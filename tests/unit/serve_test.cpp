// nscope serve's pieces that need no server: the listen address, the token and Host checks,
// and the live stream's numbering, resume and bounded queues.
#include <gtest/gtest.h>

#include <thread>

#include "serve/access.h"
#include "serve/collection.h"
#include "serve/live.h"

using namespace nscope::serve;

TEST(ServeAccess, ListenAddresses) {
  auto a = parse_listen("127.0.0.1:8642");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->loopback);
  EXPECT_EQ(a->port, 8642);
  a = parse_listen("9000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  a = parse_listen("[::1]:0");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->loopback);
  EXPECT_EQ(a->host, "::1");
  a = parse_listen("0.0.0.0:80");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->loopback);
  EXPECT_TRUE(a->any);
  a = parse_listen("127.9.9.9:1");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->loopback);
  EXPECT_FALSE(parse_listen("localhost:80"));
  EXPECT_FALSE(parse_listen("127.0.0.1:70000"));
  EXPECT_FALSE(parse_listen("127.0.0.1:x"));
  EXPECT_FALSE(parse_listen("[::1]8080"));
}

TEST(ServeAccess, Tokens) {
  auto t = random_token();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 32u);
  EXPECT_NE(*t, *random_token());
  EXPECT_TRUE(token_equal("abc", "abc"));
  EXPECT_FALSE(token_equal("abc", "abd"));
  EXPECT_FALSE(token_equal("abc", "ab"));
  EXPECT_FALSE(token_equal("", ""));  // no token is never the token
  EXPECT_EQ(token_of("q", "nscope_token_80=c", "Token h", "nscope_token_80"), "q");
  EXPECT_EQ(token_of("", "nscope_token_80=c", "Token h", "nscope_token_80"), "h");
  EXPECT_EQ(token_of("", "a=b; nscope_token_80=c; d=e", "", "nscope_token_80"), "c");
  EXPECT_EQ(token_of("", "nscope_token_8080=c", "", "nscope_token_80"), "");
  EXPECT_EQ(token_of("", "", "Bearer x", "nscope_token_80"), "");
}

TEST(ServeAccess, Hosts) {
  auto lo = *parse_listen("127.0.0.1:0");
  auto hosts = allowed_hosts(lo, 8642, {});
  EXPECT_TRUE(host_allowed("127.0.0.1:8642", hosts));
  EXPECT_TRUE(host_allowed("LOCALHOST:8642", hosts));
  EXPECT_FALSE(host_allowed("127.0.0.1", hosts));
  EXPECT_FALSE(host_allowed("127.0.0.1:8643", hosts));
  EXPECT_FALSE(host_allowed("evil.example:8642", hosts));
  EXPECT_FALSE(host_allowed("", hosts));
  auto v6 = *parse_listen("[::1]:1");
  EXPECT_TRUE(host_allowed("[::1]:1", allowed_hosts(v6, 1, {})));
  auto any = *parse_listen("0.0.0.0:80");
  hosts = allowed_hosts(any, 80, {"box.example"});
  EXPECT_TRUE(host_allowed("box.example", hosts));  // the default port left out
  EXPECT_TRUE(host_allowed("box.example:80", hosts));
  EXPECT_FALSE(host_allowed("other.example", hosts));
}

TEST(ServeLive, NumbersResumesAndDropsOldest) {
  LiveHub hub(4, 3);
  auto early = hub.subscribe(0, false);
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(hub.publish("packet", std::to_string(i)), static_cast<uint64_t>(i));
  uint64_t dropped = 0;
  auto got = early->take(std::chrono::milliseconds(0), &dropped);
  ASSERT_EQ(got.size(), 3u);  // a full queue lost its oldest
  EXPECT_EQ(got.front().id, 4u);
  EXPECT_EQ(dropped, 3u);
  // Resuming after event 3: 4..6 from the history (it holds 3..6).
  auto back = hub.subscribe(3, true);
  got = back->take(std::chrono::milliseconds(0), &dropped);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got.front().text(), "4");
  EXPECT_EQ(dropped, 0u);
  // After event 1: 2 is older than the history, counted as lost; 3..6 do not fit its queue
  // of 3, and the oldest of them is dropped too.
  auto late = hub.subscribe(1, true);
  got = late->take(std::chrono::milliseconds(0), &dropped);
  EXPECT_EQ(dropped, 2u);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got.front().id, 4u);
  // A new client without Last-Event-ID starts from now.
  auto fresh = hub.subscribe(0, false);
  EXPECT_TRUE(fresh->take(std::chrono::milliseconds(0), nullptr).empty());
  hub.close_all();
  EXPECT_TRUE(fresh->closed());
}

TEST(ServeLive, JsonLinesBecomeEvents) {
  LiveHub hub;
  auto c = hub.subscribe(0, false);
  hub.publish_lines("{\"startup\":{}}\n{\"common\":{}}\n{\"common\":{}}\n{\"stats\":{}}\n");
  auto got = c->take(std::chrono::milliseconds(0), nullptr);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].type, "collect");
  EXPECT_EQ(got[1].type, "packet");
  EXPECT_EQ(got[3].type, "collect");
  EXPECT_EQ(sse_format(got[1]), "id: 2\nevent: packet\ndata: {\"common\":{}}\n\n");
  // Together: the packets in one message, under the last one's id.
  EXPECT_EQ(sse_format(got), "id: 1\nevent: collect\ndata: {\"startup\":{}}\n\n"
                             "id: 3\nevent: packet\ndata: {\"common\":{}}\ndata: {\"common\":{}}\n\n"
                             "id: 4\nevent: collect\ndata: {\"stats\":{}}\n\n");
}

TEST(ServeLive, APacedClientIsSentNothingOlderThanItsBacklog) {
  LiveHub hub(4, 10);
  auto c = hub.subscribe(0, false);
  hub.publish_lines(std::string(99, 'a') + "\n" + std::string(99, 'b') + "\n" + std::string(99, 'c') + "\n");
  for (int i = 0; i < 2; ++i) hub.publish("packet", std::string(99, 'd' + i));
  uint64_t dropped = 0;
  auto got = c->take(std::chrono::milliseconds(0), &dropped, 1000, 250);
  EXPECT_EQ(dropped, 3u);  // 495 bytes waited: the three oldest go, counted
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, 4u);
  EXPECT_EQ(got[0].text(), std::string(99, 'd'));
  // The lines of one batch share one copy of it.
  hub.publish_lines("{\"common\":1}\n{\"common\":2}\n");
  got = c->take(std::chrono::milliseconds(0), &dropped);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].data, got[1].data);
  EXPECT_EQ(got[1].text(), "{\"common\":2}");
}

// Publishing keeps nothing per client: a client that never takes holds no batch in memory,
// and when it does take, it skips what the history no longer has and what is past its
// queue's bound, counted.
TEST(ServeLive, OldBatchesLeaveTheHistoryWhateverTheClients) {
  LiveHub hub(4, 4);
  auto idle = hub.subscribe(0, false);
  auto c = hub.subscribe(0, false);
  hub.publish_lines("{\"common\":1}\n{\"common\":2}\n{\"common\":3}\n");
  std::weak_ptr<const std::string> first;
  {
    auto got = c->take(std::chrono::milliseconds(0), nullptr);
    ASSERT_EQ(got.size(), 3u);
    first = got[0].data;
  }
  for (int i = 0; i < 9; ++i) hub.publish_lines("{\"common\":4}\n{\"common\":5}\n{\"common\":6}\n");
  EXPECT_TRUE(first.expired());
  uint64_t dropped = 0;
  auto got = idle->take(std::chrono::milliseconds(0), &dropped);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got.front().id, 27u);
  EXPECT_EQ(got.back().text(), "{\"common\":6}");
  EXPECT_EQ(dropped, 26u);
  // A wait ends with an event, or with the client closed.
  std::thread later([&] { hub.publish("netns", "{}"); });
  got = idle->take(std::chrono::milliseconds(5000), &dropped);
  later.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "netns");
  hub.close_all();
  EXPECT_TRUE(idle->take(std::chrono::milliseconds(5000), nullptr).empty());
}

// A thinned flood: events the collection never formatted take ids and every client counts
// them as dropped, between batches and after the newest one; ids stay in order.
TEST(ServeLive, UnformattedEventsAreCountedAsDropped) {
  LiveHub hub;
  auto c = hub.subscribe(0, false);
  hub.publish_lines("{\"common\":1}\n{\"common\":2}\n");
  hub.publish_lines("{\"common\":3}\n", 100);
  hub.publish_lines("", 50);
  uint64_t dropped = 0;
  auto got = c->take(std::chrono::milliseconds(0), &dropped);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].id, 2u);
  EXPECT_EQ(got[2].id, 103u);
  EXPECT_EQ(dropped, 150u);
  EXPECT_EQ(hub.last_id(), 153u);
  // Only a gap: the wait ends, nothing is sent, the count grows.
  hub.publish_lines("", 7);
  got = c->take(std::chrono::milliseconds(5000), &dropped);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(dropped, 157u);
  // Taken in pieces across a gap: each event once, each gap counted once.
  hub.publish_lines("{\"common\":4}\n", 3);
  hub.publish_lines("{\"common\":5}\n", 3);
  got = c->take(std::chrono::milliseconds(0), &dropped, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 164u);
  got = c->take(std::chrono::milliseconds(0), &dropped, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 168u);
  EXPECT_EQ(dropped, 163u);
  // A client that resumes from before a gap counts it too.
  auto late = hub.subscribe(1, true);
  got = late->take(std::chrono::milliseconds(0), &dropped);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(dropped, 100u + 50 + 7 + 3 + 3);
}

TEST(ServeLive, ThePaceHoldsTheAverageRate) {
  StreamPace pace(1e6);  // a million bytes a second, a second's worth at once
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 15; ++i) pace.spend(100000);  // 1.5 s worth: the last half second waits
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(s, 0.45);
  EXPECT_LT(s, 1.5);
}

TEST(ServeCollect, RequestFromJson) {
  auto r = collect_request_from_json(R"({"collectors": "skb,ct", "netns": ["a", "!b"], "filter": "icmp", "meta": ""})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->collectors, std::vector<std::string>{"skb,ct"});
  EXPECT_EQ(r->netns, (std::vector<std::string>{"a", "!b"}));
  EXPECT_EQ(r->packet_filter, "icmp");
  EXPECT_TRUE(collect_request_from_json(""));
  EXPECT_FALSE(collect_request_from_json("[1]"));
  EXPECT_FALSE(collect_request_from_json(R"({"filter": 3})"));
  EXPECT_FALSE(collect_request_from_json(R"({"netns": [1]})"));
}

TEST(ServeLive, TakesAtMostMaxBytesOldestFirst) {
  LiveHub hub(4, 10);
  auto c = hub.subscribe(0, false);
  for (int i = 0; i < 5; ++i) hub.publish("packet", std::string(100, 'a' + i));
  uint64_t dropped = 0;
  auto got = c->take(std::chrono::milliseconds(0), &dropped, 250);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, 1u);
  got = c->take(std::chrono::milliseconds(0), &dropped, 10);  // at least one, even if larger
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 3u);
  got = c->take(std::chrono::milliseconds(0), &dropped);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(dropped, 0u);
}

TEST(ServeCapture, KeepsWholeLinesUpToItsBoundAndCountsTheRest) {
  Capture cap(64);
  EXPECT_TRUE(cap.empty());
  ASSERT_TRUE(cap.begin());
  EXPECT_FALSE(cap.append(std::string(30, 'x') + "\n" + std::string(30, 'y') + "\n", 2));  // 62 bytes: kept
  EXPECT_EQ(cap.left_out(), 0u);
  EXPECT_TRUE(cap.append("zz\nzz\n", 2));  // 68 > 64: both lines counted, neither kept; full
  EXPECT_EQ(cap.left_out(), 2u);
  EXPECT_TRUE(cap.append("a\n", 1));  // would fit, but the capture keeps a prefix of the stream, no holes
  EXPECT_EQ(cap.left_out(), 3u);
  EXPECT_TRUE(cap.append("", 0, 5));  // events never formatted: counted
  EXPECT_EQ(cap.left_out(), 8u);
  EXPECT_FALSE(cap.empty());
  ASSERT_TRUE(cap.begin());  // a new capture starts empty
  EXPECT_TRUE(cap.empty());
  EXPECT_EQ(cap.left_out(), 0u);
}
