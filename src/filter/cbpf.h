// Classic BPF (what libpcap compiles -f into) translated to eBPF for the packet stub of
// bpf/filter_stubs.h, so a packet the filter rejects never becomes an event.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "filter/pcap_filter.h"
#include "util/result.h"

namespace nscope::filter {

// The body of nscope_filter_packet(buf, caplen, wirelen, is_l2): runs `ethernet` on packets
// seen from their Ethernet header and `raw_ip` on those seen from their IP header. An empty
// program rejects every packet of that shape. The packet is the NSCOPE_FILTER_BYTES bytes at
// buf, caplen of them valid: a load beyond them rejects the packet, as a load beyond the
// captured bytes does in classic BPF. Errors name the instruction nscope cannot translate.
Result<std::vector<bpf_insn>> translate_packet_filter(const std::vector<CbpfInsn>& ethernet,
                                                      const std::vector<CbpfInsn>& raw_ip);

// How many bytes of a packet `prog` can read (at most NSCOPE_FILTER_BYTES): the end of its
// furthest fixed-offset load, or all of them when it loads at offsets computed at run time.
// The kernel then copies no more than that.
uint32_t packet_bytes_needed(const std::vector<CbpfInsn>& prog);

}  // namespace nscope::filter
