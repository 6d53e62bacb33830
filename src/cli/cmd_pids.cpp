// `nscope pids NSREF`: the pids in a network namespace, one a line as `ip netns pids` prints
// them, for any NSREF; -l lists every holder (threads, fds, sockets, mounts, veth peers too).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/scan_notes.h"
#include "discover/pids.h"
#include "render/pids.h"

namespace nscope::cli {

namespace {
struct PidsArgs {
  std::string ref;
  bool holders = false;
  bool json = false;
  bool noheadings = false;
  bool no_bpf = false;
};

int run_pids(const PidsArgs& a) {
  // The pids alone (the default) need no scan when the reference opens directly.
  auto r = build_pids(a.ref, {.bpf = !a.no_bpf, .holders = a.holders || a.json});
  // An unknown or ambiguous reference is a usage error (exit 2) that lists the candidates.
  if (!r) fail(r.error());
  std::ios::sync_with_stdio(false);
  if (a.json) {
    std::cout << pids_to_json(*r).dump() << '\n';
    return 0;
  }
  if (a.holders) render_pids_table(*r, !a.noheadings, std::cout);
  else render_pids_plain(*r, std::cout);
  std::cout.flush();
  print_scan_notes(r->notes, r->skipped);
  return 0;
}
}  // namespace

Runner register_pids(CLI::App& app) {
  auto a = std::make_shared<PidsArgs>();
  auto* pids = app.add_subcommand("pids", "Processes in a network namespace (as ip netns pids), or with -l every holder");
  pids->add_option("NSREF", a->ref,
                   "ip netns name, inode, id:N, cookie:N, pid:N, an nsfs path, or a container id/name")
      ->required();
  pids->add_flag("-l,--holders", a->holders,
                 "Every holder as a table: processes, threads, fds, sockets, mounts, veth peers");
  pids->add_flag("-J,--json", a->json, "One JSON document: the namespace with its holders, and the pids");
  pids->add_flag("-n,--noheadings", a->noheadings, "No header line (with -l)");
  pids->add_flag("--no-bpf", a->no_bpf, "Walk /proc instead of BPF iterators");
  return [a, pids]() { return pids->parsed() ? run_pids(*a) : -1; };
}

}  // namespace nscope::cli
