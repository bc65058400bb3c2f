// One request through a Router, outside any server: a handler's Defer() reply lands in the
// returned Response (so a test stays synchronous as long as the handler replies in time).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "beacon/http/server.h"

namespace beacon::http::testing {

inline Response Dispatch(const Router& r, std::string method, std::string path,
                         std::string body = {},
                         std::vector<std::pair<std::string, std::string>> query = {}) {
  Request req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.body = std::move(body);
  req.query = std::move(query);
  Response resp;
  r.Dispatch(req, resp);
  return resp;
}

}  // namespace beacon::http::testing
