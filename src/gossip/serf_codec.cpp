#include "beacon/gossip/serf_wire.h"
#include "struct_codec.h"

namespace beacon::gossip {

namespace {

constexpr std::uint8_t kTagMagic = 0xff;

Bytes start(SerfMsgType t) {
  return Bytes{static_cast<std::uint8_t>(t)};
}

void write_tags(mp::Writer& w, const Tags& tags) {
  w.map(tags.size());
  for (const auto& [k, v] : tags) {
    w.str(k);
    w.str(v);
  }
}

bool read_tags(mp::Reader& r, Tags& tags) {
  std::size_t n = 0;
  if (!r.read_map(n)) return false;
  for (std::size_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!r.read_str(k) || !r.read_str(v)) return false;
    tags[std::move(k)] = std::move(v);
  }
  return true;
}

bool read_strings(mp::Reader& r, std::vector<std::string>& out) {
  std::size_t n = 0;
  if (!r.read_array(n)) return false;
  out.resize(n);
  for (std::string& s : out)
    if (!r.read_str(s)) return false;
  return true;
}

void write_events(mp::Writer& w, const SerfEvents& e) {
  w.map(2);
  w.key("Events");
  w.array(e.events.size());
  for (const SerfEventEntry& x : e.events) {
    w.map(2);
    w.key("Name").str(x.name);
    w.key("Payload").bytes(x.payload);
  }
  w.key("LTime").uint(e.ltime);
}

bool read_events(mp::Reader& r, SerfEvents& e) {
  Status st = mp::read_struct(r, "user events", [&](const std::string& k) {
    if (k == "LTime") return r.read_uint(e.ltime);
    if (k != "Events") return r.skip();
    std::size_t n = 0;
    if (!r.read_array(n)) return false;
    e.events.resize(n);
    for (SerfEventEntry& x : e.events) {
      Status in = mp::read_struct(r, "user event", [&](const std::string& k2) {
        if (k2 == "Name") return r.read_str(x.name);
        if (k2 == "Payload") return r.read_bytes(x.payload);
        return r.skip();
      });
      if (!in.ok()) return false;
    }
    return true;
  });
  return st.ok();
}

void write_member(mp::Writer& w, const SerfMember& m) {
  w.map(11);
  w.key("Addr").bytes(m.addr);
  w.key("DelegateCur").uint(m.delegate_cur);
  w.key("DelegateMax").uint(m.delegate_max);
  w.key("DelegateMin").uint(m.delegate_min);
  w.key("Name").str(m.name);
  w.key("Port").uint(m.port);
  w.key("ProtocolCur").uint(m.protocol_cur);
  w.key("ProtocolMax").uint(m.protocol_max);
  w.key("ProtocolMin").uint(m.protocol_min);
  w.key("Status").sint(m.status);
  w.key("Tags");
  write_tags(w, m.tags);
}

bool read_member_field(mp::Reader& r, SerfMember& m, const std::string& k) {
  if (k == "Name") return r.read_str(m.name);
  if (k == "Addr") return r.read_bytes(m.addr);
  if (k == "Port") return r.read_u(m.port, "Port");
  if (k == "Tags") return read_tags(r, m.tags);
  if (k == "Status") return r.read_sint(m.status);
  if (k == "ProtocolMin") return r.read_u(m.protocol_min, k.c_str());
  if (k == "ProtocolMax") return r.read_u(m.protocol_max, k.c_str());
  if (k == "ProtocolCur") return r.read_u(m.protocol_cur, k.c_str());
  if (k == "DelegateMin") return r.read_u(m.delegate_min, k.c_str());
  if (k == "DelegateMax") return r.read_u(m.delegate_max, k.c_str());
  if (k == "DelegateCur") return r.read_u(m.delegate_cur, k.c_str());
  return r.skip();
}

}  // namespace

Bytes EncodeTags(const Tags& tags) {
  Bytes out{kTagMagic};
  mp::Writer w(out);
  write_tags(w, tags);
  return out;
}

Result<Tags> DecodeTags(ByteView meta) {
  if (meta.empty() || meta[0] != kTagMagic)
    return Tags{{"role", std::string(meta.begin(), meta.end())}};
  mp::Reader r(meta.subspan(1));
  Tags tags;
  if (!read_tags(r, tags)) return Status::Error("decode tags: " + r.error());
  return tags;
}

