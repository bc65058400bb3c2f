// Helpers for Go structs encoded by go-msgpack as maps keyed by field name. Private to src/gossip.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "beacon/core/status.h"
#include "msgpack.h"

namespace beacon::gossip::mp {

// Reads a map and calls field(key) for each entry; field reads the value (or r.skip()s it) and
// returns false on a bad value. Returns an error Status naming `what` and the reason.
template <typename F>
Status read_struct(Reader& r, const char* what, F&& field) {
  std::size_t n = 0;
  bool ok = r.read_map(n);
  for (std::size_t i = 0; ok && i < n; ++i) {
    std::string key;
    ok = r.read_str(key) && field(key);
  }
  if (ok) return Status::Ok();
  return Status::Error(std::string("decode ") + what + ": " +
                       (r.error().empty() ? "bad value" : r.error()));
}

// One struct from a whole message body: fill(reader, value, key) reads each field.
template <typename T, typename F>
Result<T> decode_struct(std::span<const std::uint8_t> body, const char* what, F&& fill) {
  Reader r(body);
  T out{};
  Status st = read_struct(r, what, [&](const std::string& k) { return fill(r, out, k); });
  if (!st.ok()) return st;
  return out;
}

// A decoded message of one type as the variant M of every message type (or its error).
template <typename M, typename T>
Result<M> lift(Result<T> r) {
  if (!r.ok()) return r.status();
  return M{std::move(r.value())};
}

}  // namespace beacon::gossip::mp
