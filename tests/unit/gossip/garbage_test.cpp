// Fuzz-like: truncated, bit-flipped and random input to every decoder. Decoders must answer with
// a value or an error carrying a reason; never crash, throw or read out of bounds (run under ASan).
#include <doctest.h>

#include <random>

#include "beacon/gossip/coordinate_wire.h"
#include "beacon/gossip/envelope.h"
#include "samples.h"

using namespace gossiptest;

namespace {

// Feeds `in` to every decoder; returns how many answered with an error (each with a reason).
int feed_all(ByteView in, const Keyring& ring) {
  int errors = 0;
  auto note = [&](const auto& r) {
    if (!r.ok()) {
      CHECK_FALSE(r.status().message().empty());
      ++errors;
    }
  };
  note(DecodeMessage(in));
  note(DecodeSerf(in));
  note(UnpackPacket(in, nullptr));
  note(UnpackPacket(in, &ring));
  note(OpenStream(in, nullptr));
  note(OpenStream(in, &ring));
  note(LzwDecode(in, 1u << 20));
  note(Decompress(in));
  note(DecodeTags(in));
  note(SplitCompound(in));
  note(CheckCrc(in));
  note(decrypt(ring, in, {}));
  note(DecodePushPull(in));
  note(DecodeUserStream(in));
  note(DecodeSerfPushPull(in));
  note(DecodeSerfRelay(in));
  note(DecodePingPayload(in));
  note(StripLabel(in));
  note(StreamFrameSize(in));
  note(UnpackPacket(in, &ring, "dc1"));
  note(OpenStream(in, &ring, "dc1"));
  return errors;
}

std::vector<Bytes> corpus(const Keyring& ring) {
  std::vector<Bytes> all = all_memberlist_samples();
  for (Bytes& b : all_serf_samples()) all.push_back(std::move(b));
  all.push_back(compress(Encode(sample_push_pull())));
  all.push_back(AddCrc(Encode(sample_alive())));
  all.push_back(MakeCompound(all_memberlist_samples()).value());
  all.push_back(SealStream(Encode(sample_push_pull()), &ring, Bytes(12, 1)).value());
  all.push_back(EncodeTags({{"role", "x"}, {"dc", "dc1"}}));
  all.push_back(EncodePingPayload(OriginCoordinate()));
  all.push_back(SealStream(Encode(sample_push_pull()), &ring, Bytes(12, 2), 0, "dc1").value());
  return all;
}

}  // namespace

TEST_CASE("garbage: every strict prefix of a message is an error with a reason") {
  for (const Bytes& msg : all_memberlist_samples()) {
    if (msg[0] == static_cast<std::uint8_t>(MsgType::kUser)) continue;  // any length is valid
    for (std::size_t n = 0; n < msg.size(); ++n) {
      auto r = DecodeMessage(ByteView(msg).first(n));
      CHECK_MESSAGE(!r.ok(), "type ", int(msg[0]), " prefix ", n);
      if (!r.ok()) CHECK_FALSE(r.status().message().empty());
    }
  }
  for (const Bytes& msg : all_serf_samples()) {
    if (msg[0] == static_cast<std::uint8_t>(SerfMsgType::kRelay)) continue;  // inner is opaque
    for (std::size_t n = 0; n < msg.size(); ++n)
      CHECK_MESSAGE(!DecodeSerf(ByteView(msg).first(n)).ok(), "serf type ", int(msg[0]), " prefix ",
                    n);
  }
}

TEST_CASE("garbage: truncations, bit flips and random bytes never break a decoder") {
  auto ring = Keyring::make({Bytes(16, 3)});
  REQUIRE(ring.ok());
  std::mt19937 rng(20261202);
  int errors = 0;
  for (const Bytes& msg : corpus(*ring)) {
    for (std::size_t n = 0; n <= msg.size(); ++n) errors += feed_all(ByteView(msg).first(n), *ring);
    for (int i = 0; i < 200; ++i) {
      Bytes m = msg;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f)
        m[rng() % m.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      errors += feed_all(m, *ring);
    }
  }
  for (int i = 0; i < 2000; ++i) {
    Bytes m(rng() % 64);
    for (auto& b : m) b = static_cast<std::uint8_t>(rng());
    errors += feed_all(m, *ring);
  }
  // Hostile length prefixes: huge counts with no data behind them.
  for (const Bytes& m :
       {Bytes{0xdd, 0xff, 0xff, 0xff, 0xff},
        Bytes{6, 0x83, 0xa5, 'N', 'o', 'd', 'e', 's', 0xce, 0xff, 0xff, 0xff, 0xff},
        Bytes{10, 0xff, 0xff, 0xff, 0xff},
        Bytes{9, 0x82, 0xa3, 'B', 'u', 'f', 0xdb, 0xff, 0xff, 0xff, 0xff}})
    errors += feed_all(m, *ring);
  CHECK(errors > 0);
}
