// nscope: network namespaces, who holds them, what is inside, and packets across them.
// The CLI edge: parse arguments, run one command, map errors to exit codes
// (0 ok, 1 runtime error, 2 usage error). Commands live in src/cli/cmd_*.cpp.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <vector>

#include "bpfload/libbpf_log.h"
#include "cli/commands.h"
#include "util/diag.h"
#include "util/strings.h"

namespace {
// The first argument that is not an option of nscope itself: the command's name, if any.
const char* first_positional(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (argv[i][0] != '-') return argv[i];
    else if (std::strcmp(argv[i], "--") == 0) return i + 1 < argc ? argv[i + 1] : nullptr;
  return nullptr;
}
}  // namespace

// Output that could not be written is an error, not a silent success: `nscope list >&-`, a
// full disk under `> FILE`, a terminal that went away. A reader that left (`| head`) is not:
// the tools users know end quietly there (commands that ignore SIGPIPE clear that error).
static int finish_output(int rc) {
  std::cout.flush();
  errno = 0;
  if (std::fflush(stdout) == 0 && !std::ferror(stdout) && !std::cout.fail()) return rc;
  int e = errno;
  if (e == EPIPE) return rc;
  std::string why = fcntl(STDOUT_FILENO, F_GETFL) < 0 ? "standard output is closed"
                    : e                              ? std::strerror(e)
                                                     : "a write to standard output failed";
  std::cerr << "nscope: cannot write the output: " << why << '\n';
  return rc == 0 ? 1 : rc;
}

int main(int argc, char** argv) {
  using namespace nscope::cli;
  CLI::App app{"nscope: network namespaces, who holds them, and packets across them"};
  app.set_version_flag("--version", std::string("nscope ") + NSCOPE_VERSION);
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Show libbpf's messages");

  // As a shell would take it back: arguments with spaces or quotes keep their quoting.
  std::string cmdline = "nscope";
  for (int i = 1; i < argc; ++i) cmdline += " " + nscope::shell_quote(argv[i]);
  // Building a subcommand's options costs time at every start (show answers in about a
  // millisecond): only the command the line names is registered; help or no command at all
  // get every one, so CLI11 can list them.
  struct Command {
    const char* name;
    std::function<Runner(CLI::App&)> add;
  };
  std::vector<std::string> exec_command;  // filled below, before any command is added
  const Command commands[] = {
      {"list", register_list},
      {"info", register_info},
      {"show", register_show},
      {"topo", register_topo},
      {"find", register_find},
      {"pids", register_pids},
      {"identify", register_identify},
      {"collect", [&cmdline](CLI::App& a) { return register_collect(a, cmdline); }},
      {"print", register_print},
      {"sort", register_sort},
      {"pcap", register_pcap},
      {"exec", [&exec_command](CLI::App& a) { return register_exec(a, exec_command); }},
      {"attach", register_attach},
      {"watch", register_watch},
      {"serve", register_serve},
  };
  const char* named = first_positional(argc, argv);
  // exec's command after `--` is the command's, never nscope's options: cut off before parsing.
  if (named && std::strcmp(named, "exec") == 0) argc = split_exec_command(argc, argv, exec_command);
  std::vector<Runner> runners;
  for (auto& c : commands)
    if (!named || std::strcmp(c.name, named) == 0) runners.push_back(c.add(app));
  if (runners.empty()) {
    std::cerr << "nscope: unknown command '" << named << "'; commands:";
    for (auto& c : commands) std::cerr << ' ' << c.name;
    std::cerr << "\nRun 'nscope --help' for usage.\n";
    return 2;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "nscope: " << e.what() << "\nRun 'nscope --help' for usage.\n";
    return 2;
  }
  nscope::libbpf_log_init(verbose);
  // What library code has to say while it works goes to stderr, as nscope's own lines.
  nscope::set_diag_sink([](std::string_view m) { std::cerr << "nscope: " << m << (m.ends_with('\n') ? "" : "\n"); });
  try {
    for (auto& run : runners)
      if (int rc = run(); rc >= 0) return finish_output(rc);
  } catch (const Failure& e) {
    std::cerr << "nscope: " << e.what() << '\n';
    return exit_code(e.kind);
  } catch (const std::exception& e) {
    std::cerr << "nscope: " << e.what() << '\n';
    return 1;
  }
  return finish_output(0);
}
