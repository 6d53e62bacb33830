// `nscope info`: what this kernel allows, probed by loading real programs.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bpfload/features.h"
#include "cli/commands.h"

namespace nscope::cli {

namespace {
int run_info(bool json) {
  const Features& f = probe_features();
  if (json) {
    nlohmann::json probes = nlohmann::json::object();
    for (auto& p : f.probes)
      probes[p.name] = p.ok ? nlohmann::json{{"ok", true}}
                            : nlohmann::json{{"ok", false}, {"error", p.error}};
    nlohmann::json j = {{"version", NSCOPE_VERSION}, {"kernel", f.kernel_release},
                        {"root", f.root},            {"btf", f.btf},
                        {"net_cookie", f.net_cookie}, {"ns_id", f.ns_common_ns_id},
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

Runner register_info(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* info = app.add_subcommand("info", "What this kernel allows: BTF, BPF program types");
  info->add_flag("-J,--json", *json, "JSON");
  return [json, info]() { return info->parsed() ? run_info(*json) : -1; };
}

}  // namespace nscope::cli
