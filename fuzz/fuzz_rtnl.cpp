// libFuzzer target for the rtnetlink reply parsers: arbitrary bytes as a dump reply (messages
// back to back, as NlSocket::request returns them) through every parser `show`, `topo` and
// `find` use on a namespace's links, addresses, routes, rules and neighbours, and what each
// record then says of itself. The bytes are what the kernel sends; any crash or sanitizer
// report aborts. Records a parser kept are printed as the renderers print them.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "netlink/rtnl.h"

using namespace nscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The parsers read headers in place: give them the alignment a receive buffer has.
  std::vector<uint64_t> aligned((size + 7) / 8);
  if (size) std::memcpy(aligned.data(), data, size);
  const void* buf = aligned.data();

  std::string text;
  std::vector<LinkInfo> links;
  (void)parse_link_messages(buf, size, links);  // what came before an error is kept
  for (const auto& l : links) text += l.display_kind() + l.state() + (l.up() ? "up" : "");
  std::vector<AddrInfo> addrs;
  (void)parse_addr_messages(buf, size, addrs);
  std::vector<RouteInfo> routes;
  (void)parse_route_messages(buf, size, routes);
  for (const auto& r : routes) text += r.is_default() ? "default" : r.dst;
  std::vector<RuleInfo> rules;
  (void)parse_rule_messages(buf, size, rules);
  for (const auto& r : rules) text += r.text();
  NeighSummary n;
  (void)parse_neigh_messages(buf, size, n);
  return 0;
}
