// System tests for collect's filters (--netns, -f, -m): the -f translation run in the kernel
// against libpcap's own interpreter, and real collects on two namespaces exchanging ICMP, UDP,
// TCP and ARP at once, where each filter must pass exactly the packets it names.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>

#include "discover/netns.h"
#include "events/format.h"
#include "events/reader.h"
#include "filter/cbpf.h"
#include "filter/patch.h"
#include "filter_test_run.h"
#include "netlink/rtnl.h"
#include "nscope.h"
#include "testenv.h"
#include "util/fd.h"

namespace {

using nst::json;
using nscope::filter::CbpfInsn;
using nscope::filter::LinkType;

// ---- the -f translation, packet by packet ----------------------------------------------

// Packets of every shape the expressions below care about, as Ethernet frames; `l2` is the
// link header length (14, or 18 with a VLAN tag).
struct Frame {
  std::vector<uint8_t> bytes;
  size_t l2 = 14;
};

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

Frame make_frame(std::mt19937& rng) {
  auto pick = [&](std::initializer_list<int> v) { return *(v.begin() + rng() % v.size()); };
  Frame f;
  auto& b = f.bytes;
  const uint8_t macs[2][6] = {{2, 0, 0, 0, 0, 1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  const uint8_t* dst = macs[rng() % 2];
  b.insert(b.end(), dst, dst + 6);
  b.insert(b.end(), macs[0], macs[0] + 6);
  int shape = static_cast<int>(rng() % 7);
  if (shape == 6) {  // VLAN-tagged IPv4
    put16(b, 0x8100);
    put16(b, static_cast<uint16_t>(pick({10, 20})));
    f.l2 = 18;
  }
  int l4 = pick({1, 6, 17, 47, 58});
  uint16_t sport = static_cast<uint16_t>(pick({22, 80, 443, 1500, 5353, 40000}));
  uint16_t dport = static_cast<uint16_t>(pick({22, 80, 443, 1500, 5353, 40000}));
  size_t payload = static_cast<size_t>(pick({0, 4, 40, 200, 400}));
  auto l4hdr = [&](int proto) {
    if (proto == 6) {
      put16(b, sport); put16(b, dport);
      for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(rng()));
      b.push_back(static_cast<uint8_t>(pick({0x50, 0x60, 0x80})));  // data offset
      b.push_back(static_cast<uint8_t>(pick({0x02, 0x12, 0x10, 0x04, 0x18})));  // flags
      for (int i = 0; i < 6; ++i) b.push_back(0);
      if (rng() % 3 == 0) {  // "GET " at a header length the expression must compute
        size_t doff = (b[b.size() - 8] >> 4) * 4u;
        while (b.size() % 4) b.push_back(0);
        for (size_t i = 20; i < doff; ++i) b.push_back(1);
        for (char c : std::string("GET ")) b.push_back(static_cast<uint8_t>(c));
      }
    } else if (proto == 17) {
      put16(b, sport); put16(b, dport); put16(b, static_cast<uint16_t>(8 + payload)); put16(b, 0);
      for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(pick({1, 2, 3, 4})));
    } else if (proto == 1 || proto == 58) {
      b.push_back(static_cast<uint8_t>(pick({0, 3, 8, 128, 129})));
      b.push_back(0);
      put16(b, 0);
      put16(b, 1); put16(b, 1);
    }
    for (size_t i = 0; i < payload; ++i) b.push_back(static_cast<uint8_t>(rng()));
  };
  if (shape <= 2 || shape == 6) {  // IPv4
    if (shape != 6) put16(b, 0x0800);
    size_t ihl = pick({5, 5, 6});
    b.push_back(static_cast<uint8_t>(0x40 | ihl));
    b.push_back(0);
    put16(b, 0);  // total length, fixed below
    put16(b, 1);
    put16(b, static_cast<uint16_t>(pick({0, 0, 0x2000, 0x0010})));  // MF / fragment offset
    b.push_back(64);
    b.push_back(static_cast<uint8_t>(l4 == 58 ? 1 : l4));
    put16(b, 0);
    const uint8_t addrs[3][4] = {{10, 1, 2, 3}, {10, 9, 9, 9}, {192, 168, 0, 1}};
    for (int k = 0; k < 2; ++k) {
      const uint8_t* a = addrs[rng() % 3];
      b.insert(b.end(), a, a + 4);
    }
    for (size_t i = 5; i < ihl; ++i) for (int k = 0; k < 4; ++k) b.push_back(1);
    size_t ip_start = f.l2;
    l4hdr(l4 == 58 ? 1 : l4);
    uint16_t tot = static_cast<uint16_t>(b.size() - ip_start);
    b[ip_start + 2] = static_cast<uint8_t>(tot >> 8);
    b[ip_start + 3] = static_cast<uint8_t>(tot);
  } else if (shape <= 4) {  // IPv6
    put16(b, 0x86dd);
    b.push_back(0x60); b.push_back(0); put16(b, 0);
    put16(b, 0);
    b.push_back(static_cast<uint8_t>(l4 == 1 ? 58 : l4));
    b.push_back(64);
    for (int i = 0; i < 32; ++i) b.push_back(static_cast<uint8_t>(i < 16 ? 0xfe : rng() % 2));
    l4hdr(l4 == 1 ? 58 : l4);
  } else {  // ARP
    put16(b, 0x0806);
    put16(b, 1); put16(b, 0x0800); b.push_back(6); b.push_back(4); put16(b, static_cast<uint16_t>(pick({1, 2})));
    for (int i = 0; i < 20; ++i) b.push_back(static_cast<uint8_t>(rng()));
  }
  if (rng() % 8 == 0) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));  // damage
  if (rng() % 10 == 0) b.resize(rng() % b.size());                                   // truncate
  return f;
}

