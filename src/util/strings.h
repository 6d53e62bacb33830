// Small text helpers shared by the parsers: no allocation where a view will do.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nscope {

std::optional<uint64_t> parse_u64(std::string_view s, int base = 10);
std::vector<std::string_view> split(std::string_view s, char sep);
std::string_view trim(std::string_view s);
// Undoes the octal escapes mountinfo uses for space, tab, newline and backslash ("\040").
std::string unescape_octal(std::string_view s);
// Reads a whole (small) file; empty optional and errno set on failure.
std::optional<std::string> read_file(const std::string& path);
// Joins a /proc cmdline (NUL-separated) with spaces, without the trailing NUL.
std::string cmdline_to_string(std::string_view raw);
// A fixed-size char array the kernel filled (a comm, an ifname): up to its first NUL.
template <size_t N>
std::string from_fixed(const char (&c)[N]) {
  return std::string(c, strnlen(c, N));
}

// s as one POSIX shell word: as it is when only safe characters are in it, else in single
// quotes ('it'\''s').
std::string shell_quote(std::string_view s);

// "head (a, b)": a thing and what else is known of it; just "head" when nothing is.
std::string with_details(std::string head, const std::vector<std::string>& details);

}  // namespace nscope
