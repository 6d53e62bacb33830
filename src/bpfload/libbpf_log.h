// libbpf speaks through one global print callback. nscope keeps its messages quiet by
// default and remembers the last few lines, so a failure can say why libbpf refused.
#pragma once

#include <string>

namespace nscope {

void libbpf_log_init(bool verbose);
// The last libbpf warning lines since the previous call, joined; cleared on read.
std::string libbpf_log_take();

}  // namespace nscope
