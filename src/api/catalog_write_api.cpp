// PUT /v1/catalog/register and /v1/catalog/deregister (spec 2.4): decoded and checked on the
// loop thread, applied on the catalog writer thread, answered once the change is published.
#include <string>
#include <utility>

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

// Runs `op` on the writer thread and answers through a Deferred: its error (500), or `true` once
// the snapshot holding the change is published (at once when the catalog did not change, since
// then nothing will be published for it).
void SubmitWrite(const CatalogCtx& ctx, const Request& req, Response& resp,
                 std::function<Status(catalog::Writer&)> op) {
  if (!ctx.opts.submit) {
    resp.Text(500, "Catalog writes are not available on this agent");
    return;
  }
  const bool pretty = Pretty(ctx, req);
  DeferredPtr d = resp.Defer();
  ctx.opts.submit(
      [op = std::move(op), d, pretty](catalog::Writer& w) {
        const Status st = op(w);
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
    SubmitWrite(*ctx, req, resp,
                [reg = std::move(reg)](catalog::Writer& w) { return w.Apply(reg); });
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
    SubmitWrite(*ctx, req, resp, [d = std::move(d)](catalog::Writer& w) {
      if (d.service_id.empty() && d.check_id.empty()) {
        w.RemoveNode(d.node);
        return Status::Ok();
      }
      if (!d.service_id.empty()) w.RemoveService(d.node, d.service_id);
      if (!d.check_id.empty()) w.RemoveCheck(d.node, d.check_id);
      return Status::Ok();
    });
  });
}

}  // namespace beacon::http::detail
