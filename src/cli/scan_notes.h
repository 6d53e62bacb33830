// What a scan could not see, said after a command's output: its notes, then what it skipped
// by why ("skipped: 3 processes' fds (permission denied)"), on stderr as nscope's own lines.
#pragma once

#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace nscope::cli {

inline void print_scan_notes(const std::vector<std::string>& notes, const std::map<std::string, uint64_t>& skipped) {
  for (auto& note : notes) std::cerr << "nscope: " << note << '\n';
  if (skipped.empty()) return;
  std::string s;
  for (auto& [why, n] : skipped) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, why);
  std::cerr << "nscope: skipped: " << s << '\n';
}

}  // namespace nscope::cli
