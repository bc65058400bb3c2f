// Framing: compound, CRC, LZW compression, AES-GCM with a keyring, whole packets and streams.
#include <doctest.h>

#include <random>

#include "beacon/gossip/envelope.h"
#include "samples.h"

using namespace gossiptest;

namespace {
// Captured from Go: compress/lzw, LSB order, 8-bit literals.
constexpr std::string_view kGoLzwIn =
    "TOBEORNOTTOBEORTOBEORNOT#TOBEORNOTTOBEORTOBEORNOT#"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr std::string_view kGoLzwOut =
    "00a93c1152e48914274fa80824687061c183094738348850e1c0871321521911a6a3c78f20438a1c093220";

Bytes random_bytes(std::size_t n, unsigned seed, int alphabet = 256) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng() % static_cast<unsigned>(alphabet));
  return out;
}

const Bytes kNonce(kNonceSize, 7);
}  // namespace

TEST_CASE("envelope: compound packs parts and tolerates truncation like memberlist") {
  std::vector<Bytes> msgs = {Encode(Ping{1, "a", {}, 0, ""}), Encode(Nack{2}), Bytes{8}};
  auto c = MakeCompound(msgs);
  REQUIRE(c.ok());
  CHECK((*c)[0] == 7);
  CHECK((*c)[1] == 3);
  auto parts = SplitCompound(ByteView(*c).subspan(1));
  REQUIRE(parts.ok());
  REQUIRE(parts->parts.size() == 3);
  CHECK(Bytes(parts->parts[1].begin(), parts->parts[1].end()) == msgs[1]);
  CHECK(parts->truncated == 0);
  Bytes cut(c->begin(), c->end() - 1);  // the last part is one byte
  auto some = SplitCompound(ByteView(cut).subspan(1));
  REQUIRE(some.ok());
  CHECK(some->parts.size() == 2);
  CHECK(some->truncated == 1);
  CHECK_FALSE(SplitCompound(Bytes{5, 0}).ok());
  CHECK_FALSE(MakeCompound(std::vector<Bytes>(256, Bytes{1})).ok());
}

TEST_CASE("envelope: CRC32 is IEEE and a flipped bit is caught") {
  CHECK(Crc32Ieee(bytes_of("123456789")) == 0xcbf43926u);
  Bytes m = AddCrc(Encode(Nack{3}));
  CHECK(m[0] == 12);
  auto ok = CheckCrc(m);
  REQUIRE(ok.ok());
  CHECK(Bytes(ok->begin(), ok->end()) == Encode(Nack{3}));
  m.back() ^= 1;
  auto bad = CheckCrc(m);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "crc: checksum mismatch");
}

TEST_CASE("envelope: LZW decodes Go's output and round-trips through table resets") {
  auto d = LzwDecode(from_hex(kGoLzwOut));
  REQUIRE(d.ok());
  CHECK(*d == bytes_of(kGoLzwIn));
  CHECK(LzwEncode(bytes_of(kGoLzwIn)) == from_hex(kGoLzwOut));
  for (unsigned seed : {1u, 2u, 3u}) {
    // 200 KB uses all 4096 codes many times over (clear codes, 12-bit width).
    Bytes in = random_bytes(200000, seed, seed == 1 ? 256 : 4);
    auto back = LzwDecode(LzwEncode(in));
    REQUIRE(back.ok());
    CHECK(*back == in);
  }
  CHECK(LzwDecode(LzwEncode({})).value().empty());
  auto cut = LzwDecode(ByteView(from_hex(kGoLzwOut)).first(10));
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.status().message() == "lzw: unexpected end of data");
  auto big = LzwDecode(LzwEncode(Bytes(5000, 'a')), 100);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().message() == "lzw: output exceeds limit");
}

TEST_CASE("envelope: the compress wrapper round-trips a message") {
  Bytes msg = Encode(sample_push_pull());
  Bytes c = compress(msg);
  CHECK(c[0] == 9);
  auto back = Decompress(ByteView(c).subspan(1));
  REQUIRE(back.ok());
  CHECK(*back == msg);
}

TEST_CASE("envelope: AES-GCM versions 0 and 1 with 16, 24 and 32-byte keys") {
  Bytes plain = Encode(sample_alive());
  for (std::size_t ks : {16u, 24u, 32u}) {
    Bytes key = random_bytes(ks, static_cast<unsigned>(ks));
    auto ring = Keyring::make({key});
    REQUIRE(ring.ok());
    for (std::uint8_t v : {std::uint8_t{0}, std::uint8_t{1}}) {
      auto sealed = encrypt(v, key, plain, bytes_of("aad"), kNonce);
      REQUIRE(sealed.ok());
      CHECK((*sealed)[0] == v);
      // v1: version + nonce + ciphertext + tag; v0 adds PKCS7 padding to a 16-byte block.
      std::size_t pad = v == 0 ? 16 - plain.size() % 16 : 0;
      CHECK(sealed->size() == 1 + 12 + plain.size() + pad + 16);
      auto opened = decrypt(*ring, *sealed, bytes_of("aad"));
      REQUIRE(opened.ok());
      CHECK(*opened == plain);
      auto wrong_aad = decrypt(*ring, *sealed, bytes_of("AAD"));
      CHECK_FALSE(wrong_aad.ok());
    }
  }
  CHECK_FALSE(encrypt(1, Bytes(15, 1), plain, {}, kNonce).ok());
  CHECK_FALSE(Keyring::make({Bytes(20, 1)}).ok());
  CHECK_FALSE(Keyring::make({}).ok());
}

