// ApplyConfigDiff: brings this node's config-file services and checks in the catalog from the
// previously applied config to a new one, touching only what changed (live reload, issue 7).
//
// Contract:
// - Writer thread only (it calls catalog::Writer and reads Writer::staged()). Does not publish.
// - Added services and checks are registered; services and checks the old config declared and
//   the new one does not are deregistered; changed ones are replaced. "Changed" is judged
//   against what the catalog holds now, by definition: a check's running status and output, its
//   service_name and indexes are not part of its definition (so neither is the `status` a
//   definition starts with).
// - An unchanged service or check is not written at all: it keeps its status, output and
//   indexes, and no blocking-query index moves. A changed service is re-registered with its
//   unchanged checks copied from the catalog as they are (status, output, indexes kept, the
//   definition byte-identical) and keeps checks it did not get from the config (API-added).
// - Anything registered over the API (or a catalog seed) that the old config did not declare
//   is left alone, except that a config service whose id the API registered replaces it (the
//   config wins, as in Consul and LocalAgent::Restore); the API's checks on it are kept.
// - Errors from the writer (a config check naming an unknown service, ...) are logged, never
//   fatal: the rest of the diff still applies.
#pragma once

#include <cstddef>
#include <string_view>

#include "beacon/catalog/writer.h"
#include "beacon/config/config.h"
#include "beacon/core/log.h"

namespace beacon::agent {

struct ConfigDiffStats {
  size_t added = 0;      // services and checks registered
  size_t changed = 0;    // services and checks replaced
  size_t removed = 0;    // services and checks deregistered
  size_t unchanged = 0;  // services and node-level checks left as they are
};

// `old` is the config applied before (null at start: nothing to remove). `node` is this agent's
// node name, which must exist in the catalog.
ConfigDiffStats ApplyConfigDiff(catalog::Writer& w, std::string_view node,
                                const config::AgentConfig& cfg, const config::AgentConfig* old,
                                const Logger& log);

// Whether two checks have the same definition: everything but status, output, service_name and
// the indexes.
bool SameCheckDefinition(const catalog::Check& a, const catalog::Check& b);

}  // namespace beacon::agent
