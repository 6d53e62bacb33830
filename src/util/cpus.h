// CPU lists as the kernel writes them ("0-3,8,10-11"): the CPUs online, the CPUs a process
// may run on, and a user's --cpus.
#pragma once

#include <string_view>
#include <vector>

#include "util/result.h"

namespace nscope {

// "0-3,8" -> {0,1,2,3,8}, sorted, without repeats. A usage Error names the part it cannot
// read.
Result<std::vector<int>> parse_cpu_list(std::string_view text);
// The CPUs online now (/sys/devices/system/cpu/online); {0} when it cannot be read.
std::vector<int> online_cpus();
// The CPUs the calling thread may run on (sched_getaffinity).
std::vector<int> allowed_cpus();
// "0-3,8": the inverse of parse_cpu_list.
std::string format_cpu_list(const std::vector<int>& cpus);

}  // namespace nscope
