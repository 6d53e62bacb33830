// pcapng output of captured packets (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng):
// one Section Header Block, one Interface Description Block per (network namespace,
// device) seen, one Enhanced Packet Block per event that carries packet bytes.
//
//   - interfaces are named "<netns>/<device>": "web-1/eth0" with the namespace's name,
//     "host/eth0" in the initial namespace, "ns:4026532256/veth1" otherwise; if_description
//     says "netns 4026532256 (web-1), ifindex 5"; if_tsresol is 9 (nanoseconds);
//   - linktype Ethernet (1); LINKTYPE_RAW (101) for a capture that starts at the IP header;
//   - timestamps are UTC: the event's CLOCK_MONOTONIC time plus the file's offset;
//   - the original length is the skb's length (never less than what was captured);
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
};

class PcapngWriter {
 public:
  explicit PcapngWriter(PcapngOptions opts) : opts_(std::move(opts)) {}

  // Appends the Section Header Block. Call once, before any packet.
  void begin(std::string& out) const;
  // Appends the event's packet (after its interface's IDB the first time that interface is
  // seen). false, and nothing appended, when the event carries no packet bytes.
  bool add(const Event& e, std::string_view comment, std::string& out);

  size_t interfaces() const { return ifaces_.size(); }
  // The if_name given to an event's interface.
  std::string interface_name(const Event& e) const;

 private:
  uint32_t interface_of(const Event& e, std::string& out);

  PcapngOptions opts_;
  std::unordered_map<uint64_t, uint32_t> ifaces_;  // (netns, ifindex, linktype) -> id
};

}  // namespace nscope
