// Errors as values across module boundaries.
//
// An Error says what went wrong (a stable machine code plus a message a
// person can act on) and whether trying again may help (`recoverable`), the
// way alertmanager's Notifier.Notify does. Result<T> holds either a T or an
// Error. Exceptions stay at the library edges (toml++, SQLiteCpp, Asio) and
// are turned into Errors there.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace lg {

struct Error {
  std::string code;     // stable, machine-readable, e.g. "timeout", "config"
  std::string message;  // what was wrong and, where possible, how to mend it
  bool recoverable = false;

  static Error Permanent(std::string code, std::string message) {
    return Error{std::move(code), std::move(message), false};
  }
  static Error Transient(std::string code, std::string message) {
    return Error{std::move(code), std::move(message), true};
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

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

// Result of an operation that yields nothing but may fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static Status Ok() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace lg
