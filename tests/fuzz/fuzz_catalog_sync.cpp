// libFuzzer target: any bytes through the catalog sync decoder (catalog_sync_wire.h). It must
// answer with a value or an error Status; never crash, hang, throw or read out of bounds. What
// decodes must survive a round trip: re-encoded, it decodes to the same value (else: abort).
// Then the message goes to a CatalogSync with an empty catalog, which must not crash either.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "beacon/gossip/catalog_sync.h"
#include "beacon/gossip/catalog_sync_wire.h"

namespace {
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_catalog_sync: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace beacon::gossip;
  const ByteView in(data, size);
  auto m = catsync::Decode(in);
  if (!m.ok()) return 0;
  auto back = catsync::Decode(catsync::Encode(*m));
  Require(back.ok() && *back == *m, "catalog sync message does not survive a round trip");
  CatalogSyncConfig cfg;
  cfg.self = "self";
  std::size_t submitted = 0;
  CatalogSync sync(
      cfg, [] { return beacon::catalog::SnapshotPtr(); },
      [&](beacon::catalog::Change) { ++submitted; }, 1);
  sync.OnMember(0, "peer", beacon::catalog::Liveness::kAlive, true);
  sync.NotifyMsg(in);
  sync.Tick(1000);
  (void)sync.GetBroadcasts(2, 1400);
  (void)sync.TakeSends();
  // A new live member always gets its serfHealth set, whatever the message did.
  Require(submitted >= 1, "the new member's liveness was not submitted");
  return 0;
}
