// libFuzzer target for the nfnetlink parsers: arbitrary bytes as one datagram of collect's
// nf_tables trace socket (NFT_MSG_TRACE messages, NFNLGRP_NFTRACE) through the walk the trace
// reader runs on each datagram, and as the replies to the nf_tables dumps `show` reads a
// namespace's firewall from (tables, then chains into them, then rules into those). Any
// crash or sanitizer report aborts; a trace kept must name its table and chain.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "netlink/firewall.h"
#include "netlink/nft_trace.h"

using namespace nscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint64_t> aligned((size + 7) / 8);  // a receive buffer's alignment
  if (size) std::memcpy(aligned.data(), data, size);
  const void* buf = aligned.data();

  std::string text;
  for_each_nft_trace(buf, size, [&](Result<NftTrace> t) {
    if (!t) return;
    if (t->table.empty() || t->chain.empty()) std::abort();
    // The views point into the message.
    auto inside = [&](std::string_view v) {
      auto* p = reinterpret_cast<const char*>(buf);
      return v.empty() || (v.data() >= p && v.data() + v.size() <= p + size);
    };
    if (!inside(t->table) || !inside(t->chain) || !inside(t->verdict_chain) ||
        !inside(t->ll_header) || !inside(t->network_header) || !inside(t->transport_header))
      std::abort();
    text += nft_trace_verdict(*t);
    text += nft_family_name(t->family);
    text += nft_verdict_name(t->verdict);
  });

  std::vector<FwTable> tables;
  (void)parse_nft_tables(buf, size, tables);
  // The same bytes as chains and rules, onto the tables found (as `show` reads three dumps).
  (void)parse_nft_chains(buf, size, tables);
  (void)parse_nft_rules(buf, size, tables);
  for (const auto& t : tables)
    for (const auto& c : t.chains) text += c.name + c.hook + c.policy;
  return 0;
}
