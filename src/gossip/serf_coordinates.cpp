// Serf's ping delegate (ping_delegate.go): our coordinate in every ack we send, an update of our
// coordinate from every ack to our probes, and the per-member coordinate cache. See serf.h.
#include "beacon/gossip/serf.h"

namespace beacon::gossip {

Bytes Serf::AckPayload() const {
  if (cfg_.disable_coordinates) return {};
  return EncodePingPayload(coord_client_.coordinate());
}

void Serf::OnPingComplete(const Member& node, std::uint64_t rtt_us, ByteView payload) {
  if (payload.empty() || cfg_.disable_coordinates)
    return;  // a memberlist without Serf on top: nothing to learn
  Result<Coordinate> other = DecodePingPayload(payload);
  if (!other.ok()) return;  // an unsupported version or a broken coordinate: Serf logs, drops
  const double rtt = static_cast<double>(rtt_us) / 1e6;
  if (!coord_client_.Update(node.name, other.value(), rtt).ok()) return;
  coord_cache_[node.name] = std::move(other.value());
  coord_cache_[name_] = coord_client_.coordinate();
}

void Serf::ForgetCoordinate(const std::string& node) {
  coord_client_.ForgetNode(node);
  coord_cache_.erase(node);
}

}  // namespace beacon::gossip