Bytes EncodeSerf(const SerfJoin& m) {
  Bytes out = start(SerfMsgType::kJoin);
  mp::Writer w(out);
  w.map(2);
  w.key("LTime").uint(m.ltime);
  w.key("Node").str(m.node);
  return out;
}

Bytes EncodeSerf(const SerfLeave& m) {
  Bytes out = start(SerfMsgType::kLeave);
  mp::Writer w(out);
  w.map(3);
  w.key("LTime").uint(m.ltime);
  w.key("Node").str(m.node);
  w.key("Prune").boolean(m.prune);
  return out;
}

Bytes EncodeSerf(const SerfPushPull& m) {
  Bytes out = start(SerfMsgType::kPushPull);
  mp::Writer w(out);
  w.map(m.ext.empty() ? 6 : 7);
  if (!m.ext.empty()) w.key("Beacon").bytes(m.ext);
  w.key("EventLTime").uint(m.event_ltime);
  w.key("Events").array(m.events.size());
  for (const auto& e : m.events) {
    if (e) {
      write_events(w, *e);
    } else {
      w.nil();
    }
  }
  w.key("LTime").uint(m.ltime);
  w.key("LeftMembers").array(m.left_members.size());
  for (const std::string& s : m.left_members) w.str(s);
  w.key("QueryLTime").uint(m.query_ltime);
  w.key("StatusLTimes").map(m.status_ltimes.size());
  for (const auto& [k, v] : m.status_ltimes) {
    w.str(k);
    w.uint(v);
  }
  return out;
}

Bytes EncodeSerf(const SerfUserEvent& m) {
  Bytes out = start(SerfMsgType::kUserEvent);
  mp::Writer w(out);
  w.map(4);
  w.key("CC").boolean(m.cc);
  w.key("LTime").uint(m.ltime);
  w.key("Name").str(m.name);
  w.key("Payload").bytes(m.payload);
  return out;
}

Bytes EncodeSerf(const SerfQuery& m) {
  Bytes out = start(SerfMsgType::kQuery);
  mp::Writer w(out);
  w.map(11);
  w.key("Addr").bytes(m.addr);
  w.key("Filters");
  if (m.filters.empty()) {
    w.nil();
  } else {
    w.array(m.filters.size());
    for (const Bytes& f : m.filters) w.bytes(f);
  }
  w.key("Flags").uint(m.flags);
  w.key("ID").uint(m.id);
  w.key("LTime").uint(m.ltime);
  w.key("Name").str(m.name);
  w.key("Payload").bytes(m.payload);
  w.key("Port").uint(m.port);
  w.key("RelayFactor").uint(m.relay_factor);
  w.key("SourceNode").str(m.source_node);
  w.key("Timeout").sint(m.timeout_ns);
  return out;
}

Bytes EncodeSerf(const SerfQueryResponse& m) {
  Bytes out = start(SerfMsgType::kQueryResponse);
  mp::Writer w(out);
  w.map(5);
  w.key("Flags").uint(m.flags);
  w.key("From").str(m.from);
  w.key("ID").uint(m.id);
  w.key("LTime").uint(m.ltime);
  w.key("Payload").bytes(m.payload);
  return out;
}

Bytes EncodeSerf(const SerfConflictResponse& m) {
  Bytes out = start(SerfMsgType::kConflictResponse);
  mp::Writer w(out);
  if (m.member) {
    write_member(w, *m.member);
  } else {
    w.nil();
  }
  return out;
}

Bytes EncodeSerf(const SerfKeyRequest& m) {
  Bytes out = start(SerfMsgType::kKeyRequest);
  mp::Writer w(out);
  w.map(1);
  w.key("Key").bytes(m.key);
  return out;
}

Bytes EncodeSerf(const SerfKeyResponse& m) {
  Bytes out = start(SerfMsgType::kKeyResponse);
  mp::Writer w(out);
  w.map(4);
  w.key("Keys");
  if (m.keys.empty()) {
    w.nil();
  } else {
    w.array(m.keys.size());
    for (const std::string& k : m.keys) w.str(k);
  }
  w.key("Message").str(m.message);
  w.key("PrimaryKey").str(m.primary_key);
  w.key("Result").boolean(m.result);
  return out;
}

