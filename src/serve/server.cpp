#include "serve/server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "discover/scan.h"
#include "render/list.h"
#include "render/render.h"
#include "serve/assets.h"
#include "serve/collection.h"
#include "topo/show.h"
#include "topo/topo.h"
#include "util/diag.h"

namespace nscope::serve {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr size_t kMaxConnections = 64;  // each has a thread; a live stream holds one
constexpr size_t kBatchBytes = 64u << 10;  // the live stream's events per write, at most: 4 a second at the pace
// The live stream's pace, per client: at most this many bytes a second on average, a
// second's worth at once (about 500 flood events a second; the page draws 400 a second). A
// browser spends far more on a flood's events than serve does: unpaced, one page took a core
// of two and the collection traced 0.28 of what `collect -o FILE` traces (bench/serve); at
// 1 MiB a second Chromium's network and renderer work still took a tenth of a core. The
// events a paced client cannot be sent are skipped, oldest first, counted; the capture keeps
// them (up to its bound). Past that bound the collection formats only a sample of a flood
// (Collection), and the rest is counted the same way.
constexpr double kStreamBytesPerSecond = 256u << 10;
constexpr size_t kStreamBacklog = 512u << 10;  // bytes waiting for a client, at most: 2 s at the pace


// What an error's kind means to a browser (result.h).
http::status http_status(ErrorKind k) {
  switch (k) {
    case ErrorKind::usage: return http::status::bad_request;
    case ErrorKind::not_found: return http::status::not_found;
    case ErrorKind::gone: return http::status::gone;
    case ErrorKind::permission: return http::status::forbidden;
    case ErrorKind::kernel_refused: return http::status::bad_gateway;
    default: return http::status::internal_server_error;
  }
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded (and '+' as a space in a query).
std::string url_decode(std::string_view s, bool query) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (query && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// A request as the handlers see it: the decoded path, the query's parameters, the headers.
struct Request {
  const http::request<http::string_body>& raw;
  std::string path;
  std::map<std::string, std::string> params;
  std::string header(http::field f) const { return std::string(raw[f]); }
  std::string header(std::string_view name) const { return std::string(raw[beast::string_view(name.data(), name.size())]); }
  std::string param(const std::string& k) const {
    auto it = params.find(k);
    return it == params.end() ? std::string() : it->second;
  }
};

Request parse_target(const http::request<http::string_body>& raw) {
  Request r{raw, {}, {}};
  std::string_view target(raw.target().data(), raw.target().size());
  size_t q = target.find('?');
  r.path = url_decode(target.substr(0, q), false);
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view kv = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      size_t eq = kv.find('=');
      r.params[url_decode(kv.substr(0, eq), true)] = eq == std::string_view::npos ? "" : url_decode(kv.substr(eq + 1), true);
    }
  }
  return r;
}

using Response = http::response<http::string_body>;

void set_body(Response& res, http::status st, std::string body, std::string_view type) {
  res.result(st);
  res.set(http::field::content_type, std::string(type));
  res.body() = std::move(body);
}

void json_error(Response& res, http::status st, const std::string& message) {
  set_body(res, st, nlohmann::json({{"error", message}}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n',
           "application/json");
}

// The CLI prints `dump()` and a newline: the API answers the same bytes.
void json_body(Response& res, const nlohmann::json& j) { set_body(res, http::status::ok, j.dump() + '\n', "application/json"); }

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}
}  // namespace

struct Server::Impl {
  explicit Impl(ServeOptions o) : opts(std::move(o)), collection(hub, opts.capture_bytes) {}

  ServeOptions opts;
  int port = 0;
  std::vector<std::string> hosts;
  std::string cookie;
  asio::io_context io;
  std::optional<tcp::acceptor> acceptor;
  LiveHub hub;
  Collection collection;  // after hub: it publishes there until it is stopped
  std::mutex model_mu;    // one model at a time: scans and reads enter namespaces
  std::atomic<bool> stopping{false};
  // The connections' sockets, to wake their threads at stop, and their threads.
  struct Thread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex conns_mu;
  std::set<int> conns;
  std::vector<Thread> threads;  // run()'s own

