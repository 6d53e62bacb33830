// `nscope serve`: the HTTP server (Boost.Beast) in front of the models list, topo and show
// build, the live stream and the page's collection. Every request is checked first: the
// Host header must name this server, the token must be the one printed at start. No CORS
// header is ever sent; nothing the page sends runs a command.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "serve/access.h"
#include "serve/capture.h"
#include "serve/live.h"
#include "util/result.h"

namespace nscope::serve {

struct ServeOptions {
  ListenAddress listen;
  bool allow_collect = false;          // POST /api/collect; otherwise the API is read-only
  bool bpf = true;                     // scans may walk the kernel with BPF iterators
  std::vector<std::string> allow_hosts;  // more Host names (with --allow-remote)
  std::string token;                   // empty: a random one
  bool watch = false;                  // namespace changes come live on the stream ("netns")
  uint64_t capture_bytes = Capture::kMaxBytes;  // what a collection's capture (pcapng) keeps at most
};

class Server {
 public:
  explicit Server(ServeOptions o);
  ~Server();
  // Binds; the port it got (the one asked for, or a free one for port 0).
  Result<int> bind();
  // The URL with the token, for the user.
  std::string url() const;
  // Serves until stop() (from another thread).
  void run();
  void stop();
  // Where serve's watcher publishes namespace events ("netns"), as `watch --json` writes them.
  LiveHub& hub();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nscope::serve
