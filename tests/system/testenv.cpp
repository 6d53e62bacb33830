#include "testenv.h"

#include "events/format.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace nst {

// ---- names ----------------------------------------------------------------------------

const std::string& prefix() {
  static const std::string p = "nst" + std::to_string(getpid());
  return p;
}

bool ours(std::string_view name) {
  return name.starts_with(prefix()) &&
         (name.size() == prefix().size() ||
          !std::isdigit(static_cast<unsigned char>(name[prefix().size()])));
}

std::string churn_prefix() { return prefix() + "c"; }

std::string unique_name(char tag) {
  static std::atomic<int> counter{0};
  return prefix() + tag + std::to_string(counter++);
}

// ---- running programs -----------------------------------------------------------------

std::string RunResult::describe() const {
  std::ostringstream s;
  s << "exit=" << exit_code << (timed_out ? " (timed out)" : "") << "\n--- stdout ---\n"
    << (out.size() > 4000 ? out.substr(0, 4000) + "\n[...]" : out) << "\n--- stderr ---\n"
    << err;
  return s.str();
}

std::string find_tool(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  std::string dirs;
  if (const char* p = getenv("PATH")) dirs = p;
  dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::stringstream ss(dirs);
  std::string d;
  while (std::getline(ss, d, ':')) {
    if (d.empty()) continue;
    std::string full = d + "/" + name;
    struct stat st {};
    if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(full.c_str(), X_OK) == 0)
      return full;
  }
  return "";
}

