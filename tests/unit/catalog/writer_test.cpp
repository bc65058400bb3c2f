// catalog::Writer and SnapshotHub: what readers see after each kind of change.
#include <doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "beacon/catalog/commands.h"
#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "builders.h"

using namespace beacon::catalog;
using namespace beacon::catalog::testing;

namespace {

struct Val {
  std::string key;
  int v = 0;
  bool MatchesKey(std::string_view k) const { return key == k; }
};

std::shared_ptr<const Val> MakeVal(int i) {
  return std::make_shared<Val>(Val{"k" + std::to_string(i), i});
}

}  // namespace

TEST_CASE("a published snapshot is immutable; the next one shows the change") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("n1", "10.0.0.1"));
  REQUIRE(w.UpsertService("n1", MakeService("web", "web1", 80), {}).ok());
  w.Publish();
  auto first = hub.Current();
  REQUIRE(first->services.Find("web") != nullptr);
  CHECK(first->services.Find("web")->instances.size() == 1);

  REQUIRE(w.UpsertService("n1", MakeService("web", "web2", 81), {}).ok());
  w.Publish();
  auto second = hub.Current();
  CHECK(first->services.Find("web")->instances.size() == 1);  // unchanged
  CHECK(second->services.Find("web")->instances.size() == 2);
  CHECK(second->generation > first->generation);
  CHECK(second->index > first->index);
}

TEST_CASE("health: critical node check removes every service on the node from the healthy set") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("n1", "10.0.0.1"));
  w.UpsertNode(MakeNode("n2", "10.0.0.2"));
  REQUIRE(w.UpsertService("n1", MakeService("db", "db", 5432), {}).ok());
  REQUIRE(w.UpsertService("n2", MakeService("db", "db", 5432), {MakeCheck("svc", Health::kWarning)})
              .ok());
  w.Publish();
  auto s = hub.Current()->services.Find("db");
  CHECK(s->n_ok == 2);
  CHECK(s->n_passing == 1);
  CHECK(s->instances[0].node->name() == "n1");  // passing instances come first

  REQUIRE(w.UpsertCheck("n1", MakeCheck("serfHealth", Health::kCritical)).ok());
  w.Publish();
  s = hub.Current()->services.Find("db");
  CHECK(s->n_ok == 1);
  CHECK(s->instances[0].node->name() == "n2");

  CHECK(w.UpdateCheck("n1", "serfHealth", Health::kPassing, "ok"));
  w.Publish();
  CHECK(hub.Current()->services.Find("db")->n_ok == 2);
}

TEST_CASE("output-only check updates do not move the index") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("n1", "10.0.0.1"));
  REQUIRE(
      w.UpsertService("n1", MakeService("db", "db", 1), {MakeCheck("c", Health::kPassing)}).ok());
  const uint64_t before = w.index();
  CHECK(w.UpdateCheck("n1", "c", Health::kPassing, "new output"));
  CHECK(w.index() == before);
  CHECK(w.UpdateCheck("n1", "c", Health::kWarning, "new output"));
  CHECK(w.index() > before);
  CHECK_FALSE(w.UpdateCheck("n1", "nope", Health::kWarning, ""));
}

TEST_CASE("removing the last instance removes the service; removing a node removes its services") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("n1", "10.0.0.1"));
  REQUIRE(w.UpsertService("n1", MakeService("a", "a1", 1), {}).ok());
  REQUIRE(w.UpsertService("n1", MakeService("b", "b1", 2), {}).ok());
  CHECK(w.RemoveService("n1", "a1"));
  CHECK_FALSE(w.RemoveService("n1", "a1"));
  w.Publish();
  CHECK(hub.Current()->services.Find("a") == nullptr);
  CHECK(hub.Current()->services.Find("b") != nullptr);
  CHECK(w.RemoveNode("n1"));
  w.Publish();
  CHECK(hub.Current()->services.Find("b") == nullptr);
  CHECK(hub.Current()->nodes.Find("n1") == nullptr);
  CHECK(hub.Current()->ptr_nodes.Find(IpBytes("10.0.0.1")) == nullptr);
}

TEST_CASE("a service name too long to index is refused whole, never cut") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("n1", "10.0.0.1"));
  const std::string max(KeyList::kMaxKey, 'm'), over(KeyList::kMaxKey + 1, 'm');
  CHECK_FALSE(w.UpsertService("n1", MakeService(over, "big", 1), {}).ok());
  Registration r;
  r.node = MakeNode("n1", "10.0.0.1");
  r.services = {MakeService(over, "big", 1)};
  CHECK_FALSE(w.Apply(r).ok());
  REQUIRE(w.UpsertService("n1", MakeService(max, "max", 1), {}).ok());
  w.Publish();
  CHECK(hub.Current()->services.size() == 1);
  REQUIRE(hub.Current()->services.Find(max) != nullptr);
  CHECK(w.RemoveService("n1", "max"));
  w.Publish();
  CHECK(hub.Current()->services.size() == 0);
  KeyList keys;
  CHECK_FALSE(keys.Add(over));
  CHECK(keys.empty());
  CHECK(keys.Add(max));
  CHECK(keys.Items() == std::vector<std::string>{max});
}

