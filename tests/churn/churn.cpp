// nscope-churn: makes and ends network namespaces of every kind of holder at a steady rate,
// with veth pairs made and moved and runc containers started and stopped, and logs each of
// its actions as a JSON line with the time it was done. The watch tests and bench/watch read
// the log beside `nscope watch --json`'s output.
//
//   nscope-churn --prefix P --count N --rate R --log FILE [--lifetime MS] [--veth-every K]
//                [--containers C]
//
// Kinds, in turn: named (`ip netns add`), held by a process, held only by an open fd, held
// only by a bind mount in a private mount namespace. Every name, link and file it makes
// starts with P; all of them are gone when it exits, SIGINT and SIGTERM included.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

volatile sig_atomic_t g_stop = 0;

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}
int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// The cookie of the network namespace the calling thread is in (SO_NETNS_COOKIE, Linux 5.14):
// never reused, unlike inodes.
uint64_t own_netns_cookie() {
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (s >= 0 && getsockopt(s, SOL_SOCKET, 71 /* SO_NETNS_COOKIE */, &cookie, &len) != 0) cookie = 0;
  if (s >= 0) close(s);
  return cookie;
}

uint64_t inode_of(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Runs argv, quietly; its exit code (-1 when it could not run).
int sh(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  // A SIGTERM (the stop) interrupts the wait, not the command: what it made is ended on the
  // way out only if its success is known.
  int st = 0;
  if (pid < 0) return -1;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string read_all(const std::vector<std::string>& argv) {
  int p[2];
  if (pipe(p) != 0) return "";
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

enum class Kind { named, process, fd, mount };
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::named: return "named";
    case Kind::process: return "process";
    case Kind::fd: return "fd";
    case Kind::mount: return "mount";
  }
  return "?";
}

struct Live {
  Kind kind;
  uint64_t inode = 0;
  uint64_t cookie = 0;
  std::string name;  // named: the ip netns name; mount: the bind mount's file
  pid_t pid = -1;    // the child holding it (process, fd, mount)
};

class Churn {
 public:
  std::string prefix;
  int count = 1000;
  double rate = 100;
  int64_t lifetime_ns = 300'000'000;
  int veth_every = 10;
  int containers = 1;
  std::string log_path;

  int run() {
    log_.open(log_path);
    if (!log_) {
      fprintf(stderr, "nscope-churn: cannot write %s\n", log_path.c_str());
      return 2;
    }
    orig_net_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (containers > 0 && !make_bundle()) return 1;
    const int64_t start = mono_ns();
    const int64_t step = static_cast<int64_t>(1e9 / rate);
    int made = 0, started = 0;
    while (!g_stop && (made < count || !ends_.empty() || !later_.empty())) {
      int64_t now = mono_ns();
      // Due ends and delayed actions first.
      while (!ends_.empty() && ends_.top().first <= now) {
        auto id = ends_.top().second;
        ends_.pop();
        end(id);
      }
      while (!later_.empty() && later_.front().first <= now) {
        auto fn = std::move(later_.front().second);
        later_.pop_front();
        fn();
      }
      if (made < count && now >= start + made * step) {
        Kind k = static_cast<Kind>(made % 4);
        int id = made++;
        if (make(id, k)) ends_.push({mono_ns() + lifetime_ns, id});
        if (k == Kind::named && veth_every > 0 && (id / 4) % veth_every == 0) veth(id);
        if (containers > 0 && started < containers && made >= (started + 1) * count / (containers + 1)) {
          container(started++);
        }
        continue;
      }
      int64_t next = made < count ? start + made * step : now + 5'000'000;
      if (!ends_.empty()) next = std::min(next, ends_.top().first);
      if (!later_.empty()) next = std::min(next, later_.front().first);
      if (next > now) std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(next - now, 5'000'000)));
    }
    // Whatever is left (a signal): ended now.
    while (!ends_.empty()) {
      end(ends_.top().second);
      ends_.pop();
    }
    for (auto& [name, c] : containers_) stop_container(name);
    if (!bundle_.empty()) sh({"rm", "-rf", bundle_});
    log_.flush();
    return 0;
  }

 private:
  void log(json j) {
    j["t"] = now_ns();
    log_ << j.dump() << '\n';
  }

  // PREFIX, a tag letter, the id in base 36: an interface name has at most 15 characters, and
  // "nst" + a 7-digit pid + "c" leaves 4 for the tag and 3 digits (46,656 ids).
  std::string name(const char* tag, int id) const {
    std::string digits;
    do {
      digits.insert(digits.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[id % 36]);
      id /= 36;
    } while (id > 0);
    return prefix + tag + digits;
  }

  // A child that makes a namespace the way `k` says, tells its inode through a pipe and waits
  // to be killed.
  pid_t spawn(Kind k, const std::string& file, uint64_t* inode, uint64_t* cookie) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      uint64_t ino = 0;
      bool ok = true;
      if (k == Kind::mount) {
        ok = unshare(CLONE_NEWNS) == 0 && mount("", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
      }
      ok = ok && unshare(CLONE_NEWNET) == 0;
      ino = inode_of("/proc/self/ns/net");
      uint64_t ck = own_netns_cookie();
      if (ok && k == Kind::fd) {
        int held = open("/proc/self/ns/net", O_RDONLY);  // kept open: the only holder
        ok = held >= 0 && setns(orig_net_, CLONE_NEWNET) == 0;
      }
      if (ok && k == Kind::mount) {
        ok = mount("/proc/self/ns/net", file.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
             setns(orig_net_, CLONE_NEWNET) == 0;
      }
      if (!ok) ino = 0;
      uint64_t msg[2] = {ino, ck};
      (void)!write(p[1], msg, sizeof msg);
      close(p[1]);
      while (true) pause();
    }
    close(p[1]);
    if (pid < 0) {
      close(p[0]);
      return -1;
    }
    uint64_t msg[2] = {};
    if (read(p[0], msg, sizeof msg) != sizeof msg) msg[0] = 0;
    *inode = msg[0];
    *cookie = msg[1];
    close(p[0]);
    return pid;
  }

  bool make(int id, Kind k) {
    Live l;
    l.kind = k;
    if (k == Kind::named) {
      l.name = name("n", id);
      if (sh({"ip", "netns", "add", l.name}) != 0) return fail("ip netns add " + l.name);
      l.inode = inode_of("/run/netns/" + l.name);
      l.cookie = cookie_of("/run/netns/" + l.name);
      named_.push_back(id);
    } else {
      if (k == Kind::mount) {
        l.name = "/tmp/" + name("m", id);
        int fd = open(l.name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) return fail("cannot create " + l.name);
        close(fd);
      }
      l.pid = spawn(k, l.name, &l.inode, &l.cookie);
      if (l.pid < 0 || !l.inode) {
        if (l.pid > 0) kill_child(l.pid);
        if (!l.name.empty()) unlink(l.name.c_str());
        return fail(std::string("cannot make a namespace held by a ") + kind_name(k));
      }
    }
    log({{"op", "create"}, {"kind", kind_name(k)}, {"inode", l.inode}, {"cookie", l.cookie}, {"id", id}});
    live_[id] = l;
    return true;
  }

  void end(int id) {
    auto it = live_.find(id);
    if (it == live_.end()) return;
    Live l = it->second;
    live_.erase(it);
    if (l.kind == Kind::named) {
      sh({"ip", "netns", "del", l.name});
      std::erase(named_, id);
    } else {
      kill_child(l.pid);
      if (l.kind == Kind::mount) unlink(l.name.c_str());
    }
    log({{"op", "destroy"}, {"kind", kind_name(l.kind)}, {"inode", l.inode}, {"cookie", l.cookie}, {"id", id}});
  }

  // The cookie of the namespace at `path`: this thread steps in and back out.
  uint64_t cookie_of(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    uint64_t cookie = 0;
    if (fd >= 0 && setns(fd, CLONE_NEWNET) == 0) {
      cookie = own_netns_cookie();
      setns(orig_net_, CLONE_NEWNET);
    }
    if (fd >= 0) close(fd);
    return cookie;
  }

  static void kill_child(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }

  // A veth pair with one end in the host's namespace and one in named namespace `id`; 30 ms
  // later the host's end moves to another live named namespace.
  void veth(int id) {
    const Live& l = live_[id];
    std::string a = name("v", id), b = name("w", id);
    if (sh({"ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", l.name}) != 0) {
      fail("ip link add " + a);
      return;
    }
    log({{"op", "veth"}, {"a", a}, {"a_inode", inode_of("/proc/self/ns/net")}, {"b", b}, {"b_inode", l.inode}});
    later_.push_back({mono_ns() + 30'000'000, [this, id, a] {
                        // The newest other named namespace still alive.
                        for (auto it = named_.rbegin(); it != named_.rend(); ++it) {
                          if (*it == id || !live_.count(*it)) continue;
                          const Live& to = live_[*it];
                          if (sh({"ip", "link", "set", a, "netns", to.name}) != 0) return;
                          log({{"op", "move"}, {"ifname", a}, {"from", inode_of("/proc/self/ns/net")},
                               {"to", to.inode}});
                          return;
                        }
                        sh({"ip", "link", "del", a});  // nowhere to go: not a move
                      }});
  }

  bool make_bundle() {
    char tmpl[] = "/tmp/nscope-churn-XXXXXX";
    if (!mkdtemp(tmpl)) return fail("mkdtemp");
    bundle_ = tmpl;
    std::string rootfs = bundle_ + "/rootfs";
    for (auto d : {"", "/bin", "/proc", "/dev", "/sys", "/tmp"}) mkdir((rootfs + d).c_str(), 0755);
    if (sh({"cp", "/bin/busybox", rootfs + "/bin/busybox"}) != 0) return fail("cannot copy /bin/busybox");
    if (sh({"runc", "spec", "--bundle", bundle_}) != 0) return fail("runc spec");
    std::ifstream in(bundle_ + "/config.json");
    json cfg = json::parse(in, nullptr, false);
    if (cfg.is_discarded()) return fail("runc spec wrote no JSON");
    cfg["process"]["terminal"] = false;
    cfg["process"]["args"] = {"/bin/busybox", "sleep", "3600"};
    cfg["process"].erase("rlimits");  // these machines refuse to raise limits
    std::ofstream(bundle_ + "/config.json") << cfg.dump(2);
    return true;
  }

  // A runc container that lives `lifetime` too.
  void container(int n) {
    std::string c = prefix + "ct" + std::to_string(n);
    if (sh({"runc", "run", "-d", "--bundle", bundle_, c}) != 0) {
      fail("runc run " + c);
      return;
    }
    json st = json::parse(read_all({"runc", "state", c}), nullptr, false);
    uint64_t ino = 0;
    if (!st.is_discarded() && st.contains("pid"))
      ino = inode_of("/proc/" + std::to_string(st["pid"].get<int>()) + "/ns/net");
    containers_[c] = ino;
    log({{"op", "container-start"}, {"name", c}, {"inode", ino}});
    later_.push_back({mono_ns() + 4 * lifetime_ns, [this, c] {
                        stop_container(c);
                      }});
  }

  void stop_container(const std::string& c) {
    auto it = containers_.find(c);
    if (it == containers_.end()) return;
    uint64_t ino = it->second;
    containers_.erase(it);
    sh({"runc", "kill", c, "KILL"});
    for (int i = 0; i < 50 && sh({"runc", "delete", "-f", c}) != 0; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    log({{"op", "container-stop"}, {"name", c}, {"inode", ino}});
  }

  bool fail(const std::string& what) {
    fprintf(stderr, "nscope-churn: %s\n", what.c_str());
    log({{"op", "error"}, {"what", what}});
    return false;
  }

  std::ofstream log_;
  int orig_net_ = -1;
  std::string bundle_;
  std::map<int, Live> live_;
  std::vector<int> named_;
  std::map<std::string, uint64_t> containers_;
  using End = std::pair<int64_t, int>;
  std::priority_queue<End, std::vector<End>, std::greater<End>> ends_;
  std::deque<std::pair<int64_t, std::function<void()>>> later_;
};

}  // namespace

int main(int argc, char** argv) {
  Churn c;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--prefix") c.prefix = v;
    else if (k == "--count") c.count = std::atoi(v.c_str());
    else if (k == "--rate") c.rate = std::atof(v.c_str());
    else if (k == "--lifetime") c.lifetime_ns = std::atoll(v.c_str()) * 1'000'000;
    else if (k == "--veth-every") c.veth_every = std::atoi(v.c_str());
    else if (k == "--containers") c.containers = std::atoi(v.c_str());
    else if (k == "--log") c.log_path = v;
    else {
      fprintf(stderr, "nscope-churn: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (c.prefix.empty() || c.log_path.empty() || c.rate <= 0) {
    fprintf(stderr, "usage: nscope-churn --prefix P --count N --rate R --log FILE [--lifetime MS] "
                    "[--veth-every K] [--containers C]\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sa.sa_flags = SA_RESTART;  // the stop ends the loop, not a command half done
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return c.run();
}
