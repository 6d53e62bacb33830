// libFuzzer target for the sock_diag parsers: arbitrary bytes as a sock_diag dump reply
// through the counters `list` and `show` use (inet_diag for TCP and UDP, either family or
// both, and unix_diag) and the socket lister of `find --port`; and the same bytes as the text
// of /proc/net/sockstat, which decides which dumps are asked for. Any crash or sanitizer
// report aborts; a count must not lose sockets between its parts.
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "netlink/sockdiag.h"

using namespace nscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint64_t> aligned((size + 7) / 8);  // a receive buffer's alignment
  if (size) std::memcpy(aligned.data(), data, size);
  const void* buf = aligned.data();

  SockCount both, v4, v6, udp, unix_;
  auto rb = parse_inet_diag_messages(buf, size, false, both);
  auto r4 = parse_inet_diag_messages(buf, size, false, v4, AF_INET);
  auto r6 = parse_inet_diag_messages(buf, size, false, v6, AF_INET6);
  (void)parse_inet_diag_messages(buf, size, true, udp);
  (void)parse_unix_diag_messages(buf, size, unix_);
  // One walk over the same messages: a family's count is part of the whole.
  if (rb.ok() != r4.ok() || rb.ok() != r6.ok()) std::abort();
  if (v4.total() + v6.total() > both.total()) std::abort();

  std::vector<InetSock> socks, socks4;
  auto rs = parse_inet_diag_sockets(buf, size, "tcp", socks);
  auto rs4 = parse_inet_diag_sockets(buf, size, "tcp", socks4, AF_INET);
  if (rs.ok() != rs4.ok() || socks4.size() > socks.size()) std::abort();
  if (rs.ok() && socks.size() > both.total()) std::abort();
  for (const auto& s : socks)
    if (s.state_name().empty() || s.local.empty()) std::abort();  // family checked: always an address

  SockStat st;
  parse_sockstat(std::string_view(reinterpret_cast<const char*>(data), size), st);
  return 0;
}