TEST_CASE("re-registering a service id under a new name moves it") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  REQUIRE(w.UpsertService("n1", MakeService("old", "x", 1), {}).ok());
  REQUIRE(w.UpsertService("n1", MakeService("new", "x", 1), {}).ok());
  w.Publish();
  CHECK(hub.Current()->services.Find("old") == nullptr);
  REQUIRE(hub.Current()->services.Find("new") != nullptr);
  CHECK(hub.Current()->services.Find("new")->instances.size() == 1);
}

TEST_CASE("names match case-insensitively; PTR prefers the node over a service") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("Foo", "127.0.0.1"));
  Service s = MakeService("DB", "db", 1);
  s.address = "127.0.0.1";
  REQUIRE(w.UpsertService("foo", s, {}).ok());
  w.Publish();
  auto snap = hub.Current();
  CHECK(snap->nodes.Find("foo") != nullptr);
  CHECK(snap->services.Find("db")->name == "DB");
  const NodeEntry* pn = snap->ptr_nodes.Find(IpBytes("127.0.0.1"));
  REQUIRE(pn != nullptr);
  CHECK(pn->name() == "Foo");
  const PtrEntry* p = snap->ptr.Find(IpBytes("127.0.0.1"));
  REQUIRE(p != nullptr);
  CHECK(p->name == "DB");
  CHECK(p->Owners().front() == "DB");
}

TEST_CASE("service_ttl: exact name, then the longest prefix*") {
  beacon::catalog::DnsSettings dns;
  dns.service_ttl_s = {{"d*", 42}, {"db", 10}, {"db*", 66}, {"*", 5}};
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", dns);
  for (const char* n : {"db", "dblb", "dk", "api"}) {
    REQUIRE(w.UpsertService("n1", MakeService(n, n, 1), {}).ok());
  }
  w.Publish();
  auto snap = hub.Current();
  CHECK(snap->services.Find("db")->ttl_s == 10);
  CHECK(snap->services.Find("dblb")->ttl_s == 66);
  CHECK(snap->services.Find("dk")->ttl_s == 42);
  CHECK(snap->services.Find("api")->ttl_s == 5);
}

TEST_CASE("a reader-pinned snapshot survives later publishes until released") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  REQUIRE(w.UpsertService("n1", MakeService("web", "w", 1), {}).ok());
  w.Publish();
  auto reader = hub.RegisterReader();
  const Snapshot* pinned = reader->Acquire();
  REQUIRE(pinned != nullptr);
  const uint64_t gen = pinned->generation;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(w.UpsertService("n1", MakeService("web", "w" + std::to_string(i), 1), {}).ok());
    w.Publish();
  }
  CHECK(pinned->generation == gen);  // still readable: not freed under the reader
  CHECK(pinned->services.Find("web")->instances.size() == 1);
  CHECK(hub.Reclaim() == 1);  // only the pinned one is kept
  reader->Release();
  CHECK(hub.Reclaim() == 0);
}

TEST_CASE("readers on other threads see every publish without locks") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.Publish(true);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> max_seen{0};
  std::thread t([&] {
    auto r = hub.RegisterReader();
    while (!stop.load()) {
      const Snapshot* s = r->Acquire();
      uint64_t n = s->services.size();
      if (n > max_seen.load()) max_seen.store(n);
      r->Release();
    }
  });
  for (int i = 0; i < 200; ++i) {
    REQUIRE(
        w.UpsertService("n" + std::to_string(i), MakeService("s" + std::to_string(i), "x", 1), {})
            .ok());
    w.Publish();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (max_seen.load() < 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  t.join();
  CHECK(max_seen.load() == 200);
}

TEST_CASE("PMap: updates copy one path and leave older copies untouched") {
  PMap<Val> m;
  for (int i = 0; i < 1000; ++i) m.Set("k" + std::to_string(i), MakeVal(i));
  m.Seal();
  PMap<Val> old = m;
  m.Set("k5", std::make_shared<Val>(Val{"k5", -5}));
  CHECK(m.Erase("k6"));
  CHECK(old.Find("k5")->v == 5);
  CHECK(old.Find("k6")->v == 6);
  CHECK(m.Find("k5")->v == -5);
  CHECK(m.Find("k6") == nullptr);
  CHECK(m.size() == 999);
  CHECK(old.size() == 1000);
  int count = 0;
  m.ForEach([&](const Val&) { ++count; });
  CHECK(count == 999);
}

TEST_CASE("PTR: the first node registered with an address answers; the next takes over") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("n1", "10.0.0.9"));
  w.UpsertNode(MakeNode("n2", "10.0.0.9"));
  w.Publish();
  const std::string ip = IpBytes("10.0.0.9");
  CHECK(hub.Current()->ptr_nodes.Find(ip)->name() == "n1");
  // A copy-on-write change to the holder keeps the reverse map on the current entry.
  REQUIRE(w.UpsertCheck("n1", MakeCheck("serfHealth", Health::kCritical)).ok());
  w.Publish();
  auto snap = hub.Current();
  CHECK(snap->ptr_nodes.Find(ip) == snap->nodes.Find("n1"));
  CHECK(w.RemoveNode("n1"));
  w.Publish();
  CHECK(hub.Current()->ptr_nodes.Find(ip)->name() == "n2");
  w.UpsertNode(MakeNode("n2", "10.0.0.10"));
  w.Publish();
  CHECK(hub.Current()->ptr_nodes.Find(ip) == nullptr);
  CHECK(hub.Current()->ptr_nodes.Find(IpBytes("10.0.0.10"))->name() == "n2");
}

