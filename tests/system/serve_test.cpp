// `nscope serve` as a user's browser talks to it, over real HTTP on loopback: the API answers
// what the CLI's --json prints for real test namespaces; a request without the token, with a
// wrong one or naming another Host is refused; the API is read-only without --allow-collect;
// a collection started through the API streams a ping between two test namespaces as
// server-sent events, and a client resumes after Last-Event-ID. Root only.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>
#include <mutex>
#include <atomic>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <map>

#include <cstring>

#include <gtest/gtest.h>

#include "testenv.h"

namespace {

using nst::json;
using namespace std::chrono_literals;

// A reply as a client sees it; status 0 when the request could not be made.
struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower case
  std::string body;
  static std::string lower(std::string k) {
    for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return k;
  }
  bool has_header(const std::string& k) const { return headers.count(lower(k)) > 0; }
  std::string get_header_value(const std::string& k) const {
    auto it = headers.find(lower(k));
    return it == headers.end() ? "" : it->second;
  }
};
using Headers = std::vector<std::pair<std::string, std::string>>;

// One HTTP/1.1 request on its own connection (Connection: close). `chunk`, when given, sees
// the body as it arrives and stops the read by returning false. Host is 127.0.0.1:PORT
// unless `headers` name one.
Reply http(int port, const std::string& method, const std::string& target, const Headers& headers = {},
           const std::string& body = "", const std::function<bool(const std::string&)>& chunk = nullptr) {
  Reply r;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{60, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\n";
  bool host = false;
  for (auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    host |= k == "Host";
  }
  if (!host) req += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  req += "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)!write(fd, req.data(), req.size());
  std::string in;
  size_t head_end = std::string::npos;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
    if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
      std::string head = in.substr(0, head_end);
      in.erase(0, head_end + 4);
      r.status = std::stoi(head.substr(9, 3));
      size_t pos = head.find("\r\n");
      while (pos != std::string::npos) {
        size_t next = head.find("\r\n", pos + 2);
        std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string k = line.substr(0, colon);
          for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          r.headers[k] = line.substr(line.find_first_not_of(' ', colon + 1));
        }
        pos = next;
      }
    }
    if (head_end != std::string::npos && chunk && !in.empty()) {
      bool more = chunk(in);
      in.clear();
      if (!more) break;
    }
  }
  close(fd);
  r.body = in;
  return r;
}

// A running `nscope serve ARGS... --listen 127.0.0.1:0`: the URL it printed (port, token);
// SIGTERM (then SIGKILL) and reaped on destruction.
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(out[1], STDOUT_FILENO);
      int null = open("/dev/null", O_RDWR);
      dup2(null, STDIN_FILENO);
      std::vector<std::string> argv = {nst::nscope_bin(), "serve", "--listen", "127.0.0.1:0"};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> c;
      for (auto& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      execv(c[0], c.data());
      _exit(127);
    }
    close(out[1]);
    // "nscope serve: open http://127.0.0.1:PORT/?token=TOKEN"
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    char ch;
    while (std::chrono::steady_clock::now() < deadline && read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
    close(out[0]);
    auto at = line.find("http://127.0.0.1:");
    auto tok = line.find("?token=");
    if (at == std::string::npos || tok == std::string::npos) {
      error_ = "serve printed: '" + line + "'";
      return;
    }
    port_ = std::stoi(line.substr(at + 17));
    token_ = line.substr(tok + 7);
  }
  ~ServeProcess() { stop(); }
  // SIGTERM; its exit status (0 when it stopped cleanly).
  int stop() {
    if (pid_ <= 0) return status_;
    kill(pid_, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(50ms);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return status_ = 137;
  }
  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  const std::string& token() const { return token_; }
  const std::string& error() const { return error_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // GET with the token as ?token=.
  std::optional<Reply> get(const std::string& path) const {
    return http(port_, "GET", path + (path.find('?') == std::string::npos ? "?" : "&") + "token=" + token_);
  }
  std::optional<Reply> post(const std::string& path, const std::string& body) const {
    return http(port_, "POST", path, {{"Authorization", "Token " + token_}, {"Content-Type", "application/json"}}, body);
  }
  Reply Get(const std::string& target, const Headers& h = {}) const { return http(port_, "GET", target, h); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int status_ = -1;
  std::string token_, error_;
};

json body_json(const std::optional<Reply>& r) {
  if (!r || !r->status) return json();
  return json::parse(r->body, nullptr, false);
}

json cli_json(const std::vector<std::string>& args) {
  auto r = nst::nscope(args, nst::with_timeout(120s));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return json::parse(r.out, nullptr, false);
}

// What changes between two reads of a quiet namespace: interface counters.
// A namespace's interfaces without their packet counters (show's document or a topo node).
void drop_counters(json& show) {
  for (auto& f : show["interfaces"]) f.erase("stats");
}

const json* topo_node(const json& topo, uint64_t inode) {
  for (const auto& n : topo["nodes"])
    if (n.contains("inode") && nst::as_u64(n["inode"]) == inode) return &n;
  return nullptr;
}

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
  }
};

