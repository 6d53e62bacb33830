// What filters packets in the calling thread's network namespace: nf_tables tables with their
// chains and rule counts (NETLINK_NETFILTER), and legacy iptables tables with their chains
// (/proc/thread-self/net/ip{,6}_tables_names and the xtables getsockopt interface). Read
// only: nothing is loaded or changed, and no module is asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace nscope {

struct FwChain {
  std::string name;
  std::string hook;      // "input", "forward", ... empty for a regular (jump-target) chain
  int32_t priority = 0;
  std::string policy;    // base chains: "accept" / "drop"
  std::string type;      // nft: "filter", "nat", "route"
  uint32_t rules = 0;
  int64_t handle = 0;    // nft: NFTA_CHAIN_HANDLE
};

struct FwTable {
  std::string backend;   // "nft" or "iptables-legacy"
  std::string family;    // "ip", "ip6", "inet", "arp", "bridge", "netdev"
  std::string name;
  uint32_t flags = 0;
  int64_t handle = 0;    // nft: NFTA_TABLE_HANDLE
  std::vector<FwChain> chains;
};

struct Firewall {
  std::vector<FwTable> tables;
  std::vector<std::string> notes;  // what could not be read, and why
};

// Never fails as a whole: each part that cannot be read leaves a note.
Firewall read_firewall();

// Parsers of NFT_MSG_NEWTABLE / NEWCHAIN / NEWRULE dumps (for tests and read_firewall).
Result<void> parse_nft_tables(const void* buf, size_t len, std::vector<FwTable>& out);
// Adds chains to the matching tables (family + name) of `tables`.
Result<void> parse_nft_chains(const void* buf, size_t len, std::vector<FwTable>& tables);
// Counts rules into the matching chains.
Result<void> parse_nft_rules(const void* buf, size_t len, std::vector<FwTable>& tables);

class NlSocket;
// One nf_tables dump (NFT_MSG_GETTABLE, GETCHAIN, GETRULE) of every family through `s`.
Result<std::string> nft_dump(NlSocket& s, int msg_type);

// The raw dump of NFT_MSG_GETTABLE / GETCHAIN / GETRULE (for recording fixtures).
Result<std::string> nft_dump_raw(int msg_type);

}  // namespace nscope
