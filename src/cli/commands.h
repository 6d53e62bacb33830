// Each subcommand lives in its own src/cli/cmd_*.cpp and registers itself on the CLI11 app.
// A registered command returns the function that runs it once arguments are parsed.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "util/result.h"

namespace nscope::cli {

// A library Error carried to main, which prints it and exits by its kind: 2 for usage, 1 for
// the rest (exit_code).
struct Failure : std::runtime_error {
  explicit Failure(Error e) : std::runtime_error(e.message), kind(e.kind) {}
  ErrorKind kind;
};

// Bad input found after parsing (unknown type, column, namespace): exit 2.
struct UsageError : Failure {
  explicit UsageError(std::string what) : Failure(Error::usage(std::move(what))) {}
};

[[noreturn]] inline void fail(Error e) { throw Failure(std::move(e)); }

inline int exit_code(ErrorKind k) { return k == ErrorKind::usage ? 2 : 1; }

using Runner = std::function<int()>;

// Each adds its subcommand to `app` and returns its runner (called when it was chosen).
Runner register_list(CLI::App& app);
Runner register_info(CLI::App& app);
Runner register_show(CLI::App& app);
Runner register_topo(CLI::App& app);
Runner register_find(CLI::App& app);
// Who is in one network namespace; every namespace of a process, thread or nsfs file.
Runner register_pids(CLI::App& app);
Runner register_identify(CLI::App& app);
// cmdline: the whole command line, recorded in the event file.
Runner register_collect(CLI::App& app, const std::string& cmdline);
// Recorded event files: print as text, sort into one series per packet, write as pcapng.
Runner register_print(CLI::App& app);
Runner register_sort(CLI::App& app);
Runner register_pcap(CLI::App& app);
// Acting on a namespace: a command inside it (or in every one), an `ip netns` name for it.
// command: what followed exec's `--` (split_exec_command).
Runner register_exec(CLI::App& app, const std::vector<std::string>& command);
// `nscope [opts] exec [exec opts] -- CMD...`: moves CMD... into `command` and returns the argc
// that leaves the rest for the parser. A `--` after NSREF or inside CMD stays where it is.
int split_exec_command(int argc, char** argv, std::vector<std::string>& command);
Runner register_attach(CLI::App& app);
// Every namespace's life as a live stream.
Runner register_watch(CLI::App& app);
// The namespaces, their wiring and live packets in a browser (src/serve/).
Runner register_serve(CLI::App& app);

}  // namespace nscope::cli
