// Status and operator raft endpoints over a kv::ClusterView. See raft_api.h.
#include "beacon/api/raft_api.h"

#include <utility>

#include "beacon/core/json_writer.h"

namespace beacon::http {
namespace {

using core::JsonWriter;

void SendJson(Response& resp, JsonWriter& w, bool pretty) {
  resp.Json(pretty ? JsonWriter::Pretty(w.str()) : w.Take());
}

std::string ConfigurationJson(const kv::RaftConfiguration& c, bool pretty) {
  JsonWriter w;
  w.BeginObject().Key("Servers").BeginArray();
  for (const kv::RaftServer& s : c.servers) {
    w.BeginObject().Key("ID").String(s.id).Key("Node").String(s.node);
    w.Key("Address").String(s.address).Key("Leader").Bool(s.leader);
    w.Key("ProtocolVersion").String("3").Key("Voter").Bool(s.voter).EndObject();
  }
  w.EndArray().Key("Index").Uint(c.index).EndObject();
  return pretty ? JsonWriter::Pretty(w.str()) : w.Take();
}

}  // namespace

void AddRaftRoutes(Router& router, kv::ClusterView& cluster, bool pretty) {
  kv::ClusterView* c = &cluster;
  router.Handle("GET", "/v1/status/leader", [c, pretty](const Request& req, Response& resp) {
    JsonWriter w;
    w.String(c->Leader());
    SendJson(resp, w, pretty || req.HasQuery("pretty"));
  });
  router.Handle("GET", "/v1/status/peers", [c, pretty](const Request& req, Response& resp) {
    JsonWriter w;
    w.BeginArray();
    for (const std::string& p : c->Peers()) w.String(p);
    w.EndArray();
    SendJson(resp, w, pretty || req.HasQuery("pretty"));
  });
  router.Handle("GET", "/v1/operator/raft/configuration",
                [c, pretty](const Request& req, Response& resp) {
                  const bool pp = pretty || req.HasQuery("pretty");
                  DeferredPtr d = resp.Defer();
                  c->Configuration(req.HasQuery("stale"), [d, pp](Result<kv::RaftConfiguration> r) {
                    Response out;
                    if (r.ok()) {
                      out.Json(ConfigurationJson(r.value(), pp));
                    } else {
                      out.Text(500, r.status().message());
                    }
                    d->Reply(std::move(out));
                  });
                });
  router.Handle("DELETE", "/v1/operator/raft/peer", [c](const Request& req, Response& resp) {
    const std::string* address = req.Query("address");
    const std::string* id = req.Query("id");
    const bool has_address = address != nullptr && !address->empty();
    const bool has_id = id != nullptr && !id->empty();
    if (!has_address && !has_id) {
      resp.Text(400,
                "Must specify either ?id with the server's ID or ?address with IP:port of peer "
                "to remove");
      return;
    }
    if (has_address && has_id) {
      resp.Text(400, "Must specify only one of ?id or ?address");
      return;
    }
    DeferredPtr d = resp.Defer();
    c->RemovePeer(has_address ? *address : "", has_id ? *id : "", [d](const Status& st) {
      Response out;
      if (st.ok()) {
        out.status = 200;
      } else {
        out.Text(500, st.message());
      }
      d->Reply(std::move(out));
    });
  });
}

}  // namespace beacon::http