TEST_CASE("bulk registrations in one batch publish the same view as one at a time") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  for (int i = 0; i < 50; ++i) {
    const std::string n = "n" + std::to_string(i);
    w.UpsertNode(MakeNode(n, "10.1.0." + std::to_string(i)));
    REQUIRE(w.UpsertService(n, MakeService("web", "web", 80), {}).ok());
  }
  REQUIRE(w.UpsertCheck("n3", MakeCheck("serfHealth", Health::kCritical)).ok());
  w.Publish();
  const ServiceEntry* s = hub.Current()->services.Find("web");
  REQUIRE(s != nullptr);
  CHECK(s->instances.size() == 50);
  CHECK(s->n_ok == 49);
  CHECK(s->instances.back().node->name() == "n3");
  for (const Instance& in : s->instances) {
    CHECK(in.node.get() == hub.Current()->nodes.Find(in.node->name()));
  }
}

TEST_CASE("node address text: kept for hostnames and odd spellings, rebuilt for canonical IPs") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("ip", "10.0.0.1"));
  w.UpsertNode(MakeNode("v6", "2001:DB8::1"));
  w.UpsertNode(MakeNode("host", "db.example.com"));
  w.Publish();
  auto snap = hub.Current();
  CHECK(snap->nodes.Find("ip")->extras == nullptr);
  CHECK(snap->nodes.Find("ip")->AddressText() == "10.0.0.1");
  CHECK(snap->nodes.Find("v6")->AddressText() == "2001:DB8::1");
  CHECK(snap->nodes.Find("host")->host() == "db.example.com");
  CHECK(snap->nodes.Find("host")->addr[kFamA].kind == AddrChoice::kHost);
  // Re-registering the same address is not a change.
  const uint64_t before = w.index();
  w.UpsertNode(MakeNode("ip", "10.0.0.1"));
  CHECK(w.index() == before);
  REQUIRE(w.UpsertCheck("ip", MakeCheck("serfHealth", Health::kPassing)).ok());
  w.Publish();
  CHECK(hub.Current()->nodes.Find("ip")->ToNode("dc1").address == "10.0.0.1");
}

TEST_CASE("node names live as wire labels; names that do not round-trip are kept whole") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("Web.Rack1", "10.0.0.1"));
  w.UpsertNode(MakeNode("odd..name.", "10.0.0.2"));
  w.UpsertNode(MakeNode(std::string(70, 'x'), "10.0.0.3"));
  w.Publish();
  auto snap = hub.Current();
  const NodeEntry* a = snap->nodes.Find("web.rack1");
  REQUIRE(a != nullptr);
  CHECK(a->extras == nullptr);
  CHECK(a->name() == "Web.Rack1");
  CHECK(a->name_wire == std::string_view("\3Web\5Rack1"));
  CHECK(snap->nodes.Find("web") == nullptr);
  CHECK(snap->nodes.Find("web.rack") == nullptr);
  const NodeEntry* b = snap->nodes.Find("odd..name.");
  REQUIRE(b != nullptr);
  CHECK(b->name() == "odd..name.");
  CHECK(snap->nodes.Find("odd.name") == nullptr);
  REQUIRE(snap->nodes.Find(std::string(70, 'x')) != nullptr);
  CHECK(snap->nodes.Find(std::string(70, 'x'))->name() == std::string(70, 'x'));
}

