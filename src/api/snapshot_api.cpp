// GET/PUT /v1/snapshot. See snapshot_api.h.
#include "beacon/api/snapshot_api.h"

#include <strings.h>

#include <memory>
#include <utility>

#include "beacon/api/index_headers.h"

namespace beacon::http {

namespace {

bool OtherDc(const Request& req, const SnapshotApiOptions& o) {
  const std::string* dc = req.Query("dc");
  if (dc == nullptr) dc = req.Query("datacenter");
  return dc != nullptr && !dc->empty() && !o.datacenter.empty() &&
         strcasecmp(dc->c_str(), o.datacenter.c_str()) != 0;
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
    DeferredPtr d = resp.Defer();
    s->RestoreSnapshot(req.body, [d](Status st, uint64_t index) {
      Response r;
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
