// A move-only owner of a file descriptor: closed exactly once, when the owner goes.
#pragma once

#include <string>
#include <utility>

namespace nscope {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Opens PATH for writing what holds packet bytes (event files, pcapng): a file it creates is
// mode 0600, and an existing regular file loses its group and other permissions before anything
// is written. FLAGS adds O_EXCL or O_TRUNC. An invalid Fd, errno set, on failure.
Fd open_private_output(const std::string& path, int flags);

}  // namespace nscope
