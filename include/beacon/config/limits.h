// Size limits on the names a registration carries (agent and catalog APIs).
//
// Contract:
// - Consul itself accepts names of any length and only warns that a name over 63 bytes is not
//   discoverable over DNS. Beacon refuses, with HTTP 400 and the reason, what no DNS name can
//   hold and what its catalog would otherwise have to cut: service names, service IDs, node
//   names and check IDs over kMaxNameBytes (a whole DNS name is at most 255 bytes), and tags
//   over kMaxTagBytes (tags are free-form text, e.g. routing rules; 512 bytes as Consul's limit
//   on a service meta value). The catalog Writer independently refuses a name it cannot index
//   (catalog::KeyList::kMaxKey), so nothing is ever truncated silently.
// - Messages: "Invalid service name: longer than 256 bytes", "Invalid service ID: ...",
//   "Invalid service tag: longer than 512 bytes", "Invalid node name: ...", "Invalid check
//   ID: ...".
// - Pure functions, any thread.
#pragma once

#include <cstddef>

#include "beacon/catalog/types.h"
#include "beacon/core/status.h"

namespace beacon::config {

inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxTagBytes = 512;

// The service's name, ID and tags.
Status CheckServiceLimits(const catalog::Service& svc);
// The check's ID (its name when the ID is empty).
Status CheckCheckLimits(const catalog::Check& chk);
// A whole /v1/catalog/register body: node name, every service and check.
Status CheckRegistrationLimits(const catalog::Registration& reg);

}  // namespace beacon::config