Bytes EncodeSerf(const SerfRelay& m) {
  Bytes out = start(SerfMsgType::kRelay);
  mp::Writer w(out);
  w.map(2);
  w.key("DestAddr").map(3);
  w.key("IP").bytes(m.dest_ip);
  w.key("Port").sint(m.dest_port);
  w.key("Zone").str(m.dest_zone);
  w.key("DestName").str(m.dest_name);
  w.raw(m.inner);
  return out;
}

Result<SerfJoin> DecodeSerfJoin(ByteView body) {
  return mp::decode_struct<SerfJoin>(body, "serf join",
                                     [](mp::Reader& r, SerfJoin& m, const std::string& k) {
                                       if (k == "LTime") return r.read_uint(m.ltime);
                                       if (k == "Node") return r.read_str(m.node);
                                       return r.skip();
                                     });
}

Result<SerfLeave> DecodeSerfLeave(ByteView body) {
  return mp::decode_struct<SerfLeave>(body, "serf leave",
                                      [](mp::Reader& r, SerfLeave& m, const std::string& k) {
                                        if (k == "LTime") return r.read_uint(m.ltime);
                                        if (k == "Node") return r.read_str(m.node);
                                        if (k == "Prune") return r.read_bool(m.prune);
                                        return r.skip();
                                      });
}

Result<SerfPushPull> DecodeSerfPushPull(ByteView body) {
  return mp::decode_struct<SerfPushPull>(body, "serf push-pull",
                                         [](mp::Reader& r, SerfPushPull& m, const std::string& k) {
                                           if (k == "LTime") return r.read_uint(m.ltime);
                                           if (k == "EventLTime") return r.read_uint(m.event_ltime);
                                           if (k == "QueryLTime") return r.read_uint(m.query_ltime);
                                           if (k == "Beacon") return r.read_bytes(m.ext);
                                           if (k == "LeftMembers")
                                             return read_strings(r, m.left_members);
                                           if (k == "StatusLTimes") {
                                             std::size_t n = 0;
                                             if (!r.read_map(n)) return false;
                                             for (std::size_t i = 0; i < n; ++i) {
                                               std::string name;
                                               std::uint64_t t = 0;
                                               if (!r.read_str(name) || !r.read_uint(t))
                                                 return false;
                                               m.status_ltimes[std::move(name)] = t;
                                             }
                                             return true;
                                           }
                                           if (k == "Events") {
                                             std::size_t n = 0;
                                             if (!r.read_array(n)) return false;
                                             m.events.resize(n);
                                             for (auto& e : m.events) {
                                               if (r.peek_nil()) {
                                                 r.skip();
                                                 continue;
                                               }
                                               e.emplace();
                                               if (!read_events(r, *e)) return false;
                                             }
                                             return true;
                                           }
                                           return r.skip();
                                         });
}

Result<SerfUserEvent> DecodeSerfUserEvent(ByteView body) {
  return mp::decode_struct<SerfUserEvent>(
      body, "serf user event", [](mp::Reader& r, SerfUserEvent& m, const std::string& k) {
        if (k == "LTime") return r.read_uint(m.ltime);
        if (k == "Name") return r.read_str(m.name);
        if (k == "Payload") return r.read_bytes(m.payload);
        if (k == "CC") return r.read_bool(m.cc);
        return r.skip();
      });
}

Result<SerfQuery> DecodeSerfQuery(ByteView body) {
  return mp::decode_struct<SerfQuery>(body, "serf query",
                                      [](mp::Reader& r, SerfQuery& m, const std::string& k) {
                                        if (k == "LTime") return r.read_uint(m.ltime);
                                        if (k == "ID") return r.read_u(m.id, "ID");
                                        if (k == "Addr") return r.read_bytes(m.addr);
                                        if (k == "Port") return r.read_u(m.port, "Port");
                                        if (k == "SourceNode") return r.read_str(m.source_node);
                                        if (k == "Flags") return r.read_u(m.flags, "Flags");
                                        if (k == "RelayFactor")
                                          return r.read_u(m.relay_factor, "RelayFactor");
                                        if (k == "Timeout") return r.read_sint(m.timeout_ns);
                                        if (k == "Name") return r.read_str(m.name);
                                        if (k == "Payload") return r.read_bytes(m.payload);
                                        if (k == "Filters") {
                                          std::size_t n = 0;
                                          if (!r.read_array(n)) return false;
                                          m.filters.resize(n);
                                          for (Bytes& f : m.filters)
                                            if (!r.read_bytes(f)) return false;
                                          return true;
                                        }
                                        return r.skip();
                                      });
}

