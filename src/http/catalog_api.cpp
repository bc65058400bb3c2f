// Catalog, health and status read endpoints. See catalog_api.h.
#include "beacon/http/catalog_api.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include "beacon/http/json_writer.h"

namespace beacon::http {

namespace {

using catalog::Check;
using catalog::Health;
using catalog::Instance;
using catalog::Node;
using catalog::Service;
using catalog::ServiceEntry;
using catalog::Snapshot;
using catalog::SnapshotPtr;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Index headers of every blocking-capable read (spec 2.1); never 0.
void IndexHeaders(Response& resp, uint64_t index) {
  resp.SetHeader("X-Consul-Index", std::to_string(index == 0 ? 1 : index));
  resp.SetHeader("X-Consul-KnownLeader", "true");
  resp.SetHeader("X-Consul-LastContact", "0");
  resp.SetHeader("X-Consul-Effective-Consistency", "leader");
  resp.SetHeader("X-Consul-Default-ACL-Policy", "allow");
}

void StringMap(JsonWriter& w, const std::map<std::string, std::string>& m) {
  w.BeginObject();
  for (const auto& [k, v] : m) w.Key(k).String(v);
  w.EndObject();
}

void StringArray(JsonWriter& w, const std::vector<std::string>& v) {
  w.BeginArray();
  for (const auto& s : v) w.String(s);
  w.EndArray();
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

const char* CheckType(const Check& c) {
  if (c.ttl_ms != 0) return "ttl";
  if (!c.http.empty()) return "http";
  if (!c.tcp.empty()) return "tcp";
  if (!c.udp.empty()) return "udp";
  if (!c.grpc.empty()) return "grpc";
  if (!c.docker_container_id.empty()) return "docker";
  if (!c.args.empty()) return "script";
  if (c.id == "_node_maintenance" || c.id.rfind("_service_maintenance:", 0) == 0) {
    return "maintenance";
  }
  return "";
}

void NodeObject(JsonWriter& w, const Node& n, uint64_t create, uint64_t modify) {
  w.BeginObject();
  w.Key("ID").String(n.id).Key("Node").String(n.name).Key("Address").String(n.address);
  w.Key("Datacenter").String(n.datacenter);
  w.Key("TaggedAddresses");
  StringMap(w, n.tagged_addresses);
  w.Key("Meta");
  StringMap(w, n.meta);
  w.Key("CreateIndex").Uint(create).Key("ModifyIndex").Uint(modify);
  w.EndObject();
}

void ServiceTaggedAddresses(JsonWriter& w, const Service& s) {
  w.BeginObject();
  for (const auto& [k, v] : s.tagged_addresses) {
    w.Key(k).BeginObject().Key("Address").String(v.address).Key("Port").Uint(v.port).EndObject();
  }
  w.EndObject();
}

void Weights(JsonWriter& w, const Service& s) {
  w.BeginObject().Key("Passing").Uint(s.weights.passing);
  w.Key("Warning").Uint(s.weights.warning).EndObject();
}

// NodeService (spec 2.9), as health/service .Service.
void NodeServiceObject(JsonWriter& w, const Service& s, const Instance& in) {
  w.BeginObject();
  if (!s.kind.empty()) w.Key("Kind").String(s.kind);
  w.Key("ID").String(s.id).Key("Service").String(s.name).Key("Tags");
  StringArray(w, s.tags);
  w.Key("Address").String(s.address);
  if (!s.tagged_addresses.empty()) {
    w.Key("TaggedAddresses");
    ServiceTaggedAddresses(w, s);
  }
  w.Key("Meta");
  StringMap(w, s.meta);
  if (s.port != 0) w.Key("Port").Uint(s.port);
  w.Key("Weights");
  Weights(w, s);
  w.Key("EnableTagOverride").Bool(s.enable_tag_override);
  w.Key("Proxy").BeginObject().Key("Mode").String("");
  w.Key("MeshGateway").BeginObject().EndObject().Key("Expose").BeginObject().EndObject();
  w.EndObject();
  w.Key("Connect").BeginObject().EndObject().Key("PeerName").String("");
  w.Key("CreateIndex").Uint(in.create_index).Key("ModifyIndex").Uint(in.modify_index);
  w.EndObject();
}

void HealthCheckObject(JsonWriter& w, const Check& c, std::string_view node, const Service* svc) {
  w.BeginObject();
  w.Key("Node").String(node).Key("CheckID").String(c.id).Key("Name").String(c.name);
  w.Key("Status").String(HealthText(c.status)).Key("Notes").String(c.notes);
  w.Key("Output").String(c.output);
  w.Key("ServiceID").String(svc ? svc->id : c.service_id);
  w.Key("ServiceName").String(svc ? svc->name : c.service_name).Key("ServiceTags");
  StringArray(w, svc ? svc->tags : std::vector<std::string>());
  w.Key("Type").String(CheckType(c));
  w.Key("Interval").String(GoDuration(c.interval_ms));
  w.Key("Timeout").String(GoDuration(c.timeout_ms));
  w.Key("ExposedPort").Uint(0);
  w.Key("Definition").BeginObject();
  if (!c.http.empty()) w.Key("HTTP").String(c.http);
  if (!c.tcp.empty()) w.Key("TCP").String(c.tcp);
  if (c.interval_ms != 0) w.Key("Interval").String(GoDuration(c.interval_ms));
  if (c.timeout_ms != 0) w.Key("Timeout").String(GoDuration(c.timeout_ms));
  if (c.deregister_critical_after_ms != 0) {
    w.Key("DeregisterCriticalServiceAfter").String(GoDuration(c.deregister_critical_after_ms));
  }
  w.EndObject();
  w.Key("CreateIndex").Uint(0).Key("ModifyIndex").Uint(0);
  w.EndObject();
}

// The ?tag= values, lower-cased; every one must be on an instance (AND).
std::vector<std::string> TagFilter(const Request& req) {
  std::vector<std::string> tags;
  for (const auto& [k, v] : req.query) {
    if (k == "tag") tags.push_back(Lower(v));
  }
  return tags;
}

bool HasTags(const Instance& in, const std::vector<std::string>& want) {
  const auto& have = in.tags_lower();
  for (const auto& t : want) {
    if (std::find(have.begin(), have.end(), t) == have.end()) return false;
  }
  return true;
}

void Send(const Request& req, Response& resp, JsonWriter& w, uint64_t index) {
  IndexHeaders(resp, index);
  if (!w.done()) {
    resp.Text(500, "internal error: response encoding");
    return;
  }
  resp.Json(req.HasQuery("pretty") ? JsonWriter::Pretty(w.str()) : w.Take());
}

// The service named by the path after `prefix`, or nullptr. Sets `index` to the service's index
// when found, else the snapshot's.
const ServiceEntry* FindService(const Snapshot* snap, std::string_view name, uint64_t* index) {
  *index = snap ? snap->index : 1;
  if (snap == nullptr) return nullptr;
  const ServiceEntry* e = snap->services.Find(Lower(name));
  if (e != nullptr) *index = e->index;
  return e;
}

}  // namespace

std::string GoDuration(uint64_t ms) {
  if (ms == 0) return "";
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  const uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  if (h != 0) out += std::to_string(h) + "h";
  if (h != 0 || m != 0) out += std::to_string(m) + "m";
  out += std::to_string(s);
  if (frac != 0) {
    std::string f = std::to_string(frac + 1000).substr(1);  // three digits
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  out += "s";
  return out;
}

void AddCatalogRoutes(Router& router, const catalog::SnapshotHub& hub, const std::string& leader) {
  const catalog::SnapshotHub* h = &hub;

  router.Handle("GET", "/v1/status/leader", [leader](const Request&, Response& resp) {
    JsonWriter w;
    w.String(leader);
    resp.Json(w.Take());
  });
  router.Handle("GET", "/v1/status/peers", [leader](const Request&, Response& resp) {
    JsonWriter w;
    w.BeginArray().String(leader).EndArray();
    resp.Json(w.Take());
  });

  // Unknown catalog/health reads: 404 with the index headers, as every read of these trees has.
  for (const char* tree : {"/v1/catalog/", "/v1/health/"}) {
    router.Handle("GET", tree, [h](const Request&, Response& resp) {
      SnapshotPtr snap = h->Current();
      IndexHeaders(resp, snap ? snap->index : 1);
      resp.Text(404, "Invalid URL path: not a recognized HTTP API endpoint");
    });
  }

  // TODO(spec 2.2): blocking queries (?index, ?wait) for every read below.
  router.Handle("GET", "/v1/catalog/services", [h](const Request& req, Response& resp) {
    SnapshotPtr snap = h->Current();
    JsonWriter w;
    w.BeginObject();
    if (snap) {
      std::vector<const ServiceEntry*> all;
      snap->services.ForEach([&](const ServiceEntry& e) { all.push_back(&e); });
      std::sort(all.begin(), all.end(), [](const ServiceEntry* a, const ServiceEntry* b) {
        return std::string_view(a->name) < std::string_view(b->name);
      });
      for (const ServiceEntry* e : all) {
        std::vector<std::string> tags;
        for (const Instance& in : e->instances) {
          for (const auto& t : in.ToService().tags) {
            if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
          }
        }
        w.Key(std::string_view(e->name));
        StringArray(w, tags);
      }
    }
    w.EndObject();
    Send(req, resp, w, snap ? snap->index : 1);
  });

  router.Handle("GET", "/v1/catalog/nodes", [h](const Request& req, Response& resp) {
    SnapshotPtr snap = h->Current();
    JsonWriter w;
    w.BeginArray();
    if (snap) {
      std::vector<std::pair<Node, const catalog::NodeEntry*>> nodes;
      snap->nodes.ForEach(
          [&](const catalog::NodeEntry& n) { nodes.emplace_back(n.ToNode(snap->datacenter), &n); });
      std::sort(nodes.begin(), nodes.end(),
                [](const auto& a, const auto& b) { return a.first.name < b.first.name; });
      for (const auto& [n, e] : nodes) NodeObject(w, n, e->create_index, e->modify_index);
    }
    w.EndArray();
    Send(req, resp, w, snap ? snap->index : 1);
  });

  router.Handle("GET", "/v1/catalog/service/", [h](const Request& req, Response& resp) {
    const std::string_view name = std::string_view(req.path).substr(20);
    SnapshotPtr snap = h->Current();
    uint64_t index = 1;
    if (name.empty()) {
      IndexHeaders(resp, snap ? snap->index : 1);
      resp.Text(400, "Missing service name");
      return;
    }
    const ServiceEntry* e = FindService(snap.get(), name, &index);
    const std::vector<std::string> tags = TagFilter(req);
    JsonWriter w;
    w.BeginArray();
    for (size_t i = 0; e != nullptr && i < e->instances.size(); ++i) {
      const Instance& in = e->instances[i];
      if (!HasTags(in, tags)) continue;
      const Node n = in.node->ToNode(snap->datacenter);
      const Service s = in.ToService();
      w.BeginObject();
      w.Key("ID").String(n.id).Key("Node").String(n.name).Key("Address").String(n.address);
      w.Key("Datacenter").String(n.datacenter).Key("TaggedAddresses");
      StringMap(w, n.tagged_addresses);
      w.Key("NodeMeta");
      StringMap(w, n.meta);
      w.Key("ServiceKind").String(s.kind).Key("ServiceID").String(s.id);
      w.Key("ServiceName").String(s.name).Key("ServiceTags");
      StringArray(w, s.tags);
      w.Key("ServiceAddress").String(s.address);
      if (!s.tagged_addresses.empty()) {
        w.Key("ServiceTaggedAddresses");
        ServiceTaggedAddresses(w, s);
      }
      w.Key("ServiceWeights");
      Weights(w, s);
      w.Key("ServiceMeta");
      StringMap(w, s.meta);
      w.Key("ServicePort").Uint(s.port).Key("ServiceSocketPath").String("");
      w.Key("ServiceEnableTagOverride").Bool(s.enable_tag_override);
      w.Key("ServiceProxy").BeginObject().Key("Mode").String("");
      w.Key("MeshGateway").BeginObject().EndObject().Key("Expose").BeginObject().EndObject();
      w.EndObject();
      w.Key("ServiceConnect").BeginObject().EndObject().Key("ServiceLocality").Null();
      w.Key("CreateIndex").Uint(in.create_index).Key("ModifyIndex").Uint(in.modify_index);
      w.EndObject();
    }
    w.EndArray();
    Send(req, resp, w, index);
  });

  router.Handle("GET", "/v1/health/service/", [h](const Request& req, Response& resp) {
    const std::string_view name = std::string_view(req.path).substr(19);
    SnapshotPtr snap = h->Current();
    uint64_t index = 1;
    const ServiceEntry* e = FindService(snap.get(), name, &index);
    bool passing = false;
    if (const std::string* p = req.Query("passing")) {
      const std::string v = Lower(*p);
      if (v.empty() || v == "1" || v == "true") {
        passing = true;
      } else if (v != "false" && v != "0") {
        IndexHeaders(resp, index);
        resp.Text(400, "Invalid value for ?passing");
        return;
      }
    }
    if (name.empty()) {
      IndexHeaders(resp, index);
      resp.Text(400, "Missing service name");
      return;
    }
    const std::vector<std::string> tags = TagFilter(req);
    JsonWriter w;
    w.BeginArray();
    for (size_t i = 0; e != nullptr && i < e->instances.size(); ++i) {
      const Instance& in = e->instances[i];
      if (passing && in.health != Health::kPassing) continue;
      if (!HasTags(in, tags)) continue;
      const Node n = in.node->ToNode(snap->datacenter);
      const Service s = in.ToService();
      w.BeginObject().Key("Node");
      NodeObject(w, n, in.node->create_index, in.node->modify_index);
      w.Key("Service");
      NodeServiceObject(w, s, in);
      w.Key("Checks").BeginArray();
      for (const Check& c : in.node->checks()) HealthCheckObject(w, c, n.name, nullptr);
      for (const Check& c : in.checks()) HealthCheckObject(w, c, n.name, &s);
      w.EndArray().EndObject();
    }
    w.EndArray();
    Send(req, resp, w, index);
  });
}

}  // namespace beacon::http
