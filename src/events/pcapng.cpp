#include "events/pcapng.h"
#include "events/reader.h"

#include <algorithm>
#include <cstring>

namespace nscope {

PcapngOptions pcapng_options(const StartupInfo& s, std::string user_appl) {
  PcapngOptions po;
  po.user_appl = std::move(user_appl);
  if (!s.kernel.empty()) po.os = "Linux " + s.kernel;
  po.mono_to_utc_ns = s.mono_to_utc_ns;
  po.names = &s.netns_names;
  po.initial_netns = s.initial_netns;
  return po;
}
namespace {

constexpr uint32_t kShb = 0x0A0D0D0A, kIdb = 1, kEpb = 6;
constexpr uint16_t kOptEnd = 0, kOptComment = 1;
constexpr uint16_t kShbOs = 3, kShbUserAppl = 4;
constexpr uint16_t kIfName = 2, kIfDescription = 3, kIfTsresol = 9;
constexpr uint16_t kEpbFlags = 2;
constexpr uint16_t kLinktypeEthernet = 1, kLinktypeRaw = 101;

template <class T>
void put_le(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof v);  // host order: the SHB's magic tells readers which
  out.append(b, sizeof b);
}

void pad4(std::string& out) {
  while (out.size() % 4) out += '\0';
}

void option(std::string& out, uint16_t code, std::string_view value) {
  if (value.size() > 0xfff0) value = value.substr(0, 0xfff0);
  put_le<uint16_t>(out, code);
  put_le<uint16_t>(out, static_cast<uint16_t>(value.size()));
  out.append(value.data(), value.size());
  pad4(out);
}

// Starts a block: its type and a length patched by end_block.
// The caller's buffer holds whole blocks only, each a multiple of 4 bytes long, so offsets
// in it are aligned as they will be in the file.
size_t begin_block(std::string& out, uint32_t type) {
  size_t at = out.size();
  put_le<uint32_t>(out, type);
  put_le<uint32_t>(out, 0);
  return at;
}

void end_block(std::string& out, size_t at) {
  pad4(out);
  auto len = static_cast<uint32_t>(out.size() - at + 4);
  std::memcpy(out.data() + at + 4, &len, 4);
  put_le<uint32_t>(out, len);
}

uint32_t direction(std::string_view sym) {
  if (sym.find("xmit") != std::string_view::npos) return 2;  // outbound
  if (sym.find("receive") != std::string_view::npos || sym.find("rcv") != std::string_view::npos)
    return 1;  // inbound
  return 0;
}

}  // namespace

void PcapngWriter::begin(std::string& out) const {
  size_t at = begin_block(out, kShb);
  put_le<uint32_t>(out, 0x1A2B3C4D);
  put_le<uint16_t>(out, 1);
  put_le<uint16_t>(out, 0);
  put_le<int64_t>(out, -1);  // section length not given
  if (!opts_.os.empty()) option(out, kShbOs, opts_.os);
  option(out, kShbUserAppl, opts_.user_appl);
  option(out, kOptEnd, {});
  end_block(out, at);
}

std::string PcapngWriter::interface_name(const Event& e) const {
  std::string name;
  if (!e.has_netns) {
    name = "?";
  } else if (opts_.initial_netns && e.netns_inum == opts_.initial_netns) {
    name = "host";
  } else {
    const std::string* known = nullptr;
    if (opts_.names)
      if (auto it = opts_.names->find(e.netns_inum); it != opts_.names->end()) known = &it->second;
    name = known ? *known : "ns:" + std::to_string(e.netns_inum);
  }
  name += '/';
  if (!e.has_dev)
    name += '-';
  else if (!fixed_str(e.ifname).empty())
    name += fixed_str(e.ifname);
  else
    name += "if" + std::to_string(e.ifindex);
  return name;
}

uint32_t PcapngWriter::interface_of(const Event& e, std::string& out) {
  uint16_t linktype = e.l2_len ? kLinktypeEthernet : kLinktypeRaw;
  uint64_t key = (static_cast<uint64_t>(e.has_netns ? e.netns_inum : 0) << 32) |
                 (static_cast<uint64_t>(e.has_dev ? e.ifindex : 0) << 1) |
                 (linktype == kLinktypeRaw ? 1 : 0);
  auto [it, fresh] = ifaces_.try_emplace(key, static_cast<uint32_t>(ifaces_.size()));
  if (!fresh) return it->second;

  std::string desc;
  if (e.has_netns) {
    desc = "netns " + std::to_string(e.netns_inum);
    if (opts_.initial_netns && e.netns_inum == opts_.initial_netns) {
      desc += " (host)";
    } else if (opts_.names) {
      if (auto n = opts_.names->find(e.netns_inum); n != opts_.names->end())
        desc += " (" + n->second + ")";
    }
  } else {
    desc = "netns unknown";
  }
  if (e.has_dev) desc += ", ifindex " + std::to_string(e.ifindex);

  size_t at = begin_block(out, kIdb);
  put_le<uint16_t>(out, linktype);
  put_le<uint16_t>(out, 0);
  put_le<uint32_t>(out, opts_.snaplen);
  option(out, kIfName, interface_name(e));
  option(out, kIfDescription, desc);
  const char tsresol = 9;  // 10^-9 s
  option(out, kIfTsresol, std::string_view(&tsresol, 1));
  option(out, kOptEnd, {});
  end_block(out, at);
  return it->second;
}

bool PcapngWriter::add(const Event& e, std::string_view comment, std::string& out) {
  if (!e.has_packet || e.caplen == 0) return false;
  uint32_t id = interface_of(e, out);
  // UTC ns, clamped to [0, 2^64) (a damaged file can hold any numbers).
  uint64_t ts = e.ts;
  int64_t off = opts_.mono_to_utc_ns;
  if (off >= 0) {
    auto up = static_cast<uint64_t>(off);
    ts = ts > UINT64_MAX - up ? UINT64_MAX : ts + up;
  } else {
    uint64_t down = static_cast<uint64_t>(-(off + 1)) + 1;
    ts = ts < down ? 0 : ts - down;
  }
  uint32_t caplen = std::min<uint32_t>(e.caplen, static_cast<uint32_t>(e.data.size()));
  uint32_t origlen = std::max<uint32_t>(e.wire_len ? e.wire_len : e.len, caplen);  // on the wire
  if (caplen < origlen) {
    ++short_;
    longest_short_ = std::max(longest_short_, caplen);
  }

  size_t at = begin_block(out, kEpb);
  put_le<uint32_t>(out, id);
  put_le<uint32_t>(out, static_cast<uint32_t>(ts >> 32));
  put_le<uint32_t>(out, static_cast<uint32_t>(ts));
  put_le<uint32_t>(out, caplen);
  put_le<uint32_t>(out, origlen);
  out.append(reinterpret_cast<const char*>(e.data.data()), caplen);
  pad4(out);
  if (!comment.empty()) option(out, kOptComment, comment);
  if (uint32_t dir = direction(e.symbol)) {
    put_le<uint16_t>(out, kEpbFlags);
    put_le<uint16_t>(out, 4);
    put_le<uint32_t>(out, dir);
  }
  option(out, kOptEnd, {});
  end_block(out, at);
  return true;
}

}  // namespace nscope