TEST(Filter, PcapTranslationMatchesLibpcapPacketByPacket) {
  const std::vector<std::string> exprs = {
      "udp port 5353", "icmp", "arp", "tcp[tcpflags] & tcp-syn != 0", "ip6 and tcp",
      "vlan and udp", "vlan 20", "host 10.1.2.3", "net 10.0.0.0/8 and not port 22", "len > 100",
      "ip[2:2] > 60", "icmp6", "ether src 02:00:00:00:00:01", "ether broadcast",
      "udp[8:4] = 0x01020304", "portrange 1000-2000", "ip proto 47", "greater 200", "less 60",
      "tcp and (dst port 80 or dst port 443)", "ip[6] & 0x20 != 0",
      "udp[0:2] / 2 = 2676", "udp[0:2] % 7 = 1", "ip[0] & 0xf * 4 > 20", "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
      "not ip", "ip and not icmp and not udp and not tcp", "tcp or not tcp", "ip[300] = 1",
      // Shifts by a packet byte of 32 or more: 0 in libpcap, the count modulo 32 in eBPF
      // (found by fuzz/fuzz_pcap.cpp).
      "ip[0] << ip[0] & 0xff > 5", "ip[8] >> ip[0] != 0", "ip[8] >> (ip[0] & 0x1f) != 0"};
  std::mt19937 rng(4711);
  std::vector<Frame> frames;
  for (int i = 0; i < 400; ++i) frames.push_back(make_frame(rng));
  int matched = 0, compared = 0;
  for (const auto& expr : exprs) {
    SCOPED_TRACE(expr);
    auto eth = nscope::filter::compile_pcap(expr, LinkType::ethernet);
    auto raw = nscope::filter::compile_pcap(expr, LinkType::raw_ip);
    ASSERT_TRUE(eth.ok()) << eth.error().message;
    auto code = nscope::filter::translate_packet_filter(*eth, raw ? *raw : std::vector<CbpfInsn>{});
    ASSERT_TRUE(code.ok()) << code.error().message;
    nst::FilterTestRun k(nst::FilterTestRun::Stub::packet, *code);
    ASSERT_TRUE(k.ok()) << k.error();
    // collect copies only what the filter can read: the verdicts must not change.
    const uint32_t need = std::max(nscope::filter::packet_bytes_needed(*eth),
                                   raw ? nscope::filter::packet_bytes_needed(*raw) : 0u);
    for (const auto& f : frames) {
      const auto& b = f.bytes;
      uint32_t len = static_cast<uint32_t>(b.size());
      bool want = nscope::filter::run_cbpf(*eth, b.data(), std::min<uint32_t>(len, NSCOPE_FILTER_BYTES), len);
      int got = k.packet(b.data(), len, true);
      ASSERT_GE(got, 0) << "test run failed";
      EXPECT_EQ(got != 0, want) << "Ethernet frame of " << len << " bytes";
      EXPECT_EQ(k.packet(b.data(), len, true, need) != 0, want) << "reading " << need << " bytes";
      matched += want;
      ++compared;
      // The same packet seen from its IP header (as at a tracepoint before the link header).
      if (len < f.l2) continue;
      const uint8_t* ip = b.data() + f.l2;
      uint32_t iplen = len - static_cast<uint32_t>(f.l2);
      bool want_raw = raw && nscope::filter::run_cbpf(*raw, ip, std::min<uint32_t>(iplen, NSCOPE_FILTER_BYTES), iplen);
      int got_raw = k.packet(ip, iplen, false);
      ASSERT_GE(got_raw, 0);
      EXPECT_EQ(got_raw != 0, want_raw) << "IP packet of " << iplen << " bytes";
      EXPECT_EQ(k.packet(ip, iplen, false, need) != 0, want_raw) << "reading " << need << " bytes";
      ++compared;
    }
  }
  // The packets exercise both outcomes of the expressions, not only "no match".
  EXPECT_GT(matched, compared / 20);
}

