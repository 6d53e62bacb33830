// `nscope attach NAME NSREF`: an `ip netns` name for a namespace named any other way.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "discover/nsref.h"
#include "discover/scan.h"
#include "exec/enter.h"

namespace nscope::cli {

namespace {

struct AttachArgs {
  std::string name;
  std::string ref;
  bool no_bpf = false;
};

int run_attach(const AttachArgs& a) {
  auto ref = parse_nsref(a.ref);
  if (!ref) fail(ref.error());
  std::optional<ScanResult> scan;
  auto r = resolve_nsref_lazily(*ref, [&]() -> const ScanResult& {
    ScanOptions so;
    so.types = {NsType::net};
    so.bpf = !a.no_bpf;
    scan = scan_namespaces(so);
    return *scan;
  });
  if (!r) fail(r.error());
  if (!r->fd)
    fail(Error::msg(fmt::format("network namespace {} cannot be opened to name it: nothing nscope can "
                                "open holds it (it is seen only as a veth peer)",
                                describe_netns(r->ns)),
                    ErrorKind::not_found));
  if (auto e = attach_netns_name(a.name, r->fd.get()); !e) {
    Error err = e.error();
    if (err.code == EPERM || err.code == EACCES) err.message += " (naming a namespace needs CAP_SYS_ADMIN: run nscope attach as root)";
    fail(err);
  }
  std::cerr << fmt::format("nscope: network namespace {} is now ip netns '{}' (ip netns del {} removes the name)\n",
                           r->ns.inode, a.name, a.name);
  return 0;
}

}  // namespace

Runner register_attach(CLI::App& app) {
  auto a = std::make_shared<AttachArgs>();
  auto* c = app.add_subcommand("attach", "Give a network namespace (any NSREF) an ip netns name, as ip netns attach");
  c->add_option("NAME", a->name, "The name, as /run/netns/NAME")->required();
  c->add_option("NSREF", a->ref, "ip netns name, inode, id:N, cookie:N, pid:N, an nsfs path, or a container")
      ->required();
  c->add_flag("--no-bpf", a->no_bpf, "When a scan is needed, walk /proc instead of BPF iterators");
  return [a, c]() { return c->parsed() ? run_attach(*a) : -1; };
}

}  // namespace nscope::cli