TEST_F(Serve, ApiAnswersWhatTheCliPrints) {
  nst::VethPair p(219);
  ASSERT_TRUE(p.ok) << p.error;
  ServeProcess s({});
  ASSERT_TRUE(s.ok()) << s.error();

  // show: the whole document, but for the counters.
  auto r = s.get("/api/show/" + p.a.name());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  json api = body_json(r), cli = cli_json({"show", p.a.name(), "--json"});
  drop_counters(api);
  drop_counters(cli);
  EXPECT_EQ(api, cli);
  // Any NSREF form: the inode.
  r = s.get("/api/show/inode:" + std::to_string(p.ino_b));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body_json(r)["netns"]["names"], json::array({p.b.name()}));
  r = s.get("/api/show/" + nst::prefix() + "-no-such-namespace");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_TRUE(body_json(r).contains("error"));

  // topo: the same keys, the test's namespaces as the CLI sees them, the veth between them.
  json atopo = body_json(s.get("/api/topo")), ctopo = cli_json({"topo", "--json"});
  ASSERT_TRUE(atopo.is_object());
  for (auto* doc : {&atopo, &ctopo}) {
    SCOPED_TRACE(doc == &atopo ? "api" : "cli");
    for (uint64_t ino : {p.ino_a, p.ino_b}) {
      const json* n = topo_node(*doc, ino);
      ASSERT_NE(n, nullptr) << ino;
    }
  }
  for (uint64_t ino : {p.ino_a, p.ino_b}) {
    json an = *topo_node(atopo, ino), cn = *topo_node(ctopo, ino);
    drop_counters(an);  // IPv6's own packets (DAD, router solicitations) move them in between
    drop_counters(cn);
    EXPECT_EQ(an, cn);
  }
  std::vector<std::string> akeys, ckeys;
  for (auto& [k, v] : atopo.items()) akeys.push_back(k);
  for (auto& [k, v] : ctopo.items()) ckeys.push_back(k);
  EXPECT_EQ(akeys, ckeys);
  bool veth = false;
  for (const auto& e : atopo["edges"])
    if (e["kind"] == "veth" && e["from"]["netns"].is_number() && e["to"]["netns"].is_number()) {
      auto f = nst::as_u64(e["from"]["netns"]), t = nst::as_u64(e["to"]["netns"]);
      veth |= (f == p.ino_a && t == p.ino_b) || (f == p.ino_b && t == p.ino_a);
    }
  EXPECT_TRUE(veth) << "no veth edge between the test's namespaces";

  // list: the test's namespaces as list --json has them.
  json alist = body_json(s.get("/api/list")), clist = cli_json({"list", "--json"});
  for (uint64_t ino : {p.ino_a, p.ino_b}) {
    const json* an = nst::find_ns(alist, "net", ino);
    const json* cn = nst::find_ns(clist, "net", ino);
    ASSERT_NE(an, nullptr);
    ASSERT_NE(cn, nullptr);
    EXPECT_EQ(*an, *cn);
  }
  EXPECT_EQ(alist["source"], clist["source"]);
  EXPECT_EQ(s.stop(), 0);
}

