// /v1/session/* (spec 2.7). See kv_api.h.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/api/catalog_api.h"
#include "beacon/api/index_headers.h"
#include "beacon/api/json_in.h"
#include "beacon/api/kv_api.h"
#include "beacon/core/duration.h"
#include "beacon/core/strings.h"

namespace beacon::http::kvapi {

namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kSerfHealth = "serfHealth";
constexpr int64_t kSecondNs = 1000000000;
constexpr int64_t kTtlMinNs = 10 * kSecondNs;
constexpr int64_t kTtlMaxNs = 86400 * kSecondNs;
// Consul's lockDelayMinThreshold: a LockDelay below 1000 (ns) is a number of seconds.
constexpr int64_t kLockDelaySecondsBelow = 1000;

// What a create request failed with: 400 for an undecodable body, 500 for what Consul's server
// rejects (bad Behavior or TTL, catalog check).
struct CreateError {
  int code = 0;
  std::string text;
};

void SessionObject(JsonWriter& w, const kv::Session& s) {
  w.BeginObject();
  w.Key("ID").String(s.id).Key("Name").String(s.name).Key("Node").String(s.node);
  w.Key("LockDelay").Uint(s.lock_delay_ms * 1000000);
  w.Key("Behavior").String(s.behavior == kv::Session::Behavior::kDelete ? "delete" : "release");
  w.Key("TTL").String(core::GoDuration(s.ttl_ms));
  w.Key("NodeChecks").BeginArray();
  for (const std::string& c : s.node_checks) w.String(c);
  w.EndArray();
  w.Key("ServiceChecks");
  if (s.service_checks.empty()) {
    w.Null();
  } else {
    w.BeginArray();
    for (const kv::ServiceCheckRef& c : s.service_checks) {
      w.BeginObject().Key("ID").String(c.id).Key("Namespace").String(c.ns).EndObject();
    }
    w.EndArray();
  }
  // The deprecated Checks field: only when it says more than the default serfHealth.
  if (!s.node_checks.empty() && !(s.node_checks.size() == 1 && s.node_checks[0] == kSerfHealth)) {
    w.Key("Checks").BeginArray();
    for (const std::string& c : s.node_checks) w.String(c);
    w.EndArray();
  }
  w.Key("CreateIndex").Uint(s.create_index).Key("ModifyIndex").Uint(s.modify_index);
  w.EndObject();
}

void SessionArray(Response& out, const std::vector<kv::Session>& sessions, bool pretty) {
  JsonWriter w;
  w.BeginArray();
  for (const kv::Session& s : sessions) SessionObject(w, s);
  w.EndArray();
  SendJson(out, w, pretty);
}

bool ServiceChecks(dom::element v, std::vector<kv::ServiceCheckRef>* out, std::string* err) {
  out->clear();
  if (v.is_null()) return true;
  dom::array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) {
    *err = "ServiceChecks: expected an array of {\"ID\", \"Namespace\"} objects";
    return false;
  }
  for (dom::element item : arr) {
    dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS) {
      *err = "ServiceChecks: expected an array of {\"ID\", \"Namespace\"} objects";
      return false;
    }
    kv::ServiceCheckRef ref;
    for (dom::key_value_pair f : obj) {
      const std::string k = core::NormKey(f.key);
      if (k == "id" && !json_in::GetString(f.value, "ServiceChecks.ID", &ref.id, err)) return false;
      if (k == "namespace" &&
          !json_in::GetString(f.value, "ServiceChecks.Namespace", &ref.ns, err)) {
        return false;
      }
    }
    out->push_back(std::move(ref));
  }
  return true;
}

