// HashiCorp Serf's messages (protocol 2..5), carried inside memberlist user messages and as the
// push-pull user state, plus Serf's encoding of tags into memberlist node meta.
//
// Contract: sans-I/O and pure, like memberlist_wire.h: EncodeSerf() returns Serf's type byte and
// the msgpack body exactly as Go's Serf writes it (maps of Go maps are written in sorted key
// order); decode_*() take the body without the type byte and return a value or an error Status.
// Lamport times are uint64. Any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "beacon/gossip/memberlist_wire.h"

namespace beacon::gossip {

enum class SerfMsgType : std::uint8_t {
  kLeave = 0,
  kJoin = 1,
  kPushPull = 2,
  kUserEvent = 3,
  kQuery = 4,
  kQueryResponse = 5,
  kConflictResponse = 6,
  kKeyRequest = 7,
  kKeyResponse = 8,
  kRelay = 9,
};

using Tags = std::map<std::string, std::string>;

// Serf protocol >= 3: 0xff then a msgpack map of strings. Older meta is the bare "role" value.
Bytes EncodeTags(const Tags& tags);
Result<Tags> DecodeTags(ByteView meta);

struct SerfJoin {
  std::uint64_t ltime = 0;
  std::string node;
  bool operator==(const SerfJoin&) const = default;
};

struct SerfLeave {
  std::uint64_t ltime = 0;
  std::string node;
  bool prune = false;
  bool operator==(const SerfLeave&) const = default;
};

struct SerfEventEntry {
  std::string name;
  Bytes payload;
  bool operator==(const SerfEventEntry&) const = default;
};
struct SerfEvents {
  std::uint64_t ltime = 0;
  std::vector<SerfEventEntry> events;
  bool operator==(const SerfEvents&) const = default;
};

// Serf's LocalState: its clocks, each member's status time, left members, recent events (a ring
// buffer whose empty slots travel as nil).
struct SerfPushPull {
  std::uint64_t ltime = 0;
  std::map<std::string, std::uint64_t> status_ltimes;
  std::vector<std::string> left_members;
  std::uint64_t event_ltime = 0;
  std::vector<std::optional<SerfEvents>> events;
  std::uint64_t query_ltime = 0;
  // Beacon's addition (key "Beacon", written only when not empty): the SerfExtension's push-pull
  // state. Stock Serf's decoder skips map keys its struct lacks.
  Bytes ext;
  bool operator==(const SerfPushPull&) const = default;
};

struct SerfUserEvent {
  std::uint64_t ltime = 0;
  std::string name;
  Bytes payload;
  bool cc = false;  // may coalesce
  bool operator==(const SerfUserEvent&) const = default;
};

struct SerfQuery {
  std::uint64_t ltime = 0;
  std::uint32_t id = 0;
  Bytes addr;
  std::uint16_t port = 0;
  std::string source_node;
  std::vector<Bytes> filters;
  std::uint32_t flags = 0;  // 1 = ack, 2 = no broadcast
  std::uint8_t relay_factor = 0;
  std::int64_t timeout_ns = 0;  // Go time.Duration
  std::string name;
  Bytes payload;
  bool operator==(const SerfQuery&) const = default;
};

struct SerfQueryResponse {
  std::uint64_t ltime = 0;
  std::uint32_t id = 0;
  std::string from;
  std::uint32_t flags = 0;
  Bytes payload;
  bool operator==(const SerfQueryResponse&) const = default;
};

// The answer to a "_serf_conflict" query: Serf's Member struct (or nil: no such member).
struct SerfMember {
  std::string name;
  Bytes addr;
  std::uint16_t port = 0;
  Tags tags;
  std::int64_t status = 0;  // 0 none, 1 alive, 2 leaving, 3 left, 4 failed
  std::uint8_t protocol_min = 0, protocol_max = 0, protocol_cur = 0;
  std::uint8_t delegate_min = 0, delegate_max = 0, delegate_cur = 0;
  bool operator==(const SerfMember&) const = default;
};
struct SerfConflictResponse {
  std::optional<SerfMember> member;
  bool operator==(const SerfConflictResponse&) const = default;
};

struct SerfKeyRequest {
  Bytes key;
  bool operator==(const SerfKeyRequest&) const = default;
};

struct SerfKeyResponse {
  bool result = false;
  std::string message;
  std::vector<std::string> keys;
  std::string primary_key;
  bool operator==(const SerfKeyResponse&) const = default;
};

// Relay: a header {DestAddr: {IP, Port, Zone}, DestName}, then a whole inner Serf message.
struct SerfRelay {
  Bytes dest_ip;
  std::int64_t dest_port = 0;
  std::string dest_zone;
  std::string dest_name;
  Bytes inner;  // type byte + body
  bool operator==(const SerfRelay&) const = default;
};

Bytes EncodeSerf(const SerfJoin& m);
Bytes EncodeSerf(const SerfLeave& m);
Bytes EncodeSerf(const SerfPushPull& m);
Bytes EncodeSerf(const SerfUserEvent& m);
Bytes EncodeSerf(const SerfQuery& m);
Bytes EncodeSerf(const SerfQueryResponse& m);
Bytes EncodeSerf(const SerfConflictResponse& m);
Bytes EncodeSerf(const SerfKeyRequest& m);
Bytes EncodeSerf(const SerfKeyResponse& m);
Bytes EncodeSerf(const SerfRelay& m);

Result<SerfJoin> DecodeSerfJoin(ByteView body);
Result<SerfLeave> DecodeSerfLeave(ByteView body);
Result<SerfPushPull> DecodeSerfPushPull(ByteView body);
Result<SerfUserEvent> DecodeSerfUserEvent(ByteView body);
Result<SerfQuery> DecodeSerfQuery(ByteView body);
Result<SerfQueryResponse> DecodeSerfQueryResponse(ByteView body);
Result<SerfConflictResponse> DecodeSerfConflictResponse(ByteView body);
Result<SerfKeyRequest> DecodeSerfKeyRequest(ByteView body);
Result<SerfKeyResponse> DecodeSerfKeyResponse(ByteView body);
Result<SerfRelay> DecodeSerfRelay(ByteView body);

using SerfMessage =
    std::variant<SerfJoin, SerfLeave, SerfPushPull, SerfUserEvent, SerfQuery, SerfQueryResponse,
                 SerfConflictResponse, SerfKeyRequest, SerfKeyResponse, SerfRelay>;
// Type byte + body.
Result<SerfMessage> DecodeSerf(ByteView msg);

}  // namespace beacon::gossip
