#include "util/result.h"

#include <cstring>

namespace nscope {

Error Error::sys(int err, std::string what) {
  what += ": ";
  what += std::strerror(err);
  return Error{err, std::move(what)};
}

}  // namespace nscope
