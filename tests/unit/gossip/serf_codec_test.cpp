// Serf messages and tags: Go's bytes, and a round trip for every type.
#include <doctest.h>

#include "beacon/gossip/coordinate_wire.h"
#include "samples.h"

using namespace gossiptest;

namespace {
// Captured from Go: Serf's messagePushPull with one nil and one filled event slot.
constexpr std::string_view kGoSerfPushPull =
    "86aa4576656e744c54696d6501a64576656e747392c082a64576656e74739182a44e616d65a66465706c6f79a750"
    "61796c6f6164a178a54c54696d6503a54c54696d6505ab4c6566744d656d6265727390aa51756572794c54696d65"
    "01ac5374617475734c54696d657381a2733101";
}  // namespace

TEST_CASE("serf: push-pull state matches Go's bytes both ways") {
  SerfPushPull pp;
  pp.ltime = 5;
  pp.status_ltimes = {{"s1", 1}};
  pp.event_ltime = 1;
  pp.events = {std::nullopt, SerfEvents{3, {{"deploy", bytes_of("x")}}}};
  pp.query_ltime = 1;
  Bytes m = EncodeSerf(pp);
  CHECK(m[0] == 2);
  CHECK(Bytes(m.begin() + 1, m.end()) == from_hex(kGoSerfPushPull));
  auto d = DecodeSerfPushPull(from_hex(kGoSerfPushPull));
  REQUIRE(d.ok());
  CHECK(*d == pp);
}

TEST_CASE("serf: Beacon's extension state rides in push-pull under a key Serf skips") {
  SerfPushPull pp;
  pp.ltime = 5;
  pp.status_ltimes = {{"s1", 1}};
  pp.ext = {0x86, 0x01, 0x02};
  Bytes m = EncodeSerf(pp);
  auto d = DecodeSerfPushPull(ByteView(m).subspan(1));
  REQUIRE(d.ok());
  CHECK(*d == pp);
  // Without it the bytes are exactly Go's (above); with it, Go's map plus one key.
  pp.ext.clear();
  pp.events = {std::nullopt, SerfEvents{3, {{"deploy", bytes_of("x")}}}};
  pp.event_ltime = 1;
  pp.query_ltime = 1;
  const Bytes plain = EncodeSerf(pp);
  CHECK(Bytes(plain.begin() + 1, plain.end()) == from_hex(kGoSerfPushPull));
}

TEST_CASE("serf: tags live in node meta behind the magic byte") {
  Tags t{{"role", "consul"}, {"dc", "dc1"}, {"port", "8300"}};
  Bytes meta = EncodeTags(t);
  CHECK(meta[0] == 0xff);
  auto back = DecodeTags(meta);
  REQUIRE(back.ok());
  CHECK(*back == t);
  // Protocol < 3 meta is the bare role.
  auto old = DecodeTags(bytes_of("web"));
  REQUIRE(old.ok());
  CHECK(*old == Tags{{"role", "web"}});
  auto bad = DecodeTags(Bytes{0xff, 0x81, 0xa1});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("decode tags") == 0);
}

TEST_CASE("serf: Consul's LAN tags are plain tags and fit in node meta") {
  // The tag names a Consul 1.x server gossips on the LAN pool.
  Tags consul{{"role", "consul"},    {"dc", "dc1"},
              {"segment", ""},       {"id", "5b8a1f2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"},
              {"vsn", "2"},          {"vsn_min", "2"},
              {"vsn_max", "3"},      {"build", "1.16.1:b7c1b2a1"},
              {"raft_vsn", "3"},     {"expect", "3"},
              {"port", "8300"},      {"wan_join_port", "8302"},
              {"grpc_port", "8502"}, {"use_tls", "1"},
              {"ft_fs", "1"},        {"ft_si", "1"}};
  Bytes meta = EncodeTags(consul);
  CHECK(meta.size() <= kMetaMaxSize);
  CHECK(DecodeTags(meta).value() == consul);
  Alive a{1, "server1", {10, 0, 0, 1}, 8301, meta, Versions{}};
  CHECK(DecodeTags(DecodeAlive(ByteView(Encode(a)).subspan(1)).value().meta).value() == consul);
}

TEST_CASE("serf: every message type round-trips through decode_serf") {
  std::vector<SerfMessage> values = {
      SerfLeave{8, "n3", true},
      SerfJoin{7, "beacon1"},
      SerfPushPull{12, {{"s1", 3}}, {"x"}, 2, {std::nullopt}, 1},
      SerfUserEvent{5, "deploy", bytes_of("v1"), true},
      SerfQuery{
          6, 77, {127, 0, 0, 1}, 7946, "s1", {bytes_of("f")}, 1, 2, -5, "ping", bytes_of("p")},
      SerfQueryResponse{6, 77, "s2", 1, bytes_of("pong")},
      SerfConflictResponse{
          SerfMember{"s1", {127, 0, 0, 1}, 7946, {{"role", "t"}}, 4, 2, 5, 4, 2, 5, 4}},
      SerfConflictResponse{std::nullopt},
      SerfKeyRequest{Bytes(32, 0xab)},
      SerfKeyResponse{true, "ok", {"k1", "k2"}, "k1"},
      SerfRelay{{127, 0, 0, 1}, 7946, "eth0", "s2", EncodeSerf(SerfJoin{1, "a"})},
  };
  for (const SerfMessage& v : values) {
    Bytes wire = std::visit([](const auto& m) { return EncodeSerf(m); }, v);
    auto back = DecodeSerf(wire);
    REQUIRE_MESSAGE(back.ok(), back.status().message());
    CHECK(*back == v);
  }
  CHECK(EncodeSerf(SerfJoin{})[0] == 1);
  CHECK(EncodeSerf(SerfRelay{})[0] == 9);
}

TEST_CASE("serf: a relay carries the inner message after its header") {
  Bytes wire = EncodeSerf(SerfRelay{{10, 0, 0, 1}, 80, "", "dst", EncodeSerf(SerfLeave{2, "x"})});
  auto r = DecodeSerfRelay(ByteView(wire).subspan(1));
  REQUIRE(r.ok());
  CHECK(r->dest_name == "dst");
  auto inner = DecodeSerf(r->inner);
  REQUIRE(inner.ok());
  CHECK(std::get<SerfLeave>(*inner) == SerfLeave{2, "x", false});
}

TEST_CASE("serf: the ack payload carries a Vivaldi coordinate as Go writes it") {
  // Captured from Go: coordinate.Coordinate{Vec: {0.5, -1}, Error: 1.5, Height: 1e-5}.
  constexpr std::string_view kGoCoord =
      "84aa41646a7573746d656e74cb0000000000000000a54572726f72cb3ff8000000000000a6486569676874cb3e"
      "e4f8b588e368f1a356656392cb3fe0000000000000cbbff0000000000000";
  Coordinate c{{0.5, -1}, 1.5, 0, 1e-5};
  Bytes payload = EncodePingPayload(c);
  CHECK(payload[0] == 1);
  CHECK(Bytes(payload.begin() + 1, payload.end()) == from_hex(kGoCoord));
  auto back = DecodePingPayload(payload);
  REQUIRE(back.ok());
  CHECK(*back == c);
  CHECK(DecodePingPayload(EncodePingPayload(OriginCoordinate())).value().vec.size() == 8);
  Bytes v2 = payload;
  v2[0] = 2;
  CHECK(DecodePingPayload(v2).status().message() == "ping payload: unsupported version 2");
}
