// Sample values of every gossip message type, shared by the gossip unit tests, and a hex helper.
#pragma once

#include <string>
#include <string_view>

#include "beacon/gossip/memberlist_wire.h"
#include "beacon/gossip/serf_wire.h"

namespace gossiptest {

using namespace beacon::gossip;

inline Bytes from_hex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

inline Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

inline Alive sample_alive() {
  return Alive{7, "beacon1", {127, 0, 0, 1}, 7946, EncodeTags({{"role", "test"}}), Versions{}};
}

inline PushPull sample_push_pull() {
  PushNodeState a{"beacon1", {127, 0, 0, 1},    7946,      EncodeTags({{"dc", "dc1"}}),
                  3,         NodeState::kAlive, Versions{}};
  PushNodeState b{"s1", Bytes(16, 0), 8301, {}, 9, NodeState::kSuspect, Versions{1, 5, 2, 2, 5, 5}};
  SerfPushPull sp;
  sp.ltime = 12;
  sp.status_ltimes = {{"beacon1", 1}, {"s1", 11}};
  sp.left_members = {"gone"};
  sp.event_ltime = 4;
  sp.events = {std::nullopt, SerfEvents{3, {{"deploy", bytes_of("v2")}}}, std::nullopt};
  sp.query_ltime = 2;
  return PushPull{true, {a, b}, EncodeSerf(sp)};
}

// Every memberlist message type, encoded (type byte first).
inline std::vector<Bytes> all_memberlist_samples() {
  return {
      Encode(Ping{42, "s1", {}, 0, ""}),
      Encode(Ping{300, "s1", {127, 0, 0, 1}, 7946, "beacon1"}),
      Encode(IndirectPing{5, {10, 0, 0, 2}, 7946, "n2", true, {127, 0, 0, 1}, 7000, "me"}),
      Encode(Ack{70000, bytes_of("\x01payload")}),
      Encode(Nack{9}),
      Encode(ErrResp{"boom"}),
      Encode(Suspect{3, "n2", "n1"}),
      Encode(sample_alive()),
      Encode(Dead{4, "n2", "n2"}),
      Encode(sample_push_pull()),
      Encode(UserMsg{bytes_of("hello")}),
  };
}

// Every Serf message type, encoded (Serf type byte first).
inline std::vector<Bytes> all_serf_samples() {
  SerfMember member{"s1", {127, 0, 0, 1}, 7946, {{"role", "test"}}, 1, 2, 5, 4, 2, 5, 4};
  return {
      EncodeSerf(SerfLeave{8, "n3", true}),
      EncodeSerf(SerfJoin{7, "beacon1"}),
      EncodeSerf(SerfPushPull{12, {{"s1", 3}}, {"x"}, 2, {std::nullopt}, 1}),
      EncodeSerf(SerfUserEvent{5, "deploy", bytes_of("v1"), true}),
      EncodeSerf(SerfQuery{6,
                           77,
                           {127, 0, 0, 1},
                           7946,
                           "s1",
                           {bytes_of("\x00f")},
                           1,
                           2,
                           5000000000,
                           "ping",
                           bytes_of("p")}),
      EncodeSerf(SerfQueryResponse{6, 77, "s2", 1, bytes_of("pong")}),
      EncodeSerf(SerfConflictResponse{member}),
      EncodeSerf(SerfKeyRequest{Bytes(16, 0xab)}),
      EncodeSerf(SerfKeyResponse{true, "ok", {"k1", "k2"}, "k1"}),
      EncodeSerf(SerfRelay{{127, 0, 0, 1}, 7946, "", "s2", EncodeSerf(SerfJoin{1, "a"})}),
  };
}

}  // namespace gossiptest
