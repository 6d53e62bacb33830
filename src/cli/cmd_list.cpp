// `nscope list`: every namespace and who keeps it alive.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/scan_notes.h"
#include "render/list.h"
#include "discover/scan.h"

namespace nscope::cli {

namespace {
struct ListArgs {
  std::string types = "net";
  std::string columns;
  bool json = false;
  bool noheadings = false;
  bool no_bpf = false;
};

int run_list(const ListArgs& a) {
  std::string bad;
  auto types = parse_ns_types(a.types, &bad);
  if (!types)
    throw UsageError(fmt::format("unknown namespace type '{}'; valid types: {}, or all", bad,
                                 all_ns_type_names()));
  std::vector<std::string> cols = default_list_columns();
  if (!a.columns.empty() && !parse_list_columns(a.columns, &cols, &bad))
    throw UsageError(fmt::format("unknown column '{}'; valid columns: {}", bad, list_column_names()));

  ScanOptions opts;
  opts.types = *types;
  opts.bpf = !a.no_bpf;
  ScanResult r = scan_namespaces(opts);
  if (a.json) {
    write_list_json(r, std::cout);
    std::cout << '\n';
    return 0;
  }
  std::ios::sync_with_stdio(false);
  render_list_table(r, cols, !a.noheadings, std::cout);
  std::cout.flush();
  print_scan_notes(r.notes, r.skipped);
  return 0;
}
}  // namespace

Runner register_list(CLI::App& app) {
  auto a = std::make_shared<ListArgs>();
  auto* list = app.add_subcommand("list", "Every namespace and who keeps it alive");
  list->add_option("-t,--type", a->types, "Types: net,mnt,pid,uts,ipc,user,cgroup,time or all")
      ->capture_default_str();
  list->add_option("-o,--output", a->columns, "Columns, comma separated (+COL adds to the defaults)")
      ->check(CLI::Validator(
          [](const std::string& v) {
            return v.find_first_not_of(" ,") == std::string::npos
                       ? "no column given; valid columns: " + std::string(list_column_names())
                       : std::string();
          },
          "COLUMNS"));
  list->add_flag("-J,--json", a->json, "One JSON document");
  list->add_flag("-n,--noheadings", a->noheadings, "No header line");
  list->add_flag("--no-bpf", a->no_bpf, "Walk /proc instead of BPF iterators");
  return [a, list]() { return list->parsed() ? run_list(*a) : -1; };
}

}  // namespace nscope::cli
