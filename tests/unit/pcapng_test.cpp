// pcapng output, read back block by block: the layout readers rely on (lengths, alignment,
// options), interface naming, timestamps and comments.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "events/pcapng.h"

using namespace nscope;

namespace {

struct Option {
  uint16_t code;
  std::string value;
};
struct Block {
  uint32_t type;
  std::string body;  // between the leading length and the trailing one
  std::vector<Option> options;
};

template <class T>
T get(const std::string& s, size_t at) {
  T v;
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}

std::vector<Option> options_at(const std::string& body, size_t at) {
  std::vector<Option> out;
  while (at + 4 <= body.size()) {
    auto code = get<uint16_t>(body, at);
    auto len = get<uint16_t>(body, at + 2);
    if (code == 0) break;
    out.push_back({code, body.substr(at + 4, len)});
    at += 4 + (len + 3u) / 4 * 4;
  }
  return out;
}

std::vector<Block> blocks(const std::string& file) {
  std::vector<Block> out;
  size_t at = 0;
  while (at < file.size()) {
    EXPECT_EQ(at % 4, 0u);
    auto type = get<uint32_t>(file, at);
    auto len = get<uint32_t>(file, at + 4);
    EXPECT_EQ(len % 4, 0u);
    EXPECT_GE(len, 12u);
    if (len % 4 || len < 12 || at + len > file.size()) {
      ADD_FAILURE() << "bad block at " << at;
      break;
    }
    EXPECT_EQ(get<uint32_t>(file, at + len - 4), len) << "trailing length";
    Block b{type, file.substr(at + 8, len - 12), {}};
    size_t opts = type == 0x0A0D0D0A ? 16 : type == 1 ? 8 : 0;
    if (type == 6) opts = 20 + (get<uint32_t>(b.body, 12) + 3u) / 4 * 4;
    b.options = options_at(b.body, opts);
    out.push_back(std::move(b));
    at += len;
  }
  return out;
}

std::string opt(const Block& b, uint16_t code) {
  for (const auto& o : b.options)
    if (o.code == code) return o.value;
  return "<none>";
}

Event packet(uint64_t ts, uint32_t netns, uint32_t ifindex, const char* ifname, uint32_t len,
             const char* symbol) {
  Event e;
  e.ts = ts;
  e.symbol = symbol;
  e.has_netns = true;
  e.netns_inum = netns;
  e.has_dev = ifindex != 0;
  e.ifindex = ifindex;
  std::strncpy(e.ifname.data(), ifname, 15);
  e.has_packet = true;
  e.l2_len = 14;
  e.caplen = 42;
  for (int i = 0; i < 42; ++i) e.data[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  e.len = len;
  return e;
}

}  // namespace

TEST(Pcapng, BlocksInterfacesAndPackets) {
  std::unordered_map<uint32_t, std::string> names{{4026532301u, "web-1"}};
  PcapngOptions o;
  o.os = "Linux 6.1.0";
  o.mono_to_utc_ns = 1'700'000'000'000'000'000;
  o.names = &names;
  o.initial_netns = 4026531840u;
  PcapngWriter w(o);
  std::string file;
  w.begin(file);
  EXPECT_TRUE(w.add(packet(5'000'000'123, 4026532301u, 2, "eth0", 98, "net:net_dev_start_xmit"),
                    "first\n  line two", file));
  EXPECT_TRUE(w.add(packet(5'000'000'456, 4026531840u, 10, "veth-web1", 30, "net:netif_receive_skb"),
                    "second", file));
  EXPECT_TRUE(w.add(packet(5'000'000'789, 4026532301u, 2, "eth0", 98, "skb:consume_skb"), "", file));
  EXPECT_TRUE(w.add(packet(5'000'001'000, 4026532999u, 0, "", 60, "skb:kfree_skb"), "c", file));
  Event none = packet(1, 4026532301u, 2, "eth0", 98, "x");
  none.has_packet = false;
  size_t before = file.size();
  EXPECT_FALSE(w.add(none, "nothing", file));
  EXPECT_EQ(file.size(), before);
  EXPECT_EQ(w.interfaces(), 3u);

  auto bs = blocks(file);
  // SHB, IDB web-1/eth0, EPB, IDB host/veth-web1, EPB, EPB (same interface), IDB, EPB.
  std::vector<uint32_t> types;
  for (auto& b : bs) types.push_back(b.type);
  EXPECT_EQ(types, (std::vector<uint32_t>{0x0A0D0D0A, 1, 6, 1, 6, 6, 1, 6}));

  const Block& shb = bs[0];
  EXPECT_EQ(get<uint32_t>(shb.body, 0), 0x1A2B3C4Du);
  EXPECT_EQ(get<uint16_t>(shb.body, 4), 1);
  EXPECT_EQ(get<uint16_t>(shb.body, 6), 0);
  EXPECT_EQ(opt(shb, 3), "Linux 6.1.0");
  EXPECT_EQ(opt(shb, 4), "nscope");

  const Block& idb = bs[1];
  EXPECT_EQ(get<uint16_t>(idb.body, 0), 1);  // Ethernet
  EXPECT_EQ(opt(idb, 2), "web-1/eth0");
  EXPECT_EQ(opt(idb, 3), "netns 4026532301 (web-1), ifindex 2");
  EXPECT_EQ(opt(idb, 9), std::string(1, '\x09'));  // nanoseconds
  EXPECT_EQ(opt(bs[3], 2), "host/veth-web1");
  EXPECT_EQ(opt(bs[3], 3), "netns 4026531840 (host), ifindex 10");
  EXPECT_EQ(opt(bs[6], 2), "ns:4026532999/-");
  EXPECT_EQ(opt(bs[6], 3), "netns 4026532999");

  const Block& epb = bs[2];
  EXPECT_EQ(get<uint32_t>(epb.body, 0), 0u);  // interface 0
  uint64_t t = uint64_t{get<uint32_t>(epb.body, 4)} << 32 | get<uint32_t>(epb.body, 8);
  EXPECT_EQ(t, 1'700'000'005'000'000'123ull);
  EXPECT_EQ(get<uint32_t>(epb.body, 12), 42u);  // captured
  EXPECT_EQ(get<uint32_t>(epb.body, 16), 98u);  // original: the skb's length
  EXPECT_EQ(epb.body.substr(20, 3), std::string("\x00\x01\x02", 3));
  EXPECT_EQ(opt(epb, 1), "first\n  line two");
  EXPECT_EQ(opt(epb, 2), std::string("\x02\0\0\0", 4));  // outbound
  EXPECT_EQ(get<uint32_t>(bs[4].body, 0), 1u);
  EXPECT_EQ(opt(bs[4], 2), std::string("\x01\0\0\0", 4));  // inbound
  EXPECT_EQ(get<uint32_t>(bs[4].body, 16), 42u);  // never less than captured
  EXPECT_EQ(get<uint32_t>(bs[5].body, 0), 0u);    // back on web-1/eth0
  EXPECT_EQ(opt(bs[5], 1), "<none>");             // no comment given
  EXPECT_EQ(opt(bs[5], 2), "<none>");             // no direction at consume_skb
  EXPECT_EQ(get<uint32_t>(bs[7].body, 0), 2u);
}

TEST(Pcapng, CaptureFromTheIpHeaderIsRawIp) {
  PcapngWriter w({});
  std::string file;
  w.begin(file);
  Event e = packet(1, 4026532301u, 2, "eth0", 98, "net:netif_receive_skb");
  e.l2_len = 0;
  EXPECT_TRUE(w.add(e, "", file));
  e.l2_len = 14;
  EXPECT_TRUE(w.add(e, "", file));
  auto bs = blocks(file);
  ASSERT_EQ(bs.size(), 5u);
  EXPECT_EQ(get<uint16_t>(bs[1].body, 0), 101);  // LINKTYPE_RAW
  EXPECT_EQ(get<uint16_t>(bs[3].body, 0), 1);    // a second interface for the Ethernet one
  EXPECT_EQ(opt(bs[1], 2), "ns:4026532301/eth0");
}

TEST(Pcapng, LongCommentsAreCutToFitAnOption) {
  PcapngWriter w({});
  std::string file;
  w.begin(file);
  EXPECT_TRUE(w.add(packet(1, 1, 2, "eth0", 98, "x"), std::string(100000, 'c'), file));
  auto bs = blocks(file);
  ASSERT_EQ(bs.size(), 3u);
  EXPECT_EQ(opt(bs[2], 1).size(), 0xfff0u);
}
