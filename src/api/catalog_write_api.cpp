// PUT /v1/catalog/register and /v1/catalog/deregister (spec 2.4): decoded and checked on the
// loop thread, applied on the catalog writer thread, answered once the change is published.
#include <string>
#include <utility>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/writer.h"
#include "beacon/config/limits.h"
#include "beacon/config/registration_body.h"
#include "catalog_internal.h"

namespace beacon::http::detail {
namespace {

bool Blank(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

Response TrueResponse(bool pretty) {
  Response r;
  r.Json(pretty ? "true\n" : "true");
  return r;
}

// Applies the changes, in order, on the writer thread and answers through a Deferred: the first
// error (500; the changes after it are not applied), or `true` once the snapshot holding them is
// published (at once when the catalog did not change, since then nothing will be published).
void SubmitWrite(const CatalogCtx& ctx, const Request& req, Response& resp,
                 std::vector<catalog::Change> changes) {
  if (!ctx.opts.submit) {
    resp.Text(500, "Catalog writes are not available on this agent");
    return;
  }
  const bool pretty = Pretty(ctx, req);
  DeferredPtr d = resp.Defer();
  ctx.opts.submit(
      [changes = std::move(changes), d, pretty](catalog::Writer& w) {
        Status st = Status::Ok();
        for (const catalog::Change& c : changes) {
          st = w.Apply(c);
          if (!st.ok()) break;
        }
        if (!st.ok()) {
          Response r;
          r.Text(500, st.message());
          d->Reply(std::move(r));
        } else if (!w.dirty()) {
          d->Reply(TrueResponse(pretty));
        }
      },
      [d, pretty] { d->Reply(TrueResponse(pretty)); });  // ignored after an error reply
}

// The decode failure answer, as Consul words it.
void DecodeError(Response& resp, std::string_view body, const Status& st) {
  resp.Text(400, "Request decode failed: " + (Blank(body) ? std::string("EOF") : st.message()));
}

}  // namespace

void AddCatalogWriteRoutes(Router& router, const CtxPtr& ctx) {
  router.Handle("PUT", "/v1/catalog/register", [ctx](const Request& req, Response& resp) {
    if (ForeignDcQuery(*ctx, req, resp)) return;
    catalog::Registration reg;
    Status st = config::DecodeCatalogRegister(req.body, &reg);
    if (!st.ok() || Blank(req.body)) return DecodeError(resp, req.body, st);
    if (ForeignDc(*ctx, reg.node.datacenter, resp)) return;
    st = config::CheckRegistrationLimits(reg);
    if (!st.ok()) return resp.Text(400, st.message());
    st = config::ValidateCatalogRegister(reg);
    if (!st.ok()) return resp.Text(500, st.message());
    reg.node.datacenter.clear();  // ours
    SubmitWrite(*ctx, req, resp, {catalog::LocalChange(catalog::op::Register{std::move(reg)})});
  });

  router.Handle("PUT", "/v1/catalog/deregister", [ctx](const Request& req, Response& resp) {
    if (ForeignDcQuery(*ctx, req, resp)) return;
    config::CatalogDeregister d;
    Status st = config::DecodeCatalogDeregister(req.body, &d);
    if (!st.ok() || Blank(req.body)) return DecodeError(resp, req.body, st);
    if (ForeignDc(*ctx, d.datacenter, resp)) return;
    st = config::ValidateCatalogDeregister(d);
    if (!st.ok()) return resp.Text(500, st.message());
    // Deregistering something unknown is not an error (Consul answers true).
    std::vector<catalog::Change> changes;
    if (d.service_id.empty() && d.check_id.empty()) {
      changes.push_back(catalog::LocalChange(catalog::op::RemoveNode{d.node}));
    }
    if (!d.service_id.empty()) {
      changes.push_back(catalog::LocalChange(catalog::op::RemoveService{d.node, d.service_id}));
    }
    if (!d.check_id.empty()) {
      changes.push_back(catalog::LocalChange(catalog::op::RemoveCheck{d.node, d.check_id}));
    }
    SubmitWrite(*ctx, req, resp, std::move(changes));
  });
}

}  // namespace beacon::http::detail
