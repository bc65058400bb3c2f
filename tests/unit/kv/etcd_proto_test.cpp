// etcd's protobuf messages as Beacon writes and reads them (src/kv/etcd_proto.h): the bytes of a
// TxnRequest and a WatchRequest as etcd's Go code would marshal them, and TxnResponse /
// WatchResponse parsing, including fields Beacon does not know and truncated input.
#include <doctest/doctest.h>

#include <string>

#include "../../../src/kv/etcd_proto.h"

using namespace beacon::kv::internal;

namespace {

std::string B(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s += static_cast<char>(b);
  return s;
}

// A length-delimited field.
std::string F(int field, const std::string& body) {
  return static_cast<char>((field << 3) | 2) + std::string(1, static_cast<char>(body.size())) +
         body;
}

}  // namespace

TEST_CASE("etcd proto: a txn of a compare, a put, a delete and a failure read") {
  const std::string got = TxnProto({{"a", 0}}, {{"k", false, "v", 0}, {"d", true, {}, 0}}, {"k"});
  // Compare{target MOD=2, key "a", mod_revision 0 (a oneof: present though 0)}
  const std::string cmp = B({0x10, 0x02, 0x1a, 0x01, 'a', 0x30, 0x00});
  const std::string put = F(2, B({0x0a, 0x01, 'k', 0x12, 0x01, 'v'}));  // RequestOp.request_put
  const std::string del = F(3, B({0x0a, 0x01, 'd'}));  // RequestOp.request_delete_range
  const std::string rng = F(1, B({0x0a, 0x01, 'k'}));  // RequestOp.request_range
  CHECK(got == F(1, cmp) + F(2, put) + F(2, del) + F(3, rng));

  // A lease and a large revision are varints (int64: two's complement, 10 bytes if negative).
  const std::string leased = TxnProto({{"a", 300}}, {{"k", false, "", 5}}, {});
  CHECK(leased == F(1, B({0x10, 0x02, 0x1a, 0x01, 'a', 0x30, 0xac, 0x02})) +
                      F(2, F(2, B({0x0a, 0x01, 'k', 0x18, 0x05}))));
}

TEST_CASE("etcd proto: watch request from a revision") {
  CHECK(WatchProto("/b/", "/b0", 7) ==
        F(1, B({0x0a, 0x03, '/', 'b', '/', 0x12, 0x03, '/', 'b', '0', 0x18, 0x07})));
}

TEST_CASE("etcd proto: txn responses, succeeded and failed with the failure branch's reads") {
  // header{cluster_id 9, revision 42}, succeeded true, a put response.
  const std::string header = F(1, B({0x08, 0x09, 0x18, 0x2a}));
  bool ok = false;
  int64_t rev = 0;
  std::vector<EtcdKv> kvs;
  std::string err;
  REQUIRE(ParseTxnProto(header + B({0x10, 0x01}) + F(3, F(2, header)), &ok, &rev, &kvs, &err));
  CHECK(ok);
  CHECK(rev == 42);
  CHECK(kvs.empty());

  // Failed: two range responses, one with a KeyValue, one empty; an unknown fixed64 field too.
  const std::string kv =
      B({0x0a, 0x01, 'k', 0x10, 0x03, 0x18, 0x2a, 0x20, 0x01, 0x2a, 0x02, 'h', 'i', 0x30, 0x07});
  const std::string failed = header + F(3, F(1, header + F(2, kv) + B({0x20, 0x01}))) +
                             F(3, F(1, header)) + B({0x79, 1, 2, 3, 4, 5, 6, 7, 8});
  REQUIRE(ParseTxnProto(failed, &ok, &rev, &kvs, &err));
  CHECK_FALSE(ok);
  REQUIRE(kvs.size() == 1);
  CHECK(kvs[0].key == "k");
  CHECK(kvs[0].value == "hi");
  CHECK(kvs[0].create_rev == 3);
  CHECK(kvs[0].mod_rev == 42);
  CHECK(kvs[0].lease == 7);

  // Truncated inside the header: refused with the reason.
  CHECK_FALSE(ParseTxnProto(header.substr(0, 3), &ok, &rev, &kvs, &err));
  CHECK(err.find("malformed etcd TxnResponse") != std::string::npos);
}

