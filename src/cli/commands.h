// Each subcommand lives in its own src/cli/cmd_*.cpp and registers itself on the CLI11 app.
// A registered command returns the function that runs it once arguments are parsed.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace nscope::cli {

// Thrown for bad input found after parsing (unknown type, column, namespace): exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Runner = std::function<int()>;

// Each adds its subcommand to `app` and returns its runner (called when it was chosen).
Runner register_list(CLI::App& app);
Runner register_info(CLI::App& app);
Runner register_show(CLI::App& app);
Runner register_topo(CLI::App& app);
// cmdline: the whole command line, recorded in the event file.
Runner register_collect(CLI::App& app, const std::string& cmdline);
// Recorded event files: print as text, sort into one series per packet, write as pcapng.
Runner register_print(CLI::App& app);
Runner register_sort(CLI::App& app);
Runner register_pcap(CLI::App& app);

}  // namespace nscope::cli
