// SnapshotHub reader slots: more readers than one block of slots (a DNS worker each), and a
// pinned snapshot is never freed whichever slot pins it.
#include "beacon/catalog/hub.h"

#include <doctest.h>

#include <memory>
#include <vector>

using namespace beacon::catalog;

TEST_CASE("hub: 200 readers register, pin and release; a snapshot pinned past slot 64 survives") {
  SnapshotHub hub;
  std::vector<std::unique_ptr<SnapshotHub::Reader>> readers;
  for (int i = 0; i < 200; ++i) {
    readers.push_back(hub.RegisterReader());
    REQUIRE(readers.back() != nullptr);
  }
  CHECK(hub.readers() == 200);
  auto first = std::make_shared<const Snapshot>();
  std::weak_ptr<const Snapshot> first_weak = first;
  hub.Publish(first);
  first.reset();
  // Every reader sees the published snapshot; the last one (in the fourth block) keeps it pinned.
  for (auto& r : readers) CHECK(r->Acquire() == first_weak.lock().get());
  for (size_t i = 0; i + 1 < readers.size(); ++i) readers[i]->Release();
  hub.Publish(std::make_shared<const Snapshot>());
  CHECK(hub.Reclaim() == 1);
  CHECK_FALSE(first_weak.expired());
  readers.back()->Release();
  CHECK(hub.Reclaim() == 0);
  CHECK(first_weak.expired());
  // A reader registered now sees the newest snapshot.
  auto late = hub.RegisterReader();
  CHECK(late->Acquire() == hub.Current().get());
  late->Release();
}
