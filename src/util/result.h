// Errors as values: a Result<T> holds either a T or an Error that says what failed, where,
// and the errno behind it. Exceptions are used only at the CLI edge.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace nscope {

struct Error {
  int code = 0;         // errno, or 0 when the failure is not a system error
  std::string message;  // "cannot read /proc/4711/ns/net: permission denied"

  static Error sys(int err, std::string what);  // appends strerror(err)
  static Error msg(std::string what) { return Error{0, std::move(what)}; }
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
