#include "util/fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nscope {

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Fd open_private_output(const std::string& path, int flags) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600));
  struct stat st {};
  if (fd && fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) &&
      fchmod(fd.get(), st.st_mode & 07700) != 0) {
    int e = errno;
    fd.reset();
    errno = e;
  }
  return fd;
}

}  // namespace nscope
