#include "topo/tun.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "discover/netns.h"
#include "util/fd.h"
#include "util/strings.h"

namespace nscope {

std::string tun_iff_from_fdinfo(std::string_view text) {
  for (auto line : split(text, '\n')) {
    if (!line.starts_with("iff:")) continue;
    return std::string(trim(line.substr(4)));
  }
  return {};
}

namespace {

bool numeric(const char* s) {
  if (!*s) return false;
  for (; *s; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

// The namespace of the device behind pid's fd: a copy of the fd, asked with TUNGETDEVNETNS.
uint64_t tun_netns(int pid, int fd) {
  auto ns = netns_of_process_fd(pid, fd, TUNGETDEVNETNS);
  struct stat st {};
  if (!ns || fstat(ns->get(), &st) != 0) return 0;
  return st.st_ino;
}

}  // namespace

std::vector<TunOwner> find_tun_owners(const std::string& proc) {
  std::vector<TunOwner> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(proc.c_str()), closedir);
  if (!d) return out;
  while (dirent* e = readdir(d.get())) {
    if (!numeric(e->d_name)) continue;
    std::string fddir = proc + "/" + e->d_name + "/fd";
    std::unique_ptr<DIR, int (*)(DIR*)> fds(opendir(fddir.c_str()), closedir);
    if (!fds) continue;
    int dfd = dirfd(fds.get());
    while (dirent* f = readdir(fds.get())) {
      if (!numeric(f->d_name)) continue;
      char link[64];
      ssize_t n = readlinkat(dfd, f->d_name, link, sizeof link - 1);
      if (n != 12 || std::memcmp(link, "/dev/net/tun", 12) != 0) continue;
      auto info = read_file(proc + "/" + e->d_name + "/fdinfo/" + f->d_name);
      if (!info) continue;
      TunOwner o;
      o.pid = std::atoi(e->d_name);
      o.fd = std::atoi(f->d_name);
      o.ifname = tun_iff_from_fdinfo(*info);
      if (o.ifname.empty()) continue;  // opened but not attached to a device
      auto comm = read_file(proc + "/" + e->d_name + "/comm");
      if (comm) o.command = std::string(trim(*comm));
      o.netns = tun_netns(o.pid, o.fd);
      out.push_back(std::move(o));
    }
  }
  return out;
}

}  // namespace nscope
