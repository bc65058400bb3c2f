// Catalog and status read endpoints, and the plumbing every catalog/health read shares. See
// catalog_api.h.
#include "beacon/api/catalog_api.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "beacon/core/duration.h"
#include "beacon/core/strings.h"
#include "catalog_internal.h"

namespace beacon::http {

namespace detail {
namespace {

using catalog::Check;
using catalog::Health;
using catalog::Instance;
using catalog::NodeEntry;
using catalog::ServiceEntry;
using catalog::Snapshot;
using catalog::SnapshotPtr;

const std::map<std::string, std::string> kNoMap;

void StringMap(JsonWriter& w, const std::map<std::string, std::string>& m) {
  w.BeginObject();
  for (const auto& [k, v] : m) w.Key(k).String(v);
  w.EndObject();
}

template <typename Str>
void StringArray(JsonWriter& w, const std::vector<Str>& v) {
  w.BeginArray();
  for (const auto& s : v) w.String(s);
  w.EndArray();
}

const char* CheckType(const Check& c) {
  if (c.id == "_node_maintenance" || c.id.rfind("_service_maintenance:", 0) == 0) {
    return "maintenance";
  }
  if (c.ttl_ms != 0) return "ttl";
  if (!c.http.empty()) return "http";
  if (!c.tcp.empty()) return "tcp";
  if (!c.udp.empty()) return "udp";
  if (!c.grpc.empty()) return "grpc";
  if (!c.docker_container_id.empty()) return "docker";
  if (!c.args.empty()) return "script";
  if (!c.alias_node.empty() || !c.alias_service.empty()) return "alias";
  return "";
}

void ServiceTaggedAddresses(JsonWriter& w, const catalog::InstanceExtras& x) {
  w.BeginObject();
  for (const auto& [k, v] : x.tagged_addresses) {
    w.Key(k).BeginObject().Key("Address").String(v.address).Key("Port").Uint(v.port).EndObject();
  }
  w.EndObject();
}

void WeightsObject(JsonWriter& w, const catalog::Weights& ws) {
  w.BeginObject().Key("Passing").Uint(ws.passing).Key("Warning").Uint(ws.warning).EndObject();
}

void ProxyObject(JsonWriter& w) {
  w.BeginObject().Key("Mode").String("");
  w.Key("MeshGateway").BeginObject().EndObject().Key("Expose").BeginObject().EndObject();
  w.EndObject();
}

// ServiceNode (spec 2.9), as catalog/service returns it.
void ServiceNodeObject(JsonWriter& w, const Instance& in, std::string_view agent_dc) {
  const NodeEntry& n = *in.node;
  const catalog::NodeExtras* nx = n.extras.get();
  const catalog::InstanceExtras* x = in.extras.get();
  const catalog::InstanceExtras none;
  const catalog::InstanceExtras& sx = x ? *x : none;
  w.BeginObject();
  w.Key("ID").String(nx ? nx->id : "").Key("Node").String(n.name());
  w.Key("Address").String(n.AddressText());
  w.Key("Datacenter").String(nx && !nx->datacenter.empty() ? nx->datacenter : agent_dc);
  w.Key("TaggedAddresses");
  StringMap(w, nx ? nx->tagged_addresses : kNoMap);
  w.Key("NodeMeta");
  StringMap(w, nx ? nx->meta : kNoMap);
  w.Key("ServiceKind").String(sx.kind).Key("ServiceID").String(in.service.id.view());
  w.Key("ServiceName").String(in.service.name.view()).Key("ServiceTags");
  StringArray(w, sx.tags);
  w.Key("ServiceAddress").String(sx.address);
  if (!sx.tagged_addresses.empty()) {
    w.Key("ServiceTaggedAddresses");
    ServiceTaggedAddresses(w, sx);
  }
  w.Key("ServiceWeights");
  WeightsObject(w, sx.weights);
  w.Key("ServiceMeta");
  StringMap(w, sx.meta);
  w.Key("ServicePort").Uint(in.port).Key("ServiceSocketPath").String("");
  w.Key("ServiceEnableTagOverride").Bool(sx.enable_tag_override);
  w.Key("ServiceProxy");
  ProxyObject(w);
  w.Key("ServiceConnect").BeginObject().EndObject().Key("ServiceLocality").Null();
  w.Key("CreateIndex").Uint(in.create_index).Key("ModifyIndex").Uint(in.modify_index);
  w.EndObject();
}

// ?node-meta=k:v (a missing ':' means an empty value), repeatable.
void ParseNodeMeta(const Request& req, ReadParams* out) {
  for (const auto& [k, v] : req.query) {
    if (k != "node-meta") continue;
    const size_t colon = v.find(':');
    if (colon == std::string::npos) {
      out->node_meta.emplace_back(v, "");
    } else {
      out->node_meta.emplace_back(v.substr(0, colon), v.substr(colon + 1));
    }
  }
}

// A node's service instances (each service the node runs, the instances on it), by ID.
std::vector<const Instance*> InstancesOn(const Snapshot& s, const std::string& nkey) {
  std::vector<const Instance*> out;
  s.ForEachNodeService(nkey, [&](std::string_view k) {
    const ServiceEntry* e = s.services.Find(k);
    if (e == nullptr) return;
    for (const Instance& in : e->instances) {
      if (in.node->MatchesKey(nkey)) out.push_back(&in);
    }
  });
  std::sort(out.begin(), out.end(), [](const Instance* a, const Instance* b) {
    return a->service.id.view() < b->service.id.view();
  });
  return out;
}

}  // namespace

SnapshotPtr Current(const CatalogCtx& ctx) {
  static const SnapshotPtr kEmpty = std::make_shared<const Snapshot>();
  SnapshotPtr s = ctx.hub->Current();
  return s ? s : kEmpty;
}

bool Pretty(const CatalogCtx& ctx, const Request& req) {
  return ctx.opts.pretty_default || req.HasQuery("pretty");
}

bool ForeignDc(const CatalogCtx& ctx, std::string_view dc, Response& resp) {
  if (dc.empty() || core::Lower(dc) == ctx.dc_lower) return false;
  resp.Text(500, "No path to datacenter");
  return true;
}

bool ForeignDcQuery(const CatalogCtx& ctx, const Request& req, Response& resp) {
  const std::string* dc = req.Query("datacenter");  // wins over ?dc (spec 2.1)
  if (dc == nullptr || dc->empty()) dc = req.Query("dc");
  return dc != nullptr && ForeignDc(ctx, *dc, resp);
}

void ReadError(const CatalogCtx& ctx, Response& resp, int code, std::string_view msg) {
  SetIndexHeaders(resp, Current(ctx)->index, "leader");
  resp.Text(code, msg);
}

bool ParseRead(const CatalogCtx& ctx, const Request& req, Response& resp, ReadParams* out) {
  *out = ReadParams();
  out->pretty = Pretty(ctx, req);
  const bool stale = req.HasQuery("stale");
  const bool consistent = req.HasQuery("consistent");
  if (stale && consistent) {
    ReadError(ctx, resp, 400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
    return false;
  }
  out->consistency = stale ? "stale" : consistent ? "consistent" : "leader";
  if (!ParseBlocking(req, resp, &out->block)) {
    SetIndexHeaders(resp, Current(ctx)->index, out->consistency);
    return false;
  }
  if (const std::string* f = req.Query("filter"); f != nullptr && !f->empty()) {
    ReadError(ctx, resp, 400,
              "?filter is not supported: Beacon does not implement filter expressions");
    return false;
  }
  ParseNodeMeta(req, out);
  return true;
}

void BlockingRead(const CtxPtr& ctx, const Request& req, Response& resp, ReadParams params,
                  IndexFn index_of, RenderFn render) {
  if (ForeignDcQuery(*ctx, req, resp)) {
    SetIndexHeaders(resp, Current(*ctx)->index, params.consistency);
    return;
  }
  const BlockingParams block = params.block;
  auto probe = [ctx, index_of] { return index_of(*Current(*ctx)); };
  auto compute = [ctx, index_of = std::move(index_of), render = std::move(render),
                  params = std::move(params)](const Request&, Response& out) {
    const SnapshotPtr snap = Current(*ctx);  // one snapshot for both the index and the body
    const uint64_t index = index_of(*snap);
    JsonWriter w;
    render(*snap, w);
    SetIndexHeaders(out, index, params.consistency);
    if (!w.done()) {
      out.Text(500, "internal error: response encoding");
      return;
    }
    out.Json(params.pretty ? JsonWriter::Pretty(w.str()) : w.Take());
  };
  Block(req, resp, Topic::kCatalog, std::move(probe), block.index, block.wait_ms,
        std::move(compute));
}

bool NodeMetaMatches(const NodeEntry& n, const ReadParams& p) {
  if (p.node_meta.empty()) return true;
  const auto& meta = n.extras ? n.extras->meta : kNoMap;
  for (const auto& [k, v] : p.node_meta) {
    auto it = meta.find(k);
    if (it == meta.end() || it->second != v) return false;
  }
  return true;
}

std::vector<std::string> TagFilter(const Request& req) {
  std::vector<std::string> tags;
  for (const auto& [k, v] : req.query) {
    if (k == "tag") tags.push_back(core::Lower(v));
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

// `want` is sorted and unique (TagFilter). O(have * log want) per instance, so neither many
// ?tag= parameters nor many tags on an instance make it quadratic.
bool HasTags(const Instance& in, const std::vector<std::string>& want) {
  if (want.empty()) return true;
  const auto& have = in.tags_lower();
  if (want.size() == 1) return std::find(have.begin(), have.end(), want.front()) != have.end();
  std::vector<bool> hit(want.size());
  size_t hits = 0;
  for (const std::string& t : have) {
    auto it = std::lower_bound(want.begin(), want.end(), t);
    if (it == want.end() || *it != t) continue;
    const auto i = static_cast<size_t>(it - want.begin());
    if (!hit[i]) {
      hit[i] = true;
      ++hits;
    }
  }
  return hits == want.size();
}

std::vector<const Instance*> SelectInstances(const ServiceEntry* e, const ReadParams& p,
                                             const std::vector<std::string>& tags) {
  std::vector<std::pair<std::string, const Instance*>> keyed;
  if (e == nullptr) return {};
  for (const Instance& in : e->instances) {
    if (!NodeMetaMatches(*in.node, p) || !HasTags(in, tags)) continue;
    std::string key = core::Lower(in.node->name());
    key.push_back('\0');  // (node, id) order
    key.append(in.service.id.view());
    keyed.emplace_back(std::move(key), &in);
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const Instance*> out;
  out.reserve(keyed.size());
  for (const auto& kv : keyed) out.push_back(kv.second);
  return out;
}

void NodeObject(JsonWriter& w, const NodeEntry& n, std::string_view agent_dc) {
  const catalog::NodeExtras* x = n.extras.get();
  w.BeginObject();
  w.Key("ID").String(x ? x->id : "").Key("Node").String(n.name());
  w.Key("Address").String(n.AddressText());
  w.Key("Datacenter").String(x && !x->datacenter.empty() ? x->datacenter : agent_dc);
  w.Key("TaggedAddresses");
  StringMap(w, x ? x->tagged_addresses : kNoMap);
  w.Key("Meta");
  StringMap(w, x ? x->meta : kNoMap);
  w.Key("CreateIndex").Uint(n.create_index).Key("ModifyIndex").Uint(n.modify_index);
  w.EndObject();
}

void NodeServiceObject(JsonWriter& w, const Instance& in) {
  const catalog::InstanceExtras none;
  const catalog::InstanceExtras& x = in.extras ? *in.extras : none;
  w.BeginObject();
  if (!x.kind.empty()) w.Key("Kind").String(x.kind);
  w.Key("ID").String(in.service.id.view()).Key("Service").String(in.service.name.view());
  w.Key("Tags");
  StringArray(w, x.tags);
  w.Key("Address").String(x.address);
  if (!x.tagged_addresses.empty()) {
    w.Key("TaggedAddresses");
    ServiceTaggedAddresses(w, x);
  }
  w.Key("Meta");
  StringMap(w, x.meta);
  if (in.port != 0) w.Key("Port").Uint(in.port);
  w.Key("Weights");
  WeightsObject(w, x.weights);
  w.Key("EnableTagOverride").Bool(x.enable_tag_override);
  w.Key("Proxy");
  ProxyObject(w);
  w.Key("Connect").BeginObject().EndObject().Key("PeerName").String("");
  w.Key("CreateIndex").Uint(in.create_index).Key("ModifyIndex").Uint(in.modify_index);
  w.EndObject();
}

const char* HealthText(Health h) {
  switch (h) {
    case Health::kPassing:
      return "passing";
    case Health::kWarning:
      return "warning";
    default:
      return "critical";  // maintenance checks report critical
  }
}

void CheckJson(JsonWriter& w, const Check& c, std::string_view node, std::string_view service_id,
               std::string_view service_name, const std::vector<std::string>& tags,
               bool with_indexes) {
  w.BeginObject();
  w.Key("Node").String(node).Key("CheckID").String(c.id).Key("Name").String(c.name);
  w.Key("Status").String(HealthText(c.status)).Key("Notes").String(c.notes);
  w.Key("Output").String(c.output);
  w.Key("ServiceID").String(service_id).Key("ServiceName").String(service_name);
  w.Key("ServiceTags");
  StringArray(w, tags);
  w.Key("Type").String(CheckType(c));
  w.Key("Interval").String(core::GoDuration(c.interval_ms));
  w.Key("Timeout").String(core::GoDuration(c.timeout_ms));
  w.Key("ExposedPort").Uint(0);
  w.Key("Definition").BeginObject();  // HealthCheckDefinition, non-empty fields only
  if (!c.http.empty()) w.Key("HTTP").String(c.http);
  if (c.tls_skip_verify) w.Key("TLSSkipVerify").Bool(true);
  if (!c.method.empty()) w.Key("Method").String(c.method);
  if (!c.tcp.empty()) w.Key("TCP").String(c.tcp);
  if (c.interval_ms != 0) w.Key("Interval").String(core::GoDuration(c.interval_ms));
  if (c.timeout_ms != 0) w.Key("Timeout").String(core::GoDuration(c.timeout_ms));
  if (c.deregister_critical_after_ms != 0) {
    w.Key("DeregisterCriticalServiceAfter")
        .String(core::GoDuration(c.deregister_critical_after_ms));
  }
  if (!c.args.empty()) {
    w.Key("ScriptArgs");
    StringArray(w, c.args);
  }
  if (!c.docker_container_id.empty()) w.Key("DockerContainerID").String(c.docker_container_id);
  if (!c.shell.empty()) w.Key("Shell").String(c.shell);
  if (!c.grpc.empty()) w.Key("GRPC").String(c.grpc);
  if (c.ttl_ms != 0) w.Key("TTL").String(core::GoDuration(c.ttl_ms));
  w.EndObject();
  w.Key("CreateIndex").Uint(with_indexes ? c.create_index : 0);
  w.Key("ModifyIndex").Uint(with_indexes ? c.modify_index : 0);
  w.EndObject();
}

void HealthCheckObject(JsonWriter& w, const Check& c, std::string_view node, const Instance* in) {
  static const std::vector<std::string> kNoTags;
  CheckJson(w, c, node, in ? in->service.id.view() : std::string_view(c.service_id),
            in ? in->service.name.view() : std::string_view(c.service_name),
            in ? in->tags() : kNoTags, true);
}

namespace {

void AddCatalogReadRoutes(Router& router, const CtxPtr& ctx) {
  router.Handle("GET", "/v1/catalog/datacenters", [ctx](const Request& req, Response& resp) {
    JsonWriter w;
    w.BeginArray().String(ctx->opts.datacenter).EndArray();
    resp.Json(Pretty(*ctx, req) ? JsonWriter::Pretty(w.str()) : w.Take());
  });

  router.Handle("GET", "/v1/catalog/services", [ctx](const Request& req, Response& resp) {
    ReadParams p;
    if (!ParseRead(*ctx, req, resp, &p)) return;
    const bool meta = !p.node_meta.empty();
    auto index_of = [meta](const Snapshot& s) {
      return meta ? std::max(s.services_index, s.nodes_index) : s.services_index;
    };
    auto render = [p](const Snapshot& s, JsonWriter& w) {
      std::vector<const ServiceEntry*> all;
      s.services.ForEach([&](const ServiceEntry& e) { all.push_back(&e); });
      std::sort(all.begin(), all.end(), [](const ServiceEntry* a, const ServiceEntry* b) {
        return a->name.view() < b->name.view();
      });
      w.BeginObject();
      for (const ServiceEntry* e : all) {
        // Union over the (matching) instances, first seen first; a hash set keeps it linear.
        std::vector<std::string_view> tags;
        std::unordered_set<std::string_view> seen;
        bool any = false;
        for (const Instance& in : e->instances) {
          if (!NodeMetaMatches(*in.node, p)) continue;
          any = true;
          for (const auto& t : in.tags()) {
            if (seen.insert(t).second) tags.push_back(t);
          }
        }
        if (!any) continue;
        w.Key(e->name.view());
        StringArray(w, tags);
      }
      w.EndObject();
    };
    BlockingRead(ctx, req, resp, std::move(p), index_of, render);
  });

  router.Handle("GET", "/v1/catalog/nodes", [ctx](const Request& req, Response& resp) {
    ReadParams p;
    if (!ParseRead(*ctx, req, resp, &p)) return;
    auto render = [ctx, p, near = NearNode(*ctx, req)](const Snapshot& s, JsonWriter& w) {
      std::vector<std::pair<std::string, const NodeEntry*>> nodes;
      s.nodes.ForEach([&](const NodeEntry& n) {
        if (NodeMetaMatches(n, p)) nodes.emplace_back(core::Lower(n.name()), &n);
      });
      std::sort(nodes.begin(), nodes.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      SortNodesNear(*ctx, near, nodes);
      w.BeginArray();
      for (const auto& kv : nodes) NodeObject(w, *kv.second, s.datacenter);
      w.EndArray();
    };
    BlockingRead(
        ctx, req, resp, std::move(p), [](const Snapshot& s) { return s.nodes_index; }, render);
  });

  router.Handle("GET", "/v1/catalog/service/", [ctx](const Request& req, Response& resp) {
    const std::string key = core::Lower(std::string_view(req.path).substr(20));
    ReadParams p;
    if (!ParseRead(*ctx, req, resp, &p)) return;
    if (key.empty()) return ReadError(*ctx, resp, 400, "Missing service name");
    auto index_of = [key](const Snapshot& s) {
      const ServiceEntry* e = s.services.Find(key);
      return e != nullptr ? e->index : s.services_index;
    };
    auto render = [ctx, key, p, tags = TagFilter(req), near = NearNode(*ctx, req)](
                      const Snapshot& s, JsonWriter& w) {
      w.BeginArray();
      std::vector<const Instance*> list = SelectInstances(s.services.Find(key), p, tags);
      SortInstancesNear(*ctx, near, list);
      for (const Instance* in : list) {
        ServiceNodeObject(w, *in, s.datacenter);
      }
      w.EndArray();
    };
    BlockingRead(ctx, req, resp, std::move(p), index_of, render);
  });

  router.Handle("GET", "/v1/catalog/node/", [ctx](const Request& req, Response& resp) {
    const std::string key = core::Lower(std::string_view(req.path).substr(17));
    ReadParams p;
    if (!ParseRead(*ctx, req, resp, &p)) return;
    if (key.empty()) return ReadError(*ctx, resp, 400, "Missing node name");
    auto index_of = [key](const Snapshot& s) {
      const uint64_t i = s.NodeIndex(key);
      return i != 0 ? i : s.nodes_index;
    };
    auto render = [key](const Snapshot& s, JsonWriter& w) {
      const NodeEntry* n = s.nodes.Find(key);
      if (n == nullptr) {
        w.Null();  // Consul: 200 with the literal null (spec 2.4)
        return;
      }
      w.BeginObject().Key("Node");
      NodeObject(w, *n, s.datacenter);
      w.Key("Services").BeginObject();
      for (const Instance* in : InstancesOn(s, key)) {
        w.Key(in->service.id.view());
        NodeServiceObject(w, *in);
      }
      w.EndObject().EndObject();
    };
    BlockingRead(ctx, req, resp, std::move(p), index_of, render);
  });
}

}  // namespace
}  // namespace detail

void AddCatalogRoutes(Router& router, const catalog::SnapshotHub& hub,
                      const CatalogApiOptions& opts) {
  auto ctx = std::make_shared<detail::CatalogCtx>(
      detail::CatalogCtx{&hub, opts, core::Lower(opts.datacenter)});
  const detail::CtxPtr c = ctx;

  router.Handle("GET", "/v1/status/leader", [c](const Request& req, Response& resp) {
    JsonWriter w;
    w.String(c->opts.leader);
    resp.Json(detail::Pretty(*c, req) ? JsonWriter::Pretty(w.str()) : w.Take());
  });
  router.Handle("GET", "/v1/status/peers", [c](const Request& req, Response& resp) {
    JsonWriter w;
    w.BeginArray().String(c->opts.leader).EndArray();
    resp.Json(detail::Pretty(*c, req) ? JsonWriter::Pretty(w.str()) : w.Take());
  });

  // Unknown catalog/health reads: 404 with the index headers, as every read of these trees has.
  for (const char* tree : {"/v1/catalog/", "/v1/health/"}) {
    router.Handle("GET", tree, [c](const Request&, Response& resp) {
      detail::ReadError(*c, resp, 404, "Invalid URL path: not a recognized HTTP API endpoint");
    });
  }
  detail::AddCatalogReadRoutes(router, c);
  detail::AddHealthRoutes(router, c);
  detail::AddCatalogWriteRoutes(router, c);
}

}  // namespace beacon::http
