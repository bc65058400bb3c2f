// Real traffic captured from a stock `serf agent -node s1 -tag role=test -tag dc=dc1` (serf 0.9.x,
// memberlist 0.2.2, on loopback port 17946) by tests/gossip/wire_probe --dump: the ack to a ping
// (seq 4242) and the answer to a join push-pull, plain and encrypted with kKey. Decoding them needs
// LZW (serf compresses), compound splitting, AES-GCM and every Serf field, without Go installed.
#include <doctest.h>

#include "beacon/gossip/coordinate_wire.h"
#include "beacon/gossip/envelope.h"
#include "samples.h"

using namespace gossiptest;

namespace {

constexpr std::string_view kKey = "T9jncgl9mbLus+baTTa7q7nPSUrXwbDi2dhbtqir37s=";

constexpr std::string_view kAck =
    "0982a4416c676f00a3427566da00b8000f08008009401301824e41099387cd9b3064b40110148090aa2064d4d499"
    "43a74d193774960118497264a92272e4bc91b3ec07be92234d212993e60c9a903ec8e1ab85681c9a78a3ac941983"
    "4924cc91468f2685b9b46453924f911e953ab5d49432719cbc690641120143a430929143eacfc800ab92b8191346"
    "8e9b3074d2bc71138054933274c2ccfa2788944a366548d129c351149931a30ec720a5954c19517316435949a799"
    "110d41e7b83115a0800001050a0404";
constexpr std::string_view kPushPull =
    "0982a4416c676f00a3427566da00d7000d0c22a5e44d1a37c34a397943a6cc9c00acaacc2923670a9d3074ca3029"
    "e3a69900258748052143460ea93f0000045895c4cd983072dc604cf3c64d00524dca5c9cf54f1029396fd8942195"
    "710e1d5164c68c4a1a839493306dca889ad314ca1b39749a19d150ca22c63200465999e3c6548002020414406b48"
    "55113b1ce930a192266a00536fe3cee1260000b0bf80030b1e4cb8b0e1c388132b5eccb8b1e3c790234b9e4cb9b2"
    "e5cb98336bdeccb971a9b975cbacdc68864ece366228ce81a42a4a1d8a7940db65e5954e9d39b21d069a1a034040";
constexpr std::string_view kAckEncrypted =
    "018b13a9003b88ca011fa39b2f7b9192ce9a227b4fa4bf3cb7755d448c66f09eada9e54063530942fe24e0f33a2d"
    "bf767b4962c7fce689ddacc1dd2c550ff7cfe03d4f1e5193fd45191ae6a934a10b458366884a5831cf06b06cf64e"
    "604c71ab170571967b2cf3c31f18184e716f427f76c5f33942206e8d784648b4afac4a08adc0812680f4b2fad4b7"
    "063ffd2574dbf1395e4580390af32c1705cf8520992b03d68d4fe547876477daa0676ab31320e30f757a4cdb196d"
    "e2841642a762c9e50a7e6d1533b41276060b001014a67b3b6fa640e3ca000c27cc3143055d0e";
constexpr std::string_view kPushPullEncrypted =
    "0a000000fe01d1f85ab0ac94a02feb8c01b1412ea5cdd9af6c5f8eabbddff7e04bc92f567aebd4764c485393d5b4"
    "e1a715755bee789061a702023fe38bee76953b485cc41ed0b822bd41929c2477e79d9e3966a6062d1141ed60020d"
    "674ed558e5df5fcd1b2b4190115307bb7f3fccb68d1a65ea2158361ed303f7c0a11e8bac32644fd76fe476eb37a4"
    "e6f07b440d92381c38ab2675a83cdb43f87bc5e543ca86c70a45125e147b44f106272c410d1fdf7cd1649100b2c3"
    "21d43e0e85f677e407b6f82a133a727477efb8bb99e622a67739b9450485ceed58d41300f04c69fbd014bcb65a97"
    "2d244be5f41c41b2fc694af146533a8fb60bb5810ab40a5cc2219bf4d5";

void check_ack_packet(ByteView packet, const Keyring* ring) {
  auto msgs = UnpackPacket(packet, ring);
  REQUIRE_MESSAGE(msgs.ok(), msgs.status().message());
  REQUIRE(msgs->size() == 2);  // the ack, and a piggybacked broadcast
  auto ack = DecodeMessage((*msgs)[0]);
  REQUIRE(ack.ok());
  CHECK(std::get<Ack>(*ack).seq_no == 4242);
  auto coord = DecodePingPayload(std::get<Ack>(*ack).payload);
  REQUIRE(coord.ok());
  CHECK(coord->vec.size() == 8);
  CHECK(coord->error > 0);
  auto second = DecodeMessage((*msgs)[1]);
  REQUIRE_MESSAGE(second.ok(), second.status().message());
}

void check_push_pull(ByteView stream, const Keyring* ring, const Tags& tags) {
  auto plain = OpenStream(stream, ring);
  REQUIRE_MESSAGE(plain.ok(), plain.status().message());
  REQUIRE((*plain)[0] == static_cast<std::uint8_t>(MsgType::kPushPull));
  auto pp = DecodePushPull(ByteView(*plain).subspan(1));
  REQUIRE_MESSAGE(pp.ok(), pp.status().message());
  CHECK(pp->join);
  REQUIRE(pp->nodes.size() == 1);
  const PushNodeState& s1 = pp->nodes[0];
  CHECK(s1.name == "s1");
  CHECK(s1.addr == Bytes{127, 0, 0, 1});
  CHECK(s1.port == 17946);
  CHECK(s1.state == NodeState::kAlive);
  CHECK(s1.vsn == Versions{1, 5, 2, 2, 5, 5});
  CHECK(DecodeTags(s1.meta).value() == tags);
  REQUIRE(!pp->user_state.empty());
  CHECK(pp->user_state[0] == static_cast<std::uint8_t>(SerfMsgType::kPushPull));
  auto serf = DecodeSerfPushPull(ByteView(pp->user_state).subspan(1));
  REQUIRE_MESSAGE(serf.ok(), serf.status().message());
  CHECK(serf->ltime == 1);
  CHECK(serf->status_ltimes.count("s1") == 1);
  CHECK(serf->events.size() == 512);  // serf's event ring buffer, empty slots as nil
  // Re-encoding the decoded state gives serf's bytes back.
  CHECK(EncodeSerf(*serf) == pp->user_state);
}

}  // namespace

TEST_CASE("capture: serf's ack packet (LZW-compressed compound) decodes") {
  check_ack_packet(from_hex(kAck), nullptr);
}

TEST_CASE("capture: serf's join answer decodes to s1 with its tags and Serf state") {
  check_push_pull(from_hex(kPushPull), nullptr, {{"role", "test"}, {"dc", "dc1"}});
}

TEST_CASE("capture: encrypted traffic opens with serf's key and not with another") {
  auto ring = Keyring::FromBase64({kKey});
  REQUIRE(ring.ok());
  check_ack_packet(from_hex(kAckEncrypted), &*ring);
  check_push_pull(from_hex(kPushPullEncrypted), &*ring, {{"role", "test"}});
  auto wrong = Keyring::make({Bytes(32, 1)});
  REQUIRE(wrong.ok());
  auto bad = UnpackPacket(from_hex(kAckEncrypted), &*wrong);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "No installed keys could decrypt the message");
  auto bad_stream = OpenStream(from_hex(kPushPullEncrypted), &*wrong);
  REQUIRE_FALSE(bad_stream.ok());
  CHECK(bad_stream.status().message().find("No installed keys") != std::string::npos);
}
