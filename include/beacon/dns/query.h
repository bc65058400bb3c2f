// Query: a DNS request parsed in place, without allocation.
//
// Contract: ParseQuery reads at most `len` bytes of `pkt` and never reads outside them, for any
// input (fuzzed). It fills `q` and returns a verdict; `q` points into `pkt`, which must outlive it.
// Any thread; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>

namespace beacon::dns {

constexpr int kMaxQLabels = 128;

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;  // as received
  uint8_t opcode = 0;
  bool rd = false;
  const uint8_t* qname = nullptr;  // wire name as received (client case), uncompressed
  size_t qname_len = 0;            // including the terminating zero
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  // Lower-cased copy of the name's label bytes, and where each label starts in it.
  uint8_t lower[256];
  uint8_t label_off[kMaxQLabels];  // offset of each label's length byte in `lower`
  int nlabels = 0;
  // EDNS.
  bool edns = false;
  uint16_t udp_size = 0;  // as advertised (0 without EDNS)
  bool has_ecs = false;
  uint8_t ecs[24];  // the ECS option body as received: family(2) source(1) scope(1) address
  uint8_t ecs_len = 0;
  // Bytes of the question section in the original packet (header excluded).
  size_t question_end = 0;
};

enum class ParseVerdict {
  kOk,
  kDrop,     // QR=1 or too short for a header: no reply at all (counted)
  kFormErr,  // reply FORMERR (question echoed when it parsed)
  kNotImp,   // opcode other than QUERY/NOTIFY
};

ParseVerdict ParseQuery(const uint8_t* pkt, size_t len, Query* q);

}  // namespace beacon::dns
