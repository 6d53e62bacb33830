#include "netlink/socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "netlink/nl.h"

namespace nscope {

namespace {
constexpr size_t kRecvBuf = 64 * 1024;  // dumps come in datagrams of up to 32 KiB
}

Result<NlSocket> NlSocket::open(int protocol) {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
  if (!fd) return Error::sys(errno, "cannot open a netlink socket (protocol " + std::to_string(protocol) + ")");
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return Error::sys(errno, "cannot bind a netlink socket");
  socklen_t len = sizeof sa;
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return Error::sys(errno, "cannot name a netlink socket");
  int one = 1;
  // Extended acks make the kernel say why it refused a request.
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  return NlSocket(std::move(fd), sa.nl_pid);
}

int NlSocket::setsockopt_int(int level, int opt, int value) {
  return ::setsockopt(fd_.get(), level, opt, &value, sizeof value);
}

Result<void> NlSocket::send(const void* buf, size_t len, std::string_view what) {
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  while (true) {
    ssize_t n = ::sendto(fd_.get(), buf, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (n >= 0) return {};
    if (errno != EINTR) return Error::sys(errno, "cannot send " + std::string(what));
  }
}

Result<size_t> NlSocket::recv(std::string_view what) {
  if (!rbuf_) rbuf_.reset(new char[kRecvBuf]);
  while (true) {
    iovec iov{rbuf_.get(), kRecvBuf};
    sockaddr_nl from{};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = ::recvmsg(fd_.get(), &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "cannot read the reply to " + std::string(what));
    }
    if (msg.msg_flags & MSG_TRUNC) return Error::sys(ENOSPC, "reply to " + std::string(what) + " truncated");
    return static_cast<size_t>(n);
  }
}

// The errno of a netlink error code (-errno); INT_MIN, which no errno is and whose negation
// overflows, reads as EIO.
static int errno_of(int code) { return code == INT_MIN ? EIO : code < 0 ? -code : code; }

// The kernel's words for a refused request (NLMSGERR_ATTR_MSG), when it gave some.
static std::string extack_text(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  auto* err = static_cast<const nlmsgerr*>(nl::payload(nlh));
  size_t off = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
    if (err->msg.nlmsg_len < sizeof(nlmsghdr)) return {};
    off += err->msg.nlmsg_len - sizeof(nlmsghdr);
  }
  // The kernel puts the attributes at the next aligned offset after the request it echoes
  // (nlmsg_put of the whole payload); a request of odd length left them misread.
  off = nl::align(off);
  size_t total = nl::payload_len(nlh);
  if (off >= total) return {};
  std::string text;
  nl::for_each_attr(static_cast<const char*>(nl::payload(nlh)) + off, total - off, [&](const nlattr* a) {
    if (nl::attr_type(a) == NLMSGERR_ATTR_MSG)
      text.assign(static_cast<const char*>(nl::attr_payload(a)), strnlen(static_cast<const char*>(nl::attr_payload(a)), nl::attr_payload_len(a)));
  });
  return text;
}

Result<void> for_each_message(const void* buf, size_t len,
                              const std::function<Result<void>(const nlmsghdr*)>& fn) {
  int left = static_cast<int>(len);
  auto* nlh = static_cast<const nlmsghdr*>(buf);
  while (left > 0) {
    if (!nl::msg_ok(nlh, left)) return Error::msg("truncated netlink message");
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      if (nlh->nlmsg_len < nl::kHdrLen + sizeof(nlmsgerr)) return Error::msg("truncated netlink error message");
      auto* e = static_cast<const nlmsgerr*>(nl::payload(nlh));
      if (e->error != 0) {
        Error err = Error::sys(errno_of(e->error), "netlink request refused");
        std::string ext = extack_text(nlh);
        if (!ext.empty()) err.message += " (" + ext + ")";
        return err;
      }
    } else if (nlh->nlmsg_type == NLMSG_DONE) {
      // A dump's NLMSG_DONE may carry an error too (e.g. a dump the kernel aborted).
      if (nlh->nlmsg_len >= nl::kHdrLen + sizeof(int)) {
        int e;
        std::memcpy(&e, nl::payload(nlh), sizeof e);
        if (e < 0) return Error::sys(errno_of(e), "netlink dump ended with an error");
      }
      return {};
    } else if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
      if (auto r = fn(nlh); !r) return r;
    }
    nlh = nl::msg_next(nlh, &left);
  }
  return {};
}

Result<void> NlSocket::request_each(nlmsghdr* nlh, std::string_view what,
                                    const std::function<Result<void>(const char*, size_t)>& batch) {
  nlh->nlmsg_seq = ++seq_;
  const bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (!dump) nlh->nlmsg_flags |= NLM_F_ACK;
  if (auto r = send(nlh, nlh->nlmsg_len, what); !r) return r.error();
  std::string out;
  while (true) {
    auto n = recv(what);
    if (!n) return n.error();
    bool done = false;
    int left = static_cast<int>(*n);
    out.clear();
    for (auto* m = reinterpret_cast<const nlmsghdr*>(rbuf_.get()); nl::msg_ok(m, left); m = nl::msg_next(m, &left)) {
      if (m->nlmsg_seq != seq_ || m->nlmsg_pid != portid_) continue;  // a stale reply
      if (m->nlmsg_type == NLMSG_DONE) done = true;
      if (m->nlmsg_type == NLMSG_ERROR) {
        // A truncated error ends the request too; for_each_message then reports it.
        auto* e = static_cast<const nlmsgerr*>(nl::payload(m));
        if (m->nlmsg_len < nl::kHdrLen + sizeof(nlmsgerr) || e->error != 0 || !dump) done = true;
      }
      out.append(reinterpret_cast<const char*>(m), std::min<size_t>(nl::align(m->nlmsg_len), static_cast<size_t>(left)));
    }
    if (!out.empty())
      if (auto r = batch(out.data(), out.size()); !r) return r.error();
    if (done) break;
  }
  return {};
}

Result<std::string> NlSocket::request(nlmsghdr* nlh, std::string_view what) {
  std::string out;
  auto r = request_each(nlh, what, [&](const char* data, size_t len) -> Result<void> {
    out.append(data, len);
    return {};
  });
  if (!r) return r.error();
  return out;
}

}  // namespace nscope
