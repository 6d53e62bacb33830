#include "netlink/sockdiag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <functional>

#include "netlink/nl.h"
#include "netlink/rtnl.h"
#include "netlink/socket.h"
#include "util/strings.h"

namespace nscope {
namespace {

// Kernel socket states (include/net/tcp_states.h); unix sockets use the same numbers.
constexpr uint8_t kEstablished = 1;
constexpr uint8_t kClose = 7;
constexpr uint8_t kListen = 10;

Result<std::string> dump_on(NlSocket& s, int family, int protocol, std::string_view bytecode = {}) {
  char buf[256];
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  if (family == AF_UNIX) {
    auto* req = static_cast<unix_diag_req*>(nl::put_extra_header(nlh, sizeof(unix_diag_req)));
    req->sdiag_family = AF_UNIX;
    req->udiag_states = ~0u;
    return s.request(nlh, "sock_diag unix dump");
  }
  auto* req = static_cast<inet_diag_req_v2*>(nl::put_extra_header(nlh, sizeof(inet_diag_req_v2)));
  req->sdiag_family = static_cast<uint8_t>(family);
  req->sdiag_protocol = static_cast<uint8_t>(protocol);
  req->idiag_states = ~0u;
  if (!bytecode.empty()) nl::attr_put(nlh, INET_DIAG_REQ_BYTECODE, bytecode.size(), bytecode.data());
  return s.request(nlh, "sock_diag inet dump");
}

void add_state(SockCount& c, uint8_t state, bool unconnected_is_listening) {
  if (state == kListen || (unconnected_is_listening && state == kClose)) ++c.listening;
  else if (state == kEstablished) ++c.connected;
  else ++c.other;
}

}  // namespace

Result<void> parse_inet_diag_messages(const void* buf, size_t len, bool udp, SockCount& c, int family) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY && nlh->nlmsg_type != TCPDIAG_GETSOCK) return {};
    if (nlh->nlmsg_len < nl::kHdrLen + sizeof(inet_diag_msg)) return Error::msg("truncated inet_diag_msg");
    auto* m = static_cast<const inet_diag_msg*>(nl::payload(nlh));
    if (family && m->idiag_family != family) return {};
    add_state(c, m->idiag_state, udp);
    return {};
  });
}

Result<void> parse_unix_diag_messages(const void* buf, size_t len, SockCount& c) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY) return {};
    if (nlh->nlmsg_len < nl::kHdrLen + sizeof(unix_diag_msg)) return Error::msg("truncated unix_diag_msg");
    auto* m = static_cast<const unix_diag_msg*>(nl::payload(nlh));
    // A bound, unconnected datagram socket waits for peers the way a listener does.
    add_state(c, m->udiag_state, m->udiag_type == SOCK_DGRAM);
    return {};
  });
}

Result<std::string> sock_diag_dump_raw(int family, int protocol) {
  auto s = NlSocket::open(NETLINK_SOCK_DIAG);
  if (!s) return s.error();
  return dump_on(*s, family, protocol);
}

void parse_sockstat(std::string_view text, SockStat& out) {
  for (auto line : split(text, '\n')) {
    auto f = split(trim(line), ' ');
    if (f.size() < 3) continue;
    auto num = [&](std::string_view key) -> std::optional<uint32_t> {
      for (size_t i = 1; i + 1 < f.size(); ++i)
        if (f[i] == key)
          if (auto v = parse_u64(f[i + 1])) return static_cast<uint32_t>(*v);
      return std::nullopt;
    };
    if (f[0] == "TCP:") {
      out.tcp = num("inuse");
      out.tcp_tw = num("tw");
    } else if (f[0] == "UDP:") {
      out.udp = num("inuse");
    } else if (f[0] == "TCP6:") {
      out.tcp6 = num("inuse");
    } else if (f[0] == "UDP6:") {
      out.udp6 = num("inuse");
    }
  }
}

