// GET/PUT /v1/snapshot. See snapshot_api.h.
#include "beacon/api/snapshot_api.h"

#include <strings.h>

#include <memory>
#include <utility>

#include "beacon/api/index_headers.h"
#include "beacon/kv/snapshot.h"

namespace beacon::http {

namespace {

bool OtherDc(const Request& req, const SnapshotApiOptions& o) {
  const std::string* dc = req.Query("dc");
  if (dc == nullptr) dc = req.Query("datacenter");
  return dc != nullptr && !dc->empty() && !o.datacenter.empty() &&
         strcasecmp(dc->c_str(), o.datacenter.c_str()) != 0;
}

// The store's file with the agent's prepared queries added (same header, so the same index).
Result<std::string> WithQueries(const std::string& file, const std::vector<std::string>& pqs) {
  Result<kv::SnapshotData> d = kv::ParseSnapshot(file);
  if (!d.ok()) return d.status();
  std::string out;
  kv::SnapshotWriter w(d->header, [&out](std::string_view c) {
    out.append(c);
    return Status::Ok();
  });
  Status st = w.AddIndex(d->kv_index, d->sessions_index);
  for (const kv::Session& s : d->sessions) st = st.ok() ? w.Add(s) : st;
  for (const kv::Entry& e : d->entries) st = st.ok() ? w.Add(e) : st;
  for (const kv::Tombstone& t : d->tombstones) st = st.ok() ? w.Add(t) : st;
  for (const std::string& q : pqs) st = st.ok() ? w.AddPreparedQuery(q) : st;
  if (st.ok()) st = w.Finish();
  if (!st.ok()) return st;
  return out;
}

}  // namespace

void AddSnapshotRoutes(Router& router, kv::Store& store, const SnapshotApiOptions& opts) {
  auto o = std::make_shared<const SnapshotApiOptions>(opts);
  kv::Store* s = &store;
  router.Handle("GET", "/v1/snapshot", [s, o](const Request& req, Response& resp) {
    if (OtherDc(req, *o)) {
      resp.Text(500, "No path to datacenter");
      return;
    }
    std::string file;
    uint64_t index = 0;
    Status st = s->SaveSnapshot(
        [&file](std::string_view chunk) {
          file.append(chunk);
          return Status::Ok();
        },
        &index);
    if (!st.ok()) {
      resp.Text(500, st.message());
      return;
    }
    if (o->prepared_queries) {
      std::vector<std::string> pqs = o->prepared_queries();
      if (!pqs.empty()) {
        Result<std::string> with = WithQueries(file, pqs);
        if (!with.ok()) {
          resp.Text(500, with.status().message());
          return;
        }
        file = std::move(with.value());
      }
    }
    SetIndexHeaders(resp, index);
    resp.status = 200;
    resp.SetHeader("Content-Type", "application/octet-stream");
    resp.body = std::move(file);
  });
  router.Handle("PUT", "/v1/snapshot", [s, o](const Request& req, Response& resp) {
    if (OtherDc(req, *o)) {
      resp.Text(500, "No path to datacenter");
      return;
    }
    if (req.body.empty()) {
      resp.Text(400, "Missing snapshot: the request body is empty");
      return;
    }
    auto pqs = std::make_shared<std::vector<std::string>>();
    if (o->restore_prepared_queries) {
      Result<kv::SnapshotData> parsed = kv::ParseSnapshot(req.body);
      if (!parsed.ok()) {
        resp.Text(400, parsed.status().message());
        return;
      }
      *pqs = std::move(parsed->prepared_queries);
    }
    DeferredPtr d = resp.Defer();
    s->RestoreSnapshot(req.body, [d, o, pqs](Status st, uint64_t index) {
      Response r;
      if (st.ok() && o->restore_prepared_queries) st = o->restore_prepared_queries(*pqs);
      if (!st.ok()) {
        // A file that failed verification is the client's error; anything else is ours.
        const bool bad = st.message().starts_with("invalid snapshot");
        r.Text(bad ? 400 : 500, st.message());
      } else {
        SetIndexHeaders(r, index);
        r.status = 200;
      }
      d->Reply(std::move(r));
    });
  });
}

}  // namespace beacon::http
