#include "discover/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "discover/mountinfo.h"
#include "discover/netns.h"
#include "util/fd.h"
#include "util/strings.h"

namespace nscope {
namespace {

struct Dir {
  explicit Dir(int dirfd) : d(dirfd >= 0 ? fdopendir(dirfd) : nullptr) {
    if (!d && dirfd >= 0) ::close(dirfd);
  }
  ~Dir() {
    if (d) closedir(d);
  }
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  DIR* d;
};

// What was skipped, by kind, and why: "processes' namespaces (permission denied)".
std::string skip_reason(const char* what, int err) {
  return std::string(what) + ((err == EACCES || err == EPERM) ? " (permission denied)" : " (vanished)");
}

// readlinkat into a small buffer; the ns links are "net:[4026531840]".
bool read_link(int dirfd, const char* name, std::string_view* out, char* buf, size_t len,
               int* err) {
  ssize_t n = readlinkat(dirfd, name, buf, len);
  if (n < 0) {
    *err = errno;
    return false;
  }
  *out = std::string_view(buf, static_cast<size_t>(n));
  return true;
}

// Reads the ns links below dirfd (an open /proc/PID/ns or /proc/PID/task/TID/ns).
int read_ns_slots(int nsdir, uint32_t* inum) {
  char buf[64];
  int first_err = 0;
  for (int s = 0; s < NSCOPE_SLOT_COUNT; ++s) {
    std::string_view link;
    int err = 0;
    if (!read_link(nsdir, slot_link_name(s).data(), &link, buf, sizeof buf, &err)) {
      if (err != ENOENT || s == 0) first_err = first_err ? first_err : err;
      continue;  // time namespaces may be missing on old kernels: ENOENT on one is fine
    }
    NsType t;
    uint64_t ino;
    if (parse_ns_link(link, &t, &ino)) inum[s] = static_cast<uint32_t>(ino);
  }
  return first_err;
}

bool numeric(const char* s) {
  if (!*s) return false;
  for (; *s; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

// The device of nsfs, the file system of namespace files: an fd on it is a namespace.
dev_t nsfs_dev() {
  static const dev_t dev = [] {
    struct stat st {};
    return stat("/proc/self/ns/net", &st) == 0 ? st.st_dev : 0;
  }();
  return dev;
}

void walk_fds(int piddir, uint32_t tgid, const nscope_task_rec& task, KernelWalk& out,
              std::map<std::string, uint64_t>& skipped) {
  Dir fds(openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fds.d) {
    ++skipped[skip_reason("processes' fds", errno)];
    return;
  }
  int dfd = dirfd(fds.d);
  char buf[128];
  while (dirent* de = readdir(fds.d)) {
    if (!numeric(de->d_name)) continue;
    std::string_view link;
    int err = 0;
    if (!read_link(dfd, de->d_name, &link, buf, sizeof buf, &err)) continue;
    nscope_file_rec rec{};
    rec.tgid = tgid;
    rec.fd = static_cast<uint32_t>(std::atoi(de->d_name));
    std::memcpy(rec.comm, task.comm, sizeof rec.comm);
    NsType t;
    uint64_t ino;
    if (parse_ns_link(link, &t, &ino)) {
      rec.kind = NSCOPE_REC_NSFD;
      rec.inum = static_cast<uint32_t>(ino);
      rec.ns_type = static_cast<uint32_t>(ns_clone_flag(t));
      out.files.push_back(rec);
    } else if (link.starts_with("/")) {
      // A namespace opened through a bind mount (`ip netns`'s /run/netns/NAME) reads as that
      // path: the fd's file system says it is one. Its type is asked later, of the fd.
      struct stat st {};
      if (fstatat(dfd, de->d_name, &st, 0) != 0 || !nsfs_dev() || st.st_dev != nsfs_dev()) continue;
      rec.kind = NSCOPE_REC_NSFD;
      rec.inum = static_cast<uint32_t>(st.st_ino);
      rec.ns_type = 0;
      out.files.push_back(rec);
    } else if (link.starts_with("socket:[")) {
      auto net = socket_netns_inode(static_cast<int>(tgid), static_cast<int>(rec.fd));
      if (!net) {
        ++skipped[skip_reason("sockets' namespaces", net.error().code)];
        continue;
      }
      if (*net == task.inum[NSCOPE_SLOT_NET]) continue;
      rec.kind = NSCOPE_REC_SOCK;
      rec.inum = static_cast<uint32_t>(*net);
      out.files.push_back(rec);
    }
  }
}

}  // namespace

Result<uint64_t> socket_netns_inode(int pid, int fd) {
  auto ns = netns_of_process_fd(pid, fd, SIOCGSKNS);
  if (!ns) return ns.error();
  struct stat st {};
  if (fstat(ns->get(), &st) != 0) return Error::sys(errno, "fstat netns");
  return static_cast<uint64_t>(st.st_ino);
}

void procfs_walk(const ProcfsOptions& opts, KernelWalk& out,
                 std::map<std::string, uint64_t>& skipped) {
  Dir proc(::open(opts.proc.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc.d) {
    ++skipped["cannot open " + opts.proc];
    return;
  }
  int procfd = dirfd(proc.d);
  while (dirent* de = readdir(proc.d)) {
    if (!numeric(de->d_name)) continue;
    uint32_t tgid = static_cast<uint32_t>(std::atoi(de->d_name));
    Fd piddir(openat(procfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!piddir) {
      ++skipped[skip_reason("processes", errno)];
      continue;
    }
    nscope_task_rec task{};
    task.kind = NSCOPE_REC_TASK;
    task.tgid = task.tid = tgid;
    Fd nsdir(openat(piddir.get(), "ns", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    int err = nsdir ? read_ns_slots(nsdir.get(), task.inum) : errno;
    if (err) {
      ++skipped[skip_reason("processes' namespaces", err)];
      if (task.inum[NSCOPE_SLOT_NET] == 0 && task.inum[NSCOPE_SLOT_MNT] == 0) continue;
    }
    {
      Fd comm(openat(piddir.get(), "comm", O_RDONLY | O_CLOEXEC));
      ssize_t n = comm ? ::read(comm.get(), task.comm, sizeof task.comm - 1) : -1;
      if (n > 0 && task.comm[n - 1] == '\n') task.comm[n - 1] = '\0';
    }
    out.tasks.push_back(task);

    if (opts.threads) {
      Dir tasks(openat(piddir.get(), "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (tasks.d) {
        while (dirent* te = readdir(tasks.d)) {
          if (!numeric(te->d_name)) continue;
          uint32_t tid = static_cast<uint32_t>(std::atoi(te->d_name));
          if (tid == tgid) continue;
          std::string path = std::string(te->d_name) + "/ns";
          Fd tns(openat(dirfd(tasks.d), path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
          if (!tns) continue;  // thread ended
          nscope_task_rec t = task;
          t.tid = tid;
          std::memset(t.inum, 0, sizeof t.inum);
          if (read_ns_slots(tns.get(), t.inum) == 0) out.tasks.push_back(t);
        }
      }
    }
    if (opts.fds) walk_fds(piddir.get(), tgid, task, out, skipped);
  }
}

}  // namespace nscope
