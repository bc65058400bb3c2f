#include <cstring>

#include "beacon/gossip/memberlist_wire.h"
#include "struct_codec.h"

namespace beacon::gossip {

namespace {

Bytes start(MsgType t) {
  return Bytes{static_cast<std::uint8_t>(t)};
}

void write_vsn(mp::Writer& w, const Versions& v) {
  const std::uint8_t b[6] = {v.pmin, v.pmax, v.pcur, v.dmin, v.dmax, v.dcur};
  w.bytes(b);
}

// Go's []uint8 arrives as a byte string; a msgpack array of small ints is accepted too.
bool read_vsn(mp::Reader& r, Versions& v) {
  Bytes b;
  if (!r.peek_nil() && r.rest().size() > 0 &&
      ((r.rest()[0] & 0xf0) == 0x90 || r.rest()[0] == 0xdc)) {
    std::size_t n = 0;
    if (!r.read_array(n)) return false;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint8_t x = 0;
      if (!r.read_u(x, "Vsn")) return false;
      b.push_back(x);
    }
  } else if (!r.read_bytes(b)) {
    return false;
  }
  if (b.empty()) return true;  // absent: keep the defaults, as memberlist does
  if (b.size() < 6) return r.fail("Vsn has " + std::to_string(b.size()) + " bytes, want 6");
  v = Versions{b[0], b[1], b[2], b[3], b[4], b[5]};
  return true;
}

bool read_node_state(mp::Reader& r, PushNodeState& n, const std::string& k) {
  if (k == "Name") return r.read_str(n.name);
  if (k == "Addr") return r.read_bytes(n.addr);
  if (k == "Port") return r.read_u(n.port, "Port");
  if (k == "Meta") return r.read_bytes(n.meta);
  if (k == "Incarnation") return r.read_u(n.incarnation, "Incarnation");
  if (k == "Vsn") return read_vsn(r, n.vsn);
  if (k == "State") {
    std::int64_t s = 0;
    if (!r.read_sint(s)) return false;
    if (s < 0 || s > 3) return r.fail("unknown node state " + std::to_string(s));
    n.state = static_cast<NodeState>(s);
    return true;
  }
  return r.skip();
}

}  // namespace

Bytes Encode(const Ping& m) {
  Bytes out = start(MsgType::kPing);
  mp::Writer w(out);
  std::size_t n = 2 + (m.source_addr.empty() ? 0 : 1) + (m.source_node.empty() ? 0 : 1) +
                  (m.source_port == 0 ? 0 : 1);
  w.map(n);
  w.key("Node").str(m.node);
  w.key("SeqNo").uint(m.seq_no);
  if (!m.source_addr.empty()) w.key("SourceAddr").bytes(m.source_addr);
  if (!m.source_node.empty()) w.key("SourceNode").str(m.source_node);
  if (m.source_port != 0) w.key("SourcePort").uint(m.source_port);
  return out;
}

Bytes Encode(const IndirectPing& m) {
  Bytes out = start(MsgType::kIndirectPing);
  mp::Writer w(out);
  std::size_t n = 5 + (m.source_addr.empty() ? 0 : 1) + (m.source_node.empty() ? 0 : 1) +
                  (m.source_port == 0 ? 0 : 1);
  w.map(n);
  w.key("Nack").boolean(m.nack);
  w.key("Node").str(m.node);
  w.key("Port").uint(m.port);
  w.key("SeqNo").uint(m.seq_no);
  if (!m.source_addr.empty()) w.key("SourceAddr").bytes(m.source_addr);
  if (!m.source_node.empty()) w.key("SourceNode").str(m.source_node);
  if (m.source_port != 0) w.key("SourcePort").uint(m.source_port);
  w.key("Target").bytes(m.target);
  return out;
}

Bytes Encode(const Ack& m) {
  Bytes out = start(MsgType::kAck);
  mp::Writer w(out);
  w.map(2);
  w.key("Payload").bytes(m.payload);
  w.key("SeqNo").uint(m.seq_no);
  return out;
}

Bytes Encode(const Nack& m) {
  Bytes out = start(MsgType::kNack);
  mp::Writer w(out);
  w.map(1);
  w.key("SeqNo").uint(m.seq_no);
  return out;
}

Bytes Encode(const ErrResp& m) {
  Bytes out = start(MsgType::kErr);
  mp::Writer w(out);
  w.map(1);
  w.key("Error").str(m.error);
  return out;
}

namespace {
Bytes encode_accusation(MsgType t, std::uint32_t inc, const std::string& node,
                        const std::string& from) {
  Bytes out = start(t);
  mp::Writer w(out);
  w.map(3);
  w.key("From").str(from);
  w.key("Incarnation").uint(inc);
  w.key("Node").str(node);
  return out;
}
}  // namespace

