// The catalog sync protocol's messages (gossip::CatalogSync), carried as Serf extension
// messages (serf_extension.h).
//
// Contract: pure and sans-I/O; any thread. Every message is one type byte (>= 0x80) and a
// msgpack map keyed by short field names; empty and default fields are left out and unknown
// fields are skipped, so fields can be added later. Decode takes the whole message (type byte
// included) and returns a value or an error Status; it never reads past its input.
//
// Messages (S: the sender's node name, so the receiver knows whom to pull from):
//   0x80 Delta    {S, F: from_version, V: version, Op}   one change of origin Op's node; a
//                 receiver applies it only when its version of the origin is exactly F.
//   0x81 Record   {S, R: record}                        a full record (broadcast).
//   0x82 Announce {S, O: origin, V: version}            "origin is at V": pull if behind.
//   0x83 Digest   {S, D: {origin: version}}             every record (and tombstone) the sender
//                 holds (reliable).
//   0x84 Pull     {S, O: [origin]}                      "send me these records" (reliable).
//   0x85 Records  {S, R: [record], T: {origin: version}} full records, and tombstones of
//                 nodes their origin removed at that version (reliable).
//   0x86 DigestSum {S, H: hash, N: count}               a Digest folded to 16 bytes (best
//                 effort, one UDP packet): a receiver whose own digest differs answers with
//                 its full Digest (reliable), which repairs both sides.
// Op: {K: kind (the index in catalog::Op), n: node name, I: id, N: node, Sv: service,
//      Ck: check, C: checks, Ss: services, SC: [[service, checks]], St: status, Out: output,
//      Sk: skip_node_update, L: liveness}, the fields each kind has.
// Record: {V: version, N: node, SC: [[service, checks]], C: node checks}.
// Node, Service and Check are maps of every field but the catalog-local indexes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/record.h"
#include "beacon/core/status.h"
#include "beacon/gossip/memberlist_wire.h"

namespace beacon::gossip::catsync {

enum class MsgType : std::uint8_t {
  kDelta = 0x80,
  kRecord = 0x81,
  kAnnounce = 0x82,
  kDigest = 0x83,
  kPull = 0x84,
  kRecords = 0x85,
  kDigestSum = 0x86,
};

struct Delta {
  std::string sender;
  std::uint64_t from_version = 0;
  catalog::Change change;  // origin, version and op
  bool operator==(const Delta&) const = default;
};
struct RecordMsg {
  std::string sender;
  catalog::NodeRecord record;
  bool operator==(const RecordMsg&) const = default;
};
struct Announce {
  std::string sender;
  std::string origin;
  std::uint64_t version = 0;
  bool operator==(const Announce&) const = default;
};
struct Digest {
  std::string sender;
  std::vector<std::pair<std::string, std::uint64_t>> versions;  // origin key -> version
  bool operator==(const Digest&) const = default;
};
struct Pull {
  std::string sender;
  std::vector<std::string> origins;
  bool operator==(const Pull&) const = default;
};
struct Records {
  std::string sender;
  std::vector<catalog::NodeRecord> records;
  std::vector<std::pair<std::string, std::uint64_t>> removed;  // origin key -> version
  bool operator==(const Records&) const = default;
};

struct DigestSum {
  std::string sender;
  std::uint64_t hash = 0;   // SumOf(the sender's digest versions)
  std::uint64_t count = 0;  // how many entries that digest has
  bool operator==(const DigestSum&) const = default;
};

// Variant order = type byte order (0x80 + index).
using Message = std::variant<Delta, RecordMsg, Announce, Digest, Pull, Records, DigestSum>;

// FNV-1a over the sorted {origin, version} entries: equal digests give equal sums.
std::uint64_t SumOf(const std::vector<std::pair<std::string, std::uint64_t>>& sorted_versions);

Bytes Encode(const Message& m);
Result<Message> Decode(ByteView msg);

}  // namespace beacon::gossip::catsync
