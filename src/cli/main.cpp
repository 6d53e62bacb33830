// nscope: network namespaces, who holds them, what is inside, and packets across them.
// The CLI edge: parse arguments, run one command, map errors to exit codes
// (0 ok, 1 runtime error, 2 usage error). Commands live in src/cli/cmd_*.cpp.
#include <iostream>
#include <vector>

#include "bpfload/libbpf_log.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace nscope::cli;
  CLI::App app{"nscope: network namespaces, who holds them, and packets across them"};
  app.set_version_flag("--version", std::string("nscope ") + NSCOPE_VERSION);
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Show libbpf's messages");

  std::string cmdline = "nscope";
  for (int i = 1; i < argc; ++i) cmdline += std::string(" ") + argv[i];
  std::vector<Runner> runners{
      register_list(app),
      register_info(app),
      register_show(app),
      register_topo(app),
      register_collect(app, cmdline),
      register_print(app),
      register_sort(app),
      register_pcap(app),
  };

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
  try {
    for (auto& run : runners)
      if (int rc = run(); rc >= 0) return rc;
  } catch (const UsageError& e) {
    std::cerr << "nscope: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "nscope: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