TEST_CASE("CommandQueue: commands from many threads all reach the writer, each thread's in order") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  CommandQueue q;
  std::atomic<int> wakes{0};
  q.SetWake([&] { wakes.fetch_add(1); });
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&q, t] {
      for (int i = 0; i < 50; ++i) {
        q.Push([t, i](Writer& wr) {
          Service s = MakeService("svc" + std::to_string(t), "id" + std::to_string(i), 1);
          // Re-registering id i replaces nothing earlier: ids are distinct per thread.
          REQUIRE(wr.UpsertService("n" + std::to_string(t), s, {}).ok());
        });
      }
    });
  }
  size_t ran = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ran < 200 && std::chrono::steady_clock::now() < deadline) ran += q.Drain(w);
  for (auto& p : producers) p.join();
  ran += q.Drain(w);
  CHECK(ran == 200);
  CHECK(wakes.load() == 200);
  w.Publish();
  for (int t = 0; t < 4; ++t) {
    const ServiceEntry* e = hub.Current()->services.Find("svc" + std::to_string(t));
    REQUIRE(e != nullptr);
    CHECK(e->instances.size() == 50);
  }
}

TEST_CASE("PTR: services sharing an address answer in registration order as holders leave") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("n1", "10.0.0.1"));
  auto at = [](Service s) {
    s.address = "10.9.9.9";
    return s;
  };
  REQUIRE(w.UpsertService("n1", at(MakeService("a", "a1", 1)), {}).ok());
  REQUIRE(w.UpsertService("n1", at(MakeService("b", "b1", 1)), {}).ok());
  REQUIRE(w.UpsertService("n1", at(MakeService("a", "a2", 1)), {}).ok());
  for (int i = 0; i < 5000; ++i) {
    REQUIRE(w.UpsertService(
                 "n1", at(MakeService("bulk" + std::to_string(i), "x" + std::to_string(i), 1)), {})
                .ok());
  }
  auto ptr_name = [&] {
    w.Publish();
    const PtrEntry* p = hub.Current()->ptr.Find(IpBytes("10.9.9.9"));
    return p == nullptr ? std::string() : std::string(p->name.view());
  };
  CHECK(ptr_name() == "a");
  CHECK(w.RemoveService("n1", "a1"));  // a's earliest registration leaves: b was next
  CHECK(ptr_name() == "b");
  CHECK(w.RemoveService("n1", "b1"));
  CHECK(ptr_name() == "a");
  for (int i = 0; i < 5000; ++i) CHECK(w.RemoveService("n1", "x" + std::to_string(i)));
  CHECK(ptr_name() == "a");
  CHECK(w.RemoveService("n1", "a2"));
  CHECK(ptr_name().empty());
}

TEST_CASE("5,000 services on one node: each found, replaced and removed by its id") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  w.UpsertNode(MakeNode("n1", "10.0.0.1"));
  const int n = 5000;
  for (int i = 0; i < n; ++i) {
    REQUIRE(
        w.UpsertService("N1", MakeService("s" + std::to_string(i), "id" + std::to_string(i), 1), {})
            .ok());
  }
  // Re-registering an id under another name moves it; the old service goes once empty.
  REQUIRE(w.UpsertService("n1", MakeService("moved", "id7", 2), {}).ok());
  w.Publish();
  CHECK(hub.Current()->services.Find("s7") == nullptr);
  REQUIRE(w.FindService("n1", "id7") != nullptr);
  CHECK(w.FindService("n1", "id7")->port == 2);
  CHECK(w.FindService("n1", "nope") == nullptr);
  CHECK(w.FindService("n2", "id7") == nullptr);
  size_t found = 0;
  for (int i = 0; i < n; ++i) found += w.FindService("n1", "id" + std::to_string(i)) != nullptr;
  CHECK(found == static_cast<size_t>(n));
  for (int i = 0; i < n; i += 2) CHECK(w.RemoveService("n1", "id" + std::to_string(i)));
  CHECK_FALSE(w.RemoveService("n1", "id0"));
  w.Publish();
  CHECK(hub.Current()->services.size() == static_cast<size_t>(n / 2));
  CHECK(w.RemoveNode("n1"));
  CHECK(w.FindService("n1", "id1") == nullptr);
  REQUIRE(w.UpsertService("n1", MakeService("again", "id1", 3), {}).ok());
  CHECK(w.FindService("n1", "id1")->port == 3);
}

TEST_CASE("IpBytes: IPv4 text exactly as inet_pton takes it, IPv6 through inet_pton") {
  CHECK(IpBytes("10.0.0.1") == std::string("\x0a\x00\x00\x01", 4));
  CHECK(IpBytes("255.255.255.255") == std::string("\xff\xff\xff\xff", 4));
  CHECK(IpBytes("0.0.0.0") == std::string(4, '\0'));
  for (const char* bad : {"01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
                          "1..2.3", "1.2.3.", "1234.1.1.1", "a.b.c.d", "", "web"}) {
    CAPTURE(bad);
    CHECK(IpBytes(bad).empty());
  }
  CHECK(IpBytes("::1").size() == 16);
  CHECK(IpBytes("::ffff:10.0.0.1").size() == 16);
}
