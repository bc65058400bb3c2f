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
  return Alive{7, "beacon1", {127, 0, 0, 1}, 7946, encode_tags({{"role", "test"}}), Versions{}};
}

inline PushPull sample_push_pull() {
  PushNodeState a{"beacon1", {127, 0, 0, 1},    7946,      encode_tags({{"dc", "dc1"}}),
                  3,         NodeState::kAlive, Versions{}};
  PushNodeState b{"s1", Bytes(16, 0), 8301, {}, 9, NodeState::kSuspect, Versions{1, 5, 2, 2, 5, 5}};
  SerfPushPull sp;
  sp.ltime = 12;
  sp.status_ltimes = {{"beacon1", 1}, {"s1", 11}};
  sp.left_members = {"gone"};
  sp.event_ltime = 4;
  sp.events = {std::nullopt, SerfEvents{3, {{"deploy", bytes_of("v2")}}}, std::nullopt};
  sp.query_ltime = 2;
  return PushPull{true, {a, b}, encode_serf(sp)};
}

// Every memberlist message type, encoded (type byte first).
inline std::vector<Bytes> all_memberlist_samples() {
  return {
      encode(Ping{42, "s1", {}, 0, ""}),
      encode(Ping{300, "s1", {127, 0, 0, 1}, 7946, "beacon1"}),
      encode(IndirectPing{5, {10, 0, 0, 2}, 7946, "n2", true, {127, 0, 0, 1}, 7000, "me"}),
      encode(Ack{70000, bytes_of("\x01payload")}),
      encode(Nack{9}),
      encode(ErrResp{"boom"}),
      encode(Suspect{3, "n2", "n1"}),
      encode(sample_alive()),
      encode(Dead{4, "n2", "n2"}),
      encode(sample_push_pull()),
      encode(UserMsg{bytes_of("hello")}),
  };
}

// Every Serf message type, encoded (Serf type byte first).
inline std::vector<Bytes> all_serf_samples() {
  SerfMember member{"s1", {127, 0, 0, 1}, 7946, {{"role", "test"}}, 1, 2, 5, 4, 2, 5, 4};
  return {
      encode_serf(SerfLeave{8, "n3", true}),
      encode_serf(SerfJoin{7, "beacon1"}),
      encode_serf(SerfPushPull{12, {{"s1", 3}}, {"x"}, 2, {std::nullopt}, 1}),
      encode_serf(SerfUserEvent{5, "deploy", bytes_of("v1"), true}),
      encode_serf(SerfQuery{6,
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
      encode_serf(SerfQueryResponse{6, 77, "s2", 1, bytes_of("pong")}),
      encode_serf(SerfConflictResponse{member}),
      encode_serf(SerfKeyRequest{Bytes(16, 0xab)}),
      encode_serf(SerfKeyResponse{true, "ok", {"k1", "k2"}, "k1"}),
      encode_serf(SerfRelay{{127, 0, 0, 1}, 7946, "", "s2", encode_serf(SerfJoin{1, "a"})}),
  };
}

}  // namespace gossiptest
