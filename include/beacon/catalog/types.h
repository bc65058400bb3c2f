// Plain catalog records: what a node, a service instance and a check are.
//
// Contract: value types with no behaviour beyond small helpers. They are what producers
// (config loader, HTTP registrations, health, gossip) hand to catalog::Writer, and what the
// snapshot keeps as the source of truth. Any thread may build them; once inside a Snapshot
// they are immutable.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::catalog {

enum class Health : uint8_t { kPassing = 0, kWarning = 1, kCritical = 2, kMaintenance = 3 };

std::string_view HealthName(Health h);
// Accepts "passing", "warning", "critical", "maintenance" (any case). Returns false otherwise.
bool ParseHealth(std::string_view s, Health* out);

// Worst-of aggregation as Consul does it: critical > warning > passing.
inline Health Worse(Health a, Health b) {
  auto rank = [](Health h) { return h == Health::kMaintenance ? 2 : static_cast<int>(h); };
  return rank(a) >= rank(b) ? a : b;
}

// A health check definition plus its current state. Durations are in milliseconds (0 = unset).
struct Check {
  std::string id;  // unique on its node; defaults per Consul ("service:<svc-id>", ...)
  std::string name;
  std::string notes;
  std::string service_id;  // empty: a node-level check
  std::string service_name;
  Health status = Health::kCritical;
  std::string output;
  // Definition (run by the health module; the catalog only stores it).
  std::vector<std::string> args;  // script check
  std::string http;
  std::string method;
  std::map<std::string, std::vector<std::string>> header;
  std::string body;
  std::string tcp;
  std::string udp;
  std::string grpc;
  std::string shell;
  std::string docker_container_id;
  bool tls_skip_verify = false;
  bool disable_redirects = false;
  std::string tls_server_name;   // SNI and certificate name for HTTP checks
  bool tcp_use_tls = false;      // TCP check: a TLS handshake after the connect
  std::string alias_node;        // alias check: mirrors this node ("" = the local node)...
  std::string alias_service;     // ...or this service instance on it
  uint64_t output_max_size = 0;  // bytes of output kept (0 = the agent's default, 4 KiB)
  uint64_t interval_ms = 0;
  uint64_t timeout_ms = 0;
  uint64_t ttl_ms = 0;
  uint64_t deregister_critical_after_ms = 0;
  uint32_t success_before_passing = 0;
  uint32_t failures_before_warning = 0;
  uint32_t failures_before_critical = 0;
  // Raft-style indexes, set by catalog::Writer (ignored on input): CreateIndex when the check was
  // first registered, ModifyIndex when its definition or status last changed (output-only updates
  // do not move it, spec 4.3).
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  bool operator==(const Check&) const = default;
};

// Whether two checks have the same definition and status (output and indexes aside): writing one
// over the other changes nothing a blocking query should wake for.
bool SameCheck(const Check& a, const Check& b);

struct TaggedAddress {
  std::string address;
  uint16_t port = 0;
  bool operator==(const TaggedAddress&) const = default;
};

struct Weights {
  uint32_t passing = 1;
  uint32_t warning = 1;
  bool operator==(const Weights&) const = default;
};

// One service instance as registered on a node.
struct Service {
  std::string id;  // defaults to name
  std::string name;
  std::vector<std::string> tags;
  std::string address;  // may be empty (use the node address), an IP or a hostname
  uint16_t port = 0;
  std::map<std::string, std::string> meta;
  std::map<std::string, TaggedAddress> tagged_addresses;
  Weights weights;
  bool enable_tag_override = false;
  std::string kind;  // "" for typical services
  bool operator==(const Service&) const = default;
};

// A node with everything registered on it.
struct Node {
  std::string name;
  std::string id;
  std::string address;  // IP or hostname
  std::string datacenter;
  std::map<std::string, std::string> tagged_addresses;  // lan, lan_ipv4, lan_ipv6, wan, ...
  std::map<std::string, std::string> meta;
  bool operator==(const Node&) const = default;
};

// One /v1/catalog/register-style entry: a node, optionally with services and checks on it.
// Applying one merges it in: the node's fields are replaced (unless skip_node_update), each
// service is registered or replaced by id keeping its other checks, each check is added or
// replaced by id.
struct Registration {
  Node node;
  std::vector<Service> services;
  std::vector<Check> checks;  // service checks carry service_id
  // SkipNodeUpdate: leave an existing node as it is (the node must exist unless an address is
  // given).
  bool skip_node_update = false;
  bool operator==(const Registration&) const = default;
};

}  // namespace beacon::catalog