  void connection(tcp::socket sock);
  // Answers one request into `res`; false when it wrote the answer itself (the live
  // stream) and the connection is done.
  bool handle(const Request& req, Response& res, tcp::socket& sock);
  bool allowed(const Request& req, Response& res);
  void route(const Request& req, Response& res);
  void events(const Request& req, tcp::socket& sock);
  void pcapng(tcp::socket& sock);
};

Server::Server(ServeOptions o) : impl_(std::make_unique<Impl>(std::move(o))) {}
Server::~Server() { stop(); }
LiveHub& Server::hub() { return impl_->hub; }

// Before any route: the Host must be this server's, the token the one printed at start.
bool Server::Impl::allowed(const Request& req, Response& res) {
  std::string host = req.header(http::field::host);
  if (!host_allowed(host, hosts)) {
    set_body(res, http::status::forbidden,
             fmt::format("nscope serve: Host '{}' is not this server (expected {})\n", host, hosts.front()), "text/plain");
    return false;
  }
  std::string query = req.param("token");
  std::string token = token_of(query, req.header(http::field::cookie), req.header(http::field::authorization), cookie);
  if (!token_equal(token, opts.token)) {
    set_body(res, token.empty() ? http::status::unauthorized : http::status::forbidden,
             token.empty() ? "nscope serve: give the token printed at start (?token=...)\n" : "nscope serve: wrong token\n",
             "text/plain");
    return false;
  }
  if (!query.empty() && req.raw.method() == http::verb::get && (req.path == "/" || req.path == "/index.html")) {
    // Keep the token in a cookie and out of the address bar (and the history).
    res.result(http::status::see_other);
    res.set(http::field::set_cookie, fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", cookie, opts.token));
    res.set(http::field::location, "/");
    return false;
  }
  return true;
}

void Server::Impl::route(const Request& req, Response& res) {
  bool get = req.raw.method() == http::verb::get, post = req.raw.method() == http::verb::post;
  const std::string& p = req.path;
  if (get && p == "/api/config") {
    return json_body(res, {{"version", NSCOPE_VERSION}, {"allow_collect", opts.allow_collect}, {"watch", opts.watch}});
  }
  if (get && p == "/api/list") {
    ScanOptions so;
    so.bpf = opts.bpf;
    std::lock_guard lk(model_mu);
    std::ostringstream body;
    write_list_json(scan_namespaces(so), body);
    body << '\n';
    return set_body(res, http::status::ok, std::move(body).str(), "application/json");
  }
  if (get && p == "/api/topo") {
    TopoOptions to;
    to.bpf = opts.bpf;
    std::lock_guard lk(model_mu);
    std::ostringstream body;
    write_topo_json(build_topo(to), body);
    body << '\n';
    return set_body(res, http::status::ok, std::move(body).str(), "application/json");
  }
  if (get && p.starts_with("/api/show/") && p.size() > 10) {
    ShowOptions so;
    so.bpf = opts.bpf;
    std::lock_guard lk(model_mu);
    auto m = build_show(p.substr(10), so);
    if (!m) return json_error(res, http_status(m.error().kind), m.error().message);
    return json_body(res, show_to_json(*m));
  }
  if (get && p == "/api/collect") return json_body(res, collection.state());
  if (get && p == "/api/collect/pcapng")  // handle() answers while there is a capture
    return json_error(res, http::status::not_found, "no capture: no collection has run yet");
  if (post && (p == "/api/collect" || p == "/api/collect/stop")) {
    if (!opts.allow_collect)
      return json_error(res, http::status::forbidden, "read-only: start nscope serve with --allow-collect");
    if (p == "/api/collect/stop") {
      collection.stop();
      return json_body(res, collection.state());
    }
    if (collection.state()["state"] != "idle")
      return json_error(res, http::status::conflict, "a collection is already running");
    auto r = collect_request_from_json(req.raw.body());
    if (!r) return json_error(res, http::status::bad_request, r.error().message);
    if (auto s = collection.start(*r); !s) return json_error(res, http_status(s.error().kind), s.error().message);
    json_body(res, collection.state());
    res.result(http::status::accepted);
    return;
  }
  if (get && !p.starts_with("/api/")) {
    const Asset* a = find_asset(p == "/" ? "/index.html" : p);
    if (a) {
      if (a->path == "/index.html")
        res.set("Content-Security-Policy",
                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
                "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'");
      return set_body(res, http::status::ok, std::string(a->data), a->content_type);
    }
  }
  if (!get && !post) return json_error(res, http::status::method_not_allowed, "only GET and POST");
  json_error(res, http::status::not_found, "no such path: " + p);
}

bool Server::Impl::handle(const Request& req, Response& res, tcp::socket& sock) {
  res.set(http::field::server, "nscope");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  if (!allowed(req, res)) return true;
  if (req.raw.method() == http::verb::get && req.path == "/api/events") {
    events(req, sock);
    return false;
  }
  if (req.raw.method() == http::verb::get && req.path == "/api/collect/pcapng" && !collection.capture().empty()) {
    pcapng(sock);
    return false;
  }
  route(req, res);
  return true;
}

// The live stream, as text/event-stream until the client goes or the server stops. A client
// that sends Last-Event-ID (EventSource does on reconnecting) gets what it missed from the
// history; each wait lasts at most a second, so a client that went away is noticed.
void Server::Impl::events(const Request& req, tcp::socket& sock) {
  std::string last = req.header("Last-Event-ID");
  if (last.empty()) last = req.param("last_event_id");
  uint64_t last_id = 0;
  bool resume = !last.empty() && std::from_chars(last.data(), last.data() + last.size(), last_id).ec == std::errc();
  auto client = hub.subscribe(last_id, resume);
  nlohmann::json hello = {{"last_id", hub.last_id()}, {"collect", collection.state()}, {"resumed", resume}};
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\nretry: 1000\n\n" +
      sse_format(LiveEvent::of("hello", hello.dump()));
  uint64_t reported = 0;
  boost::system::error_code ec;
  StreamPace pace(kStreamBytesPerSecond);
  while (!stopping && !client->closed()) {
    asio::write(sock, asio::buffer(out), ec);
    if (ec) break;  // gone, or stuck for longer than the send timeout
    pace.spend(out.size());
    // At most 20 messages a second while events trickle in: a browser handles a few large
    // messages far faster than many small ones (bench/serve). In a flood the formatting and
    // the write take longer than that already.
    if (out.size() > 64 && out.size() < kBatchBytes / 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    out.clear();
    uint64_t dropped = 0;
    // At most kBatchBytes at a time: a slow client holds no more than that in serve besides
    // its queue, and what it is sent is no older than its queue.
    auto batch = client->take(std::chrono::milliseconds(1000), &dropped, kBatchBytes, kStreamBacklog);
    if (dropped != reported) {  // before the batch: a slow client learns of its losses first
      reported = dropped;
      out = sse_format(LiveEvent::of("dropped", nlohmann::json({{"dropped", dropped}}).dump()));
    }
    out += sse_format(batch);
    batch.clear();
    if (out.empty()) out = ": idle\n\n";
  }
  hub.unsubscribe(client);
}

// The running or last collection's capture as pcapng, written as it is made (no length
// known before: the connection ends with it). Packets past the capture's bound were never
// kept: X-Nscope-Left-Out counts them (events) as of the start of the answer.
void Server::Impl::pcapng(tcp::socket& sock) {
  const Capture& c = collection.capture();
  std::string head = fmt::format(
      "HTTP/1.1 200 OK\r\nContent-Type: application/x-pcapng\r\n"
      "Content-Disposition: attachment; filename=\"nscope-capture.pcapng\"\r\nCache-Control: no-store\r\n"
      "X-Content-Type-Options: nosniff\r\nX-Nscope-Left-Out: {}\r\nConnection: close\r\n\r\n",
      c.left_out());
  boost::system::error_code ec;
  asio::write(sock, asio::buffer(head), ec);
  if (ec) return;
  auto r = c.pcapng([&](std::string_view piece) {
    asio::write(sock, asio::buffer(piece.data(), piece.size()), ec);
    return !ec && !stopping;
  });
  if (!r) diag(fmt::format("serve: pcapng: {}", r.error().message));
}

// One connection's requests, in turn (HTTP/1.1 keep-alive), on a thread of its own.
void Server::Impl::connection(tcp::socket sock) {
  set_timeouts(sock.native_handle(), 30);
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 << 10);
    parser.body_limit(64 << 10);
    boost::system::error_code ec;
    http::read(sock, buf, parser, ec);
    if (ec) break;
    const auto& raw = parser.get();
    Request req = parse_target(raw);
    Response res{http::status::ok, raw.version()};
    if (!handle(req, res, sock)) break;
    res.keep_alive(raw.keep_alive() && !stopping);
    res.prepare_payload();
    http::write(sock, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  std::lock_guard lk(conns_mu);
  conns.erase(sock.native_handle());  // before the socket closes: stop() never shuts a reused fd
}

Result<int> Server::bind() {
  auto& i = *impl_;
  if (i.opts.token.empty()) {
    auto t = random_token();
    if (!t) return t.error();
    i.opts.token = *t;
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(i.opts.listen.host, ec);
  if (ec) return Error::usage(fmt::format("--listen: '{}' is not an address", i.opts.listen.host));
  tcp::endpoint ep(addr, static_cast<uint16_t>(i.opts.listen.port));
  i.acceptor.emplace(i.io);
  i.acceptor->open(ep.protocol(), ec);
  if (!ec) i.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor->bind(ep, ec);
  if (!ec) i.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error::sys(ec.value(), fmt::format("cannot listen on {} port {}", i.opts.listen.host, i.opts.listen.port));
  i.port = i.acceptor->local_endpoint().port();
  i.hosts = allowed_hosts(i.opts.listen, i.port, i.opts.allow_hosts);
  i.cookie = token_cookie_name(i.port);
  return i.port;
}

std::string Server::url() const {
  const auto& i = *impl_;
  std::string h = i.opts.listen.any ? (i.opts.allow_hosts.empty() ? "127.0.0.1" : i.opts.allow_hosts.front())
                  : i.opts.listen.host.find(':') != std::string::npos ? "[" + i.opts.listen.host + "]"
                                                                      : i.opts.listen.host;
  return fmt::format("http://{}:{}/?token={}", h, i.port, i.opts.token);
}

// Accepts until stop(); each connection gets a thread, up to kMaxConnections at once (more
// are closed at once). Returns once every connection's thread is done.
void Server::run() {
  auto& i = *impl_;
  while (!i.stopping) {
    boost::system::error_code ec;
    tcp::socket sock(i.io);
    i.acceptor->accept(sock, ec);
    if (i.stopping) break;
    if (ec) {
      if (ec == asio::error::no_descriptors) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    std::erase_if(i.threads, [](Impl::Thread& t) {
      if (!t.done->load()) return false;
      t.thread.join();
      return true;
    });
    if (i.threads.size() >= kMaxConnections) continue;  // closed as it goes out of scope
    {
      std::lock_guard lk(i.conns_mu);
      i.conns.insert(sock.native_handle());
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    i.threads.push_back({std::thread([&i, done, s = std::move(sock)]() mutable {
                           i.connection(std::move(s));
                           *done = true;
                         }),
                         done});
  }
  for (auto& t : i.threads) t.thread.join();
  i.threads.clear();
}

// Wakes the accept and every connection (shutdown makes their blocking calls return), ends
// the live streams and the collection.
void Server::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  auto& i = *impl_;
  i.hub.close_all();
  i.collection.stop();
  if (i.acceptor) ::shutdown(i.acceptor->native_handle(), SHUT_RDWR);
  std::lock_guard lk(i.conns_mu);
  for (int fd : i.conns) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace nscope::serve
