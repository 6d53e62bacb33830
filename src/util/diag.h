// Diagnostics: what library code has to tell the user while it goes on (a probe left out, a
// namespace it could not return from, events lost). Library code never writes to stderr
// itself; it says it here, and whoever runs it decides where it goes: the CLI installs a sink
// that prints "nscope: ..." to stderr, tests install one that keeps the lines.
#pragma once

#include <functional>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace nscope {

using DiagSink = std::function<void(std::string_view)>;

// Installs `sink` and returns the one it replaces. Without one, messages go to stderr as
// "nscope: MESSAGE". Not thread-safe against concurrent installs; saying is.
DiagSink set_diag_sink(DiagSink sink);

void diag(std::string_view message);

template <class... Args>
void diag(fmt::format_string<Args...> f, Args&&... args) {
  diag(std::string_view(fmt::format(f, std::forward<Args>(args)...)));
}

}  // namespace nscope