Result<SerfQueryResponse> DecodeSerfQueryResponse(ByteView body) {
  return mp::decode_struct<SerfQueryResponse>(
      body, "serf query response", [](mp::Reader& r, SerfQueryResponse& m, const std::string& k) {
        if (k == "LTime") return r.read_uint(m.ltime);
        if (k == "ID") return r.read_u(m.id, "ID");
        if (k == "From") return r.read_str(m.from);
        if (k == "Flags") return r.read_u(m.flags, "Flags");
        if (k == "Payload") return r.read_bytes(m.payload);
        return r.skip();
      });
}

Result<SerfConflictResponse> DecodeSerfConflictResponse(ByteView body) {
  mp::Reader r(body);
  if (r.peek_nil()) return SerfConflictResponse{};
  SerfMember m;
  Status st = mp::read_struct(r, "serf conflict response",
                              [&](const std::string& k) { return read_member_field(r, m, k); });
  if (!st.ok()) return st;
  return SerfConflictResponse{std::move(m)};
}

Result<SerfKeyRequest> DecodeSerfKeyRequest(ByteView body) {
  return mp::decode_struct<SerfKeyRequest>(
      body, "serf key request", [](mp::Reader& r, SerfKeyRequest& m, const std::string& k) {
        if (k == "Key") return r.read_bytes(m.key);
        return r.skip();
      });
}

Result<SerfKeyResponse> DecodeSerfKeyResponse(ByteView body) {
  return mp::decode_struct<SerfKeyResponse>(
      body, "serf key response", [](mp::Reader& r, SerfKeyResponse& m, const std::string& k) {
        if (k == "Result") return r.read_bool(m.result);
        if (k == "Message") return r.read_str(m.message);
        if (k == "Keys") return read_strings(r, m.keys);
        if (k == "PrimaryKey") return r.read_str(m.primary_key);
        return r.skip();
      });
}

Result<SerfRelay> DecodeSerfRelay(ByteView body) {
  mp::Reader r(body);
  SerfRelay m;
  Status st = mp::read_struct(r, "serf relay header", [&](const std::string& k) {
    if (k == "DestName") return r.read_str(m.dest_name);
    if (k != "DestAddr") return r.skip();
    return mp::read_struct(r, "serf relay address",
                           [&](const std::string& k2) {
                             if (k2 == "IP") return r.read_bytes(m.dest_ip);
                             if (k2 == "Port") return r.read_sint(m.dest_port);
                             if (k2 == "Zone") return r.read_str(m.dest_zone);
                             return r.skip();
                           })
        .ok();
  });
  if (!st.ok()) return st;
  if (r.remaining() == 0) return Status::Error("decode serf relay: no inner message");
  m.inner.assign(r.rest().begin(), r.rest().end());
  return m;
}

Result<SerfMessage> DecodeSerf(ByteView msg) {
  if (msg.empty()) return Status::Error("empty serf message");
  ByteView body = msg.subspan(1);
  switch (static_cast<SerfMsgType>(msg[0])) {
    case SerfMsgType::kLeave:
      return mp::lift<SerfMessage>(DecodeSerfLeave(body));
    case SerfMsgType::kJoin:
      return mp::lift<SerfMessage>(DecodeSerfJoin(body));
    case SerfMsgType::kPushPull:
      return mp::lift<SerfMessage>(DecodeSerfPushPull(body));
    case SerfMsgType::kUserEvent:
      return mp::lift<SerfMessage>(DecodeSerfUserEvent(body));
    case SerfMsgType::kQuery:
      return mp::lift<SerfMessage>(DecodeSerfQuery(body));
    case SerfMsgType::kQueryResponse:
      return mp::lift<SerfMessage>(DecodeSerfQueryResponse(body));
    case SerfMsgType::kConflictResponse:
      return mp::lift<SerfMessage>(DecodeSerfConflictResponse(body));
    case SerfMsgType::kKeyRequest:
      return mp::lift<SerfMessage>(DecodeSerfKeyRequest(body));
    case SerfMsgType::kKeyResponse:
      return mp::lift<SerfMessage>(DecodeSerfKeyResponse(body));
    case SerfMsgType::kRelay:
      return mp::lift<SerfMessage>(DecodeSerfRelay(body));
  }
  return Status::Error("unknown serf message type " + std::to_string(msg[0]));
}

}  // namespace beacon::gossip
