// `nscope show NSREF`: everything inside one network namespace and where its links lead.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "render/render.h"
#include "topo/show.h"

namespace nscope::cli {

namespace {
struct ShowArgs {
  std::string ref;
  bool json = false;
  bool no_bpf = false;
};

int run_show(const ShowArgs& a) {
  ShowOptions opts;
  opts.bpf = !a.no_bpf;
  auto m = build_show(a.ref, opts);
  // An unknown or ambiguous reference is a usage error (exit 2) that lists the candidates.
  if (!m) fail(m.error());
  std::ios::sync_with_stdio(false);
  if (a.json) std::cout << show_to_json(*m).dump() << '\n';
  else render_show_text(*m, std::cout);
  std::cout.flush();
  return 0;
}
}  // namespace

Runner register_show(CLI::App& app) {
  auto a = std::make_shared<ShowArgs>();
  auto* show = app.add_subcommand("show", "Everything inside one network namespace, and where its links lead");
  show->add_option("NSREF", a->ref,
                   "ip netns name, inode, id:N, cookie:N, pid:N, an nsfs path, or a container id/name")
      ->required();
  show->add_flag("-J,--json", a->json, "One JSON document");
  show->add_flag("--no-bpf", a->no_bpf, "When a scan is needed, walk /proc instead of BPF iterators");
  return [a, show]() { return show->parsed() ? run_show(*a) : -1; };
}

}  // namespace nscope::cli
