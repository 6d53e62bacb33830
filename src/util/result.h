// Errors as values: a Result<T> holds either a T or an Error that says what failed, where,
// what kind of failure it is, and the errno behind it. Exceptions are used only at the CLI
// edge, which maps the kind to an exit code (src/cli/commands.h).
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace nscope {

// What the caller can do about it. The CLI exits 2 for usage and 1 for the rest; a web view
// would answer 400, 404, 410, 403, 502 and 500.
enum class ErrorKind : uint8_t {
  usage,           // the input is wrong: a bad option value, a reference that names nothing
  not_found,       // what was asked for does not exist (ENOENT, ENODEV)
  gone,            // it existed and went away while we looked (ESRCH: the process exited)
  permission,      // EPERM, EACCES: root or a capability is missing
  kernel_refused,  // the kernel said no to a well-formed request (EINVAL, EOPNOTSUPP, a verifier log)
  io,              // reading or writing failed, or data was malformed
};

const char* error_kind_name(ErrorKind k);  // "usage", "not found", ...
ErrorKind error_kind_of_errno(int err);    // the kind an errno usually means

struct Error {
  ErrorKind kind = ErrorKind::io;
  int code = 0;         // errno, or 0 when the failure is not a system error
  std::string message;  // "cannot read /proc/4711/ns/net: permission denied"

  static Error sys(int err, std::string what);  // appends strerror(err); kind from errno
  static Error msg(std::string what, ErrorKind kind = ErrorKind::io) { return Error{kind, 0, std::move(what)}; }
  static Error usage(std::string what) { return Error{ErrorKind::usage, 0, std::move(what)}; }
  // The same failure said with more context in front: "rtnetlink: " + message.
  Error prefixed(const std::string& context) const { return Error{kind, code, context + message}; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}   // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

}  // namespace nscope
