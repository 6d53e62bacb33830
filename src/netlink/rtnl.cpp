#include "netlink/rtnl.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace nscope {

Rtnl::Rtnl(mnl_socket* s) : sock_(s), portid_(mnl_socket_get_portid(s)) {}
Rtnl::Rtnl(Rtnl&& o) noexcept : sock_(std::exchange(o.sock_, nullptr)), portid_(o.portid_), seq_(o.seq_) {}
Rtnl& Rtnl::operator=(Rtnl&& o) noexcept {
  if (this != &o) {
    if (sock_) mnl_socket_close(sock_);
    sock_ = std::exchange(o.sock_, nullptr);
    portid_ = o.portid_;
    seq_ = o.seq_;
  }
  return *this;
}
Rtnl::~Rtnl() {
  if (sock_) mnl_socket_close(sock_);
}

Result<Rtnl> Rtnl::open() {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!s) return Error::sys(errno, "cannot open a rtnetlink socket");
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(s);
    return Error::sys(err, "cannot bind a rtnetlink socket");
  }
  int one = 1;
  // Extended acks make the kernel say why it refused a request.
  mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof one);
  return Rtnl(s);
}

namespace {

struct LinkAttrs {
  const nlattr* tb[IFLA_MAX + 1] = {};
};

int link_attr_cb(const nlattr* attr, void* data) {
  auto* a = static_cast<LinkAttrs*>(data);
  int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, IFLA_MAX) < 0) return MNL_CB_OK;
  a->tb[type] = attr;
  return MNL_CB_OK;
}

int info_kind_cb(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == IFLA_INFO_KIND)
    *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
  return MNL_CB_OK;
}

int link_msg_cb(const nlmsghdr* nlh, void* data) {
  auto* out = static_cast<std::vector<LinkInfo>*>(data);
  if (nlh->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
  auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  LinkAttrs a;
  if (mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, &a) < 0) return MNL_CB_ERROR;
  LinkInfo li;
  li.ifindex = ifm->ifi_index;
  if (a.tb[IFLA_IFNAME]) li.name = mnl_attr_get_str(a.tb[IFLA_IFNAME]);
  if (a.tb[IFLA_LINK]) li.link = static_cast<int>(mnl_attr_get_u32(a.tb[IFLA_LINK]));
  if (a.tb[IFLA_LINK_NETNSID])
    li.link_netnsid = static_cast<int32_t>(mnl_attr_get_u32(a.tb[IFLA_LINK_NETNSID]));
  if (a.tb[IFLA_LINKINFO]) mnl_attr_parse_nested(a.tb[IFLA_LINKINFO], info_kind_cb, &li.kind);
  out->push_back(std::move(li));
  return MNL_CB_OK;
}

}  // namespace

Result<void> parse_link_messages(const void* buf, size_t len, std::vector<LinkInfo>& out) {
  int r = mnl_cb_run(buf, len, 0, 0, link_msg_cb, &out);
  if (r == MNL_CB_ERROR) return Error::sys(errno, "malformed RTM_NEWLINK message");
  return {};
}

Result<std::vector<LinkInfo>> Rtnl::links() {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = ++seq_;
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0)
    return Error::sys(errno, "cannot send RTM_GETLINK");
  std::vector<LinkInfo> out;
  std::vector<char> rbuf(1 << 16);
  while (true) {
    ssize_t n = mnl_socket_recvfrom(sock_, rbuf.data(), rbuf.size());
    if (n < 0) return Error::sys(errno, "cannot read the RTM_GETLINK dump");
    int r = mnl_cb_run(rbuf.data(), static_cast<size_t>(n), seq_, portid_, link_msg_cb, &out);
    if (r == MNL_CB_ERROR) return Error::sys(errno, "RTM_GETLINK dump failed");
    if (r == MNL_CB_STOP) break;
  }
  return out;
}

namespace {
struct NsidReply {
  std::vector<std::optional<int32_t>>* out;
  uint32_t first_seq;
};

int nsid_attr_cb(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == NETNSA_NSID)
    *static_cast<int32_t*>(data) = static_cast<int32_t>(mnl_attr_get_u32(attr));
  return MNL_CB_OK;
}

