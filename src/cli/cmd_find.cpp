// `nscope find`: which network namespaces hold an address, a MAC, an interface, a port or a
// route. Exits 0 with hits, 1 with none (like grep), 2 for bad input.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "render/find.h"
#include "topo/find.h"

namespace nscope::cli {

namespace {
struct FindArgs {
  FindQueryText query;
  bool json = false;
  bool no_bpf = false;
};

int run_find(const FindArgs& a) {
  auto q = parse_find_query(a.query);
  if (!q) fail(q.error());
  FindOptions opts;
  opts.bpf = !a.no_bpf;
  FindResult r = find_everywhere(*q, opts);
  std::ios::sync_with_stdio(false);
  if (a.json) std::cout << find_to_json(r).dump() << '\n';
  else render_find_text(r, std::cout);
  std::cout.flush();
  for (auto& note : r.notes) std::cerr << "nscope: " << note << '\n';
  for (auto& note : find_skip_notes(r)) std::cerr << "nscope: " << note << '\n';
  if (!r.found.empty()) return 0;
  std::cerr << "nscope: " << find_no_match_note(r) << '\n';
  return 1;
}
}  // namespace

Runner register_find(CLI::App& app) {
  auto a = std::make_shared<FindArgs>();
  auto* find = app.add_subcommand(
      "find", "Which network namespaces hold an address, a MAC, an interface, a port or a route");
  find->add_option("--addr", a->query.addr, "An address, or a prefix, on an interface: 10.0.0.2, 10.0.0.0/24, fd00::2")
      ->type_name("ADDR[/LEN]");
  find->add_option("--mac", a->query.mac, "An interface's MAC address: 02:42:ac:11:00:02")->type_name("MAC");
  find->add_option("--ifname", a->query.ifname, "An interface name, a glob: eth0, 'veth*'")->type_name("GLOB");
  find->add_option("--ifindex", a->query.ifindex, "An interface index")->type_name("N");
  find->add_option("--port", a->query.port, "TCP or UDP sockets on a port, in any state: tcp:8080, udp:53, 53")
      ->type_name("[tcp:|udp:]PORT");
  find->add_option("--route", a->query.route, "Routes to, covering, or within a prefix: 10.1.0.0/16")
      ->type_name("PREFIX");
  find->add_flag("-J,--json", a->json, "One JSON array, an object per hit");
  find->add_flag("--no-bpf", a->no_bpf, "Walk /proc instead of BPF iterators to find namespaces");
  find->footer(
      "Interface criteria (--addr, --mac, --ifname, --ifindex) must all hold for one interface; with --port or\n"
      "--route as well, a namespace must have a hit of each kind. Exit 0 with hits, 1 with none, 2 for bad input.");
  return [a, find]() { return find->parsed() ? run_find(*a) : -1; };
}

}  // namespace nscope::cli
