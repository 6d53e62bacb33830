// SVG through Graphviz: DOT is piped into `dot -Tsvg -o FILE`. Spawning Graphviz to draw is
// the one program nscope runs; everything it knows it reads itself.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "topo/render.h"
#include "util/fd.h"

extern char** environ;

namespace nscope {

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
