#include "beacon/gossip/coordinate_wire.h"
#include "struct_codec.h"

namespace beacon::gossip {

Coordinate OriginCoordinate() {
  return Coordinate{std::vector<double>(8, 0.0), 1.5, 0, 10e-6};
}

Bytes EncodePingPayload(const Coordinate& c) {
  Bytes out{kPingPayloadVersion};
  mp::Writer w(out);
  w.map(4);
  w.key("Adjustment").f64(c.adjustment);
  w.key("Error").f64(c.error);
  w.key("Height").f64(c.height);
  w.key("Vec").array(c.vec.size());
  for (double d : c.vec) w.f64(d);
  return out;
}

Result<Coordinate> DecodePingPayload(ByteView payload) {
  if (payload.empty()) return Status::Error("ping payload: empty");
  if (payload[0] != kPingPayloadVersion)
    return Status::Error("ping payload: unsupported version " + std::to_string(payload[0]));
  mp::Reader r(payload.subspan(1));
  Coordinate c;
  Status st = mp::read_struct(r, "coordinate", [&](const std::string& k) {
    if (k == "Adjustment") return r.read_f64(c.adjustment);
    if (k == "Error") return r.read_f64(c.error);
    if (k == "Height") return r.read_f64(c.height);
    if (k != "Vec") return r.skip();
    std::size_t n = 0;
    if (!r.read_array(n)) return false;
    c.vec.resize(n);
    for (double& d : c.vec)
      if (!r.read_f64(d)) return false;
    return true;
  });
  if (!st.ok()) return st;
  return c;
}

}  // namespace beacon::gossip