namespace {

std::string read_all_fd(int fd) {
  std::string out;
  if (lseek(fd, 0, SEEK_SET) < 0) return out;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, const RunOptions& opts) {
  RunResult r;
  if (argv.empty()) return r;
  std::string exe = find_tool(argv[0]);
  if (exe.empty()) {
    r.err = argv[0] + ": not found";
    return r;
  }
  // Everything the child needs is prepared before fork: after it, only async-signal-safe
  // calls (the test may be multi-threaded).
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (char** e = environ; *e; ++e) cenv.push_back(*e);
  for (auto& e : opts.env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  int out = memfd_create("nst-out", MFD_CLOEXEC);
  int err = memfd_create("nst-err", MFD_CLOEXEC);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || err < 0 || devnull < 0) {
    r.err = std::string("memfd/open: ") + strerror(errno);
    for (int fd : {out, err, devnull})
      if (fd >= 0) close(fd);
    return r;
  }
  const char* cwd = opts.cwd.empty() ? nullptr : opts.cwd.c_str();
  bool setid = opts.uid.has_value();
  uid_t uid = opts.uid.value_or(0);
  gid_t gid = opts.gid.value_or(static_cast<gid_t>(uid));

  pid_t pid = fork();
  if (pid == 0) {
    dup2(devnull, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (cwd && chdir(cwd) != 0) _exit(126);
    if (setid) {
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(125);
    }
    execve(exe.c_str(), cargv.data(), cenv.data());
    _exit(127);
  }
  close(devnull);
  if (pid < 0) {
    r.err = std::string("fork: ") + strerror(errno);
    close(out);
    close(err);
    return r;
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  int status = 0;
  while (true) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
    } else {
      usleep(2000);
    }
  }
  if (pidfd >= 0) close(pidfd);
  if (WIFEXITED(status))
    r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.exit_code = 128 + WTERMSIG(status);
  r.out = read_all_fd(out);
  r.err = read_all_fd(err);
  close(out);
  close(err);
  return r;
}

Background::Background(const std::vector<std::string>& argv, const std::string& out, const std::string& err) {
  pid_ = fork();
  if (pid_ == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(o, 1);
    dup2(e, 2);
    setpgid(0, 0);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
}

Background::~Background() {
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int Background::stop(std::chrono::milliseconds limit) {
  kill(pid_, SIGTERM);
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

int Background::kill9() {
  int st = 0;
  if (pid_ <= 0) return st;
  kill(pid_, SIGKILL);
  waitpid(pid_, &st, 0);
  pid_ = -1;
  return st;
}

bool in_vm() {
  char h[64] = {};
  gethostname(h, sizeof h - 1);
  return std::string(h) == "nscope-vm";  // tests/kernels/guest.sh
}

bool wait_for_text(const std::string& file, const std::string& text, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (read_file(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

const char* nscope_bin() {
  const char* b = getenv("NSCOPE_TEST_BIN");
  return b && *b ? b : NSCOPE_BIN;
}

RunResult nscope(const std::vector<std::string>& args, const RunOptions& opts) {
  std::vector<std::string> argv{nscope_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, opts);
}

json nscope_list_json(const std::vector<std::string>& extra) {
  std::vector<std::string> args{"list", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = nscope(args);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "nscope list --json failed: " << r.describe();
    return json();
  }
  json j = json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    ADD_FAILURE() << "nscope list --json printed invalid JSON: " << r.describe();
    return json();
  }
  return j;
}

// ---- the namespaces in nscope's output ------------------------------------------------

std::optional<std::pair<int, int>> echo_request(const json& e) {
  if (!e.contains("packet")) return std::nullopt;
  uint8_t b[256];
  size_t len = 0;
  if (!nscope::base64_decode(e["packet"]["data"].get<std::string>(), b, sizeof b, &len)) return std::nullopt;
  if (len < 14 + 20 + 8 || b[12] != 0x08 || b[13] != 0x00 || b[14 + 9] != 1) return std::nullopt;
  const uint8_t* icmp = b + 14 + (b[14] & 0x0f) * 4;
  if (icmp + 8 > b + len || icmp[0] != 8) return std::nullopt;
  return std::make_pair(icmp[4] << 8 | icmp[5], icmp[6] << 8 | icmp[7]);
}

uint64_t as_u64(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) return static_cast<uint64_t>(j.get<int64_t>());
  if (j.is_string()) return std::strtoull(j.get<std::string>().c_str(), nullptr, 10);
  return 0;
}

const json* find_ns(const json& doc, std::string_view type, uint64_t inode) {
  if (!doc.is_object() || !doc.contains("namespaces") || !doc["namespaces"].is_array())
    return nullptr;
  for (auto& n : doc["namespaces"])
    if (n.value("type", "") == type && as_u64(n["inode"]) == inode) return &n;
  return nullptr;
}

std::vector<json> holders_of(const json& ns, std::string_view kind) {
  std::vector<json> out;
  if (!ns.contains("holders")) return out;
  for (auto& h : ns["holders"])
    if (h.value("kind", "") == kind) out.push_back(h);
  return out;
}

std::string brief(const json* ns) {
  if (!ns) return "(namespace not in the output)";
  std::string s = ns->dump();
  return s.size() > 3000 ? s.substr(0, 3000) + "..." : s;
}

const std::string& TableRow::operator[](const std::string& col) const {
  static const std::string none = "<no such column>";
  auto it = cells.find(col);
  return it == cells.end() ? none : it->second;
}

std::optional<TableRow> table_row(const std::string& table, uint64_t inode) {
  std::istringstream in(table);
  std::string header;
  if (!std::getline(in, header)) return std::nullopt;
  std::vector<std::pair<std::string, size_t>> cols;  // name, start
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] != ' ' && (i == 0 || header[i - 1] == ' ')) {
      size_t e = header.find(' ', i);
      cols.emplace_back(header.substr(i, e == std::string::npos ? std::string::npos : e - i), i);
    }
  auto trim = [](std::string s) {
    size_t b = s.find_first_not_of(' ');
    size_t e = s.find_last_not_of(' ');
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  std::string line;
  std::string want = std::to_string(inode);
  while (std::getline(in, line)) {
    if (line.compare(0, want.size() + 1, want + " ") != 0) continue;
    TableRow row;
    row.line = line;
    for (size_t k = 0; k < cols.size(); ++k) {
      size_t start = cols[k].second;
      size_t len = k + 1 < cols.size() ? cols[k + 1].second - start : std::string::npos;
      row.cells[cols[k].first] = start < line.size() ? trim(line.substr(start, len)) : "";
    }
    return row;
  }
  return std::nullopt;
}

// ---- namespaces and processes ---------------------------------------------------------

uint64_t ns_inode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

uint64_t own_ns_inode(std::string_view type) {
  return ns_inode("/proc/self/ns/" + std::string(type));
}

#ifndef NS_GET_ID
#define NS_GET_ID _IOR(0xb7, 0xd, uint64_t)
#endif

uint64_t ns_id_of_fd(int fd) {
  uint64_t id = 0;
  if (ioctl(fd, NS_GET_ID, &id) != 0) return 0;
  return id;
}

uint64_t ns_id(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t id = ns_id_of_fd(fd);
  close(fd);
  return id;
}

std::optional<int> ip_nsid_of(const std::string& name) {
  // `ip netns list` asks for each name's nsid on its own: "NAME (id: 400)". (`ip netns
  // list-id` is one RTM_GETNSID dump, seen truncated on busy machines.)
  RunResult r = run({"ip", "netns", "list"}, with_timeout(std::chrono::seconds(10)));
  std::istringstream in(r.out);
  std::string line;
  const std::string want = name + " (id: ";
  while (std::getline(in, line))
    if (line.starts_with(want)) return std::atoi(line.c_str() + want.size());
  return std::nullopt;
}

bool Channel::send(const std::string& line) const {
  std::string s = line + "\n";
  const char* p = s.data();
  size_t left = s.size();
  while (left) {
    ssize_t n = ::send(fd_, p, left, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

std::optional<std::string> Channel::recv(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return std::nullopt;
    char tmp[512];
    ssize_t n = ::read(fd_, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

Child::Child(std::function<void(Channel&)> body) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ADD_FAILURE() << "socketpair: " << strerror(errno);
    return;
  }
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    close(sv[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    setpgid(0, 0);
    Channel c(sv[1]);
    try {
      body(c);
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  close(sv[1]);
  if (pid_ < 0) {
    ADD_FAILURE() << "fork: " << strerror(errno);
    close(sv[0]);
    return;
  }
  setpgid(pid_, pid_);  // also here, so the group exists whichever runs first
  fd_ = sv[0];
  chan_ = Channel(fd_);
}

Child::~Child() {
  kill_and_reap();
  if (fd_ >= 0) close(fd_);
}

void Child::kill_and_reap() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGKILL);  // the child's process group: grandchildren too
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  // Its orphans came to us (we are a child subreaper): reap the rest of its group.
  siginfo_t si;
  while (true) {
    std::memset(&si, 0, sizeof si);
    int r = waitid(P_PGID, static_cast<id_t>(pid_), &si, WEXITED);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;  // ECHILD: none left
  }
  pid_ = -1;
}

std::map<std::string, std::string> Child::wait_ready(std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> kv;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto line = chan_.recv(std::max(left, std::chrono::milliseconds(1)));
    if (!line) {
      ADD_FAILURE() << "child " << pid_ << " did not report ready in time (or died)";
      return {};
    }
    if (line->starts_with("error")) {
      ADD_FAILURE() << "child " << pid_ << ": " << *line;
      return {};
    }
    if (!line->starts_with("ready")) continue;
    std::istringstream ss(*line);
    std::string word;
    ss >> word;  // "ready"
    kv["ready"] = "1";
    while (ss >> word) {
      auto eq = word.find('=');
      if (eq != std::string::npos) kv[word.substr(0, eq)] = word.substr(eq + 1);
    }
    return kv;
  }
}

void child_fail(Channel& c, const std::string& what) {
  c.send("error " + what + ": " + strerror(errno));
  _exit(1);
}

void child_sleep_forever() {
  while (true) pause();
}

int new_netns_fd_from_process(std::string* err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    *err = std::string("pipe: ") + strerror(errno);
    return -1;
  }
  pid_t parent = getpid();
  pid_t gc = fork();
  if (gc == 0) {
    close(p[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
    (void)!write(p[1], &ok, 1);
    child_sleep_forever();
  }
  close(p[1]);
  if (gc < 0) {
    *err = std::string("fork: ") + strerror(errno);
    close(p[0]);
    return -1;
  }
  char ok = 0;
  pollfd pf{p[0], POLLIN, 0};
  if (poll(&pf, 1, 5000) == 1) (void)!read(p[0], &ok, 1);
  close(p[0]);
  int fd = -1;
  if (ok == 'y') {
    std::string path = "/proc/" + std::to_string(gc) + "/ns/net";
    fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) *err = "open " + path + ": " + strerror(errno);
  } else {
    *err = ok == 'n' ? "unshare(CLONE_NEWNET) failed in the grandchild" : "grandchild silent";
  }
  kill(gc, SIGKILL);
  while (waitpid(gc, nullptr, 0) < 0 && errno == EINTR) {
  }
  return fd;
}

// ---- RAII guards ----------------------------------------------------------------------

TempDir::TempDir() {
  std::string tmpl = "/tmp/" + prefix() + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()))
    path_ = buf.data();
  else
    ADD_FAILURE() << "mkdtemp: " << strerror(errno);
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  // Depth first, never crossing into another filesystem (a mount left behind stays).
  nftw(
      path_.c_str(),
      [](const char* p, const struct stat*, int flag, struct FTW*) {
        if (flag == FTW_DP)
          rmdir(p);
        else
          unlink(p);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

MountGuard::~MountGuard() {
  if (!target_.empty()) umount2(target_.c_str(), MNT_DETACH);
}

void MountGuard::reset(std::string target) {
  if (!target_.empty()) umount2(target_.c_str(), MNT_DETACH);
  target_ = std::move(target);
}

NamedNetns::NamedNetns(std::string name) : name_(std::move(name)) {
  RunResult r = run({"ip", "netns", "add", name_}, with_timeout(std::chrono::seconds(10)));
  ok_ = r.exit_code == 0;
  if (!ok_) error_ = "ip netns add " + name_ + ": " + r.describe();
}

NamedNetns::~NamedNetns() {
  if (ok_) run({"ip", "netns", "del", name_}, with_timeout(std::chrono::seconds(10)));
}

Veth::Veth(std::string a, std::string b) : a_(std::move(a)), b_(std::move(b)) {
  RunResult r = run({"ip", "link", "add", a_, "type", "veth", "peer", "name", b_},
                    with_timeout(std::chrono::seconds(10)));
  ok_ = r.exit_code == 0;
  if (!ok_) error_ = "ip link add " + a_ + ": " + r.describe();
}

Veth::~Veth() {
  if (!ok_) return;
  if (access(("/sys/class/net/" + a_).c_str(), F_OK) == 0)
    run({"ip", "link", "del", a_}, with_timeout(std::chrono::seconds(10)));
}

RuncContainer::~RuncContainer() {
  if (!started_) return;
  run({"runc", "kill", name_, "KILL"}, with_timeout(std::chrono::seconds(10)));
  // The container's init dies asynchronously; delete -f copes with any state.
  for (int i = 0; i < 3; ++i) {
    RunResult r = run({"runc", "delete", "-f", name_}, with_timeout(std::chrono::seconds(10)));
    if (r.exit_code == 0 || access(("/run/runc/" + name_).c_str(), F_OK) != 0) break;
    usleep(100000);
  }
  // `runc run -d` leaves the container's init to us (a child subreaper): reap it.
  if (pid_ > 0) {
    for (int i = 0; i < 200; ++i) {
      pid_t w = waitpid(pid_, nullptr, WNOHANG);
      if (w == pid_ || (w < 0 && errno == ECHILD)) break;
      usleep(10000);
    }
  }
}

// ---- leak checks ----------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

namespace {
std::vector<std::string> entries_with_prefix(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* de = readdir(d))
    if (ours(de->d_name)) out.push_back(dir + "/" + de->d_name);
  closedir(d);
  return out;
}
}  // namespace

std::vector<std::string> leftovers() {
  std::vector<std::string> out;
  for (auto& e : entries_with_prefix("/run/netns")) out.push_back("named netns " + e);
  for (auto& e : entries_with_prefix("/sys/class/net")) out.push_back("link " + e);
  for (auto& e : entries_with_prefix("/run/runc")) out.push_back("runc container " + e);
  for (auto& e : entries_with_prefix("/tmp")) out.push_back("temp " + e);
  for (auto& e : entries_with_prefix("/sys/fs/cgroup/pids")) out.push_back("cgroup " + e);
  for (auto& e : entries_with_prefix("/sys/fs/cgroup/unified")) out.push_back("cgroup " + e);
  std::istringstream mi(read_file("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(mi, line))
    for (size_t at = line.find(prefix()); at != std::string::npos; at = line.find(prefix(), at + 1))
      if (ours(std::string_view(line).substr(at))) {
        out.push_back("mount " + line);
        break;
      }
  for (pid_t c : own_children()) {
    std::string cmd = read_file("/proc/" + std::to_string(c) + "/cmdline");
    for (auto& ch : cmd)
      if (ch == '\0') ch = ' ';
    out.push_back("child process " + std::to_string(c) + " (" + cmd + ")");
  }
  return out;
}

std::vector<pid_t> own_children() {
  std::vector<pid_t> out;
  pid_t me = getpid();
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* de = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(de->d_name, &end, 10);
    if (pid <= 0 || *end) continue;
    std::string stat = read_file("/proc/" + std::string(de->d_name) + "/stat");
    auto rp = stat.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream ss(stat.substr(rp + 1));
    std::string state;
    long ppid = 0;
    ss >> state >> ppid;
    if (ppid == me) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return out;
}

int open_fd_count() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  while (dirent* de = readdir(d))
    if (de->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory's own fd
}

BpfObjects bpf_objects_of(pid_t pid) {
  BpfObjects o;
  std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  DIR* d = opendir(dir.c_str());
  if (!d) return o;
  while (dirent* de = readdir(d)) {
    if (de->d_name[0] == '.') continue;
    std::istringstream is(read_file(dir + "/" + de->d_name));
    std::string line;
    while (std::getline(is, line)) {
      auto take = [&](std::string_view key, std::set<uint32_t>& into) {
        if (line.rfind(key, 0) == 0) into.insert(static_cast<uint32_t>(std::stoul(line.substr(key.size()))));
      };
      take("prog_id:", o.progs);
      take("map_id:", o.maps);
      take("link_id:", o.links);
    }
  }
  closedir(d);
  return o;
}

std::vector<std::string> bpf_objects_alive(const BpfObjects& objs, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::vector<std::string> alive;
  do {
    alive.clear();
    auto check = [&](const char* kind, const std::set<uint32_t>& ids) {
      for (uint32_t id : ids)
        if (run({"bpftool", kind, "show", "id", std::to_string(id)}).exit_code == 0)
          alive.push_back(std::string(kind) + " " + std::to_string(id));
    };
    check("prog", objs.progs);
    check("map", objs.maps);
    check("link", objs.links);
    if (alive.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  return alive;
}

// Makes this process a child subreaper, so orphans of the children it starts (a runc
// container's init, grandchildren) are reaped here; fails the run when this process left
// anything behind.
class LeakCheck : public ::testing::Environment {
 public:
  void SetUp() override { prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void TearDown() override {
    auto left = leftovers_after_reaping();
    std::string all;
    for (auto& l : left) all += "\n  " + l;
    EXPECT_TRUE(left.empty()) << "system tests left these behind:" << all;
  }
};
[[maybe_unused]] static ::testing::Environment* const kLeakCheck =
    ::testing::AddGlobalTestEnvironment(new LeakCheck);

VethPair::VethPair(int net) : a(unique_name('a')), b(unique_name('b')) {
  static int n = 0;
  va = unique_name('v');
  vb = unique_name('w');
  int subnet = (getpid() + n++) % 200 + 20;
  std::string base = "10." + std::to_string(net) + "." + std::to_string(subnet) + ".";
  ip_a = base + "1";
  ip_b = base + "2";
  if (!a.ok() || !b.ok()) {
    error = a.error() + b.error();
    return;
  }
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ip", "link", "add", va, "netns", a.name(), "type", "veth", "peer", "name", vb,
            "netns", b.name()},
           {"ip", "-n", a.name(), "addr", "add", ip_a + "/24", "dev", va},
           {"ip", "-n", b.name(), "addr", "add", ip_b + "/24", "dev", vb},
           {"ip", "-n", a.name(), "link", "set", va, "up"},
           {"ip", "-n", b.name(), "link", "set", vb, "up"}}) {
    auto r = run(argv);
    if (r.exit_code != 0) {
      error = r.describe();
      return;
    }
  }
  ino_a = ns_inode(a.path());
  ino_b = ns_inode(b.path());
  ok = true;
}

std::vector<std::string> leftovers_after_reaping(std::chrono::milliseconds wait) {
  auto left = leftovers();
  for (auto waited = std::chrono::milliseconds(0); !left.empty() && waited < wait;
       waited += std::chrono::milliseconds(100)) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {}
    left = leftovers();
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return left;
}

// ---- passing fds --------------------------------------------------------------------

bool send_fd(int sock, int fd) {
  char data = 'x';
  iovec iov{&data, 1};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &msg, 0) == 1;
}

int recv_fd(int sock) {
  char data;
  iovec iov{&data, 1};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

}  // namespace nst