TEST(Filter, UntranslatableAndBadExpressionsAreNamed) {
  auto bad = nscope::filter::compile_pcap("udp portt 5", LinkType::ethernet);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("syntax error"), std::string::npos) << bad.error().message;
  // A Linux ancillary load (what "ifindex"-style socket filters use) has no meaning here.
  std::vector<CbpfInsn> anc = {{0x20, 0, 0, 0xfffff000u + 4}, {0x06, 0, 0, 1}};
  auto t = nscope::filter::translate_packet_filter(anc, {});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("SKF_AD"), std::string::npos) << t.error().message;
  // protochain walks IPv6 extension headers in a loop: classic BPF's backward jump.
  auto loop = nscope::filter::compile_pcap("ip6 protochain 6", LinkType::ethernet);
  ASSERT_TRUE(loop.ok());
  auto lt = nscope::filter::translate_packet_filter(*loop, {});
  ASSERT_FALSE(lt.ok());
  EXPECT_NE(lt.error().message.find("jumps backwards"), std::string::npos) << lt.error().message;
  std::vector<CbpfInsn> off_end = {{0x15, 5, 0, 1}, {0x06, 0, 0, 1}};
  EXPECT_FALSE(nscope::filter::translate_packet_filter(off_end, {}).ok());
}

// ---- collect with filters on real traffic ----------------------------------------------

struct Counts {
  std::map<std::string, int> by;  // "icmp@A", "udp5353@B", ...
  int total = 0;
  int at(const std::string& k) const {
    auto it = by.find(k);
    return it == by.end() ? 0 : it->second;
  }
};

// Two namespaces with IPv6 off (no router solicitations or MLD to count), no ICMP rate limit,
// and an nft rule in A marking UDP to 5353 with 0x10.
class FilterEnv {
 public:
  FilterEnv() : p(217) {
    if (!p.ok) return;
    for (const auto& ns : {p.a.name(), p.b.name()}) {
      nst::run({"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"});
      nst::run({"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"});
    }
    auto r = nst::run({"ip", "netns", "exec", p.a.name(), "nft",
                       "add table ip nstf; add chain ip nstf out { type filter hook output priority 0; }; "
                       "add rule ip nstf out udp dport 5353 meta mark set 0x10"});
    ok = r.exit_code == 0;
    if (!ok) error = r.describe();
  }
  // ARP is asked again each run: the neighbour tables are flushed first. ICMP: 2 echo
  // requests and replies, 5 port unreachables (UDP to closed ports); UDP: 3 datagrams to 5353
  // (marked in A), 2 to 7000; TCP: a SYN answered by a RST.
  std::string traffic() const {
    std::string a = "ip netns exec " + p.a.name() + " ";
    return "ip -n " + p.a.name() + " neigh flush all; ip -n " + p.b.name() + " neigh flush all; " +
           a + "ping -c 2 -i 0.2 -W 1 " + p.ip_b + " >/dev/null; " + a +
           "bash -c 'for i in 1 2 3; do echo x > /dev/udp/" + p.ip_b + "/5353; done; "
           "for i in 1 2; do echo y > /dev/udp/" + p.ip_b + "/7000; done; "
           "echo > /dev/tcp/" + p.ip_b + "/8080' 2>/dev/null; sleep 0.3";
  }