int nsid_msg_cb(const nlmsghdr* nlh, void* data) {
  auto* r = static_cast<NsidReply*>(data);
  if (nlh->nlmsg_type != RTM_NEWNSID) return MNL_CB_OK;
  size_t i = nlh->nlmsg_seq - r->first_seq;
  if (i >= r->out->size()) return MNL_CB_OK;
  int32_t id = -1;
  mnl_attr_parse(nlh, sizeof(rtgenmsg), nsid_attr_cb, &id);
  if (id >= 0) (*r->out)[i] = id;
  return MNL_CB_OK;
}
}  // namespace

Result<std::vector<std::optional<int32_t>>> Rtnl::nsids(const std::vector<NsidQuery>& queries) {
  std::vector<std::optional<int32_t>> out(queries.size());
  if (queries.empty()) return out;
  // No NLM_F_ACK: each request gets exactly one answer, RTM_NEWNSID or an NLMSG_ERROR, so a
  // batch is done after as many messages as requests (an ack would double the reads).
  // A kernel-side reply costs ~1 KiB of the socket's receive buffer (212 KiB by default):
  // batches of 64 stay well below it; each is read in full before the next is sent.
  constexpr size_t kMsgLen = 64;
  const size_t per_batch = 64;
  std::vector<char> sbuf(per_batch * kMsgLen);
  std::vector<char> rbuf(1 << 16);
  for (size_t start = 0; start < queries.size(); start += per_batch) {
    size_t end = std::min(queries.size(), start + per_batch);
    uint32_t first_seq = seq_ + 1;
    size_t used = 0;
    for (size_t i = start; i < end; ++i) {
      nlmsghdr* nlh = mnl_nlmsg_put_header(sbuf.data() + used);
      nlh->nlmsg_type = RTM_GETNSID;
      nlh->nlmsg_flags = NLM_F_REQUEST;
      nlh->nlmsg_seq = ++seq_;
      auto* g = static_cast<rtgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtgenmsg)));
      g->rtgen_family = AF_UNSPEC;
      if (queries[i].fd >= 0)
        mnl_attr_put_u32(nlh, NETNSA_FD, static_cast<uint32_t>(queries[i].fd));
      else
        mnl_attr_put_u32(nlh, NETNSA_PID, static_cast<uint32_t>(queries[i].pid));
      used += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    if (mnl_socket_sendto(sock_, sbuf.data(), used) < 0)
      return Error::sys(errno, "cannot send RTM_GETNSID");
    size_t answers = 0, want = end - start;
    NsidReply reply{&out, first_seq - static_cast<uint32_t>(start)};
    while (answers < want) {
      ssize_t n = mnl_socket_recvfrom(sock_, rbuf.data(), rbuf.size());
      if (n < 0) return Error::sys(errno, "cannot read RTM_GETNSID replies");
      int left = static_cast<int>(n);
      for (auto* nlh = reinterpret_cast<nlmsghdr*>(rbuf.data()); mnl_nlmsg_ok(nlh, left);
           nlh = mnl_nlmsg_next(nlh, &left)) {
        ++answers;  // a reply, or an error: the target is gone
        if (nlh->nlmsg_type != NLMSG_ERROR) nsid_msg_cb(nlh, &reply);
      }
    }
  }
  return out;
}

Result<void> in_netns(int netns_fd, const std::function<void()>& fn) {
  int err = 0;
  std::thread t([&] {
    // setns(CLONE_NEWNET) changes only this thread's network namespace; the thread ends
    // with it, so no other thread of nscope ever runs in the entered namespace.
    if (setns(netns_fd, CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    fn();
  });
  t.join();
  if (err) return Error::sys(err, "cannot enter network namespace");
  return {};
}

Result<uint64_t> current_netns_cookie() {
  Fd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::sys(errno, "cannot create a socket");
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(s.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
    return Error::sys(errno, "SO_NETNS_COOKIE");
  return cookie;
}

}  // namespace nscope
