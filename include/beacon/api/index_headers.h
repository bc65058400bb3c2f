// The X-Consul-* metadata headers every read (and a read-only txn) answers with, as Consul's
// setMeta writes them; one place for the catalog, health, KV, session and txn endpoints.
//
// Contract: fills resp's headers only; any thread that owns resp.
#pragma once

#include <cstdint>

#include "beacon/http/server.h"

namespace beacon::http {

// X-Consul-Index (an index of 0 is sent as 1: a client must never block on 0),
// X-Consul-KnownLeader: true, X-Consul-LastContact: 0 and X-Consul-Default-ACL-Policy: allow.
// With a consistency ("leader", "stale" or "consistent") also X-Consul-Effective-Consistency and
// X-Consul-Query-Backend: blocking-query, as the catalog and health reads send them.
void SetIndexHeaders(Response& resp, uint64_t index, const char* consistency = nullptr);

}  // namespace beacon::http
