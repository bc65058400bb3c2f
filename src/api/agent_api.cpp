// /v1/agent/* endpoints. See agent_api.h.
#include "beacon/api/agent_api.h"

#include <algorithm>
#include <ctime>
#include <memory>
#include <string_view>
#include <utility>

#include "beacon/api/catalog_api.h"
#include "beacon/core/json_writer.h"
#include "beacon/core/strings.h"
#include "catalog_internal.h"
#include "cluster_internal.h"

#ifndef BEACON_VERSION
#define BEACON_VERSION "dev"
#endif

namespace beacon::http {
namespace {

using catalog::Check;
using catalog::Health;
using catalog::Service;

// The Consul release whose API Beacon answers as (spec 2.6 Member.Tags.build).
constexpr std::string_view kConsulVersion = "1.16.4";
constexpr std::string_view kRevision = "beacon";

void Send(const Request& req, Response& resp, JsonWriter& w) {
  if (!w.done()) {
    resp.Text(500, "internal error: response encoding");
    return;
  }
  resp.Json(req.HasQuery("pretty") ? JsonWriter::Pretty(w.str()) : w.Take());
}

void StringMap(JsonWriter& w, const std::map<std::string, std::string>& m) {
  w.BeginObject();
  for (const auto& [k, v] : m) w.Key(k).String(v);
  w.EndObject();
}

// AgentService (spec 2.9).
void AgentServiceObject(JsonWriter& w, const Service& s, std::string_view dc) {
  w.BeginObject();
  if (!s.kind.empty()) w.Key("Kind").String(s.kind);
  w.Key("ID").String(s.id).Key("Service").String(s.name).Key("Tags").BeginArray();
  for (const auto& t : s.tags) w.String(t);
  w.EndArray().Key("Meta");
  StringMap(w, s.meta);
  w.Key("Port").Uint(s.port).Key("Address").String(s.address);
  if (!s.tagged_addresses.empty()) {
    w.Key("TaggedAddresses").BeginObject();
    for (const auto& [k, v] : s.tagged_addresses) {
      w.Key(k).BeginObject().Key("Address").String(v.address).Key("Port").Uint(v.port);
      w.EndObject();
    }
    w.EndObject();
  }
  w.Key("Weights").BeginObject().Key("Passing").Uint(s.weights.passing);
  w.Key("Warning").Uint(s.weights.warning).EndObject();
  w.Key("EnableTagOverride").Bool(s.enable_tag_override).Key("Datacenter").String(dc);
  w.EndObject();
}

using KvStats = std::function<std::map<std::string, std::string>()>;

void SelfHandler(const AgentApi& api, const KvStats& kv_stats, const Request& req, Response& resp) {
  const AgentSelf s = api.Self();
  JsonWriter w;
  w.BeginObject().Key("Config").BeginObject();
  w.Key("Datacenter").String(s.datacenter).Key("PrimaryDatacenter").String(s.datacenter);
  w.Key("NodeName").String(s.node_name).Key("NodeID").String(s.node_id);
  w.Key("Revision").String(kRevision).Key("Server").Bool(s.server);
  w.Key("Version").String(kConsulVersion).Key("BuildDate").String("");
  w.Key("BeaconVersion").String(BEACON_VERSION);
  w.EndObject();
  w.Key("DebugConfig").BeginObject();
  w.Key("Datacenter").String(s.datacenter).Key("NodeName").String(s.node_name);
  w.Key("NodeID").String(s.node_id).Key("ServerMode").Bool(s.server);
  w.Key("AdvertiseAddrLAN").String(s.address).Key("Revision").String(kRevision);
  w.Key("Version").String(kConsulVersion);
  w.EndObject();
  w.Key("Coord").Null().Key("Member");
  detail::MemberJson(w, detail::SelfMember(s));
  w.Key("Stats").BeginObject();
  w.Key("agent").BeginObject().Key("checks").String(std::to_string(api.Checks().size()));
  w.Key("services").String(std::to_string(api.Services().size())).EndObject();
  w.Key("build").BeginObject().Key("prerelease").String("").Key("revision").String(kRevision);
  w.Key("version").String(kConsulVersion).Key("beacon").String(BEACON_VERSION).EndObject();
  const std::map<std::string, std::string> kv =
      kv_stats ? kv_stats() : std::map<std::string, std::string>{};
  // consul.leader: whether this server leads the consensus behind the KV store. The embedded
  // store's one server does; on etcd, the server whose supervised member (named after the node)
  // is etcd's leader, and none with external etcd members (no Beacon server leads them). The
  // kv section's leader is "<name> (<peer address>)".
  bool leader = s.server;
  std::string leader_addr;
  const auto l = kv.find("leader");
  if (l != kv.end()) {
    const std::string& v = l->second;
    if (const size_t open = v.rfind(" ("); open != std::string::npos && v.ends_with(")")) {
      leader_addr = v.substr(open + 2, v.size() - open - 3);
    }
    if (auto b = kv.find("backend"); b != kv.end() && b->second == "etcd") {
      leader = s.server && v.starts_with(s.node_name + " (");
    }
  }
  w.Key("consul").BeginObject().Key("server").String(s.server ? "true" : "false");
  w.Key("known_datacenters").String("1").Key("leader").String(leader ? "true" : "false");
  if (!leader_addr.empty()) w.Key("leader_addr").String(leader_addr);
  w.EndObject();
  if (kv_stats) {
    w.Key("kv").BeginObject();
    for (const auto& [k, v] : kv) w.Key(k).String(v);
    w.EndObject();
  }
  w.EndObject();
  w.Key("Meta");
  StringMap(w, s.meta);
  w.EndObject();
  Send(req, resp, w);
}

void MetricsHandler(const AgentApi& api, const Request& req, Response& resp) {
  const std::string* format = req.Query("format");
  if (format != nullptr && !format->empty() && *format != "prometheus") {
    resp.Text(400, "Invalid format: \"" + *format + "\" (only \"prometheus\" is supported)");
    return;
  }
  const std::vector<Metric> ms = api.Metrics();
  if (format != nullptr && *format == "prometheus") {
    resp.status = 200;
    resp.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    resp.body = metrics::FormatPrometheus(ms);
    return;
  }
  const uint64_t wall_ms = static_cast<uint64_t>(std::time(nullptr)) * 1000;
  std::string json = metrics::FormatConsulJson(ms, wall_ms, api.UptimeSeconds());
  if (req.HasQuery("pretty")) json = JsonWriter::Pretty(json);
  resp.Json(std::move(json));
}

std::string Suffix(const Request& req, std::string_view prefix) {
  return req.path.substr(std::min(prefix.size(), req.path.size()));
}

// ?enable= as Consul parses it; false after answering 400.
bool ParseEnable(const Request& req, Response& resp, bool* enable) {
  const std::string* v = req.Query("enable");
  if (v == nullptr || v->empty()) {
    resp.Text(400, "Missing value for enable");
    return false;
  }
  if (!core::ParseGoBool(*v, enable)) {
    resp.Text(400, "Invalid value for enable: \"" + *v + "\"");
    return false;
  }
  return true;
}

std::string QueryOr(const Request& req, std::string_view name) {
  const std::string* v = req.Query(name);
  return v != nullptr ? *v : std::string();
}

void AddReads(Router& router, AgentApi& api, const KvStats& kv_stats) {
  router.Handle("GET", "/v1/agent/self", [&api, kv_stats](const Request& req, Response& resp) {
    SelfHandler(api, kv_stats, req, resp);
  });
  router.Handle("GET", "/v1/agent/services", [&api](const Request& req, Response& resp) {
    const std::string dc = api.Self().datacenter;
    JsonWriter w;
    w.BeginObject();
    for (const Service& s : api.Services()) {
      w.Key(s.id);
      AgentServiceObject(w, s, dc);
    }
    w.EndObject();
    Send(req, resp, w);
  });
  router.Handle("GET", "/v1/agent/service/", [&api](const Request& req, Response& resp) {
    const std::string id = Suffix(req, "/v1/agent/service/");
    for (const Service& s : api.Services()) {
      if (s.id != id) continue;
      JsonWriter w;
      AgentServiceObject(w, s, api.Self().datacenter);
      Send(req, resp, w);
      return;
    }
    resp.Text(404, "unknown service ID: " + id);
  });
  router.Handle("GET", "/v1/agent/checks", [&api](const Request& req, Response& resp) {
    const std::string node = api.Self().node_name;
    const std::vector<Service> services = api.Services();
    JsonWriter w;
    w.BeginObject();
    for (const Check& c : api.Checks()) {
      static const std::vector<std::string> kNoTags;
      const std::vector<std::string>* tags = &kNoTags;
      for (const Service& s : services) {
        if (!c.service_id.empty() && s.id == c.service_id) tags = &s.tags;
      }
      w.Key(c.id);
      detail::CheckJson(w, c, node, c.service_id, c.service_name, *tags, /*with_indexes=*/false);
    }
    w.EndObject();
    Send(req, resp, w);
  });
  router.Handle("GET", "/v1/agent/metrics",
                [&api](const Request& req, Response& resp) { MetricsHandler(api, req, resp); });
}

void AddServiceWrites(Router& router, AgentApi& api) {
  router.Handle("PUT", "/v1/agent/service/register", [&api](const Request& req, Response& resp) {
    auto body = config::ParseServiceBody(req.body);
    if (!body.ok()) {
      resp.Text(400, body.status().message());
      return;
    }
    api.RegisterService(std::move(body.value()), req.HasQuery("replace-existing-checks"),
                        detail::Later(resp));
  });
  Handler dereg = [&api](const Request& req, Response& resp) {
    api.DeregisterService(Suffix(req, "/v1/agent/service/deregister/"), detail::Later(resp));
  };
  router.Handle("PUT", "/v1/agent/service/deregister/", dereg);
  router.Handle("GET", "/v1/agent/service/deregister/", dereg);
  router.Handle("PUT", "/v1/agent/service/maintenance/",
                [&api](const Request& req, Response& resp) {
                  bool enable = false;
                  if (!ParseEnable(req, resp, &enable)) return;
                  api.ServiceMaintenance(Suffix(req, "/v1/agent/service/maintenance/"), enable,
                                         QueryOr(req, "reason"), detail::Later(resp));
                });
  router.Handle("PUT", "/v1/agent/maintenance", [&api](const Request& req, Response& resp) {
    bool enable = false;
    if (!ParseEnable(req, resp, &enable)) return;
    api.NodeMaintenance(enable, QueryOr(req, "reason"), detail::Later(resp));
  });
  router.Handle("PUT", "/v1/agent/reload",
                [&api](const Request&, Response& resp) { api.Reload(detail::Later(resp)); });
}

void AddCheckWrites(Router& router, AgentApi& api) {
  router.Handle("PUT", "/v1/agent/check/register", [&api](const Request& req, Response& resp) {
    auto body = config::ParseCheckBody(req.body);
    if (!body.ok()) {
      resp.Text(400, body.status().message());
      return;
    }
    api.RegisterCheck(std::move(body.value()), detail::Later(resp));
  });
  Handler dereg = [&api](const Request& req, Response& resp) {
    api.DeregisterCheck(Suffix(req, "/v1/agent/check/deregister/"), detail::Later(resp));
  };
  router.Handle("PUT", "/v1/agent/check/deregister/", dereg);
  router.Handle("GET", "/v1/agent/check/deregister/", dereg);
  struct Ttl {
    std::string_view prefix;
    Health status;
  };
  for (const Ttl t : {Ttl{"/v1/agent/check/pass/", Health::kPassing},
                      Ttl{"/v1/agent/check/warn/", Health::kWarning},
                      Ttl{"/v1/agent/check/fail/", Health::kCritical}}) {
    Handler h = [&api, t](const Request& req, Response& resp) {
      api.UpdateTtlCheck(Suffix(req, t.prefix), t.status, QueryOr(req, "note"),
                         detail::Later(resp));
    };
    router.Handle("PUT", std::string(t.prefix), h);
    router.Handle("GET", std::string(t.prefix), h);
  }
  router.Handle("PUT", "/v1/agent/check/update/", [&api](const Request& req, Response& resp) {
    auto body = config::ParseCheckUpdateBody(req.body);
    if (!body.ok()) {
      resp.Text(400, body.status().message());
      return;
    }
    api.UpdateTtlCheck(Suffix(req, "/v1/agent/check/update/"), body->status,
                       std::move(body->output), detail::Later(resp));
  });
}

}  // namespace

AgentDone detail::Later(Response& resp) {
  DeferredPtr d = resp.Defer();
  return [d](const AgentStatus& st) {
    Response r;
    if (!st.ok()) r.Text(st.code, st.message);
    d->Reply(std::move(r));
  };
}

void AddAgentRoutes(Router& router, AgentApi& api, ClusterApi* cluster, const KvStats& kv_stats) {
  AddReads(router, api, kv_stats);
  detail::AddClusterRoutes(router, api, cluster);
  AddServiceWrites(router, api);
  AddCheckWrites(router, api);
}

}  // namespace beacon::http