namespace {

// One walk of the TCP table for both families: the old TCPDIAG_GETSOCK request, which the
// kernel serves with the family left open.
Result<std::string> tcp_compat_dump(NlSocket& s, std::string_view bytecode = {}) {
  char buf[256];
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = TCPDIAG_GETSOCK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* req = static_cast<inet_diag_req*>(nl::put_extra_header(nlh, sizeof(inet_diag_req)));
  req->idiag_family = AF_INET;
  req->idiag_states = ~0u;
  if (!bytecode.empty()) nl::attr_put(nlh, INET_DIAG_REQ_BYTECODE, bytecode.size(), bytecode.data());
  return s.request(nlh, "sock_diag tcp dump");
}

// What sockstat says the calling thread's namespace uses.
SockStat sockstat_here() {
  SockStat st;
  if (auto t = read_file("/proc/thread-self/net/sockstat")) parse_sockstat(*t, st);
  if (auto t = read_file("/proc/thread-self/net/sockstat6")) parse_sockstat(*t, st);
  return st;
}

// sockstat says this protocol has no socket here (a missing line says nothing).
bool none(const std::optional<uint32_t>& v) { return v && *v == 0; }

}  // namespace

Result<std::vector<SockCount>> count_sockets() {
  auto s = NlSocket::open(NETLINK_SOCK_DIAG);
  if (!s) return s.error();
  SockStat st = sockstat_here();

  std::vector<SockCount> out;
  std::string errors;
  auto note = [&](const char* what, const Error& e) {
    errors += (errors.empty() ? "" : "; ") + std::string(what) + ": " + e.message;
  };
  // TCP: both families in one walk when either has sockets.
  SockCount tcp{"tcp"}, tcp6{"tcp6"};
  bool tcp_ok = true;
  if (!(none(st.tcp) && none(st.tcp6) && none(st.tcp_tw))) {
    auto raw = tcp_compat_dump(*s);
    Result<void> r = raw ? parse_inet_diag_messages(raw->data(), raw->size(), false, tcp, AF_INET)
                         : Result<void>(raw.error());
    if (r) r = parse_inet_diag_messages(raw->data(), raw->size(), false, tcp6, AF_INET6);
    if (!r) {
      // An older or newer kernel without the compat request: one dump per family.
      tcp = SockCount{"tcp"};
      tcp6 = SockCount{"tcp6"};
      for (auto [c, fam] : {std::pair{&tcp, AF_INET}, std::pair{&tcp6, AF_INET6}}) {
        auto d = dump_on(*s, fam, IPPROTO_TCP);
        Result<void> pr = d ? parse_inet_diag_messages(d->data(), d->size(), false, *c) : Result<void>(d.error());
        if (!pr) {
          note(c->proto.c_str(), pr.error());
          tcp_ok = false;
        }
      }
    }
  }
  if (tcp_ok) {
    out.push_back(tcp);
    out.push_back(tcp6);
  }
  struct Q {
    const char* name;
    int family, protocol;
    bool skip;
  };
  const Q qs[] = {{"udp", AF_INET, IPPROTO_UDP, none(st.udp)},
                  {"udp6", AF_INET6, IPPROTO_UDP, none(st.udp6)},
                  {"unix", AF_UNIX, 0, false}};
  for (auto& q : qs) {
    SockCount c;
    c.proto = q.name;
    if (!q.skip) {
      auto raw = dump_on(*s, q.family, q.protocol);
      Result<void> r = raw ? (q.family == AF_UNIX
                                  ? parse_unix_diag_messages(raw->data(), raw->size(), c)
                                  : parse_inet_diag_messages(raw->data(), raw->size(), true, c))
                           : Result<void>(raw.error());
      if (!r) {
        note(q.name, r.error());
        continue;
      }
    }
    out.push_back(std::move(c));
  }
  if (out.empty() && !errors.empty()) return Error::msg("sock_diag: " + errors);
  return out;
}

// ---- one socket at a time (find --port) ---------------------------------------------------

std::string_view InetSock::state_name() const {
  static constexpr std::string_view names[] = {"UNKNOWN",  "ESTAB",      "SYN-SENT",  "SYN-RECV", "FIN-WAIT-1",
                                               "FIN-WAIT-2", "TIME-WAIT", "UNCONN",    "CLOSE-WAIT", "LAST-ACK",
                                               "LISTEN",   "CLOSING",    "SYN-RECV"};
  return state < std::size(names) ? names[state] : "UNKNOWN";
}

