// HashiCorp memberlist (v0.2.x, protocol 1..5) messages as plain values, with encoders and
// decoders for their exact wire bytes.
//
// Contract: sans-I/O and pure. encode_*() returns the message type byte followed by the msgpack
// body, byte-for-byte what Go's memberlist writes (struct fields as a map sorted by field name,
// IPs as raw byte strings). decode_*() takes the body WITHOUT the type byte and returns a value
// or an error Status with a reason; no input makes them crash, throw or read out of bounds.
// Framing (compound, CRC, compression, encryption) lives in envelope.h. Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "beacon/core/status.h"

namespace beacon::gossip {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

enum class MsgType : std::uint8_t {
  kPing = 0,
  kIndirectPing = 1,
  kAck = 2,
  kSuspect = 3,
  kAlive = 4,
  kDead = 5,
  kPushPull = 6,
  kCompound = 7,
  kUser = 8,
  kCompress = 9,
  kEncrypt = 10,
  kNack = 11,
  kHasCrc = 12,
  kErr = 13,
};

// Memberlist refuses node meta (Serf: encoded tags) above this size.
inline constexpr std::size_t kMetaMaxSize = 512;

// Memberlist's NodeStateType.
enum class NodeState : std::int64_t { kAlive = 0, kSuspect = 1, kDead = 2, kLeft = 3 };

// The six protocol bytes carried as `Vsn`: PMin, PMax, PCur, DMin, DMax, DCur.
struct Versions {
  std::uint8_t pmin = 1, pmax = 5, pcur = 2, dmin = 2, dmax = 5, dcur = 4;
  bool operator==(const Versions&) const = default;
};

struct Ping {
  std::uint32_t seq_no = 0;
  std::string node;   // target's name; empty means "whoever you are"
  Bytes source_addr;  // optional, for a direct reply
  std::uint16_t source_port = 0;
  std::string source_node;
  bool operator==(const Ping&) const = default;
};

struct IndirectPing {
  std::uint32_t seq_no = 0;
  Bytes target;
  std::uint16_t port = 0;
  std::string node;
  bool nack = false;
  Bytes source_addr;
  std::uint16_t source_port = 0;
  std::string source_node;
  bool operator==(const IndirectPing&) const = default;
};

struct Ack {
  std::uint32_t seq_no = 0;
  Bytes payload;  // Serf: a version byte then a msgpack Vivaldi coordinate
  bool operator==(const Ack&) const = default;
};

struct Nack {
  std::uint32_t seq_no = 0;
  bool operator==(const Nack&) const = default;
};

struct ErrResp {
  std::string error;
  bool operator==(const ErrResp&) const = default;
};

struct Suspect {
  std::uint32_t incarnation = 0;
  std::string node;
  std::string from;
  bool operator==(const Suspect&) const = default;
};

struct Alive {
  std::uint32_t incarnation = 0;
  std::string node;
  Bytes addr;  // 4 or 16 bytes
  std::uint16_t port = 0;
  Bytes meta;  // Serf: tags (serf_wire.h)
  Versions vsn;
  bool operator==(const Alive&) const = default;
};

struct Dead {
  std::uint32_t incarnation = 0;
  std::string node;
  std::string from;  // == node for a graceful leave
  bool operator==(const Dead&) const = default;
};

struct PushNodeState {
  std::string name;
  Bytes addr;
  std::uint16_t port = 0;
  Bytes meta;
  std::uint32_t incarnation = 0;
  NodeState state = NodeState::kAlive;
  Versions vsn;
  bool operator==(const PushNodeState&) const = default;
};

// A push-pull exchange over TCP: header {Nodes, UserStateLen, Join}, the node states, then the
// delegate's user state (Serf: serf_wire.h SerfPushPull) as raw bytes.
struct PushPull {
  bool join = false;
  std::vector<PushNodeState> nodes;
  Bytes user_state;
  bool operator==(const PushPull&) const = default;
};

// A user message: over UDP the payload follows the type byte directly; over TCP a header
// {UserMsgLen} precedes it (encode_user_stream / decode_user_stream).
struct UserMsg {
  Bytes payload;
  bool operator==(const UserMsg&) const = default;
};

Bytes Encode(const Ping& m);
Bytes Encode(const IndirectPing& m);
Bytes Encode(const Ack& m);
Bytes Encode(const Nack& m);
Bytes Encode(const ErrResp& m);
Bytes Encode(const Suspect& m);
Bytes Encode(const Alive& m);
Bytes Encode(const Dead& m);
Bytes Encode(const PushPull& m);
Bytes Encode(const UserMsg& m);  // UDP form
Bytes EncodeUserStream(const UserMsg& m);

Result<Ping> DecodePing(ByteView body);
Result<IndirectPing> DecodeIndirectPing(ByteView body);
Result<Ack> DecodeAck(ByteView body);
Result<Nack> DecodeNack(ByteView body);
Result<ErrResp> DecodeErr(ByteView body);
Result<Suspect> DecodeSuspect(ByteView body);
Result<Alive> DecodeAlive(ByteView body);
Result<Dead> DecodeDead(ByteView body);
Result<PushPull> DecodePushPull(ByteView body);
Result<UserMsg> DecodeUserStream(ByteView body);

// One plain message (not a wrapper): what DecodeMessage() yields for its type byte.
using Message =
    std::variant<Ping, IndirectPing, Ack, Nack, ErrResp, Suspect, Alive, Dead, PushPull, UserMsg>;

// Decodes a type byte + body. Wrapper types (compound, compress, encrypt, CRC) are an error here:
// unwrap them first with envelope.h. A user message is taken in its UDP form.
Result<Message> DecodeMessage(ByteView msg);

}  // namespace beacon::gossip
