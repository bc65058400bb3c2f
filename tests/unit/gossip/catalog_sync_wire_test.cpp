// The catalog sync messages: every message and op kind round-trips; bad input is an error.
#include <doctest.h>

#include <string>

#include "beacon/gossip/catalog_sync_wire.h"

using namespace beacon;
using namespace beacon::catalog;
using namespace beacon::gossip::catsync;
using beacon::gossip::Bytes;
using beacon::gossip::ByteView;

namespace {

Check RichCheck() {
  Check c;
  c.id = "api-http";
  c.name = "API";
  c.notes = "n";
  c.service_id = "api1";
  c.service_name = "api";
  c.status = Health::kWarning;
  c.output = "slow";
  c.args = {"/bin/true", "-x"};
  c.http = "http://localhost/health";
  c.method = "POST";
  c.header = {{"X-A", {"1", "2"}}};
  c.body = "{}";
  c.tcp = "localhost:1";
  c.udp = "localhost:2";
  c.grpc = "localhost:3";
  c.shell = "/bin/sh";
  c.docker_container_id = "abc";
  c.tls_skip_verify = true;
  c.disable_redirects = true;
  c.tls_server_name = "api.local";
  c.tcp_use_tls = true;
  c.alias_node = "n2";
  c.alias_service = "db";
  c.output_max_size = 100;
  c.interval_ms = 10000;
  c.timeout_ms = 1000;
  c.ttl_ms = 30000;
  c.deregister_critical_after_ms = 60000;
  c.success_before_passing = 2;
  c.failures_before_warning = 3;
  c.failures_before_critical = 4;
  return c;
}

Service RichService() {
  Service s;
  s.id = "api1";
  s.name = "api";
  s.tags = {"v1", "primary"};
  s.address = "10.0.0.5";
  s.port = 8443;
  s.meta = {{"version", "1.2"}};
  s.tagged_addresses = {{"lan", {"10.0.0.5", 8443}}, {"wan", {"1.2.3.4", 443}}};
  s.weights = {10, 2};
  s.enable_tag_override = true;
  s.kind = "connect-proxy";
  return s;
}

Node RichNode() {
  Node n;
  n.name = "Web-1";
  n.id = "2f0c5a3e-0000-4000-8000-000000000001";
  n.address = "10.0.0.5";
  n.datacenter = "dc2";
  n.tagged_addresses = {{"lan", "10.0.0.5"}, {"wan", "1.2.3.4"}};
  n.meta = {{"rack", "r1"}};
  return n;
}

NodeRecord RichRecord() {
  NodeRecord r;
  r.node = RichNode();
  r.services = {{RichService(), {RichCheck()}}, {Service{"db", "db", {}, "", 5432}, {}}};
  Check disk;
  disk.id = disk.name = "disk";
  disk.status = Health::kPassing;
  r.node_checks = {disk};
  r.version = (1ull << 40) + 7;
  return r;
}

void RoundTrip(const Message& m) {
  const Bytes b = Encode(m);
  REQUIRE(b.size() > 1);
  CHECK(b[0] >= 0x80);
  Result<Message> back = Decode(b);
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(*back == m);
  for (std::size_t cut = 0; cut < b.size(); ++cut) {  // every truncation is an error
    CHECK_FALSE(Decode(ByteView(b.data(), cut)).ok());
  }
}

Delta DeltaOf(Op o, std::uint64_t from, std::uint64_t version) {
  Delta d;
  d.sender = "Web-1";
  d.from_version = from;
  d.change = LocalChange(std::move(o));
  d.change.version = version;
  return d;
}

}  // namespace

TEST_CASE("every op kind round-trips inside a delta") {
  Registration reg;
  reg.node = RichNode();
  reg.services = {RichService()};
  reg.checks = {RichCheck()};
  reg.skip_node_update = true;
  const std::vector<Op> ops = {
      op::UpsertNode{RichNode()},
      op::RemoveNode{"Web-1"},
      op::UpsertService{"Web-1", RichService(), {RichCheck()}},
      op::RemoveService{"Web-1", "api1"},
      op::UpsertCheck{"Web-1", RichCheck()},
      op::RemoveCheck{"Web-1", "api-http"},
      op::UpdateCheck{"Web-1", "api-http", Health::kPassing, "ok"},
      op::UpdateCheck{"Web-1", "api-http", Health::kCritical, ""},
      op::Register{reg},
      op::ReplaceNode{RichNode(), RichRecord().services, RichRecord().node_checks},
      op::SetLiveness{"Web-1", Liveness::kLeft},
  };
  for (const Op& o : ops) {
    CAPTURE(OpName(o));
    RoundTrip(DeltaOf(o, 41, 42));
  }
  // The origin comes from the op: lower-case node name.
  Result<Message> m = Decode(Encode(DeltaOf(op::RemoveNode{"Web-1"}, 1, 2)));
  REQUIRE(m.ok());
  CHECK(std::get<Delta>(*m).change.origin == "web-1");
}

TEST_CASE("records, announcements, digests, pulls round-trip") {
  RoundTrip(RecordMsg{"a", RichRecord()});
  RoundTrip(Announce{"a", "web-1", 99});
  RoundTrip(Digest{"a", {{"web-1", 5}, {"db-2", 1ull << 50}}});
  RoundTrip(Digest{"a", {}});
  RoundTrip(Pull{"a", {"web-1", "db-2"}});
  RoundTrip(Records{"a", {RichRecord(), RichRecord()}, {}});
  RoundTrip(Records{"a", {}, {}});
  RoundTrip(Records{"a", {RichRecord()}, {{"gone", 12}, {"also-gone", 1ull << 45}}});
}

TEST_CASE("a digest sum is one small message and tells digests apart") {
  const std::vector<std::pair<std::string, std::uint64_t>> a = {{"node1", 5}, {"node2", 9}};
  auto b = a;
  b[1].second = 10;  // one version differs
  auto c = a;
  c[1].first = "node3";  // one origin differs
  CHECK(SumOf(a) == SumOf(a));
  CHECK(SumOf(a) != SumOf(b));
  CHECK(SumOf(a) != SumOf(c));
  CHECK(SumOf({{"ab", 1}}) != SumOf({{"a", 1}}));
  const DigestSum sum{"node-with-a-long-name-7", SumOf(a), a.size()};
  RoundTrip(sum);
  CHECK(Encode(sum).size() < 48);  // fits any UDP packet with room to spare
}

TEST_CASE("a small delta is small, and bad messages are errors") {
  const Bytes flip =
      Encode(DeltaOf(op::UpdateCheck{"web-1", "service:api1", Health::kCritical, ""}, 41, 42));
  CHECK(flip.size() < 64);
  CHECK_FALSE(Decode(ByteView()).ok());
  const Bytes unknown = {0x9f, 0x80};
  CHECK_FALSE(Decode(unknown).ok());
  const Bytes no_op = {0x80, 0x81, 0xa1, 'S', 0xa1, 'x'};  // a delta without an op
  CHECK_FALSE(Decode(no_op).ok());
  Bytes huge = {0x85, 0x81, 0xa1, 'R', 0xdd, 0x7f, 0xff, 0xff, 0xff};  // array longer than input
  CHECK_FALSE(Decode(huge).ok());
  Bytes trailing = Encode(Announce{"a", "b", 1});
  trailing.push_back(0xc0);
  CHECK_FALSE(Decode(trailing).ok());
}