Result<void> parse_inet_diag_sockets(const void* buf, size_t len, std::string_view proto, std::vector<InetSock>& out,
                                     int family) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY && nlh->nlmsg_type != TCPDIAG_GETSOCK) return {};
    if (nlh->nlmsg_len < nl::kHdrLen + sizeof(inet_diag_msg)) return Error::msg("truncated inet_diag_msg");
    auto* m = static_cast<const inet_diag_msg*>(nl::payload(nlh));
    if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6) return {};
    if (family && m->idiag_family != family) return {};
    size_t alen = m->idiag_family == AF_INET ? 4 : 16;
    InetSock s;
    s.proto = proto;
    s.family = m->idiag_family;
    s.state = m->idiag_state;
    s.local = format_addr(s.family, m->id.idiag_src, alen);
    s.remote = format_addr(s.family, m->id.idiag_dst, alen);
    s.lport = ntohs(m->id.idiag_sport);
    s.rport = ntohs(m->id.idiag_dport);
    s.inode = m->idiag_inode;
    s.uid = m->idiag_uid;
    s.ifindex = static_cast<int>(m->id.idiag_if);
    out.push_back(std::move(s));
    return {};
  });
}

std::string port_filter_bytecode(uint16_t port) {
  // "sport == P" (8 bytes), a JMP (4), "dport == P" (8). A failed test's `no` leads 4 bytes
  // past its own end: for the first, over the JMP onto the second test; for the second, past
  // the end (reject). A passed test runs on: the first into the JMP, whose `no` leads to the
  // end, the second to the end itself (accept). Every `no` lands where the `yes` chain goes,
  // as the kernel's audit (inet_diag_bc_audit) requires.
  const inet_diag_bc_op ops[] = {{INET_DIAG_BC_S_EQ, 8, 12}, {0, 0, port}, {INET_DIAG_BC_JMP, 4, 12},
                                 {INET_DIAG_BC_D_EQ, 8, 12}, {0, 0, port}};
  return std::string(reinterpret_cast<const char*>(ops), sizeof ops);
}

namespace {

using DumpFn = std::function<Result<std::string>(std::string_view bytecode)>;

// One dump into `out`, with the port filter `bytecode`; asked again without it when the
// kernel refuses the filter (EINVAL), as one before 4.16 refuses S_EQ.
Result<void> dump_sockets(const DumpFn& dump, std::string_view bytecode, std::string_view proto, int family,
                          std::vector<InetSock>& out) {
  auto once = [&](std::string_view bc) -> Result<void> {
    auto raw = dump(bc);
    if (!raw) return raw.error();
    std::vector<InetSock> got;
    if (auto r = parse_inet_diag_sockets(raw->data(), raw->size(), proto, got, family); !r) return r;
    out.insert(out.end(), std::make_move_iterator(got.begin()), std::make_move_iterator(got.end()));
    return {};
  };
  Result<void> r = once(bytecode);
  if (!r && !bytecode.empty() && r.error().code == EINVAL) r = once({});
  return r;
}

}  // namespace

Result<std::vector<InetSock>> list_inet_sockets(int protocol, uint16_t port) {
  if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP) return Error::sys(EINVAL, "sock_diag: not TCP or UDP");
  auto s = NlSocket::open(NETLINK_SOCK_DIAG);
  if (!s) return s.error();
  SockStat st = sockstat_here();
  std::string bc = port ? port_filter_bytecode(port) : std::string();
  std::vector<InetSock> out;
  auto v2 = [&](int fam) -> DumpFn { return [&, fam](std::string_view b) { return dump_on(*s, fam, protocol, b); }; };
  if (protocol == IPPROTO_TCP) {
    if (!(none(st.tcp) && none(st.tcp6) && none(st.tcp_tw))) {
      auto compat = [&](std::string_view b) { return tcp_compat_dump(*s, b); };
      if (!dump_sockets(compat, bc, "tcp", 0, out)) {
        // A kernel without the compat request: one dump per family.
        out.clear();
        for (int fam : {AF_INET, AF_INET6})
          if (auto r = dump_sockets(v2(fam), bc, "tcp", fam, out); !r) return r.error().prefixed("sock_diag tcp: ");
      }
    }
  } else {
    for (auto [fam, skip] : {std::pair{AF_INET, none(st.udp)}, std::pair{AF_INET6, none(st.udp6)}})
      if (!skip)
        if (auto r = dump_sockets(v2(fam), bc, "udp", fam, out); !r) return r.error().prefixed("sock_diag udp: ");
  }
  if (port) std::erase_if(out, [&](const InetSock& k) { return k.lport != port && k.rport != port; });
  return out;
}

}  // namespace nscope
