// libFuzzer target: any bytes through every gossip decoder (memberlist messages and framing,
// Serf messages, tags, coordinates, LZW, AES-GCM with the corpus key). Decoders must answer with
// a value or an error Status; never crash, hang, throw or read out of bounds.
#include <cstddef>
#include <cstdint>

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
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace beacon::gossip;
  ByteView in(data, size);
  (void)DecodeMessage(in);
  (void)DecodeSerf(in);
  (void)UnpackPacket(in, nullptr);
  (void)UnpackPacket(in, &ring());
  (void)OpenStream(in, nullptr);
  (void)OpenStream(in, &ring());
  (void)LzwDecode(in, 1u << 20);
  (void)decompress(in);
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
