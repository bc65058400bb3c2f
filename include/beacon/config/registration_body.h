// Request bodies of PUT /v1/catalog/register and PUT /v1/catalog/deregister (spec 2.4).
//
// Contract:
// - Pure functions of their input, safe on any thread; nothing is stored.
// - Field names match case-insensitively, '_' and '-' ignored (so "service_id", "ServiceID" and
//   "serviceid" are one field); unknown fields and null values are ignored.
// - Decode* fail only on malformed input: invalid JSON ("invalid JSON: ...") or a value of the
//   wrong type ("Service.Port: expected a number between 0 and 65535"); the HTTP layer answers
//   400 "Request decode failed: <message>". Missing required fields are Validate*'s business,
//   with Consul's messages (the HTTP layer answers 500, as Consul's RPC errors do).
#pragma once

#include <string>
#include <string_view>

#include "beacon/catalog/types.h"
#include "beacon/core/status.h"

namespace beacon::config {

// Decodes a register body (RegisterRequest: Node, ID, Address, Datacenter, TaggedAddresses,
// NodeMeta, Service, Check, Checks, SkipNodeUpdate) with the catalog-seed parser (seed.cpp), so
// seed files and the API read the same fields the same way. Service.ID defaults to the service
// name, a check's CheckID to its Name, its Status to critical; a check naming the entry's
// service gets its service name. The datacenter is lower-cased.
Status DecodeCatalogRegister(std::string_view json, catalog::Registration* out);

// Consul's checks on a decoded register body: "Must provide node", "Must provide address if
// SkipNodeUpdate is not set", "Bad node ID: ...", "Must provide service name with ID", "Invalid
// service address", "Must provide a check ID or name". Checks that need the catalog (a check
// naming a service that is not registered) are catalog::Writer::Apply's.
Status ValidateCatalogRegister(const catalog::Registration& reg);

struct CatalogDeregister {
  std::string node;
  std::string service_id;  // set: only that service and its checks
  std::string check_id;    // set: only that check
  std::string datacenter;  // lower-cased
};

// Decodes {Node, ServiceID, CheckID, Datacenter}; validates that Node is given ("Must provide
// node") separately, as ValidateCatalogRegister does.
Status DecodeCatalogDeregister(std::string_view json, CatalogDeregister* out);
Status ValidateCatalogDeregister(const CatalogDeregister& d);

}  // namespace beacon::config
