// `nscope serve`: the host's namespaces, their wiring and live packets in a browser.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <malloc.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/units.h"
#include "render/watch.h"
#include "util/fd.h"
#include "watch/watcher.h"
#include "serve/server.h"

namespace nscope::cli {

namespace {
struct ServeArgs {
  std::string listen = "127.0.0.1:8642";
  bool allow_remote = false;
  std::vector<std::string> allow_hosts;
  bool allow_collect = false;
  bool open = false;
  bool no_bpf = false;
  std::string capture_size;  // empty: 128M
};

// xdg-open URL, detached (a grandchild, so no zombie is left), with the signal mask it
// would have had; the URL is printed either way.
void open_browser(const std::string& url) {
  pid_t child = fork();
  if (child == 0) {
    if (fork() == 0) {
      sigset_t none;
      sigemptyset(&none);
      pthread_sigmask(SIG_SETMASK, &none, nullptr);
      execlp("xdg-open", "xdg-open", url.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    _exit(0);
  }
  if (child > 0) waitpid(child, nullptr, 0);
}

int run_serve(const ServeArgs& a) {
  auto listen = serve::parse_listen(a.listen);
  if (!listen) fail(listen.error());
  if (!listen->loopback && !a.allow_remote)
    throw UsageError(fmt::format("--listen {}: not a loopback address; anyone who can reach it and has the "
                                 "token sees this host's namespaces: add --allow-remote to mean it",
                                 a.listen));
  if (!listen->loopback)
    std::cerr << "nscope: warning: serving beyond this host on " << a.listen
              << ": the token is all that stands between the network and this host's namespaces"
                 " (no TLS: use it on a trusted network or through an SSH tunnel)\n";
  // Every connection and the collection's writer have a thread: glibc would give each busy
  // one an arena of its own, and memory freed in one (a flood's events, queued by the writer,
  // freed by a connection) stays with it. Two arenas keep serve's resident memory bounded
  // (bench/serve/memory.sh).
  mallopt(M_ARENA_MAX, 2);
  // Buffers of a stream's batch size (up to 512 KiB) are mapped and unmapped, never kept.
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  serve::ServeOptions so;
  so.listen = *listen;
  so.allow_collect = a.allow_collect;
  so.bpf = !a.no_bpf;
  so.allow_hosts = a.allow_hosts;
  so.watch = !a.no_bpf && geteuid() == 0;
  if (!a.capture_size.empty()) so.capture_bytes = *size_bytes(a.capture_size);  // checked by CLI11
  // SIGINT and SIGTERM are taken by this thread alone (sigwait): blocked before any thread
  // starts, so every thread inherits the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  serve::Server server(so);
  auto port = server.bind();
  if (!port) fail(port.error());
  std::thread http([&server] { server.run(); });
  // Namespace changes, live: `watch`'s events on the stream as "netns" (the page redraws its
  // wiring at each). Where watch cannot run (no root, no BPF), the page re-reads every 10 s.
  Fd watch_stop(eventfd(0, EFD_CLOEXEC));
  std::thread watcher([&server, &watch_stop, no_bpf = a.no_bpf] {
    if (no_bpf || geteuid() != 0) return;  // so.watch says the same to the page
    WatcherOptions wo;
    wo.snapshot = false;
    wo.stop_fd = watch_stop.get();
    wo.on_event = [&server, self = getpid()](const WatchEvent& e) {
      // serve's own reads enter each namespace (setns) and leave it: a page that reads the
      // wiring again at each event would make more of them, without end.
      if (e.pid == self && (e.kind == WatchEventKind::entered || e.kind == WatchEventKind::left)) return true;
      server.hub().publish("netns", watch_event_json(e).dump());
      return true;
    };
    if (auto r = run_watcher(wo); !r)
      std::cerr << "nscope: namespace changes are not live (" << r.error().message
                << "); the page re-reads the wiring every 10 s\n";
  });
  std::cout << "nscope serve: open " << server.url() << "\n" << std::flush;
  std::cerr << "nscope: serving" << (a.allow_collect ? " (collections allowed)" : " (read-only)")
            << "; Ctrl-C to stop\n";
  if (a.open) open_browser(server.url());
  int sig = 0;
  sigwait(&mask, &sig);
  std::cerr << "nscope: stopping\n";
  uint64_t one = 1;
  (void)!write(watch_stop.get(), &one, sizeof one);
  watcher.join();
  server.stop();
  http.join();
  return 0;
}
}  // namespace

Runner register_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* s = app.add_subcommand("serve", "The namespaces, their wiring and live packets in a browser");
  s->add_option("--listen", a->listen, "Address and port: 127.0.0.1:PORT, [::1]:PORT, PORT (port 0: any free one)")
      ->capture_default_str();
  s->add_flag("--allow-remote", a->allow_remote, "Allow a --listen address other than loopback (warns)");
  s->add_option("--allow-host", a->allow_hosts,
                "Another name the page may be reached by (the Host header), e.g. the host's DNS name");
  s->add_flag("--allow-collect", a->allow_collect,
              "Let the page start and stop a collection (-c, --netns, -f, -m); read-only otherwise");
  s->add_option("--capture-size", a->capture_size,
                "The most a collection's capture keeps for the page's pcapng (default 128M); the "
                "events past it are counted, and the stream gets a sample of a flood")
      ->check(size_check("512M (at most 16G)", 16ull << 30));
  s->add_flag("--open", a->open, "Open the page in a browser (xdg-open)");
  s->add_flag("--no-bpf", a->no_bpf, "Walk /proc instead of BPF iterators");
  return [a, s]() { return s->parsed() ? run_serve(*a) : -1; };
}

}  // namespace nscope::cli
