// The snapshot file format: round trip, refusal of corrupt/truncated/foreign files, inspect.
#include <doctest/doctest.h>

#include <string>

#include "beacon/kv/snapshot.h"

using beacon::Status;
using beacon::kv::Entry;
using beacon::kv::InspectSnapshot;
using beacon::kv::ParseSnapshot;
using beacon::kv::Session;
using beacon::kv::SnapshotHeader;
using beacon::kv::SnapshotWriter;
using beacon::kv::Tombstone;

namespace {

Entry MakeEntry(std::string key, std::string value, uint64_t modify, std::string session = "") {
  Entry e;
  e.key = std::move(key);
  e.value = std::move(value);
  e.flags = 7;
  e.create_index = 2;
  e.modify_index = modify;
  e.lock_index = session.empty() ? 0 : 1;
  e.session = std::move(session);
  return e;
}

// A snapshot at index 20 with 3 keys (one locked), 1 tombstone, 1 session, 1 prepared query.
std::string Sample() {
  std::string out;
  SnapshotHeader h;
  h.index = 20;
  h.term = 1;
  h.created_ms = 1700000000123;
  SnapshotWriter w(h, [&](std::string_view c) {
    out.append(c);
    return Status::Ok();
  });
  Session s;
  s.id = "11111111-2222-3333-4444-555555555555";
  s.name = "lock";
  s.node = "n1";
  s.node_checks = {"serfHealth"};
  s.service_checks = {{"web", ""}};
  s.behavior = Session::Behavior::kDelete;
  s.ttl_ms = 10000;
  s.lock_delay_ms = 0;
  s.create_index = 5;
  s.modify_index = 5;
  REQUIRE(w.AddIndex(19, 5).ok());
  REQUIRE(w.Add(s).ok());
  REQUIRE(w.Add(MakeEntry("app/a", "one", 10)).ok());
  REQUIRE(w.Add(MakeEntry("app/b", std::string(1000, 'x'), 12, s.id)).ok());
  REQUIRE(w.Add(MakeEntry("other", "", 19)).ok());
  REQUIRE(w.Add(Tombstone{"app/gone", 15}).ok());
  REQUIRE(w.AddPreparedQuery(R"({"ID":"q1","Name":"web"})").ok());
  REQUIRE(w.Finish().ok());
  return out;
}

}  // namespace

TEST_CASE("snapshot format: round trip keeps every field") {
  std::string file = Sample();
  auto r = ParseSnapshot(file);
  REQUIRE(r.ok());
  CHECK(r->header.index == 20);
  CHECK(r->header.term == 1);
  CHECK(r->header.created_ms == 1700000000123);
  CHECK(r->kv_index == 19);
  CHECK(r->sessions_index == 5);
  REQUIRE(r->entries.size() == 3);
  CHECK(r->entries[1].key == "app/b");
  CHECK(r->entries[1].value == std::string(1000, 'x'));
  CHECK(r->entries[1].flags == 7);
  CHECK(r->entries[1].create_index == 2);
  CHECK(r->entries[1].modify_index == 12);
  CHECK(r->entries[1].lock_index == 1);
  CHECK(r->entries[1].session == "11111111-2222-3333-4444-555555555555");
  CHECK(r->entries[2].value.empty());
  REQUIRE(r->tombstones.size() == 1);
  CHECK(r->tombstones[0].key == "app/gone");
  CHECK(r->tombstones[0].index == 15);
  REQUIRE(r->sessions.size() == 1);
  const Session& s = r->sessions[0];
  CHECK(s.name == "lock");
  CHECK(s.node == "n1");
  CHECK(s.node_checks == std::vector<std::string>{"serfHealth"});
  REQUIRE(s.service_checks.size() == 1);
  CHECK(s.service_checks[0].id == "web");
  CHECK(s.behavior == Session::Behavior::kDelete);
  CHECK(s.ttl_ms == 10000);
  CHECK(s.lock_delay_ms == 0);
  REQUIRE(r->prepared_queries.size() == 1);
  CHECK(r->prepared_queries[0] == R"({"ID":"q1","Name":"web"})");
}

TEST_CASE("snapshot format: corrupt, truncated and foreign files are refused") {
  const std::string good = Sample();
  auto message = [](const std::string& f) {
    auto r = ParseSnapshot(f);
    REQUIRE_FALSE(r.ok());
    return r.status().message();
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x01;
  CHECK(message(flipped).find("checksum mismatch") != std::string::npos);
  for (size_t cut : {good.size() - 1, good.size() - 33, good.size() / 2, size_t{60}}) {
    CAPTURE(cut);
    CHECK(message(good.substr(0, cut)).find("invalid snapshot") != std::string::npos);
  }
  CHECK(message(good.substr(0, 20)).find("truncated") != std::string::npos);
  CHECK(message("").find("bad magic") != std::string::npos);
  CHECK(message("{\"not\": \"a snapshot\"}" + std::string(100, ' ')).find("bad magic") !=
        std::string::npos);
  std::string newer = good;
  newer[8] = 2;
  CHECK(message(newer).find("unsupported format version 2") != std::string::npos);
  std::string extra = good + "x";  // the digest is no longer the last 32 bytes
  CHECK(message(extra).find("checksum mismatch") != std::string::npos);
}

TEST_CASE("snapshot format: a lock held by a session missing from the file is refused") {
  std::string out;
  SnapshotHeader h;
  h.index = 5;
  SnapshotWriter w(h, [&](std::string_view c) {
    out.append(c);
    return Status::Ok();
  });
  REQUIRE(w.Add(MakeEntry("k", "v", 3, "no-such-session")).ok());
  REQUIRE(w.Finish().ok());
  auto r = ParseSnapshot(out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("no-such-session") != std::string::npos);
}

TEST_CASE("snapshot format: a sink error stops the writer") {
  SnapshotWriter w(SnapshotHeader{}, [](std::string_view) { return Status::Error("disk full"); });
  REQUIRE(w.Add(MakeEntry("k", "v", 1)).ok());  // buffered
  Status st = w.Finish();
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "disk full");
}

TEST_CASE("snapshot inspect: counts and sizes per record type, KV by prefix") {
  std::string file = Sample();
  auto r = InspectSnapshot(file, 1, "");
  REQUIRE(r.ok());
  CHECK(r->size == file.size());
  CHECK(r->header.index == 20);
  CHECK(beacon::kv::SnapshotId(r->header) == "1-20-1700000000123");
  REQUIRE(r->types.size() == 5);
  CHECK(r->types[0].name == "KVS");  // largest first
  CHECK(r->types[0].count == 3);
  uint64_t sum = 0;
  for (const auto& t : r->types) {
    sum += t.bytes;
    if (t.name == "Session" || t.name == "Tombstone" || t.name == "PreparedQuery") {
      CHECK(t.count == 1);
    }
  }
  CHECK(r->total == sum);
  CHECK(r->total == file.size() - 48 - 32 - 13);  // minus header, digest, end record
  REQUIRE(r->kv.size() == 2);
  CHECK(r->kv[0].name == "app");
  CHECK(r->kv[0].count == 2);
  CHECK(r->kv[1].name == "other");
  auto filtered = InspectSnapshot(file, 2, "app/a");
  REQUIRE(filtered.ok());
  REQUIRE(filtered->kv.size() == 1);
  CHECK(filtered->kv[0].name == "app/a");
  std::string bad = file;
  bad[100] ^= 0x10;
  CHECK_FALSE(InspectSnapshot(bad).ok());
}
