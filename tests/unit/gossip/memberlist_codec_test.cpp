// memberlist messages: the bytes Go's memberlist writes, and a round trip for every type.
#include <doctest.h>
#include <msgpack.hpp>

#include <algorithm>

#include "samples.h"

using namespace gossiptest;

namespace {
// Captured from Go: go-msgpack's MsgpackHandle encoding memberlist's own structs (the bodies,
// without the type byte).
constexpr std::string_view kGoPing = "82a44e6f6465a27331a55365714e6f2a";
constexpr std::string_view kGoPingSrc =
    "85a44e6f6465a27331a55365714e6fcd012caa536f7572636541646472a47f000001aa536f757263654e6f6465a762"
    "6561636f6e31aa536f75726365506f7274cd1f0a";
constexpr std::string_view kGoAlive =
    "86a441646472a47f000001ab496e6361726e6174696f6e01a44d657461acff81a4726f6c65a474657374a44e6f6465"
    "a7626561636f6e31a4506f7274cd1f0aa356736ea6010502020504";
constexpr std::string_view kGoAckNil = "82a75061796c6f6164c0a55365714e6fce00011170";

Bytes body(const Bytes& msg) {
  return Bytes(msg.begin() + 1, msg.end());
}
}  // namespace

TEST_CASE("memberlist: encoders write exactly what Go's memberlist writes") {
  CHECK(body(Encode(Ping{42, "s1", {}, 0, ""})) == from_hex(kGoPing));
  CHECK(body(Encode(Ping{300, "s1", {127, 0, 0, 1}, 7946, "beacon1"})) == from_hex(kGoPingSrc));
  Alive a{1, "beacon1", {127, 0, 0, 1}, 7946, EncodeTags({{"role", "test"}}), Versions{}};
  CHECK(body(Encode(a)) == from_hex(kGoAlive));
  CHECK(body(Encode(Ack{70000, {}})) == from_hex(kGoAckNil));
  CHECK(Encode(Ping{})[0] == 0);
  CHECK(Encode(a)[0] == 4);
}

TEST_CASE("memberlist: decoders read Go's bytes") {
  auto p = DecodePing(from_hex(kGoPingSrc));
  REQUIRE(p.ok());
  CHECK(p->seq_no == 300);
  CHECK(p->node == "s1");
  CHECK(p->source_addr == Bytes{127, 0, 0, 1});
  CHECK(p->source_port == 7946);
  CHECK(p->source_node == "beacon1");
  auto a = DecodeAlive(from_hex(kGoAlive));
  REQUIRE(a.ok());
  CHECK(a->node == "beacon1");
  CHECK(a->port == 7946);
  CHECK(a->vsn == Versions{1, 5, 2, 2, 5, 4});
  auto tags = DecodeTags(a->meta);
  REQUIRE(tags.ok());
  CHECK(tags->at("role") == "test");
}

TEST_CASE("memberlist: every message type round-trips through decode_message") {
  CHECK(std::get<Ping>(DecodeMessage(Encode(Ping{300, "s1", {127, 0, 0, 1}, 7946, "b"})).value()) ==
        Ping{300, "s1", {127, 0, 0, 1}, 7946, "b"});
  IndirectPing ip{5, {10, 0, 0, 2}, 7946, "n2", true, {127, 0, 0, 1}, 7000, "me"};
  CHECK(std::get<IndirectPing>(DecodeMessage(Encode(ip)).value()) == ip);
  Ack ack{70000, bytes_of("\x01payload")};
  CHECK(std::get<Ack>(DecodeMessage(Encode(ack)).value()) == ack);
  CHECK(std::get<Nack>(DecodeMessage(Encode(Nack{9})).value()) == Nack{9});
  CHECK(std::get<ErrResp>(DecodeMessage(Encode(ErrResp{"boom"})).value()) == ErrResp{"boom"});
  CHECK(std::get<Suspect>(DecodeMessage(Encode(Suspect{3, "n2", "n1"})).value()) ==
        Suspect{3, "n2", "n1"});
  CHECK(std::get<Alive>(DecodeMessage(Encode(sample_alive())).value()) == sample_alive());
  CHECK(std::get<Dead>(DecodeMessage(Encode(Dead{4, "n2", "n2"})).value()) == Dead{4, "n2", "n2"});
  CHECK(std::get<PushPull>(DecodeMessage(Encode(sample_push_pull())).value()) ==
        sample_push_pull());
  CHECK(std::get<UserMsg>(DecodeMessage(Encode(UserMsg{bytes_of("hi")})).value()) ==
        UserMsg{bytes_of("hi")});
  auto u = DecodeUserStream(body(EncodeUserStream(UserMsg{bytes_of("stream")})));
  REQUIRE(u.ok());
  CHECK(u->payload == bytes_of("stream"));
}

TEST_CASE("memberlist: long strings use str16 like Go, and an independent decoder agrees") {
  Suspect s{1, std::string(40, 'a'), std::string(300, 'b')};
  Bytes m = Encode(s);
  // 'From' value: 300 bytes -> 0xda 0x01 0x2c (go-msgpack never writes str8).
  const Bytes str16{0xda, 0x01, 0x2c};
  CHECK(std::search(m.begin(), m.end(), str16.begin(), str16.end()) != m.end());
  for (const Bytes& msg : all_memberlist_samples()) {
    if (msg[0] == static_cast<std::uint8_t>(MsgType::kUser)) continue;  // raw payload
    std::size_t off = 0;
    msgpack::object_handle oh =
        msgpack::unpack(reinterpret_cast<const char*>(msg.data()) + 1, msg.size() - 1, off);
    CHECK(oh.get().type == msgpack::type::MAP);
  }
}

TEST_CASE("memberlist: a push-pull with a short node count or user state is an error") {
  Bytes m = Encode(sample_push_pull());
  m.pop_back();
  auto r = DecodePushPull(body(m));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("user state truncated") != std::string::npos);
  auto w = DecodeMessage(Bytes{static_cast<std::uint8_t>(MsgType::kCompound), 0});
  REQUIRE_FALSE(w.ok());
  CHECK(w.status().message().find("unwrapped first") != std::string::npos);
  auto unk = DecodeMessage(Bytes{99});
  REQUIRE_FALSE(unk.ok());
  CHECK(unk.status().message() == "unknown memberlist message type 99");
}
