// The filters of one `collect` run, compiled and ready for the BPF programs.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

}  // namespace nscope::filter
