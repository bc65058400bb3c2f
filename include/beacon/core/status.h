// Status and Result<T>: error values for code that must not throw.
//
// Contract: a Status is either ok() or carries a human-readable message. Result<T> holds either
// a T or an error Status. Both are plain values; copying allocates only for the message string.
// Any thread. The data plane (dns, net, snapshot readers) never constructs an error Status per
// packet: it uses rcodes and counters instead.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace beacon {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string msg) { return Status(std::move(msg)); }

  bool ok() const { return !msg_.has_value(); }
  // REQUIRES: !ok().
  const std::string& message() const { return *msg_; }

 private:
  explicit Status(std::string msg) : msg_(std::move(msg)) {}
  std::optional<std::string> msg_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status err) : err_(std::move(err)) {}   // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  // REQUIRES: ok().
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  // REQUIRES: !ok().
  const Status& status() const { return err_; }

 private:
  std::optional<T> value_;
  Status err_;
};

}  // namespace beacon
