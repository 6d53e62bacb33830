// `nscope info`: what this kernel allows, probed by loading real programs, and which way
// each of nscope's features goes here because of it.
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bpfload/features.h"
#include "cli/commands.h"

namespace nscope::cli {

namespace {

// (feature, the way it goes on this kernel): the README's kernel table, answered here.
std::vector<std::pair<std::string, std::string>> paths(const Features& f) {
  std::vector<std::pair<std::string, std::string>> out;
  const bool bpf = f.root && f.btf;
  out.emplace_back("namespace walk",
                   bpf && f.supports("iter")
                       ? "BPF iterators over every task and file, and the kernel's list of "
                         "network namespaces"
                       : "/proc (" + std::string(f.root ? "BPF iterators do not load here"
                                                        : "not root") + ")");
  out.emplace_back("namespace ids", f.ns_common_ns_id ? "ns_common.ns_id, read by the walk"
                                    : f.ns_get_id     ? "the NS_GET_ID ioctl"
                                                      : "none: this kernel has no NS_GET_ID "
                                                        "(id: references cannot be used)");
  out.emplace_back("netns cookie", f.net_cookie ? "struct net's net_cookie"
                                                : "none: events are matched by inode");
  out.emplace_back("packet bytes", f.supports("direct_packet")
                                       ? "plain loads where they lie"
                                       : "copied with bpf_probe_read_kernel");
  out.emplace_back("kprobe, kretprobe",
                   !f.supports("kprobe")         ? "refused by this kernel"
                   : f.supports("kprobe_multi") ? "kprobe-multi: one link for all of a probe's "
                                                  "functions"
                                                : "one kprobe per function (no kprobe-multi)");
  out.emplace_back("fentry, fexit", f.supports("fentry") ? "BPF trampolines, one per function"
                                                         : "refused by this kernel");
  return out;
}

int run_info(bool json) {
  const Features& f = probe_features();
  if (json) {
    nlohmann::json probes = nlohmann::json::object();
    for (auto& p : f.probes)
      probes[p.name] = p.ok ? nlohmann::json{{"ok", true}}
                            : nlohmann::json{{"ok", false}, {"error", p.error}};
    nlohmann::json ways = nlohmann::json::object();
    for (auto& [what, how] : paths(f)) ways[what] = how;
    nlohmann::json j = {{"version", NSCOPE_VERSION}, {"kernel", f.kernel_release},
                        {"root", f.root},            {"btf", f.btf},
                        {"net_cookie", f.net_cookie}, {"ns_id", f.ns_common_ns_id},
                        {"ns_get_id", f.ns_get_id},   {"ns_type", f.ns_common_ns_type},
                        {"probes", probes},           {"paths", ways}};
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  auto yn = [](bool b) { return b ? "yes" : "no"; };
  std::cout << fmt::format("nscope {}\nkernel      {}\nroot        {}\nBTF         {}\n",
                           NSCOPE_VERSION, f.kernel_release, yn(f.root), yn(f.btf));
  std::cout << fmt::format("net cookie  {} (struct net has net_cookie)\n", yn(f.net_cookie));
  std::cout << fmt::format("ns id       {} (struct ns_common has ns_id), NS_GET_ID ioctl {}\n",
                           yn(f.ns_common_ns_id), yn(f.ns_get_id));
  std::cout << "BPF program types (loaded and attached here):\n";
  for (auto& p : f.probes)
    std::cout << fmt::format("  {:<13} {}\n", p.name, p.ok ? "yes" : "no: " + p.error);
  std::cout << "How nscope works here:\n";
  for (auto& [what, how] : paths(f)) std::cout << fmt::format("  {:<18} {}\n", what, how);
  return 0;
}
}  // namespace

Runner register_info(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* info = app.add_subcommand("info", "What this kernel allows and how nscope works on it");
  info->add_flag("-J,--json", *json, "JSON");
  return [json, info]() { return info->parsed() ? run_info(*json) : -1; };
}

}  // namespace nscope::cli