bool Blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// The body of PUT /v1/session/create over Consul's defaults (agent node, serfHealth, 15 s lock
// delay, release). False with *e set on any problem.
bool ParseCreate(std::string_view body, kv::Session* s, CreateError* e) {
  std::vector<std::string> checks = {std::string(kSerfHealth)};  // deprecated "Checks"
  int64_t lock_delay_ns = 15 * kSecondNs;
  int64_t ttl_ns = 0;
  std::string ttl_text, behavior;
  s->node_checks = {std::string(kSerfHealth)};
  if (!Blank(body)) {
    dom::parser parser;
    dom::element doc;
    simdjson::padded_string buf(body);
    if (auto err = parser.parse(buf).get(doc)) {
      *e = {400, json_in::DecodeFailed(err)};
      return false;
    }
    dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
      *e = {400, json_in::DecodeFailed("expected a JSON object")};
      return false;
    }
    std::string why;
    bool ok = true;
    for (dom::key_value_pair f : obj) {
      const std::string k = core::NormKey(f.key);
      if (k == "name") ok = json_in::GetString(f.value, "Name", &s->name, &why);
      if (k == "node") ok = json_in::GetString(f.value, "Node", &s->node, &why);
      if (k == "behavior") ok = json_in::GetString(f.value, "Behavior", &behavior, &why);
      if (k == "checks") ok = json_in::GetStringArray(f.value, "Checks", &checks, &why);
      if (k == "nodechecks") {
        ok = json_in::GetStringArray(f.value, "NodeChecks", &s->node_checks, &why);
      }
      if (k == "servicechecks") ok = ServiceChecks(f.value, &s->service_checks, &why);
      if (k == "lockdelay") {
        ok = json_in::GetDurationNs(f.value, "LockDelay", &lock_delay_ns, &why);
        if (ok && lock_delay_ns < 0) {
          ok = false;
          why = "LockDelay: must not be negative";
        }
      }
      if (k == "ttl") {
        std::string_view sv;
        if (f.value.get_string().get(sv) == simdjson::SUCCESS) {
          ttl_text = std::string(sv);
          if (!ttl_text.empty() && !core::ParseGoDuration(ttl_text, &ttl_ns, &why)) {
            std::string text = "Session TTL '" + ttl_text;
            text.append("' invalid: ").append(why);
            *e = {500, std::move(text)};
            return false;
          }
        } else {
          ok = json_in::GetDurationNs(f.value, "TTL", &ttl_ns, &why);
        }
      }
      if (!ok) {
        *e = {400, json_in::DecodeFailed(why)};
        return false;
      }
    }
  }
  // Consul's fixupEmptySessionChecks: an explicit empty Checks clears the default node check;
  // the default [serfHealth] in Checks defers to NodeChecks; an explicit empty NodeChecks drops
  // Checks. What is left of Checks joins NodeChecks.
  if (checks.empty()) {
    s->node_checks.clear();
  } else if ((checks.size() == 1 && checks[0] == kSerfHealth) || s->node_checks.empty()) {
    checks.clear();
  }
  for (std::string& c : checks) {
    bool dup = false;
    for (const std::string& have : s->node_checks) dup = dup || have == c;
    if (!dup) s->node_checks.push_back(std::move(c));
  }
  if (lock_delay_ns < kLockDelaySecondsBelow) lock_delay_ns *= kSecondNs;
  s->lock_delay_ms = static_cast<uint64_t>(lock_delay_ns / 1000000);
  if (behavior.empty() || behavior == "release") {
    s->behavior = kv::Session::Behavior::kRelease;
  } else if (behavior == "delete") {
    s->behavior = kv::Session::Behavior::kDelete;
  } else {
    *e = {500, "Invalid Behavior setting '" + behavior + "'"};
    return false;
  }
  if (ttl_ns != 0 && (ttl_ns < kTtlMinNs || ttl_ns > kTtlMaxNs)) {
    *e = {500,
          "Invalid Session TTL '" + std::to_string(ttl_ns) + "', must be between [10s=24h0m0s]"};
    return false;
  }
  s->ttl_ms = static_cast<uint64_t>(ttl_ns / 1000000);
  if (s->node.empty()) {
    *e = {500, "Must provide Node"};
    return false;
  }
  return true;
}

// The id after `prefix` in the path; "" after filling resp with 400 `missing`.
std::string PathArg(const Request& req, Response& resp, std::string_view prefix,
                    std::string_view missing) {
  std::string id = req.path.substr(prefix.size());
  if (id.empty()) resp.Text(400, missing);
  return id;
}

