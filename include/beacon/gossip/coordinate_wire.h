// Serf's Vivaldi network coordinate as it rides in memberlist ack payloads: a version byte (1)
// then a msgpack Coordinate {Adjustment, Error, Height, Vec}.
//
// Contract: sans-I/O and pure; decode returns a value or an error Status, never throws. The
// coordinate maths (updates, distances) is not here; this is the wire form only. Any thread.
#pragma once

#include <vector>

#include "beacon/gossip/memberlist_wire.h"

namespace beacon::gossip {

inline constexpr std::uint8_t kPingPayloadVersion = 1;

struct Coordinate {
  std::vector<double> vec;  // Serf uses 8 dimensions
  double error = 0;
  double adjustment = 0;
  double height = 0;
  bool operator==(const Coordinate&) const = default;
};

// Serf's origin: 8 zero dimensions, error 1.5, height 10 µs (coordinate.DefaultConfig()).
Coordinate OriginCoordinate();

Bytes EncodePingPayload(const Coordinate& c);
Result<Coordinate> DecodePingPayload(ByteView payload);

}  // namespace beacon::gossip