  // Runs collect with `args` over the traffic and counts events by protocol and side.
  // env: NAME=VALUE for collect.
  Counts collect(const std::vector<std::string>& args, nst::RunResult* out = nullptr,
                 std::vector<std::string> env = {}) {
    nst::TempDir dir;
    std::string file = dir / "events.json";
    std::vector<std::string> argv = {"collect", "-o", file, "--cmd", traffic()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto opts = nst::with_timeout(std::chrono::seconds(30));
    opts.env = std::move(env);
    auto r = nst::nscope(argv, opts);
    if (out) *out = r;
    Counts c;
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    std::ifstream f(file);
    std::string line, text;
    nscope::SymbolTable syms;
    while (std::getline(f, line)) {
      nscope::Event e;
      auto k = nscope::parse_event_line(line, syms, e, nullptr);
      if (!k.ok() || *k != nscope::LineKind::event) continue;
      text.clear();
      nscope::format_event_text(e, {}, text);
      std::string side = e.netns_inum == p.ino_a ? "A" : e.netns_inum == p.ino_b ? "B" : "other";
      if (e.symbol.starts_with("skb:")) {  // where skb-tracking saw a followed packet end
        ++c.by["freed@" + side];
        continue;
      }
      std::string kind = "other";
      if (text.find("proto ICMP (1)") != std::string::npos) kind = "icmp";
      else if (text.find("proto TCP (6)") != std::string::npos) kind = "tcp";
      else if (text.find(".5353: UDP") != std::string::npos || text.find(" > " + p.ip_b + ".5353") != std::string::npos) kind = "udp5353";
      else if (text.find("proto UDP (17)") != std::string::npos) kind = "udp";
      else if (text.find("ARP") != std::string::npos || text.find("arp") != std::string::npos) kind = "arp";
      ++c.by[kind + "@" + side];
      if (side == "other") continue;  // the host's own traffic, or another test's
      if (e.has_tracking) ++c.by["tracked@" + side];
      ++c.total;
    }
    return c;
  }

  nst::VethPair p;
  bool ok = false;
  std::string error;
};

std::string dump(const Counts& c) {
  std::string s;
  for (const auto& [k, v] : c.by) s += k + "=" + std::to_string(v) + " ";
  return s;
}

TEST(Filter, EachFilterPassesExactlyItsPackets) {
  FilterEnv env;
  ASSERT_TRUE(env.p.ok) << env.p.error;
  ASSERT_TRUE(env.ok) << env.error;
  const std::vector<std::string> plain = {"-c", "skb,ns,dev"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), plain.begin(), plain.end());
    return env.collect(extra);
  };
  auto env_collect = [&](const std::vector<std::string>& args, std::vector<std::string> vars = {}) {
    return env.collect(args, nullptr, std::move(vars));
  };

  // Unfiltered: every kind on both sides (the filters below must carve these up).
  Counts all = with({});
  SCOPED_TRACE("unfiltered: " + dump(all));
  ASSERT_EQ(all.at("icmp@A") + all.at("icmp@B"), 2 * (4 + 5));
  ASSERT_EQ(all.at("udp5353@A") + all.at("udp5353@B"), 6);
  ASSERT_EQ(all.at("tcp@A") + all.at("tcp@B"), 4);
  ASSERT_GE(all.at("arp@A") + all.at("arp@B"), 4);

  // -f reads packet bytes where they lie where the kernel allows it (Linux 6.16 on), else
  // through a helper into a buffer: both ways must pass the same packets.
  for (std::string env : {"", "NSCOPE_NO_DIRECT_PACKET=1"}) {
    SCOPED_TRACE(env.empty() ? "direct packet loads where the kernel has them" : env);
    auto f = [&](const std::string& expr) {
      std::vector<std::string> args = plain;
      args.insert(args.end(), {"-f", expr});
      return env.empty() ? env_collect(args) : env_collect(args, {env});
    };
    Counts icmp = f("icmp");
    EXPECT_EQ(icmp.total, 18) << dump(icmp);
    EXPECT_EQ(icmp.at("icmp@A"), 9) << dump(icmp);
    EXPECT_EQ(icmp.at("icmp@B"), 9) << dump(icmp);

    Counts mdns = f("udp port 5353");
    EXPECT_EQ(mdns.total, 6) << dump(mdns);
    EXPECT_EQ(mdns.at("udp5353@A"), 3) << dump(mdns);
    EXPECT_EQ(mdns.at("udp5353@B"), 3) << dump(mdns);

    // How many ARP exchanges a run has depends on its timing (a slow run re-probes a
    // neighbour): every event is ARP, at least the two exchanges each run makes, both sides.
    Counts arp = f("arp");
    EXPECT_EQ(arp.total, arp.at("arp@A") + arp.at("arp@B")) << dump(arp);
    EXPECT_GE(arp.total, 4) << dump(arp);
    EXPECT_EQ(arp.at("arp@A"), arp.at("arp@B")) << dump(arp);
  }

  // -m: the mark nft set in A (a veth hop clears it, so nothing in B), the device, the
  // namespace inode, the length; and a combination.
  Counts mark = with({"-m", "sk_buff.mark == 0x10"});
  EXPECT_EQ(mark.total, 3) << dump(mark);
  EXPECT_EQ(mark.at("udp5353@A"), 3) << dump(mark);

  Counts dev = with({"-m", "sk_buff.dev.name == \"" + env.p.vb + "\""});
  EXPECT_EQ(dev.total, all.at("icmp@B") + all.at("udp5353@B") + all.at("udp@B") + all.at("tcp@B") + all.at("arp@B"))
      << dump(dev);
  EXPECT_EQ(dev.at("icmp@A") + dev.at("tcp@A") + dev.at("arp@A"), 0) << dump(dev);

  Counts inum = with({"-m", "sk_buff.dev.nd_net.net.ns.inum == " + std::to_string(env.p.ino_a)});
  EXPECT_EQ(inum.at("icmp@A"), all.at("icmp@A")) << dump(inum);
  EXPECT_EQ(inum.at("icmp@B") + inum.at("tcp@B") + inum.at("arp@B"), 0) << dump(inum);

  // A 2-byte UDP datagram: 20 + 8 + 2 bytes from the IP header at netif_receive_skb.
  Counts len = with({"-m", "sk_buff.len == 30 and sk_buff.dev.nd_net.net.ns.inum == " + std::to_string(env.p.ino_b)});
  EXPECT_EQ(len.total, 5) << dump(len);
  EXPECT_EQ(len.at("udp5353@B"), 3) << dump(len);

  Counts both = with({"-f", "udp", "-m", "sk_buff.mark == 0x10"});
  EXPECT_EQ(both.total, 3) << dump(both);
  Counts either = with({"-f", "tcp or udp port 5353", "--netns", env.p.b.name()});
  EXPECT_EQ(either.total, 2 + 3) << dump(either);
  EXPECT_EQ(either.at("tcp@B"), 2) << dump(either);
}

