// `nscope exec NSREF [--mount] -- CMD...` and `nscope exec --all [-j N] [--json] -- CMD...`:
// a command inside a network namespace named any way `show` takes, or in every one.
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "discover/container.h"
#include "discover/nsref.h"
#include "discover/scan.h"
#include "exec/enter.h"
#include "exec/run_all.h"
#include "util/cpus.h"
#include "util/strings.h"

namespace nscope::cli {

namespace {

struct ExecArgs {
  bool mount = false;
  bool all = false;
  bool json = false;
  bool no_bpf = false;
  unsigned jobs = 0;
};

ScanResult scan_nets(bool bpf) {
  ScanOptions so;
  so.types = {NsType::net};
  so.bpf = bpf;
  return scan_namespaces(so);
}

// One namespace: enter it in this process and become the command, so that its exit status,
// its signals and the terminal are the command's own, as with `ip netns exec`.
int exec_one(const ExecArgs& a, const std::string& ref_text, const std::vector<std::string>& argv) {
  auto ref = parse_nsref(ref_text);
  if (!ref) fail(ref.error());
  std::optional<ScanResult> scan;
  auto r = resolve_nsref_lazily(*ref, [&]() -> const ScanResult& {
    if (!scan) scan = scan_nets(!a.no_bpf);
    return *scan;
  });
  if (!r) fail(r.error());
  if (!r->fd)
    fail(Error::msg(fmt::format("network namespace {} cannot be entered: nothing nscope can open holds it "
                                "(it is seen only as a veth peer; this kernel opens no namespace "
                                "without a holder)",
                                describe_netns(r->ns)),
                    ErrorKind::not_found));
  EnterTarget t;
  t.netns_fd = r->fd.get();
  t.name = r->ns.names.empty() ? "" : r->ns.names.front();
  Fd mnt;
  if (a.mount) {
    if (!r->from_scan && !r->ns.pid) {  // found directly: the scan knows its processes
      if (!scan) scan = scan_nets(!a.no_bpf);
      for (const auto& n : scan->namespaces)
        if (n.inode == r->ns.inode) r->ns = n;
    }
    auto m = holder_mntns(r->ns);
    if (!m) fail(m.error());
    mnt = std::move(*m);
    t.mntns_fd = mnt.get();
  }
  if (auto e = enter_for_exec(t, mounts_under_sys()); !e) {
    Error err = e.error().prefixed(fmt::format("network namespace {}: ", r->ns.inode));
    if (err.code == EPERM) err.message += " (entering a namespace needs CAP_SYS_ADMIN: run nscope exec as root)";
    fail(err);
  }
  Error e = exec_argv(argv);
  std::cerr << "nscope: " << e.message << '\n';
  return 127;
}

nlohmann::ordered_json run_json(const NsRun& run) {
  const Namespace& n = *run.ns;
  using J = nlohmann::ordered_json;
  J ns{{"inode", n.inode}, {"cookie", n.cookie ? J(n.cookie) : J()}, {"names", n.names},
       {"container", n.container ? J(container_label(*n.container)) : J()}};
  J j{{"netns", ns}, {"exit", run.exit ? J(*run.exit) : J()}, {"stdout", run.out}, {"stderr", run.err}};
  if (run.error) j["error"] = run.error->message;
  return j;
}

// Every line of `text` (its last newline taken off), each after "LABEL: ".
void prefixed(std::ostream& os, const std::string& label, std::string_view text) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  for (std::string_view line : split(text, '\n')) os << label << ": " << line << '\n';
}

int exec_all(const ExecArgs& a, const std::vector<std::string>& argv) {
  ScanResult scan = scan_nets(!a.no_bpf);
  for (const auto& note : scan.notes) std::cerr << "nscope: " << note << '\n';
  // Once per namespace: a scan racing namespaces that die and are made (their inodes reused)
  // has been seen to list one twice.
  std::vector<const Namespace*> nss;
  for (const auto& n : scan.namespaces)
    if (n.type == NsType::net && (nss.empty() || nss.back()->inode != n.inode)) nss.push_back(&n);
  RunAllOptions o;
  o.argv = argv;
  o.mount = a.mount;
  o.jobs = a.jobs ? a.jobs : static_cast<unsigned>(online_cpus().size());
  bool all_ok = true;
  std::ios::sync_with_stdio(false);
  run_in_each(nss, o, [&](size_t, NsRun& run) {
    all_ok &= !run.error && run.exit == 0;
    if (a.json) {
      std::cout << run_json(run).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
    } else {
      std::string label = netns_short_label(*run.ns);
      if (!run.out.empty()) prefixed(std::cout, label, run.out);
      std::cout.flush();
      if (!run.err.empty()) prefixed(std::cerr, label, run.err);
      if (run.error) std::cerr << label << ": " << run.error->message << '\n';
      else if (run.exit != 0) std::cerr << label << ": exit " << *run.exit << '\n';
    }
    std::cout.flush();
  });
  return all_ok ? 0 : 1;
}

int run_exec(const ExecArgs& a, std::vector<std::string> words) {
  if (a.all) {
    if (words.empty()) throw UsageError("exec --all: give the command, e.g. nscope exec --all -- ip -br addr");
    return exec_all(a, words);
  }
  if (a.json || a.jobs) throw UsageError("exec: --json and -j go with --all");
  if (words.size() < 2)
    throw UsageError("exec: give a namespace and a command, e.g. nscope exec web-1 -- ip addr");
  std::string ref = words.front();
  words.erase(words.begin());
  if (!words.empty() && words.front() == "--") words.erase(words.begin());
  if (words.empty()) throw UsageError("exec: give the command after the namespace, e.g. nscope exec web-1 -- ip addr");
  return exec_one(a, ref, words);
}

}  // namespace

int split_exec_command(int argc, char** argv, std::vector<std::string>& command) {
  int i = 1;
  while (i < argc && std::strcmp(argv[i], "exec") != 0) ++i;
  for (++i; i < argc; ++i) {
    std::string_view w = argv[i];
    if (w == "--") {
      command.assign(argv + i + 1, argv + argc);
      return i;
    }
    if (w == "-j" || w == "--jobs") ++i;  // its value
    else if (!w.starts_with("-")) break;  // NSREF (or CMD with --all): prefix_command's
  }
  return argc;
}

Runner register_exec(CLI::App& app, const std::vector<std::string>& command) {
  auto a = std::make_shared<ExecArgs>();
  auto* c = app.add_subcommand("exec", "Run a command inside a network namespace (any NSREF), or in every one");
  c->prefix_command();  // the first word that is not an option starts NSREF CMD...
  c->footer("Usage: nscope exec [OPTIONS] NSREF [--] CMD [ARGS...]\n       nscope exec --all [-j N] [--json] [--] CMD [ARGS...]");
  c->add_flag("--mount", a->mount,
              "Also enter the mount namespace of a process that holds it (a container's files), as nsenter -m");
  c->add_flag("--all", a->all, "Run in every network namespace nscope finds, not only named ones");
  c->add_option("-j,--jobs", a->jobs, "With --all: how many at once (default: the number of CPUs)")
      ->check(CLI::Range(1u, 4096u));
  c->add_flag("-J,--json", a->json, "With --all: one JSON line per namespace");
  c->add_flag("--no-bpf", a->no_bpf, "When a scan is needed, walk /proc instead of BPF iterators");
  return [a, c, &command]() {
    if (!c->parsed()) return -1;
    std::vector<std::string> words = c->remaining();  // NSREF CMD..., or CMD... with --all
    words.insert(words.end(), command.begin(), command.end());
    return run_exec(*a, words);
  };
}

}  // namespace nscope::cli
