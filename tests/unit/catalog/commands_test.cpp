// CommandQueue's wake: set and cleared while producers push from other threads.
#include "beacon/catalog/commands.h"

#include <doctest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "beacon/catalog/hub.h"

using namespace beacon::catalog;

TEST_CASE("commands: wake may be set after producers start and cleared while they run") {
  SnapshotHub hub;
  Writer w{hub, "self", "dc1", {}};
  CommandQueue q;
  std::atomic<bool> stop{false};
  std::atomic<int> pushed{0};
  int ran = 0;  // writer thread (this one) only
  // Producers push before any wake exists, while it is set, and after it is cleared.
  std::vector<std::thread> producers;
  for (int t = 0; t < 2; ++t) {
    producers.emplace_back([&] {
      while (!stop.load()) {
        q.Push([&ran](Writer&) { ++ran; });
        pushed.fetch_add(1);
        std::this_thread::yield();  // keeps the queue short on a loaded machine
      }
    });
  }
  for (int round = 0; round < 50; ++round) {
    // The wake's state lives on the heap and dies right after SetWake(nullptr) returns, as
    // the agent's uv_async_t does when its loop closes.
    struct WakeTarget {
      std::atomic<int> calls{0};
      std::atomic<bool> gone{false};
    };
    auto target = std::make_unique<WakeTarget>();
    std::atomic<int> late_calls{0};
    WakeTarget* raw = target.get();
    q.SetWake([raw, &late_calls] {
      if (raw->gone.load()) late_calls.fetch_add(1);
      raw->calls.fetch_add(1);
    });
    while (raw->calls.load() == 0) std::this_thread::yield();
    q.SetWake(nullptr);
    // From here on no call of the old wake may be running or start.
    raw->gone.store(true);
    for (int i = 0; i < 50; ++i) std::this_thread::yield();
    CHECK(late_calls.load() == 0);
    target.reset();
    q.Drain(w);
  }
  stop.store(true);
  for (auto& t : producers) t.join();
  // Every command pushed ran, whether or not a wake was set when it was pushed.
  q.Drain(w);
  CHECK(pushed.load() > 0);
  CHECK(ran == pushed.load());
}