TEST(Filter, NetnsByNamePidCookieAndExclusion) {
  FilterEnv env;
  ASSERT_TRUE(env.p.ok) << env.p.error;
  ASSERT_TRUE(env.ok) << env.error;
  // A process living in A, for pid:N.
  std::string apath = env.p.a.path();
  nst::Child holder([apath](nst::Channel& c) {
    int fd = ::open(apath.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) nst::child_fail(c, "setns");
    c.send("ready");
    nst::child_sleep_forever();
  });
  ASSERT_FALSE(holder.wait_ready().empty());
  uint64_t cookie_b = 0;
  {
    nscope::Fd fd(::open(env.p.b.path().c_str(), O_RDONLY | O_CLOEXEC));
    (void)nscope::in_netns(fd.get(), [&] {
      if (auto c = nscope::current_netns_cookie()) cookie_b = *c;
    });
  }
  ASSERT_NE(cookie_b, 0u);

  for (const auto& ref : {env.p.a.name(), "pid:" + std::to_string(holder.pid())}) {
    SCOPED_TRACE(ref);
    Counts a = env.collect({"-c", "skb,ns,dev", "--netns", ref});
    EXPECT_GT(a.total, 0);
    EXPECT_EQ(a.total, a.at("icmp@A") + a.at("udp5353@A") + a.at("udp@A") + a.at("tcp@A") + a.at("arp@A")) << dump(a);
    EXPECT_EQ(a.at("icmp@A"), 9) << dump(a);
  }
  Counts b = env.collect({"-c", "skb,ns,dev", "--netns", "cookie:" + std::to_string(cookie_b)});
  EXPECT_EQ(b.at("icmp@B"), 9) << dump(b);
  EXPECT_EQ(b.at("icmp@A") + b.at("tcp@A") + b.at("udp5353@A"), 0) << dump(b);
  Counts not_a = env.collect({"-c", "skb,ns,dev", "--netns", "!" + env.p.a.name(), "-f", "icmp"});
  EXPECT_EQ(not_a.total, 9) << dump(not_a);
  EXPECT_EQ(not_a.at("icmp@B"), 9) << dump(not_a);
}

