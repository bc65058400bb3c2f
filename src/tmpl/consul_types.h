// consul-template's dependency structs as template values (internal to src/tmpl), decoded from
// Consul's JSON: dep.KeyPair, dep.HealthService (with api.HealthCheck, api.AgentWeights,
// api.ServiceAddress), dep.CatalogSnippet, dep.Node, dep.CatalogNode, dep.CatalogNodeService.
//
// Contract: field names and order are consul-template's (they show in %v and toJSON); tags are
// deep-copied and sorted; KeyPair.Key is relative to the prefix; services are sorted by name,
// nodes by name then address, a node's services by name then ID. Errors name the bad field.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "beacon/core/status.h"
#include "value.h"

namespace beacon::tmpl {

constexpr size_t kHealthIdField = 8;
constexpr size_t kHealthStatusField = 12;

// A string member of an object ("" when absent, null or not a string).
std::string_view JStr(simdjson::dom::element obj, std::string_view key);

Result<Value> DecodeKeyPairs(simdjson::dom::element doc, const std::string& prefix);
Result<Value> DecodeHealthServices(simdjson::dom::element doc);
Result<Value> DecodeCatalogServices(simdjson::dom::element doc);
Result<Value> DecodeNodes(simdjson::dom::element doc);
Result<Value> DecodeCatalogNode(simdjson::dom::element doc);  // JSON null -> Nil
Value EmptyCatalogNode();  // consul-template's &CatalogNode{} for an unknown node

}  // namespace beacon::tmpl
