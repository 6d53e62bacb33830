// `nscope identify PID|TID|PATH`: every namespace of a process or thread, or the namespace of
// an nsfs file, with its `ip netns` names, container and holders.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/scan_notes.h"
#include "discover/identify.h"
#include "render/pids.h"

namespace nscope::cli {

namespace {
struct IdentifyArgs {
  std::string target;
  bool json = false;
  bool noheadings = false;
  bool no_bpf = false;
};

int run_identify(const IdentifyArgs& a) {
  auto r = build_identify(a.target, {.bpf = !a.no_bpf});
  // No such process or file, or not a namespace file: exit 2; unreadable: exit 1.
  if (!r) fail(r.error());
  std::ios::sync_with_stdio(false);
  if (a.json) {
    std::cout << identify_to_json(*r).dump() << '\n';
    return 0;
  }
  render_identify_table(*r, !a.noheadings, std::cout);
  std::cout.flush();
  print_scan_notes(r->notes, r->skipped);
  return 0;
}
}  // namespace

Runner register_identify(CLI::App& app) {
  auto a = std::make_shared<IdentifyArgs>();
  auto* id = app.add_subcommand("identify", "Every namespace of a process or thread, or of an nsfs file");
  id->add_option("TARGET", a->target, "A pid, a thread id, or an nsfs path (/proc/PID/ns/net, /run/netns/NAME)")
      ->required();
  id->add_flag("-J,--json", a->json, "One JSON document");
  id->add_flag("-n,--noheadings", a->noheadings, "No header line");
  id->add_flag("--no-bpf", a->no_bpf, "Walk /proc instead of BPF iterators");
  return [a, id]() { return id->parsed() ? run_identify(*a) : -1; };
}

}  // namespace nscope::cli
