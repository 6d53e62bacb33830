// `nscope topo`: every network namespace and how they are wired.
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "render/render.h"
#include "topo/topo.h"

namespace nscope::cli {

namespace {
struct TopoArgs {
  bool json = false;
  bool dot = false;
  std::string svg;
  bool no_bpf = false;
};

int run_topo(const TopoArgs& a) {
  if (static_cast<int>(a.json) + static_cast<int>(a.dot) + static_cast<int>(!a.svg.empty()) > 1)
    throw UsageError("choose one of --json, --dot and --svg");
  TopoOptions opts;
  opts.bpf = !a.no_bpf;
  TopoModel m = build_topo(opts);
  std::ios::sync_with_stdio(false);
  if (a.json) {
    write_topo_json(m, std::cout);
    std::cout << '\n';
  } else if (a.dot) {
    std::cout << topo_to_dot(m);
  } else if (!a.svg.empty()) {
    if (auto r = render_svg(topo_to_dot(m), a.svg); !r) fail(r.error());
    std::cerr << "nscope: wrote " << a.svg << " (" << m.nodes.size() << " network namespaces)\n";
  } else {
    render_topo_text(m, std::cout);
  }
  std::cout.flush();
  if (!a.json)
    for (auto& note : m.notes) std::cerr << "nscope: " << note << '\n';
  return 0;
}
}  // namespace

Runner register_topo(CLI::App& app) {
  auto a = std::make_shared<TopoArgs>();
  auto* topo = app.add_subcommand("topo", "Every network namespace and how they are wired");
  topo->add_flag("-J,--json", a->json, "Nodes and edges as one JSON document");
  topo->add_flag("--dot", a->dot, "Graphviz DOT");
  topo->add_option("--svg", a->svg, "Draw an SVG picture into FILE (needs Graphviz's dot)")->type_name("FILE");
  topo->add_flag("--no-bpf", a->no_bpf, "Walk /proc instead of BPF iterators (veth peers matched by index)");
  return [a, topo]() { return topo->parsed() ? run_topo(*a) : -1; };
}

}  // namespace nscope::cli
