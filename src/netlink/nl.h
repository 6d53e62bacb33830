// The few netlink message helpers nscope needs: building a request (header, family header,
// attributes, nests) and walking a reply (messages, attributes). Written against
// <linux/netlink.h> alone so the tool links statically (start-up is most of `nscope show`'s
// time); the names follow libmnl's, whose semantics they keep.
#pragma once

#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nscope::nl {

inline constexpr size_t align(size_t n) { return (n + NLMSG_ALIGNTO - 1) & ~static_cast<size_t>(NLMSG_ALIGNTO - 1); }
inline constexpr size_t kHdrLen = align(sizeof(nlmsghdr));
inline constexpr size_t kAttrHdrLen = align(sizeof(nlattr));

// ---- building ---------------------------------------------------------------------------

// A zeroed header at `buf` with nlmsg_len covering the header only.
inline nlmsghdr* put_header(void* buf) {
  std::memset(buf, 0, kHdrLen);
  auto* nlh = static_cast<nlmsghdr*>(buf);
  nlh->nlmsg_len = kHdrLen;
  return nlh;
}
// Appends `size` zeroed bytes (a family header such as ifinfomsg) and returns them.
inline void* put_extra_header(nlmsghdr* nlh, size_t size) {
  char* p = reinterpret_cast<char*>(nlh) + nlh->nlmsg_len;
  size_t len = align(size);
  std::memset(p, 0, len);
  nlh->nlmsg_len += static_cast<uint32_t>(len);
  return p;
}
inline void attr_put(nlmsghdr* nlh, uint16_t type, size_t len, const void* data) {
  auto* a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(nlh) + nlh->nlmsg_len);
  a->nla_type = type;
  a->nla_len = static_cast<uint16_t>(kAttrHdrLen + len);
  std::memcpy(reinterpret_cast<char*>(a) + kAttrHdrLen, data, len);
  size_t pad = align(a->nla_len) - a->nla_len;
  std::memset(reinterpret_cast<char*>(a) + a->nla_len, 0, pad);
  nlh->nlmsg_len += static_cast<uint32_t>(align(a->nla_len));
}
inline void attr_put_u16(nlmsghdr* nlh, uint16_t type, uint16_t v) { attr_put(nlh, type, sizeof v, &v); }
inline void attr_put_u32(nlmsghdr* nlh, uint16_t type, uint32_t v) { attr_put(nlh, type, sizeof v, &v); }
inline void attr_put_strz(nlmsghdr* nlh, uint16_t type, const char* s) { attr_put(nlh, type, std::strlen(s) + 1, s); }
inline nlattr* nest_start(nlmsghdr* nlh, uint16_t type) {
  auto* a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(nlh) + nlh->nlmsg_len);
  a->nla_type = type | NLA_F_NESTED;
  nlh->nlmsg_len += static_cast<uint32_t>(kAttrHdrLen);
  return a;
}
inline void nest_end(nlmsghdr* nlh, nlattr* start) {
  start->nla_len = static_cast<uint16_t>(reinterpret_cast<char*>(nlh) + nlh->nlmsg_len - reinterpret_cast<char*>(start));
}

// ---- reading ----------------------------------------------------------------------------

// Compared unsigned, as the kernel's NLMSG_OK does: a length of 2 GiB or more must not turn
// negative and pass (libmnl's cast to int lets it; fuzz/fuzz_rtnl.cpp found that here).
inline bool msg_ok(const nlmsghdr* nlh, int len) {
  return len >= static_cast<int>(sizeof(nlmsghdr)) && nlh->nlmsg_len >= sizeof(nlmsghdr) &&
         nlh->nlmsg_len <= static_cast<uint32_t>(len);
}
inline const nlmsghdr* msg_next(const nlmsghdr* nlh, int* len) {
  *len -= static_cast<int>(align(nlh->nlmsg_len));
  return reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(nlh) + align(nlh->nlmsg_len));
}
inline const void* payload(const nlmsghdr* nlh) { return reinterpret_cast<const char*>(nlh) + kHdrLen; }
inline size_t payload_len(const nlmsghdr* nlh) { return nlh->nlmsg_len - kHdrLen; }

inline uint16_t attr_type(const nlattr* a) { return a->nla_type & NLA_TYPE_MASK; }
inline const void* attr_payload(const nlattr* a) { return reinterpret_cast<const char*>(a) + kAttrHdrLen; }
inline uint16_t attr_payload_len(const nlattr* a) { return static_cast<uint16_t>(a->nla_len - kAttrHdrLen); }
inline bool attr_ok(const nlattr* a, int len) {
  return len >= static_cast<int>(sizeof(nlattr)) && a->nla_len >= sizeof(nlattr) && static_cast<int>(a->nla_len) <= len;
}

// Calls fn(attr) for each attribute in [start, start + len); false when one is malformed.
template <class Fn>
bool for_each_attr(const void* start, size_t len, Fn&& fn) {
  auto* a = static_cast<const nlattr*>(start);
  int left = static_cast<int>(len);
  while (left > 0) {
    if (!attr_ok(a, left)) return false;
    fn(a);
    left -= static_cast<int>(align(a->nla_len));
    a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(a) + align(a->nla_len));
  }
  return true;
}
// The attributes of a message after its family header of `hdrlen` bytes.
template <class Fn>
bool parse_attrs(const nlmsghdr* nlh, size_t hdrlen, Fn&& fn) {
  size_t off = kHdrLen + align(hdrlen);
  if (nlh->nlmsg_len < off) return false;
  return for_each_attr(reinterpret_cast<const char*>(nlh) + off, nlh->nlmsg_len - off, fn);
}
template <class Fn>
bool parse_nested(const nlattr* nest, Fn&& fn) {
  return for_each_attr(attr_payload(nest), attr_payload_len(nest), fn);
}

}  // namespace nscope::nl
