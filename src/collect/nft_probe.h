// collect's `nft` collector where the kernel allows kprobes, the way Retis does
// it: a kprobe on nf_tables' __nft_trace_packet, which the kernel calls for
// every rule a packet matches, every chain's end and every base chain's policy
// once its nft_trace_enabled static key is on. The key is turned on by any
// `meta nftrace set` expression: nscope (as Retis) adds a table whose one chain
// has no hook and holds such a rule, so no packet is marked, no trace message
// is sent and no verdict changes (NftTracer::start_switch). The BPF program
// reads the table, chain, rule, verdict and policy (Retis's nft section) and
// the packet itself, so each event carries the packet's tracking id: no join.
#pragma once

#include <string>

#include "collect/probes.h"
#include "util/result.h"

struct btf;

namespace nscope {

inline constexpr std::string_view kNftTraceFunction = "__nft_trace_packet";

// From BTF that has nf_tables' types (the module's split BTF, or a test's): the
// kprobe's slot with the layout it reads (cfg.nft_point: Linux 6.1's (info,
// chain, type), rule and verdict in info; or 6.4's on (pkt, verdict, rule, info,
// type), the chain named by struct nft_rule_dp_last), or an Error saying why
// this kernel's __nft_trace_packet is neither.
Result<ProbeSpec> nft_probe_from(const btf* b);

// The kprobe where this kernel allows it: kprobes load, nf_tables is loaded
// (loaded here if it is not: nfnetlink loads it on the first request) with its
// BTF, and the function is one kprobes can attach to. NSCOPE_NFT_MODE=netlink
// says no (tests use it to run the other way on a kernel with kprobes). The
// error says why not, for the startup line.
Result<ProbeSpec> nft_probe(const btf* vmlinux);

}  // namespace nscope