// A blocking session read; `read` fills the list and returns the index.
template <typename ReadFn>
void SessionRead(const Request& req, Response& resp, kv::Store* store, const KvApiOptions& opts,
                 ReadFn read) {
  BlockingParams bp;
  if (!CheckCommon(req, resp, opts, true) || !ParseBlocking(req, resp, &bp)) {
    SetIndexHeaders(resp, store->SessionsIndex());
    return;
  }
  const bool pretty = Pretty(req, opts);
  ReadBlock(
      req, resp, opts, *store, Topic::kSession, [store] { return store->SessionsIndex(); }, bp,
      [read, pretty](const Request&, Response& out) {
        std::vector<kv::Session> sessions;
        SetIndexHeaders(out, read(&sessions));
        SessionArray(out, sessions, pretty);
      });
}

}  // namespace

void AddSessionRoutes(Router& router, kv::Store& store, const KvApiOptions& opts) {
  kv::Store* st = &store;

  router.Handle("PUT", "/v1/session/create", [st, opts](const Request& req, Response& resp) {
    if (!CheckCommon(req, resp, opts, false)) return;
    kv::Session s;
    s.node = opts.node_name;
    CreateError err;
    if (!ParseCreate(req.body, &s, &err)) {
      resp.Text(err.code, err.text);
      return;
    }
    if (opts.validate_session) {
      if (std::string why = opts.validate_session(s); !why.empty()) {
        resp.Text(500, why);
        return;
      }
    }
    const bool pretty = Pretty(req, opts);
    DeferredPtr d = resp.Defer();
    st->CreateSession(std::move(s), [d, pretty](const kv::SessionResult& r) {
      if (!r.status.ok()) {
        d->Reply(ErrorResponse(500, r.status.message()));
        return;
      }
      Response out;
      JsonWriter w;
      w.BeginObject().Key("ID").String(r.session.id).EndObject();
      SendJson(out, w, pretty);
      d->Reply(std::move(out));
    });
  });

  router.Handle("PUT", "/v1/session/destroy/", [st, opts](const Request& req, Response& resp) {
    if (!CheckCommon(req, resp, opts, false)) return;
    std::string id = PathArg(req, resp, "/v1/session/destroy/", "Missing session");
    if (id.empty()) return;
    const bool pretty = Pretty(req, opts);
    DeferredPtr d = resp.Defer();
    st->DestroySession(std::move(id), [d, pretty](const kv::SessionResult& r) {
      if (!r.status.ok()) {
        d->Reply(ErrorResponse(500, r.status.message()));
        return;
      }
      Response out;
      JsonWriter w;
      w.Bool(true);
      SendJson(out, w, pretty);
      d->Reply(std::move(out));
    });
  });

  router.Handle("PUT", "/v1/session/renew/", [st, opts](const Request& req, Response& resp) {
    if (!CheckCommon(req, resp, opts, false)) return;
    std::string id = PathArg(req, resp, "/v1/session/renew/", "Missing session");
    if (id.empty()) return;
    const bool pretty = Pretty(req, opts);
    DeferredPtr d = resp.Defer();
    st->RenewSession(id, [d, pretty, id](const kv::SessionResult& r) {
      if (!r.status.ok()) {
        d->Reply(ErrorResponse(500, r.status.message()));
        return;
      }
      if (!r.found) {
        d->Reply(ErrorResponse(404, "Session id '" + id + "' not found"));
        return;
      }
      Response out;
      SessionArray(out, {r.session}, pretty);
      d->Reply(std::move(out));
    });
  });

  router.Handle("GET", "/v1/session/info/", [st, opts](const Request& req, Response& resp) {
    const std::string id = PathArg(req, resp, "/v1/session/info/", "Missing session");
    if (id.empty()) {
      SetIndexHeaders(resp, st->SessionsIndex());
      return;
    }
    SessionRead(req, resp, st, opts,
                [st, id](std::vector<kv::Session>* out) { return st->SessionInfo(id, out); });
  });

  router.Handle("GET", "/v1/session/node/", [st, opts](const Request& req, Response& resp) {
    const std::string node = PathArg(req, resp, "/v1/session/node/", "Missing node name");
    if (node.empty()) {
      SetIndexHeaders(resp, st->SessionsIndex());
      return;
    }
    SessionRead(req, resp, st, opts,
                [st, node](std::vector<kv::Session>* out) { return st->NodeSessions(node, out); });
  });

  router.Handle("GET", "/v1/session/list", [st, opts](const Request& req, Response& resp) {
    SessionRead(req, resp, st, opts,
                [st](std::vector<kv::Session>* out) { return st->Sessions(out); });
  });
}

}  // namespace beacon::http::kvapi
