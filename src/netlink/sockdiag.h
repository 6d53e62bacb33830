// Sockets of the calling thread's network namespace through sock_diag (NETLINK_SOCK_DIAG):
// counts of TCP and UDP over IPv4 and IPv6 and of unix sockets (no addresses, so a namespace
// with many sockets still answers quickly), and the TCP or UDP sockets on one port, one by
// one (`nscope find --port`).
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

// One TCP or UDP socket as sock_diag lists it.
struct InetSock {
  std::string proto;        // "tcp", "udp"
  int family = 0;           // AF_INET / AF_INET6
  uint8_t state = 0;        // the kernel's TCP state number (UDP: 7 unconnected, 1 connected)
  std::string local, remote;  // addresses: "0.0.0.0", "::", "10.0.0.2"
  uint16_t lport = 0, rport = 0;
  uint64_t inode = 0;       // the socket's inode; 0 when no file holds it (TIME-WAIT, kernel)
  uint32_t uid = 0;
  int ifindex = 0;          // SO_BINDTODEVICE, 0 when not bound
  // As ss says it: "LISTEN", "ESTAB", "UNCONN", "TIME-WAIT", "SYN-SENT", ...
  std::string_view state_name() const;
};

// Every TCP (IPPROTO_TCP) or UDP (IPPROTO_UDP) socket of this namespace, IPv4 and IPv6, whose
// local or remote port is `port` (0: every one). The kernel filters by port (inet_diag
// bytecode) so a busy namespace sends only what matches; a kernel that refuses the bytecode
// is asked for everything and the port is checked here. As in count_sockets, a family
// sockstat says has no socket is not dumped.
Result<std::vector<InetSock>> list_inet_sockets(int protocol, uint16_t port);

// The sockets in a reply (SOCK_DIAG_BY_FAMILY or the TCPDIAG_GETSOCK compat dump) appended to
// `out`, each with proto `proto`; with `family` set, only that family's.
Result<void> parse_inet_diag_sockets(const void* buf, size_t len, std::string_view proto,
                                     std::vector<InetSock>& out, int family = 0);

// inet_diag bytecode (INET_DIAG_REQ_BYTECODE) that keeps a socket whose source or destination
// port is `port`: "sport == port || dport == port", laid out as ss lays out an OR.
std::string port_filter_bytecode(uint16_t port);

// The raw dump for (family, protocol): AF_INET/AF_INET6 with IPPROTO_TCP/UDP, or AF_UNIX.
Result<std::string> sock_diag_dump_raw(int family, int protocol);

}  // namespace nscope
