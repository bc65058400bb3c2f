// /v1/kv/<key> (spec 2.3) and the pieces the session and txn endpoints share. See kv_api.h.
#include "beacon/api/kv_api.h"

#include <strings.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/api/index_headers.h"
#include "beacon/api/json_in.h"
#include "beacon/core/base64.h"

namespace beacon::http {

namespace kvapi {

void DirEntryObject(JsonWriter& w, const kv::Entry& e) {
  w.BeginObject();
  w.Key("LockIndex").Uint(e.lock_index).Key("Key").String(e.key).Key("Flags").Uint(e.flags);
  w.Key("Value");
  if (e.value.empty()) {
    w.Null();
  } else {
    w.String(core::Base64Encode(e.value));
  }
  if (!e.session.empty()) w.Key("Session").String(e.session);
  w.Key("CreateIndex").Uint(e.create_index).Key("ModifyIndex").Uint(e.modify_index);
  w.EndObject();
}

void SendJson(Response& resp, JsonWriter& w, bool pretty, int code) {
  if (!w.done()) {
    resp.Text(500, "internal error: response encoding");
    return;
  }
  resp.Json(pretty ? JsonWriter::Pretty(w.str()) : w.Take(), code);
}

bool Pretty(const Request& req, const KvApiOptions& opts) {
  return opts.pretty || req.HasQuery("pretty");
}

bool CheckCommon(const Request& req, Response& resp, const KvApiOptions& opts, bool read) {
  const std::string* dc = req.Query("datacenter");
  if (dc == nullptr) dc = req.Query("dc");
  if (dc != nullptr && !dc->empty() && !opts.datacenter.empty() &&
      strcasecmp(dc->c_str(), opts.datacenter.c_str()) != 0) {
    resp.Text(500, "No path to datacenter");
    return false;
  }
  if (read && req.HasQuery("stale") && req.HasQuery("consistent")) {
    resp.Text(400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
    return false;
  }
  if (opts.ready) {
    if (Status st = opts.ready(); !st.ok()) {
      resp.Text(500, st.message());
      return false;
    }
  }
  return true;
}

std::string KeyProblem(std::string_view key) {
  if (key.size() > kv::kMaxKeyBytes) {
    return "Key too long (" + std::to_string(key.size()) + " > " +
           std::to_string(kv::kMaxKeyBytes) + " bytes)";
  }
  for (size_t at = 0; at <= key.size();) {
    const size_t end = std::min(key.find('/', at), key.size());
    if (key.substr(at, end - at) == "..") {
      return "Invalid key name: \"..\" path segments are not allowed";
    }
    at = end + 1;
  }
  return "";
}

Response ErrorResponse(int code, std::string_view text) {
  Response r;
  r.Text(code, text);
  return r;
}

}  // namespace kvapi

namespace {

using kvapi::KeyProblem;
using kvapi::SendJson;

constexpr std::string_view kKvPrefix = "/v1/kv/";

// Go's url.QueryEscape.
std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

// Consul's conflictingFlags(): more than one of `flags` present -> 400 "Conflicting flags: "
// followed by the query re-encoded as Go's url.Values.Encode() does (sorted by key).
bool ConflictingFlags(const Request& req, Response& resp,
                      std::initializer_list<std::string_view> flags) {
  int found = 0;
  for (std::string_view f : flags) found += req.HasQuery(f) ? 1 : 0;
  if (found < 2) return false;
  std::vector<std::pair<std::string, std::string>> q = req.query;
  std::stable_sort(q.begin(), q.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string enc;
  for (const auto& [k, v] : q) {
    if (!enc.empty()) enc += '&';
    enc += QueryEscape(k) + "=" + QueryEscape(v);
  }
  resp.Text(400, "Conflicting flags: " + enc);
  return true;
}

// Parses ?name=<uint64> when present. False after filling resp with 400.
bool QueryUint(const Request& req, Response& resp, std::string_view name, uint64_t* out,
               bool* present) {
  const std::string* v = req.Query(name);
  *present = v != nullptr;
  if (v == nullptr) return true;
  uint64_t n = 0;
  bool ok = !v->empty();
  for (char c : *v) {
    if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) {
      ok = false;
      break;
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok) {
    resp.Text(400,
              "Invalid ?" + std::string(name) + " value \"" + *v + "\": not an unsigned integer");
    return false;
  }
  *out = n;
  return true;
}

// The reply to a plain KV write once the store answered. `bool_reply`: CAS-like ops answer the
// outcome; a plain set/delete always answers true.
Response WriteReply(const kv::WriteResult& r, bool bool_reply, bool pretty) {
  if (!r.status.ok()) return kvapi::ErrorResponse(500, r.status.message());
  bool ok = r.ok;
  if (!r.ok) {
    for (const kv::OpError& e : r.errors) {
      if (e.kind == kv::OpError::Kind::kInvalid) return kvapi::ErrorResponse(500, e.what);
    }
    if (r.errors.empty()) return kvapi::ErrorResponse(500, "KV write failed");
  }
  if (!bool_reply) ok = true;
  Response resp;
  JsonWriter w;
  w.Bool(ok);
  SendJson(resp, w, pretty);
  return resp;
}

void KvGet(const Request& req, Response& resp, kv::Store* store, const KvApiOptions& opts) {
  const std::string key = req.path.substr(kKvPrefix.size());
  BlockingParams bp;
  if (!kvapi::CheckCommon(req, resp, opts, true) || !ParseBlocking(req, resp, &bp)) {
    SetIndexHeaders(resp, store->KvIndex());
    return;
  }
  const bool keys = req.HasQuery("keys");
  const bool recurse = req.HasQuery("recurse");
  std::string problem = KeyProblem(key);
  if (problem.empty() && key.empty() && !keys && !recurse) problem = "Missing key name";
  if (!problem.empty()) {
    SetIndexHeaders(resp, store->KvIndex());
    resp.Text(400, problem);
    return;
  }
  const bool pretty = kvapi::Pretty(req, opts);
  if (keys) {
    std::string sep;
    if (const std::string* s = req.Query("seperator")) sep = *s;  // Consul's historic spelling
    if (const std::string* s = req.Query("separator")) sep = *s;
    kvapi::ReadBlock(
        req, resp, opts, *store, Topic::kKv, [store, key] { return store->PrefixIndex(key); }, bp,
        [store, key, sep, pretty](const Request&, Response& out) {
          std::vector<std::string> names;
          SetIndexHeaders(out, store->Keys(key, sep, &names));
          if (names.empty() && !key.empty()) {
            out.status = 404;
            return;
          }
          JsonWriter w;
          w.BeginArray();
          for (const std::string& n : names) w.String(n);
          w.EndArray();
          SendJson(out, w, pretty);
        });
    return;
  }
  if (recurse) {
    kvapi::ReadBlock(
        req, resp, opts, *store, Topic::kKv, [store, key] { return store->PrefixIndex(key); }, bp,
        [store, key, pretty](const Request&, Response& out) {
          std::vector<kv::Entry> entries;
          SetIndexHeaders(out, store->List(key, &entries));
          if (entries.empty()) {
            out.status = 404;
            return;
          }
          JsonWriter w;
          w.BeginArray();
          for (const kv::Entry& e : entries) kvapi::DirEntryObject(w, e);
          w.EndArray();
          SendJson(out, w, pretty);
        });
    return;
  }
  const bool raw = req.HasQuery("raw");
  kvapi::ReadBlock(
      req, resp, opts, *store, Topic::kKv, [store, key] { return store->KeyIndex(key); }, bp,
      [store, key, pretty, raw](const Request&, Response& out) {
        kv::Entry e;
        uint64_t index = 0;
        const bool found = store->Get(key, &e, &index);
        SetIndexHeaders(out, index);
        if (!found) {
          out.status = 404;
          return;
        }
        if (raw) {
          out.status = 200;
          out.SetHeader("Content-Type", "text/plain");
          out.SetHeader("X-Content-Type-Options", "nosniff");
          out.body = std::move(e.value);
          return;
        }
        JsonWriter w;
        w.BeginArray();
        kvapi::DirEntryObject(w, e);
        w.EndArray();
        SendJson(out, w, pretty);
      });
}

void KvPut(const Request& req, Response& resp, kv::Store* store, const KvApiOptions& opts) {
  kv::Op op;
  op.key = req.path.substr(kKvPrefix.size());
  if (!kvapi::CheckCommon(req, resp, opts, false)) return;
  if (op.key.empty()) {
    resp.Text(400, "Missing key name");
    return;
  }
  if (const std::string p = KeyProblem(op.key); !p.empty()) {
    resp.Text(400, p);
    return;
  }
  if (ConflictingFlags(req, resp, {"cas", "acquire", "release"})) return;
  bool has_flags = false, has_cas = false;
  if (!QueryUint(req, resp, "flags", &op.flags, &has_flags)) return;
  if (!QueryUint(req, resp, "cas", &op.index, &has_cas)) return;
  if (has_cas) op.verb = kv::Verb::kCas;
  if (const std::string* s = req.Query("acquire")) {
    op.verb = kv::Verb::kLock;
    op.session = *s;
  }
  if (const std::string* s = req.Query("release")) {
    op.verb = kv::Verb::kUnlock;
    op.session = *s;
  }
  if (req.body.size() > kv::kMaxValueBytes) {
    resp.Text(413, "Request body(" + std::to_string(req.body.size()) +
                       " bytes) too large, max size: " + std::to_string(kv::kMaxValueBytes) +
                       " bytes. See "
                       "https://developer.hashicorp.com/docs/agent/config/"
                       "config-files#kv_max_value_size.");
    return;
  }
  op.value = req.body;
  const bool bool_reply = op.verb != kv::Verb::kSet;
  const bool pretty = kvapi::Pretty(req, opts);
  DeferredPtr d = resp.Defer();
  std::vector<kv::Op> ops;
  ops.push_back(std::move(op));
  store->Apply(std::move(ops), [d, bool_reply, pretty](const kv::WriteResult& r) {
    d->Reply(WriteReply(r, bool_reply, pretty));
  });
}

void KvDelete(const Request& req, Response& resp, kv::Store* store, const KvApiOptions& opts) {
  kv::Op op;
  op.verb = kv::Verb::kDelete;
  op.key = req.path.substr(kKvPrefix.size());
  if (!kvapi::CheckCommon(req, resp, opts, false)) return;
  if (ConflictingFlags(req, resp, {"recurse", "cas"})) return;
  if (req.HasQuery("recurse")) {
    op.verb = kv::Verb::kDeleteTree;
  } else if (op.key.empty()) {
    resp.Text(400, "Missing key name");
    return;
  }
  if (const std::string p = KeyProblem(op.key); !p.empty()) {
    resp.Text(400, p);
    return;
  }
  bool has_cas = false;
  if (!QueryUint(req, resp, "cas", &op.index, &has_cas)) return;
  if (has_cas) op.verb = kv::Verb::kDeleteCas;
  const bool pretty = kvapi::Pretty(req, opts);
  DeferredPtr d = resp.Defer();
  std::vector<kv::Op> ops;
  ops.push_back(std::move(op));
  store->Apply(std::move(ops), [d, has_cas, pretty](const kv::WriteResult& r) {
    d->Reply(WriteReply(r, has_cas, pretty));
  });
}

}  // namespace

void AddKvRoutes(Router& router, kv::Store& store, const KvApiOptions& opts) {
  kv::Store* s = &store;
  router.Handle("GET", std::string(kKvPrefix),
                [s, opts](const Request& req, Response& resp) { KvGet(req, resp, s, opts); });
  router.Handle("PUT", std::string(kKvPrefix),
                [s, opts](const Request& req, Response& resp) { KvPut(req, resp, s, opts); });
  router.Handle("DELETE", std::string(kKvPrefix),
                [s, opts](const Request& req, Response& resp) { KvDelete(req, resp, s, opts); });
  kvapi::AddSessionRoutes(router, store, opts);
  kvapi::AddTxnRoutes(router, store, opts);
}

}  // namespace beacon::http
