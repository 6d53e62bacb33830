#include "discover/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "discover/mountinfo.h"
#include "util/diag.h"
#include "util/fd.h"
#include "util/strings.h"

namespace nscope {

namespace {
// Whether the calling thread already is in the namespace `netns_fd` opens: then nothing needs
// entering, which is what lets a user without CAP_SYS_ADMIN read its own namespace.
bool already_in(int netns_fd) {
  struct stat target {}, here {};
  return fstat(netns_fd, &target) == 0 && stat("/proc/thread-self/ns/net", &here) == 0 &&
         target.st_ino == here.st_ino && target.st_dev == here.st_dev;
}

// setns; refused without CAP_SYS_ADMIN even into the namespace the thread is in, which is
// then no failure (asked only after a refusal: the question costs two stats).
int enter(int netns_fd) {
  if (setns(netns_fd, CLONE_NEWNET) == 0) return 0;
  int err = errno;
  if (err == EPERM && already_in(netns_fd)) return 0;
  errno = err;
  return -1;
}
}  // namespace

Result<void> in_netns(int netns_fd, const std::function<void()>& fn) {
  int err = 0;
  std::thread t([&] {
    // setns(CLONE_NEWNET) changes only this thread's network namespace; the thread ends
    // with it, so no other thread of nscope ever runs in the entered namespace.
    if (enter(netns_fd) != 0) {
      err = errno;
      return;
    }
    fn();
  });
  t.join();
  if (err) return Error::sys(err, "cannot enter network namespace");
  return {};
}

Result<void> visit_netns(int netns_fd, const std::function<void()>& fn) {
  Fd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home) return Error::sys(errno, "cannot open this thread's network namespace");
  if (setns(netns_fd, CLONE_NEWNET) != 0) {
    int err = errno;
    if (err == EPERM && already_in(netns_fd)) {  // no way back needed
      fn();
      return {};
    }
    return Error::sys(err, "cannot enter network namespace");
  }
  struct Return {  // also when fn throws
    int home;
    ~Return() {
      if (setns(home, CLONE_NEWNET) == 0) return;
      diag("cannot return to its own network namespace: {}", std::strerror(errno));
      std::_Exit(1);
    }
  } back{home.get()};
  fn();
  return {};
}

std::vector<Result<void>> in_each_netns(const std::vector<int>& fds, unsigned threads,
                                        const std::function<void(size_t)>& fn) {
  std::vector<int> errs(fds.size(), 0);
  std::atomic<size_t> next{0};
  auto work = [&] {
    // Each worker moves from namespace to namespace; it never returns to serve anyone else
    // and ends when the list is done.
    for (size_t i; (i = next.fetch_add(1)) < fds.size();) {
      if (fds[i] < 0) {
        errs[i] = EBADF;
        continue;
      }
      if (enter(fds[i]) != 0) {
        errs[i] = errno;
        continue;
      }
      fn(i);
    }
  };
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(fds.size())));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  std::vector<Result<void>> out;
  out.reserve(fds.size());
  for (int e : errs) {
    if (e) out.emplace_back(Error::sys(e, "cannot enter network namespace"));
    else out.emplace_back();
  }
  return out;
}

Result<Fd> netns_of_process_fd(int pid, int fd, unsigned long request) {
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return Error::sys(errno, fmt::format("pidfd_open {}", pid));
  Fd copy(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  if (!copy) return Error::sys(errno, fmt::format("pidfd_getfd {}/{}", pid, fd));
  Fd ns(ioctl(copy.get(), request));
  if (!ns) return Error::sys(errno, fmt::format("the network namespace of fd {} of pid {}", fd, pid));
  return ns;
}

Result<Fd> open_in_mntns(const std::string& mntns_path, const std::string& path) {
  Fd mnt(::open(mntns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!mnt) return Error::sys(errno, "cannot open mount namespace " + mntns_path);
  Result<Fd> out = Error::msg("not opened");
  std::thread t([&] {
    // A thread shares its fs context (root, cwd) with the process until it unshares it;
    // only then may it enter another mount namespace.
    if (unshare(CLONE_FS) != 0 || setns(mnt.get(), CLONE_NEWNS) != 0) {
      out = Error::sys(errno, "cannot enter mount namespace " + mntns_path);
      return;
    }
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) out = std::move(fd);
    else out = Error::sys(errno, "cannot open " + path + " in mount namespace " + mntns_path);
  });
  t.join();
  return out;
}

uint64_t initial_netns_inode() {
  struct stat st {};
  return stat("/proc/2/ns/net", &st) == 0 ? st.st_ino : 0;
}

std::optional<std::string> netns_name_of_mount(std::string_view path) {
  for (std::string_view dir : {"/run/netns/", "/var/run/netns/"})
    if (path.starts_with(dir) && path.size() > dir.size() && path.find('/', dir.size()) == std::string_view::npos)
      return std::string(path.substr(dir.size()));
  return std::nullopt;
}

std::vector<std::string> netns_names(uint64_t inode) {
  std::vector<std::string> out;
  auto text = read_file("/proc/self/mountinfo");
  if (!text) return out;
  for (auto& m : nsfs_mounts(*text))
    if (m.type == NsType::net && m.inode == inode)
      if (auto name = netns_name_of_mount(m.path); name && std::find(out.begin(), out.end(), *name) == out.end())
        out.push_back(std::move(*name));
  return out;
}

bool is_hidden(const Namespace& n) {
  if (n.initial || n.holders.empty()) return false;
  return std::all_of(n.holders.begin(), n.holders.end(), [](const Holder& h) { return h.kind == HolderKind::peer; });
}

}  // namespace nscope
