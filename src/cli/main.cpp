// nscope: network namespaces, who holds them, what is inside, and packets across them.
// The CLI edge: parse arguments, run one command, map errors to exit codes
// (0 ok, 1 runtime error, 2 usage error).
#include <unistd.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bpfload/features.h"
#include "bpfload/libbpf_log.h"
#include "cli/list_output.h"
#include "discover/scan.h"

namespace {

struct UsageError {
  std::string message;
};

int cmd_list(const std::string& types_arg, const std::string& cols_arg, bool json,
             bool noheadings, bool no_bpf) {
  using namespace nscope;
  std::string bad;
  auto types = parse_ns_types(types_arg, &bad);
  if (!types)
    throw UsageError{fmt::format("unknown namespace type '{}'; valid types: {}, or all", bad,
                                 all_ns_type_names())};
  bool net_only = types->size() == 1 && types->front() == NsType::net;
  std::vector<std::string> cols = default_list_columns(net_only);
  if (!cols_arg.empty() && !parse_list_columns(cols_arg, &cols, &bad))
    throw UsageError{fmt::format("unknown column '{}'; valid columns: {}", bad, list_column_names())};

  ScanOptions opts;
  opts.types = *types;
  opts.bpf = !no_bpf;
  ScanResult r = scan_namespaces(opts);
  if (json) {
    std::cout << list_to_json(r).dump() << '\n';
  } else {
    std::ios::sync_with_stdio(false);
    render_list_table(r, cols, !noheadings, std::cout);
    std::cout.flush();
    for (auto& note : r.notes) std::cerr << "nscope: " << note << '\n';
    if (!r.skipped.empty()) {
      std::string s;
      for (auto& [why, n] : r.skipped) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, why);
      std::cerr << "nscope: skipped: " << s << '\n';
    }
  }
  return 0;
}

int cmd_info(bool json) {
  using namespace nscope;
  const Features& f = probe_features();
  if (json) {
    nlohmann::json probes = nlohmann::json::object();
    for (auto& p : f.probes)
      probes[p.name] = p.ok ? nlohmann::json{{"ok", true}}
                            : nlohmann::json{{"ok", false}, {"error", p.error}};
    nlohmann::json j = {{"version", NSCOPE_VERSION},
                        {"kernel", f.kernel_release},
                        {"root", f.root},
                        {"btf", f.btf},
                        {"net_cookie", f.net_cookie},
                        {"ns_id", f.ns_common_ns_id},
                        {"probes", probes}};
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  auto yn = [](bool b) { return b ? "yes" : "no"; };
  std::cout << fmt::format("nscope {}\nkernel      {}\nroot        {}\nBTF         {}\n",
                           NSCOPE_VERSION, f.kernel_release, yn(f.root), yn(f.btf));
  std::cout << fmt::format("net cookie  {} (struct net has net_cookie)\n", yn(f.net_cookie));
  std::cout << fmt::format("ns id       {} (struct ns_common has ns_id)\n", yn(f.ns_common_ns_id));
  std::cout << "BPF program types (loaded and attached here):\n";
  for (auto& p : f.probes)
    std::cout << fmt::format("  {:<11} {}\n", p.name, p.ok ? "yes" : "no: " + p.error);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nscope: network namespaces, who holds them, and packets across them"};
  app.set_version_flag("--version", std::string("nscope ") + NSCOPE_VERSION);
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Show libbpf's messages");

  std::string types = "net", cols;
  bool json = false, noheadings = false, no_bpf = false;
  auto* list = app.add_subcommand("list", "Every namespace and who keeps it alive");
  list->add_option("-t,--type", types, "Types: net,mnt,pid,uts,ipc,user,cgroup,time or all")
      ->capture_default_str();
  list->add_option("-o,--output", cols, "Columns, comma separated (+COL adds to the defaults)");
  list->add_flag("-J,--json", json, "One JSON document");
  list->add_flag("-n,--noheadings", noheadings, "No header line");
  list->add_flag("--no-bpf", no_bpf, "Walk /proc instead of BPF iterators");

  bool info_json = false;
  auto* info = app.add_subcommand("info", "What this kernel allows: BTF, BPF program types");
  info->add_flag("-J,--json", info_json, "JSON");

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
    if (list->parsed()) return cmd_list(types, cols, json, noheadings, no_bpf);
    if (info->parsed()) return cmd_info(info_json);
  } catch (const UsageError& e) {
    std::cerr << "nscope: " << e.message << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "nscope: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
