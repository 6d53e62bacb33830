// What nscope's packet summary (packet.cpp) and Retis's (retis_text.cpp) read and write the
// same way: big-endian fields of captured bytes, addresses, TCP flags. The two summaries
// differ in what they show and how; these parts do not.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace nscope {

constexpr uint16_t kEthIp = 0x0800, kEthArp = 0x0806, kEthIp6 = 0x86dd, kEthVlan = 0x8100,
                   kEthQinQ = 0x88a8;

// Captured bytes from a header on. Reads are unchecked: ask have() first. from() and first()
// never reach past the capture (an offset beyond it gives no bytes).
struct Bytes {
  std::span<const uint8_t> d;
  bool have(size_t n) const { return n <= d.size(); }
  const uint8_t* at() const { return d.data(); }
  uint8_t u8(size_t o) const { return d[o]; }
  uint16_t u16(size_t o) const { return static_cast<uint16_t>(d[o] << 8 | d[o + 1]); }
  uint32_t u32(size_t o) const {
    return static_cast<uint32_t>(d[o]) << 24 | static_cast<uint32_t>(d[o + 1]) << 16 |
           static_cast<uint32_t>(d[o + 2]) << 8 | d[o + 3];
  }
  Bytes from(size_t o) const { return {o <= d.size() ? d.subspan(o) : d.subspan(d.size())}; }
  Bytes first(size_t n) const { return {d.subspan(0, std::min(n, d.size()))}; }
};

// aa:bb:cc:dd:ee:ff
void put_mac(const uint8_t* m, std::string& out);
// 10.0.0.1
void put_ip4(const uint8_t* a, std::string& out);
// As inet_ntop writes it: fe80::1
void put_ip6(const uint8_t* a, std::string& out);

// tcpdump's letters for the TCP flags byte (FSRP.UEW), in that order, into buf[8]; returns
// how many.
inline size_t tcp_flag_letters(uint8_t f, char* buf) {
  constexpr char kLetters[] = "FSRP.UEW";
  size_t n = 0;
  for (int bit = 0; bit < 8; ++bit)
    if (f & (1u << bit)) buf[n++] = kLetters[bit];
  return n;
}

}  // namespace nscope
