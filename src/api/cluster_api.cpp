// /v1/agent/{members,join/<addr>,leave,force-leave/<node>} and the LAN tags. See agent_api.h.
#include <string>
#include <string_view>
#include <utility>

#include "beacon/api/agent_api.h"
#include "beacon/core/json_writer.h"
#include "beacon/core/strings.h"
#include "cluster_internal.h"

#ifndef BEACON_VERSION
#define BEACON_VERSION "dev"
#endif

namespace beacon::http {
using core::JsonWriter;

std::map<std::string, std::string> LanTags(const AgentSelf& s) {
  // Consul's LAN tags (agent/consul/client.go, server.go): the `members` columns read role, dc,
  // vsn, build and segment; `port` is the server port other agents forward KV requests to.
  std::map<std::string, std::string> t;
  t["acls"] = "0";
  t["build"] = std::string(BEACON_VERSION) + ":beacon";
  t["dc"] = s.datacenter;
  t["id"] = s.node_id;
  t["role"] = s.server ? "consul" : "node";
  t["segment"] = "";
  t["vsn"] = "2";
  t["vsn_max"] = "3";
  t["vsn_min"] = "2";
  t["ft_fs"] = "1";
  t["ft_si"] = "1";
  if (s.server) {
    t["port"] = std::to_string(s.server_port);
    t["raft_vsn"] = "3";
    if (s.bootstrap_expect > 0) {
      t["expect"] = std::to_string(s.bootstrap_expect);
    } else {
      t["bootstrap"] = "1";
    }
  }
  return t;
}

namespace detail {

ClusterMember SelfMember(const AgentSelf& s) {
  ClusterMember m;
  m.name = s.node_name;
  m.addr = s.address;
  m.port = static_cast<uint16_t>(s.serf_lan_port);
  m.tags = LanTags(s);
  return m;
}

void MemberJson(JsonWriter& w, const ClusterMember& m) {
  w.BeginObject();
  w.Key("Name").String(m.name).Key("Addr").String(m.addr).Key("Port").Uint(m.port);
  w.Key("Tags").BeginObject();
  for (const auto& [k, v] : m.tags) w.Key(k).String(v);
  w.EndObject();
  w.Key("Status").Uint(static_cast<uint64_t>(m.status));
  w.Key("ProtocolMin").Uint(m.protocol_min).Key("ProtocolMax").Uint(m.protocol_max);
  w.Key("ProtocolCur").Uint(m.protocol_cur).Key("DelegateMin").Uint(m.delegate_min);
  w.Key("DelegateMax").Uint(m.delegate_max).Key("DelegateCur").Uint(m.delegate_cur);
  w.EndObject();
}

void AddClusterRoutes(Router& router, AgentApi& api, ClusterApi* cluster) {
  router.Handle("GET", "/v1/agent/members", [&api, cluster](const Request& req, Response& resp) {
    JsonWriter w;
    w.BeginArray();
    if (!req.HasQuery("wan")) {  // one datacenter, no WAN pool
      if (cluster != nullptr) {
        for (const ClusterMember& m : cluster->Members()) MemberJson(w, m);
      } else {
        MemberJson(w, SelfMember(api.Self()));
      }
    }
    w.EndArray();
    resp.Json(req.HasQuery("pretty") ? JsonWriter::Pretty(w.str()) : w.Take());
  });
  auto no_gossip = [](Response& resp) { resp.Text(500, "gossip is not enabled on this agent"); };
  for (const char* method : {"PUT", "GET"}) {
    router.Handle(method, "/v1/agent/join/",
                  [cluster, no_gossip](const Request& req, Response& resp) {
                    if (cluster == nullptr) return no_gossip(resp);
                    std::string addr = req.path.substr(std::string_view("/v1/agent/join/").size());
                    if (req.HasQuery("wan")) {
                      resp.Text(500, "WAN gossip is not supported: Beacon runs one datacenter");
                      return;
                    }
                    if (addr.empty()) {
                      resp.Text(400, "Missing address to join");
                      return;
                    }
                    cluster->Join({addr}, Later(resp));
                  });
    router.Handle(method, "/v1/agent/force-leave/",
                  [cluster, no_gossip](const Request& req, Response& resp) {
                    if (cluster == nullptr) return no_gossip(resp);
                    std::string node =
                        req.path.substr(std::string_view("/v1/agent/force-leave/").size());
                    if (node.empty()) {
                      resp.Text(400, "Missing node name to force leave");
                      return;
                    }
                    cluster->ForceLeave(node, req.HasQuery("prune"), Later(resp));
                  });
  }
  router.Handle("PUT", "/v1/agent/leave", [cluster, no_gossip](const Request&, Response& resp) {
    if (cluster == nullptr) return no_gossip(resp);
    cluster->Leave(Later(resp));
  });
}

}  // namespace detail
}  // namespace beacon::http
