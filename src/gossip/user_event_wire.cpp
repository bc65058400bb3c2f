// Consul's user event as it travels inside a Serf user event (agent/user_event.go): the Serf
// event is named "consul:event:<name>" and its payload is the msgpack UserEvent struct.
#include <string>

#include "beacon/gossip/user_event.h"
#include "msgpack.h"
#include "struct_codec.h"

namespace beacon::gossip {

std::vector<std::uint8_t> EncodeConsulUserEvent(const UserEvent& e) {
  std::vector<std::uint8_t> out;
  mp::Writer w(out);
  std::size_t n = 3;  // ID, n, v
  for (const std::string* s : {&e.node_filter, &e.service_filter, &e.tag_filter}) {
    n += s->empty() ? 0 : 1;
  }
  n += e.has_payload && !e.payload.empty() ? 1 : 0;
  w.map(n);
  w.key("ID").str(e.id);
  w.key("n").str(e.name);
  if (e.has_payload && !e.payload.empty()) {
    w.key("p").bytes({reinterpret_cast<const std::uint8_t*>(e.payload.data()), e.payload.size()});
  }
  if (!e.node_filter.empty()) w.key("nf").str(e.node_filter);
  if (!e.service_filter.empty()) w.key("sf").str(e.service_filter);
  if (!e.tag_filter.empty()) w.key("tf").str(e.tag_filter);
  w.key("v").sint(e.version);
  return out;
}

Result<UserEvent> DecodeConsulUserEvent(std::span<const std::uint8_t> body) {
  mp::Reader r(body);
  UserEvent e;
  std::int64_t version = 0;
  Status st = mp::read_struct(r, "user event", [&](const std::string& k) {
    if (k == "ID") return r.read_str(e.id);
    if (k == "n") return r.read_str(e.name);
    if (k == "p") {
      e.has_payload = !r.peek_nil();
      return r.read_str(e.payload);
    }
    if (k == "nf") return r.read_str(e.node_filter);
    if (k == "sf") return r.read_str(e.service_filter);
    if (k == "tf") return r.read_str(e.tag_filter);
    if (k == "v") return r.read_sint(version);
    return r.skip();
  });
  if (!st.ok()) return st;
  if (version < 1 || version > kUserEventMaxVersion) {
    return Status::Error("Event version " + std::to_string(version) + " is not supported");
  }
  e.version = static_cast<int>(version);
  return e;
}

}  // namespace beacon::gossip
