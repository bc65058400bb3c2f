// libFuzzer target: any bytes through every gossip decoder (memberlist messages and framing,
// Serf messages, tags, coordinates, LZW, AES-GCM with the corpus key). Decoders must answer with
// a value or an error Status; never crash, hang, throw or read out of bounds. And what decodes
// must survive a round trip: a message, Serf message or tag set re-encoded decodes to the same
// value, and LZW output re-compressed decompresses to the same bytes (else: abort).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <variant>

#include "beacon/gossip/coordinate_wire.h"
#include "beacon/gossip/envelope.h"
#include "beacon/gossip/serf_wire.h"

namespace {
// The key of the encrypted captures in tests/fuzz/corpus/gossip, so mutations get past the tag
// check only when they keep it valid (rare) and otherwise exercise the rejection path.
const beacon::gossip::Keyring& ring() {
  static const beacon::gossip::Keyring r =
      beacon::gossip::Keyring::FromBase64({"T9jncgl9mbLus+baTTa7q7nPSUrXwbDi2dhbtqir37s="}).value();
  return r;
}
// Aborts (a finding for libFuzzer, a failure for the corpus replay) when `ok` is false.
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_gossip: %s\n", what);
  std::abort();
}

void RoundTrips(beacon::gossip::ByteView in) {
  using namespace beacon::gossip;
  if (auto m = DecodeMessage(in); m.ok()) {
    const Bytes again = std::visit([](const auto& v) { return Encode(v); }, *m);
    auto back = DecodeMessage(again);
    Require(back.ok() && *back == *m, "memberlist message does not survive a round trip");
  }
  if (auto m = DecodeSerf(in); m.ok()) {
    const Bytes again = std::visit([](const auto& v) { return EncodeSerf(v); }, *m);
    auto back = DecodeSerf(again);
    Require(back.ok() && *back == *m, "serf message does not survive a round trip");
  }
  if (auto t = DecodeTags(in); t.ok()) {
    auto back = DecodeTags(EncodeTags(*t));
    Require(back.ok() && *back == *t, "tags do not survive a round trip");
  }
  if (auto plain = LzwDecode(in, 1u << 20); plain.ok()) {
    auto back = LzwDecode(LzwEncode(*plain), 1u << 20);
    Require(back.ok() && *back == *plain, "LZW does not survive a round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace beacon::gossip;
  ByteView in(data, size);
  RoundTrips(in);
  (void)DecodeMessage(in);
  (void)DecodeSerf(in);
  (void)UnpackPacket(in, nullptr);
  (void)UnpackPacket(in, &ring());
  (void)OpenStream(in, nullptr);
  (void)OpenStream(in, &ring());
  (void)LzwDecode(in, 1u << 20);
  (void)Decompress(in);
  (void)DecodeTags(in);
  (void)DecodePingPayload(in);
  (void)StreamFrameSize(in);
  (void)UnpackPacket(in, &ring(), "dc1");
  (void)OpenStream(in, &ring(), "dc1");
  if (auto pp = OpenStream(in, nullptr); pp.ok() && !pp->empty()) {
    if (auto m = DecodeMessage(*pp); m.ok())
      if (auto* p = std::get_if<PushPull>(&*m); p != nullptr && !p->user_state.empty())
        (void)DecodeSerf(p->user_state);
  }
  return 0;
}
