// One netlink socket of any protocol (rtnetlink, sock_diag, nfnetlink), owned, and the one
// request/reply loop every query uses. Replies are returned as the raw bytes the kernel sent
// (datagrams back to back), so the parsers that read them can be fed recorded fixtures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

struct nlmsghdr;

namespace nscope {

class NlSocket {
 public:
  // A socket of `protocol` (NETLINK_ROUTE, NETLINK_SOCK_DIAG, ...) in the calling thread's
  // network namespace (a socket keeps the namespace it was made in).
  static Result<NlSocket> open(int protocol);

  // Sends the request in `nlh` (its seq is set here) and returns every reply up to the
  // NLMSG_DONE of a dump or the ack of a plain request. Replies are not checked for errors
  // here: the parsers (for_each_message) turn an error reply into an Error.
  Result<std::string> request(nlmsghdr* nlh, std::string_view what);
  // The same, handing the replies to `batch` as each read brings them (whole messages), so
  // a dump of 10,000 links is never held whole; an error from `batch` ends the request.
  Result<void> request_each(nlmsghdr* nlh, std::string_view what,
                            const std::function<Result<void>(const char*, size_t)>& batch);
  // Sends `len` bytes of requests at once (a batch); the caller reads the replies with recv.
  Result<void> send(const void* buf, size_t len, std::string_view what);
  // One datagram into the socket's buffer; returns its length (EINTR retried).
  Result<size_t> recv(std::string_view what);
  const char* buffer() const { return rbuf_.get(); }
  int setsockopt_int(int level, int opt, int value);
  uint32_t next_seq() { return ++seq_; }
  uint32_t seq() const { return seq_; }
  uint32_t portid() const { return portid_; }
  int fd() const { return fd_.get(); }

 private:
  NlSocket(Fd fd, uint32_t portid) : fd_(std::move(fd)), portid_(portid) {}
  Fd fd_;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
  std::unique_ptr<char[]> rbuf_;  // allocated on first receive, never zero-filled
};

// Walks the messages of a reply buffer: fn(nlh) for each message that is not NLMSG_DONE,
// NLMSG_NOOP or a zero ack. An NLMSG_ERROR with an error stops the walk with that Error, as
// does a truncated message or fn returning an Error.
Result<void> for_each_message(const void* buf, size_t len,
                              const std::function<Result<void>(const nlmsghdr*)>& fn);

}  // namespace nscope