TEST_CASE("etcd proto: watch responses") {
  const std::string put_kv = B({0x0a, 0x01, 'a', 0x18, 0x05, 0x2a, 0x01, 'x'});
  const std::string del_kv = B({0x0a, 0x01, 'b', 0x18, 0x06});
  const std::string msg = F(1, B({0x18, 0x06})) + B({0x10, 0x01}) + F(11, F(2, put_kv)) +
                          F(11, B({0x08, 0x01}) + F(2, del_kv));
  std::vector<EtcdKv> ev;
  bool created = true, canceled = true;
  int64_t compact = -1;
  std::string err;
  REQUIRE(ParseWatchProto(msg, &ev, &created, &canceled, &compact, &err));
  CHECK_FALSE(created);
  CHECK_FALSE(canceled);
  CHECK(compact == 0);
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].key == "a");
  CHECK(ev[0].value == "x");
  CHECK(ev[0].mod_rev == 5);
  CHECK_FALSE(ev[0].deleted);
  CHECK(ev[1].key == "b");
  CHECK(ev[1].deleted);

  ev.clear();
  REQUIRE(ParseWatchProto(B({0x18, 0x01}), &ev, &created, &canceled, &compact, &err));
  CHECK(created);
  REQUIRE(ParseWatchProto(B({0x20, 0x01, 0x28, 0x09}), &ev, &created, &canceled, &compact, &err));
  CHECK(canceled);
  CHECK(compact == 9);
  CHECK_FALSE(
      ParseWatchProto(F(11, F(2, put_kv)).substr(0, 6), &ev, &created, &canceled, &compact, &err));
  CHECK(err.find("malformed etcd WatchResponse") != std::string::npos);
}

TEST_CASE("etcd proto: a group commit nests each unit's txn, then puts the index keys once") {
  const TxnUnit a{{{"a", 0}}, {{"k", false, "v", 0}}, {"k"}};
  const TxnUnit b{{{"b", 7}}, {{"d", true, {}, 0}}, {}};
  const std::string got = BatchTxnProto({&a, &b}, {{"m", false, "", 0}});
  const std::string ta = TxnProto(a.compares, a.success, a.failure_reads);
  const std::string tb = TxnProto(b.compares, b.success, b.failure_reads);
  // success: RequestOp.request_txn (4) per unit, then RequestOp.request_put (2) of "m"
  CHECK(got == F(2, F(4, ta)) + F(2, F(4, tb)) + F(2, F(2, B({0x0a, 0x01, 'm'}))));

  // The answer: one ResponseOp.response_txn per unit (the first succeeded, the second failed with
  // its failure read), then the put's response.
  const std::string header = F(1, B({0x08, 0x09, 0x18, 0x2a}));
  const std::string kv = B({0x0a, 0x01, 'k', 0x18, 0x05});
  const std::string inner_ok = header + B({0x10, 0x01}) + F(3, F(2, header));
  const std::string inner_failed = header + F(3, F(1, header + F(2, kv)));
  const std::string resp = header + B({0x10, 0x01}) + F(3, F(4, inner_ok)) +
                           F(3, F(4, inner_failed)) + F(3, F(2, header));
  int64_t rev = 0;
  std::vector<UnitAnswer> units(2);
  std::string err;
  REQUIRE(ParseBatchTxnProto(resp, &rev, &units, &err));
  CHECK(rev == 42);
  CHECK(units[0].succeeded);
  CHECK(units[0].kvs.empty());
  CHECK_FALSE(units[1].succeeded);
  REQUIRE(units[1].kvs.size() == 1);
  CHECK(units[1].kvs[0].key == "k");
  CHECK(units[1].kvs[0].mod_rev == 5);

  // An answer with another number of nested txns than units sent is refused.
  std::vector<UnitAnswer> three(3);
  CHECK_FALSE(ParseBatchTxnProto(resp, &rev, &three, &err));
  CHECK(err.find("group commit") != std::string::npos);
}
