// GET /v1/query/<id-or-name>/execute and /explain (spec 2.8): the published snapshot's compiled
// set, the same Resolve and filter DNS uses. See query_api.h.
#include <algorithm>
#include <charconv>

#include "beacon/api/coordinate_api.h"
#include "beacon/catalog/writer.h"
#include "beacon/config/query_body.h"
#include "beacon/core/strings.h"
#include "catalog_internal.h"
#include "query_internal.h"

namespace beacon::http::query_detail {
namespace {

using catalog::QuerySet;

constexpr std::string_view kPrefix = "/v1/query/";

// The QueryMeta fields Consul's responses embed.
void QueryMeta(core::JsonWriter& w, uint64_t index) {
  w.Key("Index").Uint(index);
  w.Key("LastContact").Int(0);
  w.Key("KnownLeader").Bool(true);
  w.Key("ConsistencyLevel").String("leader");
  w.Key("NotModified").Bool(false);
  w.Key("Backend").Int(0);
}

// Near "_ip" (Consul): the node registered with the client's address, the first address of
// X-Forwarded-For when a proxy sent one; "" when no node holds it (no sorting then).
std::string NodeAtClientIp(const catalog::Snapshot& snap, const Request& req) {
  std::string ip = req.remote_ip;
  if (const std::string* fwd = req.Header("X-Forwarded-For"); fwd != nullptr) {
    std::string_view first = std::string_view(*fwd).substr(0, fwd->find(','));
    while (!first.empty() && (first.front() == ' ' || first.front() == '\t'))
      first.remove_prefix(1);
    while (!first.empty() && (first.back() == ' ' || first.back() == '\t')) first.remove_suffix(1);
    ip = std::string(first);
  }
  const std::string key = catalog::IpBytes(ip);  // the address map's key; "" if not an address
  if (key.empty()) return "";
  const catalog::NodeEntry* n = snap.ptr_nodes.Find(key);
  return n != nullptr ? n->name() : "";
}

void Execute(State& s, const catalog::Snapshot& snap, const catalog::QueryView& v,
             const catalog::PreparedQuery& rendered, const Request& req, uint64_t limit,
             Response& resp) {
  std::vector<const catalog::Instance*> nodes;
  if (const catalog::ServiceEntry* e = snap.services.Find(v.service_key)) {
    for (const catalog::Instance& in : e->instances) {
      if (catalog::QueryAccepts(v, in)) nodes.push_back(&in);
    }
  }
  std::shuffle(nodes.begin(), nodes.end(), s.rng);  // loop thread only
  // ?near, else the query's Near; "_agent" is this agent: sorted by estimated RTT from its
  // coordinate (Consul's sortNodesByDistanceFrom, stable after the shuffle), itself first.
  const std::string* near_q = req.Query("near");
  std::string near = near_q != nullptr && !near_q->empty() ? *near_q : rendered.near;
  if (near == "_agent") near = s.opts.node_name;
  if (near == "_ip") near = NodeAtClientIp(snap, req);
  if (!near.empty()) {
    if (s.opts.coordinates != nullptr) {
      SortNear(*s.opts.coordinates->Current(), near, nodes,
               [](const catalog::Instance* in) { return in->node->name(); });
    }
    const std::string key = core::Lower(near);
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i]->node->MatchesKey(key)) {
        std::rotate(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(i),
                    nodes.begin() + static_cast<std::ptrdiff_t>(i) + 1);  // order kept
        break;
      }
    }
  }
  if (limit > 0 && nodes.size() > limit) nodes.resize(limit);
  core::JsonWriter w;
  w.BeginObject();
  w.Key("Service").String(v.service);
  w.Key("Nodes").BeginArray();
  for (const catalog::Instance* in : nodes) {
    const std::string node = in->node->name();
    w.BeginObject().Key("Node");
    detail::NodeObject(w, *in->node, snap.datacenter);
    w.Key("Service");
    detail::NodeServiceObject(w, *in);
    w.Key("Checks").BeginArray();
    for (const catalog::Check& c : in->node->checks())
      detail::HealthCheckObject(w, c, node, nullptr);
    for (const catalog::Check& c : in->checks()) detail::HealthCheckObject(w, c, node, in);
    w.EndArray().EndObject();
  }
  w.EndArray();
  w.Key("DNS").BeginObject().Key("TTL").String(rendered.dns_ttl).EndObject();
  w.Key("Datacenter").String(s.opts.datacenter);
  w.Key("Failovers").Int(0);
  QueryMeta(w, snap.index);
  w.EndObject();
  SetIndexHeaders(resp, snap.index, "leader");
  Send(s, req, resp, w);
}

}  // namespace

bool HandleExec(const StatePtr& s, const Request& req, Response& resp) {
  std::string_view rest = std::string_view(req.path).substr(kPrefix.size());
  bool execute = false;
  if (rest.size() > 8 && rest.substr(rest.size() - 8) == "/execute") {
    execute = true;
  } else if (!(rest.size() > 8 && rest.substr(rest.size() - 8) == "/explain")) {
    return false;
  }
  const std::string name(rest.substr(0, rest.size() - 8));
  if (ForeignDc(*s, req, resp)) return true;
  uint64_t limit = 0;
  if (const std::string* l = req.Query("limit"); l != nullptr && !l->empty()) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc() || p != l->data() + l->size()) {
      resp.Text(500, "Bad limit: strconv.Atoi: parsing \"" + *l + "\": invalid syntax");
      return true;
    }
    limit = n > 0 ? static_cast<uint64_t>(n) : 0;
  }
  catalog::SnapshotPtr snap = s->hub->Current();
  if (!snap || !snap->queries) {
    resp.Text(404, "Query not found");
    return true;
  }
  auto scratch = std::make_unique<catalog::QueryScratch>();
  const catalog::QueryView* v = nullptr;
  const catalog::RenderInput in{name, {}};
  switch (snap->queries->Resolve(name, in, *scratch, &v)) {
    case QuerySet::Found::kOk:
      break;
    case QuerySet::Found::kNotFound:
      resp.Text(404, "Query not found");
      return true;
    case QuerySet::Found::kTemplateById:
      resp.Text(500, "prepared query templates can only be resolved up by name, not by ID");
      return true;
    case QuerySet::Found::kTooLarge:
      resp.Text(500, "prepared query template renders past 4096 bytes");
      return true;
  }
  const catalog::PreparedQuery rendered = catalog::RenderDefinition(*v->query, in);
  if (execute) {
    Execute(*s, *snap, *v, rendered, req, limit, resp);
    return true;
  }
  core::JsonWriter w;
  w.BeginObject().Key("Query");
  config::WritePreparedQuery(w, rendered);
  QueryMeta(w, snap->index);
  w.EndObject();
  SetIndexHeaders(resp, snap->index, "leader");
  Send(*s, req, resp, w);
  return true;
}

}  // namespace beacon::http::query_detail
