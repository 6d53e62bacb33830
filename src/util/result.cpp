#include "util/result.h"

#include <cstring>

namespace nscope {

const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::usage: return "usage";
    case ErrorKind::not_found: return "not found";
    case ErrorKind::gone: return "gone";
    case ErrorKind::permission: return "permission";
    case ErrorKind::kernel_refused: return "kernel refused";
    case ErrorKind::io: return "I/O";
  }
  return "I/O";
}

ErrorKind error_kind_of_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO: return ErrorKind::not_found;
    case ESRCH: return ErrorKind::gone;
    case EPERM:
    case EACCES: return ErrorKind::permission;
    case EINVAL:
    case EOPNOTSUPP:
    case ENOSYS:
    case E2BIG:
    case EPROTONOSUPPORT: return ErrorKind::kernel_refused;
    default: return ErrorKind::io;
  }
}

Error Error::sys(int err, std::string what) {
  what += ": ";
  what += std::strerror(err);
  return Error{error_kind_of_errno(err), err, std::move(what)};
}

}  // namespace nscope
