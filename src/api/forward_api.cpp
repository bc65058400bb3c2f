// A client agent's forwarding routes. See forward_api.h.
#include "beacon/api/forward_api.h"

#include <simdjson.h>

#include <memory>
#include <utility>

#include "beacon/core/json_writer.h"
#include "beacon/core/strings.h"

namespace beacon::http {

namespace {

bool Blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

std::string SessionCreateBody(const std::string& body, const std::string& node) {
  std::string field = "\"Node\":";
  core::JsonWriter::AppendQuoted(field, node);
  if (Blank(body)) return "{" + field + "}";
  simdjson::dom::parser parser;
  simdjson::padded_string buf(body);
  simdjson::dom::object obj;
  if (parser.parse(buf).get_object().get(obj) != simdjson::SUCCESS) return body;
  for (simdjson::dom::key_value_pair f : obj) {
    if (core::NormKey(f.key) == "node") return body;  // the caller chose (even "")
  }
  const size_t brace = body.find('{');
  if (obj.size() == 0) return "{" + field + "}";
  return body.substr(0, brace + 1) + field + "," + body.substr(brace + 1);
}

std::vector<std::string> ServerPortPaths() {
  return {"/v1/kv/",   "/v1/session/", "/v1/txn",           "/v1/status/",
          "/v1/query", "/v1/snapshot", "/v1/operator/raft/"};
}

void AddForwardRoutes(Router& router, Forwarder& fwd, ForwardApiOptions opts) {
  auto o = std::make_shared<const ForwardApiOptions>(std::move(opts));
  Forwarder* f = &fwd;
  auto relay = [f, o](const Request& req, Response& resp) {
    f->Forward(req, resp, o->servers ? o->servers() : std::vector<std::string>());
  };
  const std::pair<const char*, const char*> routes[] = {
      {"GET", "/v1/kv/"},
      {"PUT", "/v1/kv/"},
      {"DELETE", "/v1/kv/"},
      {"PUT", "/v1/session/destroy/"},
      {"PUT", "/v1/session/renew/"},
      {"GET", "/v1/session/info/"},
      {"GET", "/v1/session/node/"},
      {"GET", "/v1/session/list"},
      {"PUT", "/v1/txn"},
      {"GET", "/v1/status/leader"},
      {"GET", "/v1/status/peers"},
      {"GET", "/v1/operator/raft/configuration"},
      {"DELETE", "/v1/operator/raft/peer"},
      {"GET", "/v1/snapshot"},
      {"PUT", "/v1/snapshot"},
  };
  for (const auto& [method, route] : routes) router.Handle(method, route, relay);
  router.Handle("PUT", "/v1/session/create", [f, o](const Request& req, Response& resp) {
    Request copy = req;
    copy.body = SessionCreateBody(req.body, o->node_name);
    f->Forward(copy, resp, o->servers ? o->servers() : std::vector<std::string>());
  });
}

}  // namespace beacon::http
