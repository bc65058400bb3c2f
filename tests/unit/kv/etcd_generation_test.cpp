// Generations on etcd (src/kv/etcd_generation.h): the index arithmetic of a restore and the
// encodings of restored records.
#include <doctest/doctest.h>

#include "../../../src/kv/etcd_generation.h"

using namespace beacon::kv;
using namespace beacon::kv::internal;

namespace {

EtcdKv Kv(std::string key, int64_t mod_rev, std::string value = "") {
  EtcdKv kv;
  kv.key = std::move(key);
  kv.value = std::move(value);
  kv.create_rev = kv.mod_rev = mod_rev;
  return kv;
}

}  // namespace

TEST_CASE("etcd generation: no pointer is the layout under the prefix, indexes = revisions") {
  Generation g = FindGeneration({Kv("/b/e/k", 7), Kv("/b/m/kv", 7)}, "/b/");
  CHECK(g.path.empty());
  CHECK(g.pointer_rev == 0);
  CHECK(g.base == 0);
  CHECK(g.Index(7) == 7);
}

TEST_CASE("etcd generation: R = max(C, S) + 1 at the flip's revision, later writes above") {
  Generation next;
  next.path = "g/abc/";
  next.prev = "";
  next.prev_base = 0;
  next.snapshot = 100;
  const std::string ptr = EncodeGeneration(next);
  // The old generation reported index 40 (m/kv at 40, m/sessions at 30); the flip is rev 50.
  Generation g =
      FindGeneration({Kv("/b/gen", 50, ptr), Kv("/b/m/kv", 40), Kv("/b/m/sessions", 30)}, "/b/");
  CHECK(g.path == "g/abc/");
  CHECK(g.c == 40);
  CHECK(g.r == 101);          // above the snapshot's index
  CHECK(g.Index(50) == 101);  // the flip's own keys (m/kv, m/sessions) report R
  CHECK(g.Index(51) == 102);  // the next write goes above it
  CHECK(g.Keep(77) == 77);    // above C: the snapshot's index stays
  CHECK(g.Keep(40) == 101);   // at or below C: moved to R
  CHECK(g.Keep(0) == 101);    // a key the restore dropped

  // A store far ahead of the snapshot: R = C + 1, the base goes negative.
  next.snapshot = 10;
  next.prev = "g/old/";
  next.prev_base = 1000;
  g = FindGeneration({Kv("/b/gen", 500, EncodeGeneration(next)), Kv("/b/g/old/m/kv", 450)}, "/b/");
  CHECK(g.c == 1450);
  CHECK(g.r == 1451);
  CHECK(g.Index(500) == 1451);
  CHECK(g.Keep(10) == 1451);
}

TEST_CASE("etcd generation: entry envelopes round-trip; version 1 still reads") {
  Entry e;
  e.key = "k";
  e.value = std::string("v\0x", 3);
  e.flags = 42;
  e.lock_index = 3;
  e.session = "sess";
  e.create_index = 5;
  e.modify_index = 9;
  for (uint8_t mask : {kRestored, kPinnedCreate}) {
    Entry d;
    uint8_t got = 0;
    REQUIRE(DecodeEntryAny(EncodeEntryV2(e, mask), &d, &got));
    CHECK(got == mask);
    CHECK(d.value == e.value);
    CHECK(d.flags == 42);
    CHECK(d.lock_index == 3);
    CHECK(d.session == "sess");
    CHECK(d.create_index == 5);
    if (mask == kRestored) CHECK(d.modify_index == 9);
  }
  Entry v1;
  uint8_t got = 9;
  REQUIRE(DecodeEntryAny(EncodeEntryValue(e), &v1, &got));
  CHECK(got == 0);
  CHECK(v1.value == e.value);
  CHECK_FALSE(DecodeEntryAny(EncodeEntryV2(e, kRestored).substr(0, 25), &v1, &got));
}

TEST_CASE("etcd generation: restored tombstones and sessions carry their snapshot indexes") {
  uint64_t raw = 1;
  REQUIRE(DecodeRestoredTomb(EncodeRestoredTomb(0), &raw));
  CHECK(raw == 0);
  CHECK_FALSE(DecodeRestoredTomb("", &raw));  // a tombstone written by a delete

  Session s;
  s.name = "x\",\"Restored\":[1,2]}";  // escaped in the JSON: not mistaken for the field
  s.node = "n1";
  s.create_index = 11;
  s.modify_index = 12;
  uint64_t c = 0, m = 0;
  REQUIRE(DecodeRestoredSession(EncodeRestoredSession(s, 77), &c, &m));
  CHECK((c == 11 && m == 12));
  Session back;
  int64_t lease = 0;
  REQUIRE(DecodeSession(EncodeRestoredSession(s, 77), &back, &lease));
  CHECK(back.name == s.name);
  CHECK(lease == 77);
  CHECK_FALSE(DecodeRestoredSession(EncodeSession(s, 77), &c, &m));
}
