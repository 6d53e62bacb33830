#include "events/packet.h"

#include <gtest/gtest.h>

#include <vector>

using namespace nscope;

namespace {
std::vector<uint8_t> eth(uint16_t type) {
  return {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, static_cast<uint8_t>(type >> 8),
          static_cast<uint8_t>(type)};
}

void append(std::vector<uint8_t>& v, std::initializer_list<uint8_t> b) { v.insert(v.end(), b); }

std::vector<uint8_t> ipv4(uint8_t proto, uint16_t total_len, uint16_t frag = 0x4000) {
  auto v = eth(0x0800);
  append(v, {0x45, 0x00, static_cast<uint8_t>(total_len >> 8), static_cast<uint8_t>(total_len),
             0x30, 0x39, static_cast<uint8_t>(frag >> 8), static_cast<uint8_t>(frag), 64, proto, 0, 0,
             10, 0, 0, 1, 10, 0, 0, 2});
  return v;
}

std::string summary(const std::vector<uint8_t>& v, bool ethernet = false) {
  std::string out;
  format_packet(v, 14, 0, {ethernet}, out);
  return out;
}
}  // namespace

TEST(Packet, Ipv4IcmpEcho) {
  auto v = ipv4(1, 84);
  append(v, {8, 0, 0, 0, 0x12, 0x34, 0, 7});
  EXPECT_EQ(summary(v), "10.0.0.1 > 10.0.0.2 ttl 64 tos 0x0 id 12345 off 0 [DF] len 84 proto ICMP (1) "
                        "type 8 code 0 id 4660 seq 7");
}

TEST(Packet, TcpSynWithPorts) {
  auto v = ipv4(6, 60);
  append(v, {0xa8, 0xca, 0x00, 0x50, 0, 0, 0, 100, 0, 0, 0, 0, 0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0});
  EXPECT_EQ(summary(v), "10.0.0.1.43210 > 10.0.0.2.80 ttl 64 tos 0x0 id 12345 off 0 [DF] len 60 "
                        "proto TCP (6) flags [S] seq 100 win 64240");
}

TEST(Packet, TcpAckShowsAck) {
  auto v = ipv4(6, 52);
  append(v, {0, 80, 0xa8, 0xca, 0, 0, 0, 1, 0, 0, 0, 101, 0x50, 0x12, 0x01, 0x00, 0, 0, 0, 0});
  EXPECT_NE(summary(v).find("flags [S.] seq 1 ack 101 win 256"), std::string::npos) << summary(v);
}

TEST(Packet, UdpAndEthernetHeader) {
  auto v = ipv4(17, 92, 0);
  append(v, {0x14, 0xe9, 0x14, 0xe9, 0, 72, 0, 0});
  EXPECT_EQ(summary(v), "10.0.0.1.5353 > 10.0.0.2.5353 ttl 64 tos 0x0 id 12345 off 0 len 92 proto UDP "
                        "(17) len 64");
  EXPECT_EQ(summary(v, true).substr(0, 62),
            "02:00:00:00:00:01 > 02:00:00:00:00:02 ethertype 0x0800 10.0.0.");
}

TEST(Packet, Ipv6IcmpEchoRequest) {
  auto v = eth(0x86dd);
  append(v, {0x60, 0, 0, 0, 0, 16, 58, 64});
  std::vector<uint8_t> src(16, 0), dst(16, 0);
  src[0] = 0xfd; src[15] = 1;
  dst[0] = 0xfd; dst[15] = 2;
  v.insert(v.end(), src.begin(), src.end());
  v.insert(v.end(), dst.begin(), dst.end());
  append(v, {128, 0, 0, 0, 0, 9, 0, 1});
  EXPECT_EQ(summary(v), "fd00::1 > fd00::2 ttl 64 label 0x0 len 16 proto ICMPv6 (58) type 128 code 0 "
                        "id 9 seq 1");
}

TEST(Packet, ArpRequestAndReply) {
  auto v = eth(0x0806);
  append(v, {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2});
  EXPECT_EQ(summary(v), "ARP Request who-has 10.0.0.2 tell 10.0.0.1");
  v[21] = 2;
  EXPECT_EQ(summary(v), "ARP Reply 10.0.0.1 is-at 02:00:00:00:00:01");
}

TEST(Packet, VlanTag) {
  auto v = eth(0x8100);
  append(v, {0x00, 0x64, 0x08, 0x00});
  append(v, {0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 192, 168, 1, 1, 192, 168, 1, 2, 0, 0, 0, 0, 0, 1, 0, 1});
  EXPECT_EQ(summary(v).substr(0, 36), "vlan 100 192.168.1.1 > 192.168.1.2 t");
}

TEST(Packet, TruncatedNeverReadsPastTheEnd) {
  auto v = ipv4(6, 60);
  v.resize(v.size() - 3);  // IPv4 header cut short
  EXPECT_NE(summary(v).find("[truncated]"), std::string::npos);
  auto w = ipv4(6, 60);
  append(w, {0, 80});  // TCP header cut short
  EXPECT_NE(summary(w).find("[truncated]"), std::string::npos);
  for (size_t n = 0; n < w.size(); ++n) {  // every prefix parses without a crash
    std::vector<uint8_t> p(w.begin(), w.begin() + static_cast<long>(n));
    std::string out;
    format_packet(p, 14, 0x0800, {true}, out);
  }
}

TEST(Packet, NetworkHeaderOnlyUsesEthertype) {
  auto v = ipv4(1, 84);
  std::vector<uint8_t> l3(v.begin() + 14, v.end());
  append(l3, {0, 0, 0, 0});
  std::string out;
  format_packet(l3, 0, 0x0800, {}, out);
  EXPECT_EQ(out.substr(0, 22), "10.0.0.1 > 10.0.0.2 tt");
}

TEST(Packet, FlowKey) {
  auto v = ipv4(17, 92, 0);
  append(v, {0x14, 0xe9, 0x00, 0x35, 0, 72, 0, 0});
  FlowKey k;
  ASSERT_TRUE(flow_key(v, 14, 0, &k));
  EXPECT_EQ(k.family, 4);
  EXPECT_EQ(k.proto, 17);
  EXPECT_EQ(k.sport, 5353);
  EXPECT_EQ(k.dport, 53);
  EXPECT_EQ(k.dst[3], 2);
  EXPECT_FALSE(flow_key(eth(0x0806), 14, 0, &k));
}
