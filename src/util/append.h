// Fast appends for the per-event output paths (text and JSON at a million events a second):
// std::to_chars into the string, no format-string parsing, no temporary buffers.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace nscope {

inline void put(std::string& out, std::string_view s) { out.append(s.data(), s.size()); }
inline void put(std::string& out, char c) { out.push_back(c); }

template <class T>
inline void put_num(std::string& out, T v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

inline void put_hex(std::string& out, uint64_t v, bool prefix = true) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  if (prefix) out.append("0x", 2);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

// Two lower-case hex digits.
inline void put_hex2(std::string& out, uint8_t v) {
  constexpr char kHex[] = "0123456789abcdef";
  out.push_back(kHex[v >> 4]);
  out.push_back(kHex[v & 15]);
}

// Zero-padded to `width` digits.
inline void put_num_padded(std::string& out, uint64_t v, int width) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  for (int n = static_cast<int>(r.ptr - buf); n < width; ++n) out.push_back('0');
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

}  // namespace nscope
