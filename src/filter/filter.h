// The filters of one `collect` run, compiled and ready for the BPF programs.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

struct btf;

namespace nscope::filter {

struct NetnsMatch {
  uint32_t inum = 0;
  uint64_t cookie = 0;  // 0 when unknown: matched by inode
};

struct FilterSet {
  uint32_t netns_mode = 0;  // 0, NSCOPE_NETNS_INCLUDE or NSCOPE_NETNS_EXCLUDE
  std::vector<NetnsMatch> netns;
  std::optional<std::vector<bpf_insn>> packet;  // -f, for nscope_filter_packet
  uint32_t packet_bytes = 0;                    // what -f reads of a packet
  std::optional<std::vector<bpf_insn>> meta;    // -m, for nscope_filter_meta
};

// The expressions a user gives; empty when not given.
struct FilterExpressions {
  std::string packet;  // pcap-filter syntax, as tcpdump takes (-f)
  std::string meta;    // fields of struct sk_buff (-m)
};

enum class Expression { packet, meta };

// The one way in from an expression to what the programs run: the packet expression
// compiled by libpcap for Ethernet frames and for bare IP packets, then translated to eBPF;
// the meta expression checked against `vmlinux` and compiled. Fills out.packet,
// out.packet_bytes and out.meta, leaving the netns part alone. Errors are usage errors that
// quote the expression and say what is wrong with it; *failed (when given) says which
// expression it was, for the caller to name as its user knows it.
Result<void> compile_filters(const FilterExpressions& expr, const btf* vmlinux, FilterSet& out,
                             Expression* failed = nullptr);

}  // namespace nscope::filter