Bytes Encode(const Suspect& m) {
  return encode_accusation(MsgType::kSuspect, m.incarnation, m.node, m.from);
}
Bytes Encode(const Dead& m) {
  return encode_accusation(MsgType::kDead, m.incarnation, m.node, m.from);
}

Bytes Encode(const Alive& m) {
  Bytes out = start(MsgType::kAlive);
  mp::Writer w(out);
  w.map(6);
  w.key("Addr").bytes(m.addr);
  w.key("Incarnation").uint(m.incarnation);
  w.key("Meta").bytes(m.meta);
  w.key("Node").str(m.node);
  w.key("Port").uint(m.port);
  w.key("Vsn");
  write_vsn(w, m.vsn);
  return out;
}

Bytes Encode(const PushPull& m) {
  Bytes out = start(MsgType::kPushPull);
  mp::Writer w(out);
  w.map(3);
  w.key("Join").boolean(m.join);
  w.key("Nodes").uint(m.nodes.size());
  w.key("UserStateLen").uint(m.user_state.size());
  for (const PushNodeState& n : m.nodes) {
    w.map(7);
    w.key("Addr").bytes(n.addr);
    w.key("Incarnation").uint(n.incarnation);
    w.key("Meta").bytes(n.meta);
    w.key("Name").str(n.name);
    w.key("Port").uint(n.port);
    w.key("State").sint(static_cast<std::int64_t>(n.state));
    w.key("Vsn");
    write_vsn(w, n.vsn);
  }
  w.raw(m.user_state);
  return out;
}

Bytes Encode(const UserMsg& m) {
  // Sized up front: GCC 12 at -O2/-O3 misreads an insert into the 1-byte vector start() returns
  // as an out-of-bounds memcpy (-Warray-bounds).
  Bytes out(1 + m.payload.size());
  out[0] = static_cast<uint8_t>(MsgType::kUser);
  std::copy(m.payload.begin(), m.payload.end(), out.begin() + 1);
  return out;
}

Bytes EncodeUserStream(const UserMsg& m) {
  Bytes out = start(MsgType::kUser);
  mp::Writer w(out);
  w.map(1);
  w.key("UserMsgLen").uint(m.payload.size());
  w.raw(m.payload);
  return out;
}

Result<Ping> DecodePing(ByteView body) {
  return mp::decode_struct<Ping>(body, "ping", [](mp::Reader& r, Ping& m, const std::string& k) {
    if (k == "SeqNo") return r.read_u(m.seq_no, "SeqNo");
    if (k == "Node") return r.read_str(m.node);
    if (k == "SourceAddr") return r.read_bytes(m.source_addr);
    if (k == "SourcePort") return r.read_u(m.source_port, "SourcePort");
    if (k == "SourceNode") return r.read_str(m.source_node);
    return r.skip();
  });
}

Result<IndirectPing> DecodeIndirectPing(ByteView body) {
  return mp::decode_struct<IndirectPing>(body, "indirect ping",
                                         [](mp::Reader& r, IndirectPing& m, const std::string& k) {
                                           if (k == "SeqNo") return r.read_u(m.seq_no, "SeqNo");
                                           if (k == "Target") return r.read_bytes(m.target);
                                           if (k == "Port") return r.read_u(m.port, "Port");
                                           if (k == "Node") return r.read_str(m.node);
                                           if (k == "Nack") return r.read_bool(m.nack);
                                           if (k == "SourceAddr")
                                             return r.read_bytes(m.source_addr);
                                           if (k == "SourcePort")
                                             return r.read_u(m.source_port, "SourcePort");
                                           if (k == "SourceNode") return r.read_str(m.source_node);
                                           return r.skip();
                                         });
}

Result<Ack> DecodeAck(ByteView body) {
  return mp::decode_struct<Ack>(body, "ack", [](mp::Reader& r, Ack& m, const std::string& k) {
    if (k == "SeqNo") return r.read_u(m.seq_no, "SeqNo");
    if (k == "Payload") return r.read_bytes(m.payload);
    return r.skip();
  });
}

Result<Nack> DecodeNack(ByteView body) {
  return mp::decode_struct<Nack>(body, "nack", [](mp::Reader& r, Nack& m, const std::string& k) {
    if (k == "SeqNo") return r.read_u(m.seq_no, "SeqNo");
    return r.skip();
  });
}

Result<ErrResp> DecodeErr(ByteView body) {
  return mp::decode_struct<ErrResp>(body, "error response",
                                    [](mp::Reader& r, ErrResp& m, const std::string& k) {
                                      if (k == "Error") return r.read_str(m.error);
                                      return r.skip();
                                    });
}