TEST_CASE("envelope: decryption tries every key of the ring and names the failure") {
  Bytes k1 = random_bytes(32, 11), k2 = random_bytes(32, 12), k3 = random_bytes(16, 13);
  auto sealed = encrypt(1, k2, bytes_of("secret"), {}, kNonce);
  REQUIRE(sealed.ok());
  auto ring = Keyring::make({k1, k3, k2});
  REQUIRE(ring.ok());
  CHECK(decrypt(*ring, *sealed, {}).value() == bytes_of("secret"));
  auto wrong = Keyring::make({k1, k3});
  auto r = decrypt(*wrong, *sealed, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "No installed keys could decrypt the message");
  Bytes v9 = *sealed;
  v9[0] = 9;
  CHECK(decrypt(*ring, v9, {}).status().message() == "decrypt: unsupported encryption version 9");
  CHECK_FALSE(decrypt(*ring, ByteView(*sealed).first(20), {}).ok());
  auto b64 = Keyring::FromBase64({"T9jncgl9mbLus+baTTa7q7nPSUrXwbDi2dhbtqir37s="});
  REQUIRE(b64.ok());
  CHECK(b64->primary().size() == 32);
  CHECK_FALSE(Keyring::FromBase64({"not base64!"}).ok());
}

TEST_CASE("envelope: packets unwrap encryption, CRC, compression and compounds in order") {
  auto ring = Keyring::make({random_bytes(16, 5)});
  REQUIRE(ring.ok());
  std::vector<Bytes> msgs = {Encode(Ping{1, "s1", {}, 0, ""}), Encode(sample_alive())};
  for (bool crc : {false, true}) {
    for (const Keyring* kr : std::vector<const Keyring*>{nullptr, &*ring}) {
      auto pkt = PackPacket(msgs, PacketOptions{kr, kNonce, crc});
      REQUIRE(pkt.ok());
      auto back = UnpackPacket(*pkt, kr);
      REQUIRE(back.ok());
      CHECK(*back == msgs);
    }
  }
  // A compressed compound, as memberlist sends piggybacked gossip.
  Bytes cc = compress(MakeCompound(msgs).value());
  CHECK(UnpackPacket(AddCrc(cc), nullptr).value() == msgs);
  auto packed = PackPacket(msgs, PacketOptions{&*ring, kNonce, true, 1, {}, true});
  REQUIRE(packed.ok());
  CHECK(decrypt(*ring, *packed, {}).value()[0] == 12);  // CRC outside compression
  CHECK(UnpackPacket(*packed, &*ring).value() == msgs);
  auto plain_with_ring = UnpackPacket(PackPacket(msgs, {}).value(), &*ring);
  CHECK_FALSE(plain_with_ring.ok());
}

TEST_CASE("envelope: streams are sealed with their 5-byte header as additional data") {
  auto ring = Keyring::make({random_bytes(32, 9)});
  REQUIRE(ring.ok());
  Bytes msg = Encode(sample_push_pull());
  auto sealed = SealStream(msg, &*ring, kNonce);
  REQUIRE(sealed.ok());
  CHECK((*sealed)[0] == 10);
  std::uint32_t len = (*sealed)[1] << 24 | (*sealed)[2] << 16 | (*sealed)[3] << 8 | (*sealed)[4];
  CHECK(len == sealed->size() - 5);
  CHECK(OpenStream(*sealed, &*ring).value() == msg);
  auto legacy = SealStream(msg, &*ring, kNonce, 0);  // version 0: PKCS7-padded
  REQUIRE(legacy.ok());
  CHECK((*legacy)[5] == 0);
  CHECK(OpenStream(*legacy, &*ring).value() == msg);
  Bytes tampered = *sealed;
  tampered[4] ^= 1;  // the length is authenticated
  CHECK_FALSE(OpenStream(tampered, &*ring).ok());
  auto no_ring = OpenStream(*sealed, nullptr);
  REQUIRE_FALSE(no_ring.ok());
  CHECK(no_ring.status().message() ==
        "stream: remote state is encrypted and encryption is not configured");
  CHECK(OpenStream(compress(msg), nullptr).value() == msg);
  CHECK_FALSE(OpenStream(msg, &*ring).ok());
}

