#include "util/diag.h"

#include <cstdio>
#include <mutex>
#include <string>

namespace nscope {

namespace {
std::mutex g_mu;
DiagSink g_sink;  // empty: stderr
}  // namespace

DiagSink set_diag_sink(DiagSink sink) {
  std::lock_guard lock(g_mu);
  return std::exchange(g_sink, std::move(sink));
}

void diag(std::string_view message) {
  std::lock_guard lock(g_mu);
  if (g_sink) {
    g_sink(message);
    return;
  }
  std::string line = "nscope: ";
  line += message;
  if (!line.ends_with('\n')) line += '\n';
  std::fputs(line.c_str(), stderr);
}

}  // namespace nscope
