// A small rtnetlink client on libmnl: just what discovery needs. Later issues (show, topo)
// grow it. Every socket is owned; every reply is checked.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

struct mnl_socket;

namespace nscope {

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;                  // IFLA_INFO_KIND: "veth", "bridge", ... empty if none
  std::optional<int32_t> link_netnsid;  // IFLA_LINK_NETNSID: where the peer/parent lives
  int link = 0;                      // IFLA_LINK: peer/parent ifindex (in link_netnsid's ns)
};

class Rtnl {
 public:
  // A NETLINK_ROUTE socket in the calling thread's network namespace.
  static Result<Rtnl> open();
  Rtnl(Rtnl&&) noexcept;
  Rtnl& operator=(Rtnl&&) noexcept;
  Rtnl(const Rtnl&) = delete;
  Rtnl& operator=(const Rtnl&) = delete;
  ~Rtnl();

  // Every link of this namespace (RTM_GETLINK dump).
  Result<std::vector<LinkInfo>> links();

  // The nsid this namespace has assigned to each target: a pid (NETNSA_PID) or an nsfs fd
  // (NETNSA_FD). All queries go out in one batch. nullopt: no nsid assigned (or the target
  // vanished). Asking assigns nothing.
  struct NsidQuery {
    int pid = 0;  // used when fd < 0
    int fd = -1;
  };
  Result<std::vector<std::optional<int32_t>>> nsids(const std::vector<NsidQuery>& queries);

 private:
  explicit Rtnl(mnl_socket* s);
  mnl_socket* sock_ = nullptr;
  uint32_t portid_ = 0;
  uint32_t seq_ = 1;
};

// Runs `fn` on a short-lived thread that has entered the network namespace `netns_fd`, so
// the caller's threads never change namespace. Returns fn's result or the setns error.
Result<void> in_netns(int netns_fd, const std::function<void()>& fn);

// SO_NETNS_COOKIE of a socket made in the calling thread's netns.
Result<uint64_t> current_netns_cookie();

// Parses a buffer of RTM_NEWLINK messages (a dump) into LinkInfo (for tests and links()).
Result<void> parse_link_messages(const void* buf, size_t len, std::vector<LinkInfo>& out);

}  // namespace nscope
