// Sizes and times on the command line, read one way by every option that takes them
// (collect --buffer-size and --duration, sort --max-text and --window): CLI11's unit
// transformers do the reading, so the options agree on units.
//   sizes: a whole number with K, M, G, T (KB, KiB and MiB too; all of 1024), bytes alone
//   times: a number with ns, us, ms, s, m or h; seconds alone
// A bad value is a usage error (exit 2) that names the option and gives an example:
//   --buffer-size: 'lots': give a size such as 64M (at most 2G)
#pragma once

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace nscope::cli {

// Bytes in `text`, or nullopt when it does not read as a size (or reads as 0).
inline std::optional<uint64_t> size_bytes(std::string text) {
  // Decimal digits only: CLI11 would also take "-1" (as 2^64 - 1), hex and octal.
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  for (size_t i = digits; i < text.size(); ++i)
    if (!std::isalpha(static_cast<unsigned char>(text[i])) && text[i] != ' ') return std::nullopt;
  size_t lead = text.find_first_not_of('0');
  text.erase(0, std::min(lead, digits - 1));  // "010M" is ten, not octal
  try {
    if (!CLI::AsSizeValue(false)(text).empty()) return std::nullopt;
  } catch (const CLI::ValidationError&) {
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno || *end || v == 0) return std::nullopt;
  return static_cast<uint64_t>(v);
}

// Nanoseconds in `text`, or nullopt when it does not read as a time above 0.
inline std::optional<uint64_t> time_ns(std::string text) {
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.'))
    return std::nullopt;
  if (!std::isalpha(static_cast<unsigned char>(text.back()))) text += 's';
  static const CLI::AsNumberWithUnit kTime(std::map<std::string, double>{
      {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}});
  try {
    if (!kTime(text).empty()) return std::nullopt;
  } catch (const CLI::ValidationError&) {
    return std::nullopt;
  }
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (*end || !std::isfinite(v) || !(v >= 1) || v > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(v);
}

// Checks a size option: above 0 and at most `max` bytes; `example` completes "give a size
// such as ...".
inline CLI::Validator size_check(std::string example, uint64_t max = UINT64_MAX) {
  return CLI::Validator(
      [example, max](const std::string& v) {
        auto n = size_bytes(v);
        return n && *n <= max ? std::string() : "'" + v + "': give a size such as " + example;
      },
      "SIZE");
}

// Checks a time option; `example` completes "give a time such as ...".
inline CLI::Validator time_check(std::string example) {
  return CLI::Validator(
      [example](const std::string& v) {
        return time_ns(v) ? std::string() : "'" + v + "': give a time such as " + example;
      },
      "TIME");
}

}  // namespace nscope::cli
