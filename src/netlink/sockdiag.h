// Socket counts of the calling thread's network namespace through sock_diag
// (NETLINK_SOCK_DIAG): TCP and UDP over IPv4 and IPv6, and unix sockets. Counts only: no
// addresses, so a namespace with many sockets still answers quickly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace nscope {

struct SockCount {
  std::string proto;        // "tcp", "tcp6", "udp", "udp6", "unix"
  uint32_t listening = 0;   // TCP/unix stream: LISTEN; UDP/unix dgram: bound, unconnected
  uint32_t connected = 0;   // ESTABLISHED
  uint32_t other = 0;       // TIME-WAIT, SYN-SENT, CLOSE-WAIT, ...
  uint32_t total() const { return listening + connected + other; }
};

// Every dump of TCP or UDP walks the kernel's global hash table, whose size grows with the
// machine's memory, whatever the namespace holds; so the per-namespace use counts of
// /proc/thread-self/net/sockstat{,6} are read first and a protocol with no socket in this
// namespace is not dumped. TCP over IPv4 and IPv6 is dumped in one walk (the inet_diag
// compat request takes both families). A protocol the kernel refuses is reported as an Error
// for the whole call only when nothing could be counted.
Result<std::vector<SockCount>> count_sockets();

// Adds the sockets in a reply to `c`: inet_diag_msg for tcp/udp (udp: pass udp = true), or
// unix_diag_msg for unix. With `family` set, only sockets of that family are counted (a TCP
// compat dump holds both).
Result<void> parse_inet_diag_messages(const void* buf, size_t len, bool udp, SockCount& c,
                                      int family = 0);

// What /proc/net/sockstat and sockstat6 say this namespace uses; nullopt when a line is missing.
struct SockStat {
  std::optional<uint32_t> tcp, tcp_tw, udp, tcp6, udp6;
};
void parse_sockstat(std::string_view text, SockStat& out);  // either file's text
Result<void> parse_unix_diag_messages(const void* buf, size_t len, SockCount& c);

// The raw dump for (family, protocol): AF_INET/AF_INET6 with IPPROTO_TCP/UDP, or AF_UNIX.
Result<std::string> sock_diag_dump_raw(int family, int protocol);

}  // namespace nscope
