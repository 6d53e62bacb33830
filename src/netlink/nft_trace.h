// nf_tables' own packet tracing, as `nft monitor trace` reads it: the table
// nscope adds to a network namespace so that packets are traced there (`meta
// nftrace set 1` at the first hooks), the NFT_MSG_TRACE messages of the
// NFNLGRP_NFTRACE group, and the requests that add and remove that table. Built
// and parsed from bytes (no libnftnl: the tool links statically), so unit tests
// feed recorded or hand-made messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace nscope {

// One NFT_MSG_TRACE message: a rule, a chain's return or a base chain's policy
// met by a traced packet. Strings point into the message.
struct NftTrace {
  uint8_t family = 0; // NFPROTO_* of the table (nfgenmsg)
  uint32_t type = 0;  // NFT_TRACETYPE_RULE / RETURN / POLICY
  uint32_t id = 0;    // the kernel's per-packet trace id (not an skb address)
  std::string_view table, chain;
  std::optional<uint64_t> rule_handle;
  bool has_verdict = false;
  int32_t verdict = 0; // NF_ACCEPT, NF_DROP, NFT_JUMP, ...
  std::string_view verdict_chain;
  bool has_policy = false;
  uint32_t policy = 0;       // NF_ACCEPT / NF_DROP where the policy decided
  uint32_t iif = 0, oif = 0; // 0: absent
  uint32_t mark = 0;
  uint8_t nfproto = 0; // the packet's protocol family (NFPROTO_IPV4 / IPV6)
  std::string_view ll_header, network_header, transport_header;
};

// Reads one message (header included); an error for anything but a well-formed
// NFT_MSG_TRACE.
Result<NftTrace> parse_nft_trace(const void *msg, size_t len);

// Every NFT_MSG_TRACE message in one datagram of the trace socket, each as
// parse_nft_trace reads it: fn(trace) for a well-formed one, fn(error) for one
// that is not. Other messages are skipped; the walk stops at a truncated header.
void for_each_nft_trace(const void *buf, size_t len,
                        const std::function<void(Result<NftTrace>)> &fn);

// "inet", "ip", "ip6", "arp", "bridge", "netdev"; "family N" for others.
std::string_view nft_family_name(uint8_t family);
// The verdict as Retis and `nft monitor trace` name it: "accept", "drop",
// "continue", "break", "jump", "goto", "return", "queue", "stolen", "repeat",
// "stop".
std::string_view nft_verdict_name(int32_t verdict);
// The verdict a trace reports: its verdict; for a policy, the policy's.
std::string_view nft_trace_verdict(const NftTrace &t);

// The name of the table a run with process id `pid` adds, and whether a table's
// name is one of those (and of which pid).
std::string nft_trace_table_name(int pid);
std::optional<int> nft_trace_table_pid(std::string_view name);

// One nfnetlink batch (begin, messages, end), each message asking for an ack.
// seq is the first message's sequence number; `messages` the number of acks to
// wait for.
struct NftBatch {
  std::string bytes;
  uint32_t first_seq = 0;
  uint32_t messages = 0;
};
// table inet NAME { chain prerouting { type filter hook prerouting priority P;
// meta nftrace set 1 accept } chain output { type filter hook output priority
// P; meta nftrace set 1 accept } }, P the first priority there is, so every
// other chain sees traced packets.
NftBatch nft_trace_table_batch(std::string_view name, uint32_t seq);
// table inet NAME { chain trace_switch { meta nftrace set 1 } }: a chain with no
// hook, which no packet enters. Its rule turns on nf_tables' nft_trace_enabled
// static key, so __nft_trace_packet is called (the nft kprobe's way, Retis's
// Retis_Table); it marks no packet, so nothing is traced or sent.
NftBatch nft_trace_switch_batch(std::string_view name, uint32_t seq);
// delete table inet NAME.
NftBatch nft_delete_table_batch(std::string_view name, uint32_t seq);

} // namespace nscope
