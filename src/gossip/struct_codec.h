// Helpers for Go structs encoded by go-msgpack as maps keyed by field name. Private to src/gossip.
#pragma once

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

}  // namespace beacon::gossip::mp