namespace {
template <typename T>
Result<T> decode_accusation(ByteView body, const char* what) {
  return mp::decode_struct<T>(body, what, [](mp::Reader& r, T& m, const std::string& k) {
    if (k == "Incarnation") return r.read_u(m.incarnation, "Incarnation");
    if (k == "Node") return r.read_str(m.node);
    if (k == "From") return r.read_str(m.from);
    return r.skip();
  });
}
}  // namespace

Result<Suspect> DecodeSuspect(ByteView body) {
  return decode_accusation<Suspect>(body, "suspect");
}
Result<Dead> DecodeDead(ByteView body) {
  return decode_accusation<Dead>(body, "dead");
}

Result<Alive> DecodeAlive(ByteView body) {
  return mp::decode_struct<Alive>(body, "alive", [](mp::Reader& r, Alive& m, const std::string& k) {
    if (k == "Incarnation") return r.read_u(m.incarnation, "Incarnation");
    if (k == "Node") return r.read_str(m.node);
    if (k == "Addr") return r.read_bytes(m.addr);
    if (k == "Port") return r.read_u(m.port, "Port");
    if (k == "Meta") return r.read_bytes(m.meta);
    if (k == "Vsn") return read_vsn(r, m.vsn);
    return r.skip();
  });
}

Result<PushPull> DecodePushPull(ByteView body) {
  mp::Reader r(body);
  PushPull out;
  std::uint64_t nodes = 0, user_len = 0;
  Status st = mp::read_struct(r, "push-pull header", [&](const std::string& k) {
    if (k == "Join") return r.read_bool(out.join);
    if (k == "Nodes") return r.read_uint(nodes);
    if (k == "UserStateLen") return r.read_uint(user_len);
    return r.skip();
  });
  if (!st.ok()) return st;
  // Every node state takes well over one byte: a count beyond the input is a lie.
  if (nodes > r.remaining()) return Status::Error("decode push-pull: node count exceeds input");
  out.nodes.reserve(nodes);
  for (std::uint64_t i = 0; i < nodes; ++i) {
    PushNodeState n;
    st = mp::read_struct(r, "push-pull node state",
                         [&](const std::string& k) { return read_node_state(r, n, k); });
    if (!st.ok()) return st;
    out.nodes.push_back(std::move(n));
  }
  if (user_len > r.remaining())
    return Status::Error("decode push-pull: user state truncated (" +
                         std::to_string(r.remaining()) + " of " + std::to_string(user_len) +
                         " bytes)");
  ByteView rest = r.rest().first(user_len);
  out.user_state.assign(rest.begin(), rest.end());
  return out;
}

Result<UserMsg> DecodeUserStream(ByteView body) {
  mp::Reader r(body);
  std::uint64_t len = 0;
  Status st = mp::read_struct(r, "user message header", [&](const std::string& k) {
    if (k == "UserMsgLen") return r.read_uint(len);
    return r.skip();
  });
  if (!st.ok()) return st;
  if (len > r.remaining()) return Status::Error("decode user message: payload truncated");
  ByteView rest = r.rest().first(len);
  return UserMsg{Bytes(rest.begin(), rest.end())};
}

Result<Message> DecodeMessage(ByteView msg) {
  if (msg.empty()) return Status::Error("empty message");
  ByteView body = msg.subspan(1);
  switch (static_cast<MsgType>(msg[0])) {
    case MsgType::kPing:
      return mp::lift<Message>(DecodePing(body));
    case MsgType::kIndirectPing:
      return mp::lift<Message>(DecodeIndirectPing(body));
    case MsgType::kAck:
      return mp::lift<Message>(DecodeAck(body));
    case MsgType::kNack:
      return mp::lift<Message>(DecodeNack(body));
    case MsgType::kErr:
      return mp::lift<Message>(DecodeErr(body));
    case MsgType::kSuspect:
      return mp::lift<Message>(DecodeSuspect(body));
    case MsgType::kAlive:
      return mp::lift<Message>(DecodeAlive(body));
    case MsgType::kDead:
      return mp::lift<Message>(DecodeDead(body));
    case MsgType::kPushPull:
      return mp::lift<Message>(DecodePushPull(body));
    case MsgType::kUser:
      return Message{UserMsg{Bytes(body.begin(), body.end())}};
    case MsgType::kCompound:
    case MsgType::kCompress:
    case MsgType::kEncrypt:
    case MsgType::kHasCrc:
      return Status::Error("wrapper message type " + std::to_string(msg[0]) +
                           " must be unwrapped first");
  }
  return Status::Error("unknown memberlist message type " + std::to_string(msg[0]));
}

}  // namespace beacon::gossip
