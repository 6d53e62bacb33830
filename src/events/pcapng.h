// pcapng output of captured packets (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng):
// one Section Header Block, one Interface Description Block per (network namespace,
// device) seen, one Enhanced Packet Block per event that carries packet bytes.
//
//   - interfaces are named "<netns>/<device>": "web-1/eth0" with the namespace's name,
//     "host/eth0" in the initial namespace, "ns:4026532256/veth1" otherwise; if_description
//     says "netns 4026532256 (web-1), ifindex 5"; if_tsresol is 9 (nanoseconds);
//   - linktype Ethernet (1); LINKTYPE_RAW (101) for a capture that starts at the IP header;
//   - timestamps are UTC: the event's CLOCK_MONOTONIC time plus the file's offset;
//   - the original length is the packet's length on the wire as recorded (packet.len,
//     Event::wire_len; the skb's length when the file has none), never less than what was
//     captured; a capture shorter than that is counted (short_captures());
//   - each IDB's snaplen states the capture limit: kMaxPacket, what an event holds at most;
//   - epb_flags gives the direction (inbound at *receive*/*rcv* probes, outbound at *xmit*);
//   - opt_comment holds the caller's text, nscope prints the event's text lines there.
// Blocks are written in host byte order, as pcapng allows (readers check the SHB's magic).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "events/event.h"

namespace nscope {

struct PcapngOptions {
  std::string user_appl = "nscope";  // shb_userappl
  std::string os;                    // shb_os, e.g. "Linux 6.1.0-18-amd64"; empty: none
  int64_t mono_to_utc_ns = 0;
  const std::unordered_map<uint32_t, std::string>* names = nullptr;  // netns inode -> name
  uint32_t initial_netns = 0;                                        // named "host"
  uint32_t snaplen = kMaxPacket;  // if_snaplen of every interface; 0: no limit stated
};

struct StartupInfo;
// The options an event file's startup line gives (the kernel as shb_os, the clock's offset, the
// namespaces' names); user_appl names the program that writes.
PcapngOptions pcapng_options(const StartupInfo& s, std::string user_appl);

class PcapngWriter {
 public:
  explicit PcapngWriter(PcapngOptions opts) : opts_(std::move(opts)) {}

  // Appends the Section Header Block. Call once, before any packet.
  void begin(std::string& out) const;
  // Appends the event's packet (after its interface's IDB the first time that interface is
  // seen). false, and nothing appended, when the event carries no packet bytes.
  bool add(const Event& e, std::string_view comment, std::string& out);

  size_t interfaces() const { return ifaces_.size(); }
  // Packets written whose capture is shorter than their original length, and the longest
  // such capture (what a snap length cut them to).
  uint64_t short_captures() const { return short_; }
  uint32_t longest_short_capture() const { return longest_short_; }
  // The if_name given to an event's interface.
  std::string interface_name(const Event& e) const;

 private:
  uint32_t interface_of(const Event& e, std::string& out);

  PcapngOptions opts_;
  std::unordered_map<uint64_t, uint32_t> ifaces_;  // (netns, ifindex, linktype) -> id
  uint64_t short_ = 0;
  uint32_t longest_short_ = 0;
};

}  // namespace nscope
