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
// A shared write that keeps losing to other servers' writes gives up after this many runs.
constexpr int kMaxWriteAttempts = 20;

// A set of definitions and its index: the state's, or a write's working copy.
struct Set {
  std::map<std::string, PreparedQuery> by_id;  // key: lower-case ID
  uint64_t index = 1;
};

std::vector<PreparedQuery> All(const std::map<std::string, PreparedQuery>& by_id) {
  std::vector<PreparedQuery> out;
  out.reserve(by_id.size());
  for (const auto& [k, q] : by_id) out.push_back(q);
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

// The file's text (QueryFileText) back as a set; `where` names it in errors.
Result<Set> ParseSet(const std::string& text, const std::string& where) {
  simdjson::dom::parser parser;
  simdjson::padded_string buf(text);
  simdjson::dom::object obj;
  if (parser.parse(buf).get_object().get(obj) != simdjson::SUCCESS) {
    return Status::Error(where + ": not a JSON object");
  }
  uint64_t idx = 1;
  simdjson::dom::element queries;
  if (obj["Index"].get_uint64().get(idx) != simdjson::SUCCESS ||
      obj["Queries"].get(queries) != simdjson::SUCCESS) {
    return Status::Error(where + ": missing Index or Queries");
  }
  auto list = config::DecodePreparedQueryList(simdjson::to_string(queries));
  if (!list.ok()) return Status::Error(where + ": " + list.status().message());
  Set out;
  out.index = idx < 1 ? 1 : idx;
  for (PreparedQuery& q : list.value()) out.by_id[core::Lower(q.id)] = std::move(q);
  return out;
}

void Warn(const State& s, const std::string& what) {
  if (s.opts.log != nullptr) s.opts.log->Log(LogLevel::kWarn, "query", "%s", what.c_str());
}

// Installs the state's set in the catalog; done once the snapshot holding it is published.
void Install(const StatePtr& s, std::function<void()> done) {
  if (!s->opts.submit) {
    if (done) done();
    return;
  }
  s->opts.submit([defs = All(s->by_id)](catalog::Writer& w) { w.SetPreparedQueries(defs); },
                 [done = std::move(done)] {
                   if (done) done();
                 });
}

// The shared value another server wrote becomes this server's set when it is newer than what
// the set came from. Returns whether the set changed.
bool Adopt(const StatePtr& s, bool exists, const std::string& text, int64_t rev) {
  if (!exists) {
    s->shared_rev = 0;  // deleted behind our back: the next write creates it again
    return false;
  }
  if (rev <= s->shared_rev) return false;
  s->shared_rev = rev;
  Result<Set> set = ParseSet(text, "shared prepared-query set in etcd");
  if (!set.ok()) {
    Warn(*s, set.status().message() + " (kept this server's set; the next write replaces it)");
    return false;
  }
  s->by_id = std::move(set.value().by_id);
  // The shared set's index, but never backwards and always forward on a change (a server whose
  // own file had a higher index must still wake its blocking lists and mirroring clients).
  s->index = std::max(s->index + 1, set.value().index);
  return true;
}

// A write: changes `set` and fills `answer` (kWrite), or fills `answer` with an error or a
// no-op answer and leaves `set` alone (kReply).
enum class Outcome { kWrite, kReply };
using WriteOp = std::function<Outcome(Set& set, Response& answer)>;
using ReplyFn = std::function<void(Response)>;  // null: nobody waits for the answer

// Runs `op` on a copy of the set and commits the result, then replies with op's answer (500
// when it could not be persisted) once the set is published. A file (or memory) set takes the
// copy at once and persists it; a shared set is written with a compare on the revision it came
// from and, when another server wrote first, takes that server's set and runs `op` again.
void Write(const StatePtr& s, WriteOp op, ReplyFn reply, int attempt = 0) {
  Set next{s->by_id, s->index};
  Response answer;
  if (op(next, answer) == Outcome::kReply) {
    if (reply) reply(std::move(answer));
    return;
  }
  auto finish = [reply, answer](const std::string& err) mutable {
    if (!err.empty()) answer.Text(500, "failed to persist prepared queries: " + err);
    if (reply) reply(std::move(answer));
  };
  if (!s->opts.shared_put) {
    s->by_id = std::move(next.by_id);
    s->index = next.index;
    auto install = [s, finish](const std::string& err) mutable {
      Install(s, [finish, err]() mutable { finish(err); });
    };
    if (s->opts.file.empty() || !s->opts.persist) return install("");
    s->opts.persist(s->opts.file, QueryFileText(All(s->by_id), s->index),
                    [install](const std::string& err) mutable { install(err); });
    return;
  }
  std::string text = QueryFileText(All(next.by_id), next.index);
  auto landed = [s, op = std::move(op), reply = std::move(reply), attempt, next = std::move(next),
                 finish](QueryApiOptions::SharedPut r) mutable {
    auto run = [s, op = std::move(op), reply = std::move(reply), attempt, next = std::move(next),
                finish, r = std::move(r)]() mutable {
      if (!r.status.ok()) return finish(r.status.message());
      if (!r.conflict) {
        if (r.rev > s->shared_rev) {  // else a newer set, holding this write, is here already
          s->by_id = std::move(next.by_id);
          s->index = std::max(s->index, next.index);
          s->shared_rev = r.rev;
        }
        return Install(s, [finish]() mutable { finish(""); });
      }
      if (attempt + 1 >= kMaxWriteAttempts) {
        return finish("the shared set in etcd kept changing under this write; try again");
      }
      if (Adopt(s, r.exists, r.text, r.rev)) Install(s, {});
      Write(s, std::move(op), std::move(reply), attempt + 1);
    };
    if (!s->opts.post) return run();
    s->opts.post(std::move(run));
  };
  s->opts.shared_put(std::move(text), s->shared_rev, std::move(landed));
}

ReplyFn ReplyTo(Response& resp) {
  DeferredPtr d = resp.Defer();
  return [d](Response r) { d->Reply(std::move(r)); };
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
  auto op = [s, defs = std::move(defs.value())](Set& set, Response& out) {
    std::map<std::string, PreparedQuery> by_id;
    uint64_t top = 0;
    for (const PreparedQuery& q : defs) {
      std::string why = q.id.empty() ? "missing ID" : catalog::CheckQuery(q);
      if (why.empty() && by_id.count(core::Lower(q.id)) != 0) why = "duplicate ID " + q.id;
      if (why.empty()) why = Conflicts(by_id, s->opts, q);
      if (!why.empty()) {
        out.Text(400, "invalid snapshot: prepared query: " + why);
        return Outcome::kReply;
      }
      top = std::max({top, q.create_index, q.modify_index});
      by_id[core::Lower(q.id)] = q;
    }
    set.by_id = std::move(by_id);
    set.index = std::max(set.index, top) + 1;  // never backwards: blocking readers see a change
    return Outcome::kWrite;
  };
  Write(s, std::move(op), [done](const Response& r) {
    if (r.status < 300) return done(Status::Ok());
    std::string why = r.body;
    if (!why.empty() && why.back() == '\n') why.pop_back();
    done(Status::Error(why));
  });
}

// Loop thread: the queries bound to a session that is gone go with it.
void DropOrphans(const StatePtr& s) {
  if (!s->opts.session_exists) return;
  // Nobody waits for it: a failed write shows at the next one, which rewrites the whole set.
  Write(
      s,
      [s](Set& set, Response&) {
        bool changed = false;
        for (auto it = set.by_id.begin(); it != set.by_id.end();) {
          if (!it->second.session.empty() && !s->opts.session_exists(it->second.session)) {
            it = set.by_id.erase(it);
            changed = true;
          } else {
            ++it;
          }
        }
        if (!changed) return Outcome::kReply;
        ++set.index;
        return Outcome::kWrite;
      },
      nullptr);
}

// Loop thread: the queries this server kept in its own file (`mine`, loaded at start) join the
// shared set: those it lacks, unless their name is taken there; then opts.handed_over.
void HandOver(const StatePtr& s, std::map<std::string, PreparedQuery> mine) {
  auto op = [s, mine = std::move(mine)](Set& set, Response&) {
    size_t added = 0;
    for (const auto& [id, q] : mine) {
      if (set.by_id.count(id) != 0) continue;
      if (std::string why = Conflicts(set.by_id, s->opts, q); !why.empty()) {
        Warn(*s, "prepared query " + q.id + " from this server's file not handed to etcd: " + why);
        continue;
      }
      set.by_id[id] = q;
      set.index = std::max(set.index, q.modify_index);
      ++added;
    }
    if (added == 0 && s->shared_rev != 0) return Outcome::kReply;  // all there already
    ++set.index;
    return Outcome::kWrite;
  };
  Write(s, std::move(op), [s](const Response& r) {
    if (r.status >= 300) {
      Warn(*s, "prepared queries not handed to etcd yet (the next start tries again): " + r.body);
      return;
    }
    if (s->opts.handed_over) s->opts.handed_over();
  });
}

// Loop thread: the shared value is now `text` at `rev`.
void SharedChanged(const StatePtr& s, bool exists, const std::string& text, int64_t rev) {
  const bool first = !s->shared_seen;
  s->shared_seen = true;
  std::map<std::string, PreparedQuery> mine;
  if (first) mine = s->by_id;  // a server that kept its queries in its own file hands them over
  if (Adopt(s, exists, text, rev)) Install(s, {});
  if (mine.empty()) return;
  Warn(*s, "handing the " + std::to_string(mine.size()) +
               " prepared queries this server kept in its own file to the shared set in etcd");
  HandOver(s, std::move(mine));
}

Result<PreparedQuery> Body(const Request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return PreparedQuery{};
  return config::DecodePreparedQuery(req.body);
}

// Validates q (already carrying its ID) and stores it in `set`; false after filling `out` with
// the error.
bool Store(const State& s, Set& set, PreparedQuery& q, Response& out) {
  std::string why = catalog::CheckQuery(q);
  if (why.empty()) why = Conflicts(set.by_id, s.opts, q);
  if (!why.empty()) {
    out.Text(400, why);
    return false;
  }
  const std::string key = core::Lower(q.id);
  auto it = set.by_id.find(key);
  ++set.index;
  q.create_index = it != set.by_id.end() ? it->second.create_index : set.index;
  q.modify_index = set.index;
  set.by_id[key] = q;
  return true;
}

void Create(const StatePtr& s, const Request& req, Response& resp) {
  if (query_detail::ForeignDc(*s, req, resp)) return;
  Result<PreparedQuery> body = Body(req);
  if (!body.ok()) return resp.Text(400, body.status().message());
  if (!body.value().id.empty()) {
    return resp.Text(400, "ID must be empty when creating a new prepared query");
  }
  const bool pretty = query_detail::Pretty(*s, req);
  auto op = [s, pretty, base = std::move(body.value())](Set& set, Response& out) {
    PreparedQuery q = base;
    do {
      q.id = core::NewUuidV4(s->rng);
    } while (set.by_id.count(q.id) != 0);
    if (!Store(*s, set, q, out)) return Outcome::kReply;
    core::JsonWriter w;
    w.BeginObject().Key("ID").String(q.id).EndObject();
    if (!w.done()) {
      out.Text(500, "internal error: response encoding");
      return Outcome::kReply;
    }
    out.Json(pretty ? core::JsonWriter::Pretty(w.str()) : w.Take());
    return Outcome::kWrite;
  };
  Write(s, std::move(op), ReplyTo(resp));
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
  if (req.method == "GET") {
    auto it = s->by_id.find(core::Lower(id));
    if (it == s->by_id.end()) return resp.Text(404, "Query not found");
    core::JsonWriter w;
    w.BeginArray();
    config::WritePreparedQuery(w, it->second);
    w.EndArray();
    SetIndexHeaders(resp, s->index, "leader");
    return query_detail::Send(*s, req, resp, w);
  }
  // Looked up in the set the write runs on (another server's, after a conflict).
  auto missing = [id](Response& out) {
    out.Text(400, "Cannot modify non-existent prepared query: '" + id + "'");
    return Outcome::kReply;
  };
  if (req.method == "DELETE") {
    auto op = [id, missing](Set& set, Response& out) {
      auto it = set.by_id.find(core::Lower(id));
      if (it == set.by_id.end()) return missing(out);
      set.by_id.erase(it);
      ++set.index;
      return Outcome::kWrite;
    };
    return Write(s, std::move(op), ReplyTo(resp));
  }
  if (s->by_id.count(core::Lower(id)) == 0) return missing(resp), void();
  Result<PreparedQuery> body = Body(req);
  if (!body.ok()) return resp.Text(400, body.status().message());
  auto op = [s, id, missing, base = std::move(body.value())](Set& set, Response& out) {
    auto it = set.by_id.find(core::Lower(id));
    if (it == set.by_id.end()) return missing(out);
    PreparedQuery q = base;
    q.id = it->second.id;  // the URL's query, not the body's ID
    return Store(*s, set, q, out) ? Outcome::kWrite : Outcome::kReply;
  };
  Write(s, std::move(op), ReplyTo(resp));
}

}  // namespace

Result<std::vector<PreparedQuery>> LoadQueryFile(const std::string& path, uint64_t* index) {
  *index = 1;
  std::string text;
  bool missing = false;
  if (Status st = core::ReadFile(path, &text, &missing); !st.ok()) return st;
  if (missing) return std::vector<PreparedQuery>{};
  Result<Set> set = ParseSet(text, path);
  if (!set.ok()) return set.status();
  *index = set.value().index;
  return All(set.value().by_id);
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
                                QueryApiOptions opts, QueryHooks* hooks) {
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
  if (hooks != nullptr) {
    hooks->drop_orphans = [s] {
      if (!s->opts.post) return DropOrphans(s);
      s->opts.post([s] { DropOrphans(s); });
    };
    hooks->shared_changed = [s](bool exists, std::string text, int64_t rev) {
      auto run = [s, exists, text = std::move(text), rev] { SharedChanged(s, exists, text, rev); };
      if (!s->opts.post) return run();
      s->opts.post(std::move(run));
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