TEST_CASE("envelope: a cluster label prefixes packets and streams and authenticates them") {
  auto ring = Keyring::make({random_bytes(32, 21)});
  REQUIRE(ring.ok());
  std::vector<Bytes> msgs = {Encode(Nack{5})};
  auto plain = PackPacket(msgs, PacketOptions{nullptr, {}, false, 1, "dc1"});
  REQUIRE(plain.ok());
  CHECK(Bytes(plain->begin(), plain->begin() + 5) == Bytes{244, 3, 'd', 'c', '1'});
  CHECK(UnpackPacket(*plain, nullptr, "dc1").value() == msgs);
  auto other = UnpackPacket(*plain, nullptr, "dc2");
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message() == "label: got \"dc1\", want \"dc2\"");
  CHECK(UnpackPacket(PackPacket(msgs, {}).value(), nullptr, "dc1").status().message() ==
        "label: got \"\", want \"dc1\"");

  auto sealed = PackPacket(msgs, PacketOptions{&*ring, kNonce, false, 1, "dc1"});
  REQUIRE(sealed.ok());
  CHECK(UnpackPacket(*sealed, &*ring, "dc1").value() == msgs);
  // Relabelled in transit: the label is additional data, so decryption fails.
  Bytes relabelled = *sealed;
  relabelled[4] = '2';
  CHECK_FALSE(UnpackPacket(relabelled, &*ring, "dc2").ok());

  Bytes pp = Encode(sample_push_pull());
  auto stream = SealStream(pp, &*ring, kNonce, 1, "dc1");
  REQUIRE(stream.ok());
  CHECK((*stream)[0] == 244);
  CHECK(OpenStream(*stream, &*ring, "dc1").value() == pp);
  CHECK_FALSE(OpenStream(*stream, &*ring, "").ok());
  CHECK(OpenStream(SealStream(pp, nullptr, {}, 1, "x").value(), nullptr, "x").value() == pp);

  CHECK_FALSE(AddLabel(std::string(256, 'a'), pp).ok());
  CHECK(StripLabel(Bytes{244, 0}).status().message() == "label: empty label in a label header");
  CHECK(StripLabel(Bytes{244, 5, 'a'}).status().message() == "label: truncated label");
  CHECK(StripLabel(pp).value().label.empty());
}

TEST_CASE("envelope: stream_frame_size finds where one stream message ends") {
  auto ring = Keyring::make({random_bytes(16, 31)});
  REQUIRE(ring.ok());
  Bytes pp = Encode(sample_push_pull());
  std::vector<Bytes> frames = {
      pp,
      compress(pp),
      Encode(Ping{1, "s1", {}, 0, ""}),
      Encode(Ack{1, bytes_of("x")}),
      Encode(ErrResp{"nope"}),
      EncodeUserStream(UserMsg{bytes_of("event")}),
      SealStream(pp, &*ring, kNonce).value(),
      SealStream(compress(pp), &*ring, kNonce, 0, "dc1").value(),
      SealStream(pp, nullptr, {}, 1, "dc1").value(),
  };
  for (const Bytes& f : frames) {
    for (std::size_t n = 0; n < f.size(); ++n) {
      auto r = StreamFrameSize(ByteView(f).first(n));
      REQUIRE_MESSAGE(r.ok(), r.status().message());
      CHECK_MESSAGE(*r == 0, "frame type ", int(f[0]), " prefix ", n);
    }
    Bytes more = f;
    more.insert(more.end(), {0x06, 0x83});  // the start of the next message
    CHECK(StreamFrameSize(f).value() == f.size());
    CHECK(StreamFrameSize(more).value() == f.size());
  }
  auto bad = StreamFrameSize(Bytes{0x06, 0xc1});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("stream frame: ") == 0);
  CHECK_FALSE(StreamFrameSize(Encode(Nack{1})).ok());  // nacks never travel on streams
}

TEST_CASE("envelope: verify_incoming off accepts plaintext beside encrypted traffic") {
  // memberlist's GossipVerifyIncoming = false, the first step of rolling encryption onto a
  // running cluster: a keyed node still reads its plaintext peers.
  auto ring = Keyring::make({random_bytes(32, 33)});
  REQUIRE(ring.ok());
  std::vector<Bytes> msgs = {Encode(Ping{7, "s2", {}, 0, ""})};
  const Bytes plain = PackPacket(msgs, {}).value();
  const Bytes sealed = PackPacket(msgs, PacketOptions{&*ring, kNonce}).value();
  CHECK(UnpackPacket(plain, &*ring, {}, false).value() == msgs);
  CHECK(UnpackPacket(sealed, &*ring, {}, false).value() == msgs);
  CHECK_FALSE(UnpackPacket(plain, &*ring, {}, true).ok());
  const Bytes msg = Encode(sample_push_pull());
  CHECK(OpenStream(msg, &*ring, {}, false).value() == msg);
  CHECK(OpenStream(SealStream(msg, &*ring, kNonce).value(), &*ring, {}, false).value() == msg);
  CHECK(OpenStream(msg, &*ring, {}, true).status().message() ==
        "stream: encryption is configured but remote state is not encrypted");
}