TEST(Filter, TrackedPacketStaysFollowedIntoTheOtherNamespace) {
  FilterEnv env;
  ASSERT_TRUE(env.p.ok) << env.p.error;
  ASSERT_TRUE(env.ok) << env.error;
  // Only A is named, but the echo requests first seen in A are followed into B; the replies,
  // first seen in B, are not followed there and show up only once they reach A.
  Counts c = env.collect({"-c", "skb,ns,dev,skb-tracking", "-f", "icmp[icmptype] = icmp-echo or icmp[icmptype] = icmp-echoreply",
                          "--netns", env.p.a.name()});
  EXPECT_EQ(c.at("icmp@A"), 4) << dump(c);  // 2 requests sent, 2 replies received
  EXPECT_EQ(c.at("icmp@B"), 2) << dump(c);  // the 2 requests, followed
  EXPECT_EQ(c.at("tracked@B"), 2) << dump(c);
  // Without tracking, the same filter stops at the namespace's edge.
  Counts plain = env.collect({"-c", "skb,ns,dev", "-f", "icmp[icmptype] = icmp-echo or icmp[icmptype] = icmp-echoreply",
                              "--netns", env.p.a.name()});
  EXPECT_EQ(plain.at("icmp@A"), 4) << dump(plain);
  EXPECT_EQ(plain.at("icmp@B"), 0) << dump(plain);
}

TEST(Filter, BadFiltersExitTwoNamingTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--netns", nst::prefix() + "nosuch"}, "--netns"},
      {{"--netns", "a,!b"}, "not both"},
      {{"-f", "udp portt 5"}, "-f 'udp portt 5': "},
      {{"-m", "sk_buff.devv == 1"}, "-m: no field 'devv' in struct sk_buff (column 9)"},
      {{"-m", "sk_buff.dev.name == 3"}, "compare it with a \"string\""},
      {{"-m", "sk_buff.len >"}, "expected a number"},
      {{"-m", "sk_buff.len == 1 and"}, "column"},
      {{"-m", "sk_buff.pkt_type == 9"}, "does not fit"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {"collect", "--count", "1"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = nst::nscope(argv, nst::with_timeout(std::chrono::seconds(20)));
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.describe();
  }
}

}  // namespace
