// libbpf speaks through one global print callback. nscope keeps its messages quiet by
// default and remembers the last few lines, so a failure can say why libbpf refused.
#pragma once

#include <string>

#include "util/result.h"

namespace nscope {

void libbpf_log_init(bool verbose);
// The last libbpf warning lines since the previous call, joined; cleared on read.
std::string libbpf_log_take();
// An Error for a failed libbpf call: `what` and errno `err`, then what libbpf said.
Error libbpf_error(int err, const std::string& what);

}  // namespace nscope
