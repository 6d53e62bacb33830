#include "bpfload/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdlib>
#include <cstdio>
#include <deque>
#include <mutex>

namespace nscope {
namespace {
std::mutex g_mu;
std::deque<std::string> g_lines;  // last lines of libbpf output, bounded
bool g_verbose = false;

int print_fn(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG && !g_verbose) return 0;
  char* buf = nullptr;
  int n = vasprintf(&buf, fmt, args);
  if (n < 0) return n;
  std::string line(buf);
  free(buf);
  if (g_verbose) fputs(line.c_str(), stderr);
  if (level == LIBBPF_DEBUG) return n;
  std::lock_guard lk(g_mu);
  // A verifier log is one long message: keep its tail, where the reason is.
  if (line.size() > 2000) line = "..." + line.substr(line.size() - 2000);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  g_lines.push_back(std::move(line));
  if (g_lines.size() > 8) g_lines.pop_front();
  return n;
}
}  // namespace

void libbpf_log_init(bool verbose) {
  g_verbose = verbose;
  libbpf_set_print(print_fn);
}

std::string libbpf_log_take() {
  std::lock_guard lk(g_mu);
  std::string out;
  for (auto& l : g_lines) {
    if (!out.empty()) out += "; ";
    out += l;
  }
  g_lines.clear();
  return out;
}

Error libbpf_error(int err, const std::string& what) {
  std::string detail = libbpf_log_take();
  Error e = Error::sys(err, what);
  if (!detail.empty()) e.message += " (" + detail + ")";
  return e;
}

}  // namespace nscope
