// Prepared-query definitions: create, read, update, delete, list, and their file. See
// query_api.h.
#include "beacon/api/query_api.h"

#include <simdjson.h>

#include <algorithm>
#include <utility>

#include "beacon/api/index_headers.h"
#include "beacon/config/query_body.h"
#include "beacon/core/file.h"
#include "beacon/core/strings.h"
#include "beacon/core/uuid.h"
#include "query_internal.h"

namespace beacon::http {

namespace query_detail {

bool Pretty(const State& s, const Request& req) {
  return s.opts.pretty || req.HasQuery("pretty");
}

void Send(const State& s, const Request& req, Response& resp, core::JsonWriter& w) {
  if (!w.done()) return resp.Text(500, "internal error: response encoding");
  resp.Json(Pretty(s, req) ? core::JsonWriter::Pretty(w.str()) : w.Take());
}

bool ForeignDc(const State& s, const Request& req, Response& resp) {
  const std::string* dc = req.Query("dc");
  if (dc != nullptr && !dc->empty() && core::Lower(*dc) != s.dc_lower) {
    resp.Text(500, "No path to datacenter");
    return true;
  }
  return false;
}

}  // namespace query_detail

namespace {

using catalog::PreparedQuery;
using query_detail::State;
using query_detail::StatePtr;

constexpr std::string_view kPrefix = "/v1/query/";

std::vector<PreparedQuery> All(const State& s) {
  std::vector<PreparedQuery> out;
  out.reserve(s.by_id.size());
  for (const auto& [k, q] : s.by_id) out.push_back(q);
  return out;
}

// The checks Consul's state store makes when a query is set into `by_id` (conflicts, the
// session).
std::string Conflicts(const std::map<std::string, PreparedQuery>& by_id, const QueryApiOptions& o,
                      const PreparedQuery& q) {
  const std::string id = core::Lower(q.id);
  const std::string name = core::Lower(q.name);
  for (const auto& [k, other] : by_id) {
    if (k == id) continue;
    if (!name.empty() && core::Lower(other.name) == name) {
      return "name '" + q.name + "' aliases an existing query name";
    }
    if (name.empty() && q.is_template() && other.is_template() && other.name.empty()) {
      return "a query template with an empty name already exists";
    }
  }
  if (core::IsUuid(q.name) && by_id.count(name) != 0) {
    return "name '" + q.name + "' aliases an existing query ID";
  }
  if (!q.session.empty() && o.session_exists && !o.session_exists(q.session)) {
    return "invalid session \"" + q.session + "\"";
  }
  return "";
}

// Persists the set, installs it in the catalog, then calls done("" or the file's error).
void Commit(const StatePtr& s, std::function<void(std::string)> done) {
  std::vector<PreparedQuery> defs = All(*s);
  auto install = [submit = s->opts.submit, defs, done](const std::string& err) mutable {
    if (!submit) return done(err);
    submit([defs = std::move(defs)](catalog::Writer& w) { w.SetPreparedQueries(defs); },
           [done, err]() { done(err); });
  };
  if (s->opts.file.empty() || !s->opts.persist) return install("");
  s->opts.persist(s->opts.file, QueryFileText(defs, s->index),
                  [install](std::string err) mutable { install(err); });
}

// Commit, then sends `answer` (500 when the file could not be written).
void Commit(const StatePtr& s, Response& resp, Response answer) {
  DeferredPtr d = resp.Defer();
  Commit(s, [d, answer = std::move(answer)](const std::string& err) mutable {
    if (!err.empty()) answer.Text(500, "failed to persist prepared queries: " + err);
    d->Reply(std::move(answer));
  });
}

// Loop thread: the whole set becomes `records` (JSON objects as GET /v1/query/<id> shows them).
void Replace(const StatePtr& s, const std::vector<std::string>& records,
             const std::function<void(Status)>& done) {
  std::string list = "[";
  for (const std::string& r : records) list += (list.size() > 1 ? "," : "") + r;
  list += "]";
  auto defs = config::DecodePreparedQueryList(list);
  if (!defs.ok()) {
    return done(Status::Error("invalid snapshot: prepared query: " + defs.status().message()));
  }
  std::map<std::string, PreparedQuery> by_id;
  uint64_t top = 0;
  for (PreparedQuery& q : defs.value()) {
    std::string why = q.id.empty() ? "missing ID" : catalog::CheckQuery(q);
    if (why.empty() && by_id.count(core::Lower(q.id)) != 0) why = "duplicate ID " + q.id;
    if (why.empty()) why = Conflicts(by_id, s->opts, q);
    if (!why.empty()) return done(Status::Error("invalid snapshot: prepared query: " + why));
    top = std::max({top, q.create_index, q.modify_index});
    by_id[core::Lower(q.id)] = std::move(q);
  }
  s->by_id = std::move(by_id);
  s->index = std::max(s->index, top) + 1;  // never backwards: blocking readers see a change
  Commit(s, [done](const std::string& err) {
    done(err.empty() ? Status::Ok() : Status::Error("failed to persist prepared queries: " + err));
  });
}

// Loop thread: the queries bound to a session that is gone go with it.
void DropOrphans(const StatePtr& s) {
  if (!s->opts.session_exists) return;
  bool changed = false;
  for (auto it = s->by_id.begin(); it != s->by_id.end();) {
    if (!it->second.session.empty() && !s->opts.session_exists(it->second.session)) {
      it = s->by_id.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (!changed) return;
  ++s->index;
  // Nobody waits for it: a failed write shows at the next one, which rewrites the whole file.
  Commit(s, [](const std::string&) {});
}

Result<PreparedQuery> Body(const Request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return PreparedQuery{};
  return config::DecodePreparedQuery(req.body);
}

// Validates q (already carrying its ID) and stores it; false after filling resp with the error.
bool Store(const StatePtr& s, PreparedQuery& q, Response& resp) {
  std::string why = catalog::CheckQuery(q);
  if (why.empty()) why = Conflicts(s->by_id, s->opts, q);
  if (!why.empty()) {
    resp.Text(400, why);
    return false;
  }
  const std::string key = core::Lower(q.id);
  auto it = s->by_id.find(key);
  ++s->index;
  q.create_index = it != s->by_id.end() ? it->second.create_index : s->index;
  q.modify_index = s->index;
  s->by_id[key] = q;
  return true;
}

void Create(const StatePtr& s, const Request& req, Response& resp) {
  if (query_detail::ForeignDc(*s, req, resp)) return;
  Result<PreparedQuery> body = Body(req);
  if (!body.ok()) return resp.Text(400, body.status().message());
  PreparedQuery q = std::move(body.value());
  if (!q.id.empty()) return resp.Text(400, "ID must be empty when creating a new prepared query");
  do {
    q.id = core::NewUuidV4(s->rng);
  } while (s->by_id.count(q.id) != 0);
  if (!Store(s, q, resp)) return;
  core::JsonWriter w;
  w.BeginObject().Key("ID").String(q.id).EndObject();
  Response answer;
  query_detail::Send(*s, req, answer, w);
  Commit(s, resp, std::move(answer));
}

void List(const StatePtr& s, const Request& req, Response& resp) {
  if (query_detail::ForeignDc(*s, req, resp)) return;
  BlockingParams bp;
  if (!ParseBlocking(req, resp, &bp)) return;
  auto compute = [s](const Request& r, Response& out) {
    core::JsonWriter w;
    w.BeginArray();
    for (const auto& [k, q] : s->by_id) config::WritePreparedQuery(w, q);
    w.EndArray();
    SetIndexHeaders(out, s->index, "leader");
    query_detail::Send(*s, r, out, w);
  };
  Block(
      req, resp, Topic::kCatalog, [s] { return s->index; }, bp.index, bp.wait_ms, compute);
}

void Specific(const StatePtr& s, const Request& req, Response& resp) {
  if (query_detail::ForeignDc(*s, req, resp)) return;
  const std::string id = req.path.substr(kPrefix.size());
  auto it = s->by_id.find(core::Lower(id));
  if (req.method == "GET") {
    if (it == s->by_id.end()) return resp.Text(404, "Query not found");
    core::JsonWriter w;
    w.BeginArray();
    config::WritePreparedQuery(w, it->second);
    w.EndArray();
    SetIndexHeaders(resp, s->index, "leader");
    return query_detail::Send(*s, req, resp, w);
  }
  if (it == s->by_id.end()) {
    return resp.Text(400, "Cannot modify non-existent prepared query: '" + id + "'");
  }
  if (req.method == "DELETE") {
    s->by_id.erase(it);
    ++s->index;
    return Commit(s, resp, Response{});
  }
  Result<PreparedQuery> body = Body(req);
  if (!body.ok()) return resp.Text(400, body.status().message());
  PreparedQuery q = std::move(body.value());
  q.id = it->second.id;  // the URL's query, not the body's ID
  if (!Store(s, q, resp)) return;
  Commit(s, resp, Response{});
}

}  // namespace

Result<std::vector<PreparedQuery>> LoadQueryFile(const std::string& path, uint64_t* index) {
  *index = 1;
  std::string text;
  bool missing = false;
  if (Status st = core::ReadFile(path, &text, &missing); !st.ok()) return st;
  if (missing) return std::vector<PreparedQuery>{};
  simdjson::dom::parser parser;
  simdjson::padded_string buf(text);
  simdjson::dom::object obj;
  if (parser.parse(buf).get_object().get(obj) != simdjson::SUCCESS) {
    return Status::Error(path + ": not a JSON object");
  }
  uint64_t idx = 1;
  simdjson::dom::element queries;
  if (obj["Index"].get_uint64().get(idx) != simdjson::SUCCESS ||
      obj["Queries"].get(queries) != simdjson::SUCCESS) {
    return Status::Error(path + ": missing Index or Queries");
  }
  auto list = config::DecodePreparedQueryList(simdjson::to_string(queries));
  if (!list.ok()) return Status::Error(path + ": " + list.status().message());
  *index = idx < 1 ? 1 : idx;
  return list;
}

std::string QueryFileText(const std::vector<PreparedQuery>& queries, uint64_t index) {
  core::JsonWriter w;
  w.BeginObject().Key("Index").Uint(index).Key("Queries").BeginArray();
  for (const PreparedQuery& q : queries) config::WritePreparedQuery(w, q);
  w.EndArray().EndObject();
  return w.Take();
}

std::vector<std::string> QueryRecords(const catalog::Snapshot& snap) {
  std::vector<std::string> out;
  if (!snap.queries) return out;
  for (const auto& c : snap.queries->queries()) {
    core::JsonWriter w;
    config::WritePreparedQuery(w, catalog::DefinitionOf(*c));
    out.push_back(w.Take());
  }
  return out;
}

ReplaceQueriesFn AddQueryRoutes(Router& router, const catalog::SnapshotHub& hub,
                                QueryApiOptions opts, std::function<void()>* drop_orphans) {
  auto s = std::make_shared<State>();
  s->hub = &hub;
  s->dc_lower = core::Lower(opts.datacenter);
  s->index = opts.initial_index < 1 ? 1 : opts.initial_index;
  for (PreparedQuery& q : opts.initial) s->by_id[core::Lower(q.id)] = std::move(q);
  opts.initial.clear();
  s->opts = std::move(opts);
  std::random_device rd;
  s->rng.seed((static_cast<uint64_t>(rd()) << 32) ^ rd());
  if (!s->opts.store) {  // a client agent: execute and explain here, the rest on a server
    Handler fwd = s->opts.forward;
    router.Handle("GET", std::string(kPrefix), [s, fwd](const Request& req, Response& resp) {
      if (!query_detail::HandleExec(s, req, resp) && fwd) fwd(req, resp);
    });
    if (!fwd) return nullptr;
    router.Handle("POST", "/v1/query", fwd);
    router.Handle("GET", "/v1/query", fwd);
    router.Handle("PUT", std::string(kPrefix), fwd);
    router.Handle("DELETE", std::string(kPrefix), fwd);
    return nullptr;
  }
  router.Handle("POST", "/v1/query",
                [s](const Request& req, Response& resp) { Create(s, req, resp); });
  router.Handle("GET", "/v1/query",
                [s](const Request& req, Response& resp) { List(s, req, resp); });
  for (const char* m : {"GET", "PUT", "DELETE"}) {
    router.Handle(m, std::string(kPrefix), [s](const Request& req, Response& resp) {
      if (req.method == "GET" && query_detail::HandleExec(s, req, resp)) return;
      Specific(s, req, resp);
    });
  }
  if (drop_orphans != nullptr) {
    *drop_orphans = [s] {
      if (!s->opts.post) return DropOrphans(s);
      s->opts.post([s] { DropOrphans(s); });
    };
  }
  return [s](std::vector<std::string> records, std::function<void(Status)> done) {
    auto run = [s, records = std::move(records), done = std::move(done)] {
      Replace(s, records, done);
    };
    if (!s->opts.post) return run();  // no server (unit tests): the caller's thread
    s->opts.post(std::move(run));
  };
}

}  // namespace beacon::http
