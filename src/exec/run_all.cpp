#include "exec/run_all.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "discover/nsref.h"
#include "exec/enter.h"
#include "util/fd.h"
#include "util/strings.h"

extern char** environ;

namespace nscope {
namespace {

int status_of(int wstatus) {
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : 1;
}

// Reads both pipes to their end, into out and err.
void drain(Fd& out, Fd& err, std::string& out_text, std::string& err_text) {
  char buf[65536];
  while (out || err) {
    pollfd p[2] = {{out ? out.get() : -1, POLLIN, 0}, {err ? err.get() : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (p[k].fd < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(p[k].fd, buf, sizeof buf);
      if (n > 0) (k ? err_text : out_text).append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR) (k ? err : out).reset();
    }
  }
}

class AllRunner {
 public:
  AllRunner(const std::vector<const Namespace*>& nss, const RunAllOptions& o,
            const std::function<void(size_t, NsRun&)>& done)
      : nss_(nss), o_(o), done_(done), runs_(nss.size()), finished_(nss.size()) {
    under_sys_ = mounts_under_sys();
    for (const auto& a : o_.argv) argv_.push_back(const_cast<char*>(a.c_str()));
    argv_.push_back(nullptr);
  }

  void run() {
    for (size_t i = 0; i < nss_.size(); ++i) runs_[i].ns = nss_[i];
    std::vector<std::thread> workers;
    size_t n = std::min<size_t>(std::max(1u, o_.jobs), nss_.size());
    for (size_t w = 0; w < n; ++w) workers.emplace_back([this] { work(); });
    for (size_t i = 0; i < nss_.size(); ++i) {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return finished_[i] != 0; });
      lk.unlock();
      done_(i, runs_[i]);
      runs_[i] = NsRun{};
    }
    for (auto& t : workers) t.join();
  }

 private:
  // One worker thread: its own mount namespace, then namespaces until none is left.
  void work() {
    Fd home;
    std::optional<SysMounts> sys;
    std::optional<Error> broken;
    if (auto r = private_mount_namespace(); !r) broken = r.error();
    else if (o_.mount) home.reset(::open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC));
    else sys.emplace(under_sys_);
    EtcBinds etc;
    for (size_t i; (i = next_.fetch_add(1)) < nss_.size();) {
      if (broken) runs_[i].error = *broken;
      else run_one(runs_[i], home, sys, etc);
      std::lock_guard lk(mu_);
      finished_[i] = 1;
      cv_.notify_all();
    }
  }

  // Enters r.ns (opened from the worker's home view of the file system) and runs the command
  // there; r says what came of it.
  void run_one(NsRun& r, const Fd& home, std::optional<SysMounts>& sys, EtcBinds& etc) {
    if (home && setns(home.get(), CLONE_NEWNS) != 0) {
      r.error = Error::sys(errno, "cannot return to the worker's mount namespace");
      return;
    }
    auto fd = open_netns(*r.ns);
    if (!fd) {
      r.error = fd.error().code == ENOENT || fd.error().code == ESRCH
                    ? Error::msg(fmt::format("gone: network namespace {} vanished before it could be entered",
                                             r.ns->inode),
                                 ErrorKind::gone)
                    : fd.error();
      return;
    }
    Fd mnt;
    if (o_.mount) {
      auto m = holder_mntns(*r.ns);
      if (!m) {
        r.error = m.error();
        return;
      }
      mnt = std::move(*m);
    }
    if (setns(fd->get(), CLONE_NEWNET) != 0) {
      r.error = Error::sys(errno, "cannot enter the network namespace");
      return;
    }
    if (mnt && setns(mnt.get(), CLONE_NEWNS) != 0) {
      r.error = Error::sys(errno, "cannot enter the mount namespace");
      return;
    }
    if (sys) {
      std::string name = r.ns->names.empty() ? "" : r.ns->names.front();
      if (auto m = sys->remount(name); !m) {
        r.error = m.error();
        return;
      }
      etc.undo();
      etc.bind(name);
    }
    spawn(r);
  }

  // The command, stdin /dev/null, stdout and stderr into pipes read to their end.
  void spawn(NsRun& r) {
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0) {
      r.error = Error::sys(errno, "pipe");
      return;
    }
    Fd out(po[0]), out_w(po[1]);
    if (pipe2(pe, O_CLOEXEC) != 0) {
      r.error = Error::sys(errno, "pipe");
      return;
    }
    Fd err(pe[0]), err_w(pe[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, argv_[0], &fa, &at, argv_.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    out_w.reset();
    err_w.reset();
    if (rc != 0) {
      r.error = Error::sys(rc, fmt::format("cannot run '{}'", o_.argv.front()));
      return;
    }
    drain(out, err, r.out, r.err);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    r.exit = status_of(ws);
  }

  const std::vector<const Namespace*>& nss_;
  const RunAllOptions& o_;
  const std::function<void(size_t, NsRun&)>& done_;
  std::vector<NsRun> runs_;
  std::vector<char> finished_;  // under mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<size_t> next_{0};
  std::vector<std::string> under_sys_;
  std::vector<char*> argv_;
};

}  // namespace

void run_in_each(const std::vector<const Namespace*>& nss, const RunAllOptions& opts,
                 const std::function<void(size_t, NsRun&)>& done) {
  AllRunner(nss, opts, done).run();
}

}  // namespace nscope
