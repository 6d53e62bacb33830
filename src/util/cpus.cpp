#include "util/cpus.h"

#include <sched.h>

#include <algorithm>

#include <fmt/format.h>

#include "util/strings.h"

namespace nscope {

Result<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> out;
  text = trim(text);
  if (text.empty()) return Error::usage("an empty CPU list");
  for (std::string_view part : split(text, ',')) {
    part = trim(part);
    size_t dash = part.find('-');
    auto lo = parse_u64(part.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : parse_u64(part.substr(dash + 1));
    if (!lo || !hi || *lo > *hi || *hi >= CPU_SETSIZE)
      return Error::usage(fmt::format("'{}' is not a CPU or a range of CPUs (such as 0-3,8)", part));
    for (uint64_t c = *lo; c <= *hi; ++c) out.push_back(static_cast<int>(c));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<int> online_cpus() {
  auto text = read_file("/sys/devices/system/cpu/online");
  if (text)
    if (auto cpus = parse_cpu_list(*text); cpus && !cpus->empty()) return *cpus;
  return {0};
}

std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

std::string format_cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace nscope
