// Graphviz: topo as DOT, and SVG by piping that DOT into `dot -Tsvg -o FILE`. Spawning
// Graphviz to draw is the one program nscope runs; everything it knows it reads itself.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "render/render.h"
#include "util/fd.h"

extern char** environ;

namespace nscope {

std::string topo_to_dot(const TopoModel& m) {
  auto q = [](const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') o += '\\';
      if (c == '\n') {
        o += "\\n";
        continue;
      }
      o += c;
    }
    return o + "\"";
  };
  auto dev_id = [](const std::string& node, int ifindex) { return "d_" + node + "_" + std::to_string(ifindex); };
  std::string s = "digraph nscope {\n"
                  "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, compound=true, nodesep=0.25];\n"
                  "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3ff\", fontname=\"Helvetica\", fontsize=10];\n"
                  "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  std::map<std::string, bool> known;  // device ids drawn
  int k = 0;
  for (auto& n : m.nodes) {
    std::string label = n.ns.inode ? netns_label(n.ns) : "netns ? (" + n.id + ")";
    if (n.ns.pid) label += fmt::format("\\npid {} {}", n.ns.pid, n.ns.command.substr(0, 30));
    std::string style = "rounded";
    std::string color = "#555555";
    if (n.hidden) {
      label += "\\nHIDDEN: no holder but a veth";
      style = "dashed";
      color = "#cc0000";
    }
    if (n.gone) {
      label += "\\nGONE";
      style = "dotted";
    }
    // Labels were built with "\n" escapes already; quote the rest by hand.
    std::string ql = "\"";
    for (char c : label) {
      if (c == '"') ql += '\\';
      ql += c;
    }
    ql += "\"";
    s += fmt::format("  subgraph \"cluster_{}\" {{\n    label={}; style={}; color=\"{}\"; fontcolor=\"{}\";\n", n.id, ql,
                     style, color, color);
    if (n.ifaces.empty()) s += fmt::format("    \"e_{}\" [label=\"(no interfaces read)\", style=dotted];\n", n.id);
    for (auto& f : n.ifaces) {
      const LinkInfo& l = f.link;
      std::string lab = l.name + "\n" + l.display_kind() + (l.up() ? "" : " (down)");
      for (auto& a : f.addrs) lab += "\n" + a;
      std::string fill = l.kind == "veth" ? "#fff3d6" : l.kind == "bridge" ? "#dff5df" : "#eef3ff";
      std::string id = dev_id(n.id, l.ifindex);
      known[id] = true;
      s += fmt::format("    {} [label={}, fillcolor=\"{}\"];\n", q(id), q(lab), fill);
    }
    s += "  }\n";
  }
  std::map<int, bool> procs;
  for (auto& e : m.edges) {
    std::string from = dev_id(e.from.node, e.from.ifindex);
    if (!known.count(from)) continue;
    std::string to;
    if (e.kind == "tun") {
      to = "p_" + std::to_string(e.owner_pid);
      if (!procs[e.owner_pid]) {
        procs[e.owner_pid] = true;
        s += fmt::format("  {} [shape=ellipse, fillcolor=\"#f0f0f0\", label={}];\n", q(to), q(fmt::format("pid {}", e.owner_pid)));
      }
      s += fmt::format("  {} -> {} [style=dotted, label=\"tun fd\"];\n", q(to), q(from));
      continue;
    }
    to = dev_id(e.to.node, e.to.ifindex);
    if (e.to.node.empty() || !known.count(to)) {
      to = "u_" + std::to_string(k++);
      std::string lab = fmt::format("?\nifindex {}", e.to.ifindex);
      s += fmt::format("  {} [shape=octagon, color=\"#cc0000\", fillcolor=\"#ffe0e0\", label={}];\n", q(to), q(lab));
    }
    if (e.kind == "veth")
      s += fmt::format("  {} -> {} [dir=both, penwidth=2, color=\"{}\"{}];\n", q(from), q(to), e.dangling ? "#cc0000" : "#cc7a00",
                       e.dangling ? ", style=dashed, label=\"dangling\"" : "");
    else if (e.kind == "master")
      s += fmt::format("  {} -> {} [style=dashed, color=\"#2e7d32\", arrowhead=odot];\n", q(from), q(to));
    else
      s += fmt::format("  {} -> {} [color=\"#1f4e99\", label={}];\n", q(from), q(to), q(e.kind));
  }
  s += "}\n";
  return s;
}

Result<void> render_svg(const std::string& dot, const std::string& file) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Error::sys(errno, "cannot make a pipe for Graphviz");
  Fd rd(p[0]), wr(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, rd.get(), 0);
  std::string out = "-o" + file;
  const char* argv[] = {"dot", "-Tsvg", out.c_str(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "dot", &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    if (rc == ENOENT)
      return Error{ErrorKind::not_found, rc, "cannot draw SVG: Graphviz's 'dot' is not installed (apt-get install graphviz)"};
    return Error::sys(rc, "cannot run Graphviz's dot");
  }
  rd.reset();
  // A dot that dies early must not kill us with SIGPIPE.
  struct sigaction ign {}, old {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  size_t off = 0;
  int werr = 0;
  while (off < dot.size()) {
    ssize_t n = ::write(wr.get(), dot.data() + off, dot.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      werr = errno;
      break;
    }
    off += static_cast<size_t>(n);
  }
  wr.reset();
  sigaction(SIGPIPE, &old, nullptr);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error::msg("Graphviz's dot failed to draw " + file + " (exit status " +
                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) + ")");
  if (werr) return Error::sys(werr, "cannot feed DOT to Graphviz");
  return {};
}

}  // namespace nscope