TEST_F(Serve, TokenAndHostAreChecked) {
  ServeProcess s({});
  ASSERT_TRUE(s.ok()) << s.error();
  std::optional<Reply> r = s.Get("/api/config");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = s.Get("/api/list?token=" + std::string(s.token().size(), '0'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  r = s.Get("/?token=wrong");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body.find("<html"), std::string::npos);
  r = s.Get("/api/config", {{"Authorization", "Token nope"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);

  // The right token, by each way a client may carry it.
  r = s.Get("/api/config?token=" + s.token());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_json(r)["allow_collect"], false);
  EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
  r = s.Get("/api/config", {{"Authorization", "Token " + s.token()}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Opening the page with ?token= sets the cookie and sends the browser to a URL without it.
  r = s.Get("/?token=" + s.token());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 303);
  std::string cookie = r->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  r = s.Get("/", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("<html"), std::string::npos);
  EXPECT_NE(r->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  r = s.Get("/app.js", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_GT(r->body.size(), 100000u) << "the bundle holds cytoscape and ELK";

  // A foreign Host header (DNS rebinding) is refused, token or not.
  for (std::string host : {"evil.example:" + std::to_string(s.port()), std::string("127.0.0.1"),
                           "127.0.0.1:" + std::to_string(s.port() + 1)}) {
    SCOPED_TRACE(host);
    r = s.Get("/api/config?token=" + s.token(), {{"Host", host}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
  }
  r = s.Get("/api/config?token=" + s.token(), {{"Host", "localhost:" + std::to_string(s.port())}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  // Read-only without --allow-collect.
  r = s.post("/api/collect", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(s.stop(), 0);
}

TEST_F(Serve, RemoteListenNeedsItsFlag) {
  auto r = nst::nscope({"serve", "--listen", "0.0.0.0:0"}, nst::with_timeout(10s));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--allow-remote"), std::string::npos) << r.err;
  r = nst::nscope({"serve", "--listen", "localhost:80"}, nst::with_timeout(10s));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
}

// Reads the event stream until `done` says so or `timeout` passes.
struct Sse {
  std::vector<std::pair<std::string, json>> events;  // type, data
  std::vector<uint64_t> ids;
};
Sse read_events(const ServeProcess& s, std::optional<uint64_t> last_id,
                const std::function<bool(const Sse&)>& done, std::chrono::seconds timeout) {
  Sse out;
  Headers h = {{"Authorization", "Token " + s.token()}};
  if (last_id) h.emplace_back("Last-Event-ID", std::to_string(*last_id));
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  http(s.port(), "GET", "/api/events", h, "", [&](const std::string& data) {
    buf += data;
    size_t end;
    while ((end = buf.find("\n\n")) != std::string::npos) {
      std::string block = buf.substr(0, end);
      buf.erase(0, end + 2);
      std::string type;
      std::vector<std::string> data;  // a message of packets holds several, a line each
      uint64_t id = 0;
      for (const auto& line : nst::split_lines(block)) {
        if (line.starts_with("event: ")) type = line.substr(7);
        else if (line.starts_with("data: ")) data.push_back(line.substr(6));
        else if (line.starts_with("id: ")) id = std::stoull(line.substr(4));
      }
      if (type.empty()) continue;
      for (const auto& d : data) {
        out.events.emplace_back(type, json::parse(d, nullptr, false));
        out.ids.push_back(id);  // the message's: its last event's
      }
    }
    return !done(out) && std::chrono::steady_clock::now() < deadline;
  });
  return out;
}

TEST_F(Serve, CollectionStreamsAPingAndResumes) {
  nst::VethPair p(218);
  ASSERT_TRUE(p.ok) << p.error;
  ServeProcess s({"--allow-collect"});
  ASSERT_TRUE(s.ok()) << s.error();

  auto none = s.get("/api/collect/pcapng");  // no collection yet: no capture
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404) << none->body;

  auto bad = s.post("/api/collect", R"({"filter": "udp port"})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_NE(body_json(bad)["error"].get<std::string>().find("filter"), std::string::npos) << bad->body;

  json req = {{"collectors", "skb,ns,dev"}, {"netns", json::array({p.a.name(), p.b.name()})}, {"filter", "icmp"}};
  auto r = s.post("/api/collect", req.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  auto again = s.post("/api/collect", req.dump());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  for (int i = 0; i < 200 && body_json(s.get("/api/collect"))["state"] != "running"; ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(body_json(s.get("/api/collect"))["state"], "running");

  std::thread ping([&] {
    std::this_thread::sleep_for(300ms);  // the stream below is connected by then
    nst::run({"ip", "netns", "exec", p.a.name(), "ping", "-c", "3", "-i", "0.2", "-W", "1", p.ip_b});
  });
  auto requests = [](const Sse& s) {
    int n = 0;
    for (const auto& [type, data] : s.events) n += type == "packet" && nst::echo_request(data).has_value();
    return n;
  };
  Sse live = read_events(s, std::nullopt, [&](const Sse& e) { return requests(e) >= 3; }, 15s);
  ping.join();
  ASSERT_GE(requests(live), 3) << live.events.size() << " events";
  ASSERT_EQ(live.events.front().first, "hello");
  // Events are collect's JSON lines, namespaced, numbered in order (several to a message).
  uint64_t first_id = 0, prev = 0;
  for (size_t i = 0; i < live.events.size(); ++i) {
    if (live.events[i].first != "packet") continue;
    const json& ev = live.events[i].second;
    uint64_t ns = nst::as_u64(ev["netns"]["inum"]);
    EXPECT_TRUE(ns == p.ino_a || ns == p.ino_b) << ev.dump();
    EXPECT_GE(live.ids[i], prev);
    prev = live.ids[i];
    if (!first_id) first_id = live.ids[i];
  }
  // A client that saw up to the first packet gets the rest again, from the history.
  size_t after = 0;
  for (size_t i = 0; i < live.events.size(); ++i) after += live.events[i].first == "packet" && live.ids[i] > first_id;
  Sse resumed = read_events(s, first_id, [&](const Sse& e) {
    size_t n = 0;
    for (const auto& [type, data] : e.events) n += type == "packet";
    return n >= after;
  }, 10s);
  size_t n = 0;
  for (size_t i = 0; i < resumed.events.size(); ++i)
    if (resumed.events[i].first == "packet") {
      ++n;
      EXPECT_GT(resumed.ids[i], first_id);
    }
  EXPECT_GE(n, after);

  auto stop = s.post("/api/collect/stop", "");
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 200);
  EXPECT_EQ(body_json(stop)["state"], "idle");
  EXPECT_EQ(body_json(stop)["last"]["stop_reason"], "stopped");
  // The capture as pcapng: a section header block first, then the ping's packets.
  auto pcap = s.get("/api/collect/pcapng");
  ASSERT_TRUE(pcap);
  EXPECT_EQ(pcap->status, 200);
  ASSERT_GE(pcap->body.size(), 28u);
  uint32_t magic = 0;
  std::memcpy(&magic, pcap->body.data(), 4);
  EXPECT_EQ(magic, 0x0A0D0D0Au);
  EXPECT_NE(pcap->body.find("proto ICMP (1) type 8"), std::string::npos) << "no echo request in the packets' comments";
  EXPECT_EQ(s.stop(), 0);
}


// A flood past the capture's bound (--capture-size): the capture keeps its start and counts
// the rest, the stream gets a sample (the session formats runs of events once the capture
// is full), and a client that read it all can account for every id: each event it was sent
// or was told it lost.
TEST_F(Serve, AFloodPastTheCaptureIsSampledWithEveryLossCounted) {
  nst::VethPair p(219);
  ASSERT_TRUE(p.ok) << p.error;
  ServeProcess s({"--allow-collect", "--capture-size", "64K"});
  ASSERT_TRUE(s.ok()) << s.error();
  json stopped;
  std::thread driver([&] {
    std::this_thread::sleep_for(300ms);  // the stream below is connected by then
    json req = {{"collectors", "skb,ns,dev"}, {"netns", json::array({p.a.name(), p.b.name()})}};
    if (auto r = s.post("/api/collect", req.dump()); !r || r->status != 202) return;
    for (int i = 0; i < 200 && body_json(s.get("/api/collect"))["state"] != "running"; ++i)
      std::this_thread::sleep_for(50ms);
    nst::run({"ip", "netns", "exec", p.a.name(), "ping", "-f", "-q", "-c", "5000", "-w", "20", p.ip_b});
    if (auto r = s.post("/api/collect/stop", "")) stopped = body_json(r);
  });
  // The collection's end on the stream ("idle", with its counts); watch's events may follow.
  auto idle_at = [](const Sse& e) {
    for (size_t i = 1; i < e.events.size(); ++i)
      if (e.events[i].first == "collect" && e.events[i].second.value("state", "") == "idle") return i;
    return size_t(0);
  };
  Sse live = read_events(s, std::nullopt, [&](const Sse& e) { return idle_at(e) > 0; }, 60s);
  driver.join();
  size_t end = idle_at(live);
  ASSERT_GT(end, 0u) << live.events.size() << " events, no idle state";
  ASSERT_EQ(live.events.front().first, "hello");
  uint64_t before = nst::as_u64(live.events.front().second["last_id"]);
  uint64_t got = 0, packets = 0, dropped = 0;
  for (size_t i = 1; i <= end; ++i) {
    const auto& [type, data] = live.events[i];
    if (type == "dropped") dropped = nst::as_u64(data["dropped"]);
    else ++got;
    packets += type == "packet";
  }
  const json& last = live.events[end].second;
  ASSERT_TRUE(last.contains("events")) << last.dump();
  uint64_t events = nst::as_u64(last["events"]);
  EXPECT_GE(events, 15000u) << "5,000 pings, a request and a reply each, at 2 points";
  EXPECT_GT(nst::as_u64(last["capture_left_out"]), events / 2) << last.dump();
  EXPECT_GT(packets, 100u);
  EXPECT_LT(packets, events);
  EXPECT_GT(dropped, 0u);
  std::cerr << "serve: " << events << " events traced, " << packets << " sent, " << dropped
            << " counted as dropped, " << nst::as_u64(last["capture_left_out"]) << " past the capture\n";
  // Every id up to the collection's end: sent, or counted as lost.
  EXPECT_EQ(got + dropped, live.ids[end] - before) << got << " sent, " << dropped << " dropped";
  EXPECT_EQ(stopped["last"]["events"], last["events"]) << stopped.dump();
  // The capture holds the start: fewer than 64 KiB of lines, each packet's a pcapng block.
  auto pcap = s.get("/api/collect/pcapng");
  ASSERT_TRUE(pcap);
  EXPECT_EQ(pcap->status, 200);
  EXPECT_GT(pcap->body.size(), 1000u);
  EXPECT_LT(pcap->body.size(), 64u << 10);
  EXPECT_GT(std::stoull("0" + pcap->get_header_value("X-Nscope-Left-Out")), events / 2);
  EXPECT_EQ(s.stop(), 0);
}

}  // namespace

namespace {

// `watch` inside serve: a namespace the test makes and deletes reaches the stream as "netns"
// events, each as `watch --json` writes it.
TEST_F(Serve, NamespaceChangesStreamAsWatchTellsThem) {
  ServeProcess s({});
  ASSERT_TRUE(s.ok()) << s.error();
  // Serve's watcher attaches while serve starts: namespaces are made one a second until one
  // is told (the first may come before it listens), then that one is deleted.
  std::vector<std::unique_ptr<nst::NamedNetns>> made;
  std::map<uint64_t, std::string> inodes;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::thread maker([&] {
    for (int i = 0; i < 30 && !stop; ++i) {
      auto n = std::make_unique<nst::NamedNetns>(nst::unique_name('s'));
      if (n->ok()) {
        std::lock_guard<std::mutex> l(mu);
        inodes[nst::ns_inode(n->path())] = n->name();
        made.push_back(std::move(n));
      }
      for (int t = 0; t < 10 && !stop; ++t) std::this_thread::sleep_for(100ms);
    }
  });
  uint64_t told = 0;
  Sse live = read_events(s, std::nullopt, [&](const Sse& e) {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& [type, data] : e.events)
      if (type == "netns" && data.value("event", "") == "created" && inodes.count(nst::as_u64(data["inode"]))) {
        told = nst::as_u64(data["inode"]);
        return true;
      }
    return false;
  }, 60s);
  stop = true;
  maker.join();
  ASSERT_NE(told, 0u) << live.events.size() << " events, none a netns created for the test's namespaces";
  // Its end, too: the stream is taken up again after the last event read (the hub's history
  // keeps what came between, however slow the connection is; the 6.1 VM's emulated CPUs took
  // over 300 ms to connect).
  std::optional<uint64_t> resume;
  for (uint64_t id : live.ids)
    if (id) resume = std::max(resume.value_or(0), id);
  std::thread del([&] {
    std::this_thread::sleep_for(300ms);
    std::lock_guard<std::mutex> l(mu);
    for (auto& n : made)
      if (n->name() == inodes[told]) n.reset();
  });
  bool ended = false;
  Sse after = read_events(s, resume, [&](const Sse& e) {
    for (const auto& [type, data] : e.events)
      if (type == "netns" && data.value("event", "") == "destroyed" && nst::as_u64(data["inode"]) == told) ended = true;
    return ended;
  }, 30s);
  del.join();
  if (!ended) {
    std::string seen;
    for (const auto& [type, data] : after.events)
      if (type == "netns") seen += data.dump() + "\n";
    nst::RunResult l = nst::nscope({"list", "--json"});
    ADD_FAILURE() << "no destroyed for " << told << "; netns events seen after the delete:\n" << seen
                  << "list --json now says:\n" << l.out;
  }
  EXPECT_EQ(s.stop(), 0);
}

}  // namespace
