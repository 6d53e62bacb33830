#include "exec/run_all.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "discover/nsref.h"
#include "exec/enter.h"
#include "util/fd.h"
#include "util/strings.h"

namespace nscope {
namespace {

// One command on its way: its pid and the read ends of its stdout, its stderr, and the pipe
// that says why it could not start (closed by a successful exec).
struct Running {
  size_t index = 0;
  pid_t pid = -1;
  Fd out, err, why;
};

int status_of(int wstatus) {
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : 1;
}

// In the child: stdout and stderr to the pipes, stdin from /dev/null, enter, run. Never
// returns; why it could not enter or run goes to `why` (closed on exec otherwise), and it
// ends with 127.
[[noreturn]] void child(int out, int err, int why, const EnterTarget& t,
                        const std::vector<std::string>& under_sys, const std::vector<std::string>& argv) {
  int null = ::open("/dev/null", O_RDONLY);
  dup2(null, 0);
  dup2(out, 1);
  dup2(err, 2);
  auto r = enter_for_exec(t, under_sys);
  Error e = r ? exec_argv(argv) : r.error();
  std::string msg = std::string(1, static_cast<char>('0' + static_cast<int>(e.kind))) + e.message;
  (void)!write(why, msg.data(), msg.size());
  _exit(127);
}

class AllRunner {
 public:
  AllRunner(const std::vector<const Namespace*>& nss, const RunAllOptions& o,
            const std::function<void(size_t, NsRun&)>& done)
      : nss_(nss), o_(o), done_(done), runs_(nss.size()) {
    auto mi = read_file("/proc/self/mountinfo");
    under_sys_ = mounts_under_sys(mi ? *mi : "");
  }

  void run() {
    for (size_t i = 0; i < nss_.size(); ++i) runs_[i].ns = nss_[i];
    while (next_ < nss_.size() || !running_.empty()) {
      while (next_ < nss_.size() && running_.size() < std::max(1u, o_.jobs)) start(next_++);
      if (!running_.empty()) wait_some();
      hand_back();
    }
  }

 private:
  // Opens the namespace and forks its command; a namespace that cannot be opened is done
  // at once, with why.
  void start(size_t i) {
    NsRun& r = runs_[i];
    auto fd = open_netns(*nss_[i]);
    if (!fd) {
      r.error = fd.error().code == ENOENT || fd.error().code == ESRCH
                    ? Error::msg(fmt::format("gone: network namespace {} vanished before it could be entered",
                                             nss_[i]->inode),
                                 ErrorKind::gone)
                    : fd.error();
      finished_[i] = true;
      return;
    }
    EnterTarget t;
    t.netns_fd = fd->get();
    t.name = nss_[i]->names.empty() ? "" : nss_[i]->names.front();
    Fd mnt;
    if (o_.mount) {
      auto m = holder_mntns(*nss_[i]);
      if (!m) {
        r.error = m.error();
        finished_[i] = true;
        return;
      }
      mnt = std::move(*m);
      t.mntns_fd = mnt.get();
    }
    int po[2], pe[2], pw[2];
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 || pipe2(pw, O_CLOEXEC) != 0) {
      r.error = Error::sys(errno, "pipe");
      finished_[i] = true;
      return;
    }
    pid_t pid = fork();
    if (pid == 0) child(po[1], pe[1], pw[1], t, under_sys_, o_.argv);
    for (int w : {po[1], pe[1], pw[1]}) ::close(w);
    Running run{i, pid, Fd(po[0]), Fd(pe[0]), Fd(pw[0])};
    if (pid < 0) {
      r.error = Error::sys(errno, "fork");
      finished_[i] = true;
      return;
    }
    running_.push_back(std::move(run));
  }

  // Reads what the running commands wrote; reaps those whose both pipes ended.
  void wait_some() {
    std::vector<pollfd> pfds;
    for (auto& r : running_) {
      pfds.push_back({r.out.valid() ? r.out.get() : -1, POLLIN, 0});
      pfds.push_back({r.err.valid() ? r.err.get() : -1, POLLIN, 0});
    }
    if (poll(pfds.data(), pfds.size(), -1) < 0 && errno != EINTR) return;
    char buf[65536];
    for (size_t k = 0; k < running_.size(); ++k) {
      Running& r = running_[k];
      for (int which = 0; which < 2; ++which) {
        const pollfd& p = pfds[2 * k + static_cast<size_t>(which)];
        if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(p.fd, buf, sizeof buf);
        if (n > 0) (which ? runs_[r.index].err : runs_[r.index].out).append(buf, static_cast<size_t>(n));
        else if (n == 0 || errno != EINTR) (which ? r.err : r.out).reset();
      }
    }
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->out.valid() || it->err.valid()) {
        ++it;
        continue;
      }
      int ws = 0;
      waitpid(it->pid, &ws, 0);
      NsRun& r = runs_[it->index];
      char why[4096];
      ssize_t n = ::read(it->why.get(), why, sizeof why);
      if (n > 1) r.error = Error{static_cast<ErrorKind>(why[0] - '0'), 0, std::string(why + 1, static_cast<size_t>(n - 1))};
      else r.exit = status_of(ws);
      finished_[it->index] = true;
      it = running_.erase(it);
    }
  }

  // Hands back, in order, every run whose turn has come.
  void hand_back() {
    while (handed_ < runs_.size() && finished_[handed_]) {
      done_(handed_, runs_[handed_]);
      runs_[handed_] = NsRun{};
      ++handed_;
    }
  }

  const std::vector<const Namespace*>& nss_;
  const RunAllOptions& o_;
  const std::function<void(size_t, NsRun&)>& done_;
  std::vector<NsRun> runs_;
  std::deque<bool> finished_ = std::deque<bool>(nss_.size(), false);
  std::deque<Running> running_;
  std::vector<std::string> under_sys_;
  size_t next_ = 0, handed_ = 0;
};

}  // namespace

void run_in_each(const std::vector<const Namespace*>& nss, const RunAllOptions& opts,
                 const std::function<void(size_t, NsRun&)>& done) {
  AllRunner(nss, opts, done).run();
}

}  // namespace nscope
