// Loading a catalog seed file (-catalog-seed) into the writer.
//
// Contract:
// - Called on the writer's thread before the agent serves anything. The file is read and parsed
//   on one helper thread (config::ForEachCatalogSeedEntry, in batches of entries) while the
//   calling thread applies what is already parsed, hinting the writer a few entries ahead
//   (catalog::Writer::Prefetch) so the cache misses of a large catalog overlap. The helper is
//   joined before this returns, on every path.
// - Entries are applied in file order, each as a local registration. The first error (from the
//   file or from applying an entry) stops the load; its message names the file and the entry
//   ("path: [index]: reason"); entries before it stay applied. *count gets the number applied.
#pragma once

#include <cstddef>
#include <string>

#include "beacon/catalog/writer.h"
#include "beacon/core/status.h"

namespace beacon::agent {

Status LoadCatalogSeed(const std::string& path, catalog::Writer& writer, size_t* count);

}  // namespace beacon::agent
