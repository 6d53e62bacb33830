#include "discover/pidwalk.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "util/strings.h"

namespace nscope {

PidWalk::PidWalk(uint64_t inode) : want_(fmt::format("net:[{}]", inode)) {}

void PidWalk::list(bool skip_kthreads, int self) {
  std::vector<int> kthreads;
  if (skip_kthreads)
    if (auto text = read_file("/proc/2/task/2/children")) {
      for (auto w : split(trim(*text), ' '))
        if (auto v = parse_u64(w)) kthreads.push_back(static_cast<int>(*v));
      kthreads.push_back(2);
      std::sort(kthreads.begin(), kthreads.end());
    }
  proc_.reset(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::unique_ptr<DIR, int (*)(DIR*)> d(proc_ ? fdopendir(::dup(proc_.get())) : nullptr, closedir);
  if (d)
    while (dirent* e = readdir(d.get()))
      if (e->d_name[0] >= '1' && e->d_name[0] <= '9') {
        int pid = std::atoi(e->d_name);
        if (pid != self && !std::binary_search(kthreads.begin(), kthreads.end(), pid)) pids_.push_back(pid);
      }
  hit_ = std::make_unique<std::atomic<bool>[]>(pids_.size());
  listed_.store(true, std::memory_order_release);
}

void PidWalk::help() {
  if (!listed_.load(std::memory_order_acquire)) return;
  char path[64], link[64];
  for (size_t i; (i = next_.fetch_add(1)) < pids_.size();) {
    snprintf(path, sizeof path, "%d/ns/net", pids_[i]);
    ssize_t n = readlinkat(proc_.get(), path, link, sizeof link);
    if (n < 0 && (errno == EACCES || errno == EPERM)) refused_.fetch_add(1, std::memory_order_relaxed);
    if (n == static_cast<ssize_t>(want_.size()) && std::memcmp(link, want_.data(), want_.size()) == 0)
      hit_[i].store(true, std::memory_order_relaxed);
  }
}

std::vector<int> PidWalk::pids() const {
  std::vector<int> out;
  for (size_t i = 0; i < pids_.size(); ++i)
    if (hit_[i].load(std::memory_order_relaxed)) out.push_back(pids_[i]);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace nscope
