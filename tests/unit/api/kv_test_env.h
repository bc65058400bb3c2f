// Shared fixture for the KV, session and txn endpoint tests: a KV store behind a real HTTP
// server, a raw-socket client and reply helpers.
#pragma once
#include <doctest.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../http/test_client.h"
#include "beacon/api/json_in.h"
#include "beacon/api/kv_api.h"
#include "beacon/core/base64.h"
#include "beacon/http/server.h"
#include "beacon/kv/store.h"

using namespace beacon;
using namespace beacon::http;
using beacon::http::testing::Exchange;

namespace kvtest {

namespace dom = simdjson::dom;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  const std::string& H(const std::string& name) const {
    static const std::string kNone = "<none>";
    auto it = headers.find(name);
    return it == headers.end() ? kNone : it->second;
  }
  uint64_t Index() const {
    return headers.count("x-consul-index") ? std::stoull(H("x-consul-index")) : 0;
  }
};

inline Reply ParseReply(const std::string& raw) {
  Reply r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  size_t at = raw.find("\r\n") + 2;
  while (at < end) {
    const size_t eol = raw.find("\r\n", at);
    const std::string line = raw.substr(at, eol - at);
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(colon + 2);
    at = eol + 2;
  }
  r.body = raw.substr(end + 4);
  return r;
}

struct KvFixture {
  Logger log{LogLevel::kError};
  std::unique_ptr<kv::Store> store = kv::NewMemStore();
  std::unique_ptr<HttpServer> server;

  static KvApiOptions Options() {
    KvApiOptions o;
    o.node_name = "node1";
    return o;
  }
  explicit KvFixture(const KvApiOptions& opts = Options()) {
    Router r;
    AddKvRoutes(r, *store, opts);
    HttpServerOptions so;
    so.port = 0;
    server = std::make_unique<HttpServer>(log, std::move(r), so);
    HttpServer* srv = server.get();
    store->SetOnCommit([srv](bool kv, bool sessions) {
      if (kv) srv->Notify(Topic::kKv);
      if (sessions) srv->Notify(Topic::kSession);
    });
    REQUIRE(server->Start().ok());
  }
  ~KvFixture() { server->Stop(); }

  Reply Do(const std::string& method, const std::string& target, const std::string& body = "") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!body.empty() || method == "PUT")
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    return ParseReply(Exchange(server->port(), req));
  }
  std::string NewSession(const std::string& body = "") {
    Reply r = Do("PUT", "/v1/session/create", body);
    REQUIRE(r.status == 200);
    dom::parser p;
    dom::element doc = p.parse(r.body);
    return std::string(std::string_view(doc["ID"]));
  }
};

// Parses a reply body as JSON (the parser keeps the document).
inline dom::element Json(dom::parser& p, const Reply& r) {
  dom::element e;
  REQUIRE_MESSAGE(p.parse(r.body).get(e) == simdjson::SUCCESS, r.body);
  return e;
}

inline std::string Str(dom::element e) {
  return std::string(std::string_view(e));
}

inline void CheckIndexHeaders(const Reply& r) {
  CHECK(r.Index() >= 1);
  CHECK(r.H("x-consul-knownleader") == "true");
  CHECK(r.H("x-consul-lastcontact") == "0");
}

}  // namespace kvtest

using namespace kvtest;  // NOLINT
