// `collect -f EXPR`: pcap-filter expressions compiled by libpcap to classic BPF, for the two
// shapes a packet has at a tracepoint: an Ethernet frame, or a bare IP packet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace nscope::filter {

// One classic BPF instruction (struct sock_filter / pcap's struct bpf_insn).
struct CbpfInsn {
  uint16_t code;
  uint8_t jt, jf;
  uint32_t k;
};

enum class LinkType { ethernet, raw_ip };

// libpcap's compilation of `expr` for `link`, optimised. Errors carry libpcap's message.
Result<std::vector<CbpfInsn>> compile_pcap(const std::string& expr, LinkType link);

// Whether classic BPF `prog` accepts `packet` (libpcap's own interpreter: the reference the
// translation is tested against). wirelen is the packet's full length.
bool run_cbpf(const std::vector<CbpfInsn>& prog, const uint8_t* packet, uint32_t caplen,
              uint32_t wirelen);

}  // namespace nscope::filter
