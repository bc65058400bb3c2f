#include <cstring>

#include "beacon/dns/query.h"
#include "beacon/dns/wire.h"

namespace beacon::dns {
namespace {

// Skips a possibly compressed name starting at *pos. False if it runs past len or is malformed.
bool SkipName(const uint8_t* p, size_t len, size_t* pos) {
  size_t i = *pos;
  for (int guard = 0; guard < 128; ++guard) {
    if (i >= len) return false;
    const uint8_t c = p[i];
    if (c == 0) {
      *pos = i + 1;
      return true;
    }
    if ((c & 0xC0) == 0xC0) {
      if (i + 2 > len) return false;
      *pos = i + 2;
      return true;
    }
    if ((c & 0xC0) != 0) return false;  // extended label types are not supported
    i += c + 1u;
  }
  return false;
}

// ASCII upper case to lower case in 8 bytes at once; every other byte (label lengths are at most
// 63) unchanged.
inline uint64_t Lower8(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  const uint64_t low7 = x & (0x7F * kOnes);
  const uint64_t ge_a = low7 + (0x80 - 'A') * kOnes;      // high bit: byte >= 'A'
  const uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * kOnes;  // high bit: byte > 'Z'
  const uint64_t upper = (ge_a ^ gt_z) & ~x & (0x80 * kOnes);
  return x | (upper >> 2);  // +0x20 where upper
}

void ParseOpt(const uint8_t* rdata, size_t rdlen, Query* q) {
  size_t i = 0;
  while (i + 4 <= rdlen) {
    const uint16_t code = Get16(rdata + i);
    const uint16_t olen = Get16(rdata + i + 2);
    i += 4;
    if (i + olen > rdlen) return;
    if (code == 8 && olen >= 4 && olen <= sizeof q->ecs) {
      q->has_ecs = true;
      q->ecs_len = static_cast<uint8_t>(olen);
      std::memcpy(q->ecs, rdata + i, olen);
    }
    i += olen;
  }
}

}  // namespace

ParseVerdict ParseQuery(const uint8_t* p, size_t len, Query* q) {
  q->nlabels = 0;
  q->qname = nullptr;
  q->qname_len = 0;
  q->edns = false;
  q->has_ecs = false;
  q->udp_size = 0;
  if (len < kHeaderSize) return ParseVerdict::kDrop;
  q->id = Get16(p);
  q->flags = Get16(p + 2);
  if (q->flags & 0x8000) return ParseVerdict::kDrop;  // a response: ignore
  q->opcode = static_cast<uint8_t>((q->flags >> 11) & 0xF);
  q->rd = (q->flags & 0x0100) != 0;
  if (q->opcode != 0 && q->opcode != 4) return ParseVerdict::kNotImp;
  const uint16_t qd = Get16(p + 4), an = Get16(p + 6), ns = Get16(p + 8), ar = Get16(p + 10);
  if (qd != 1 || an > 1 || ns > 1 || ar > 2) return ParseVerdict::kFormErr;

  // Question name: plain labels only (no compression in a question).
  size_t i = kHeaderSize;
  size_t lpos = 0;
  for (;;) {
    if (i >= len) return ParseVerdict::kFormErr;
    const uint8_t c = p[i];
    if (c == 0) {
      ++i;
      break;
    }
    if (c > 63 || lpos + c + 1u > 254 || q->nlabels >= kMaxQLabels) return ParseVerdict::kFormErr;
    if (i + 1 + c > len) return ParseVerdict::kFormErr;
    q->label_off[q->nlabels++] = static_cast<uint8_t>(lpos);
    lpos += c + 1u;
    i += c + 1u;
  }
  // `lower` mirrors the wire name (length bytes included) in lower case: 8 bytes at a time.
  const uint8_t* name = p + kHeaderSize;
  size_t k = 0;
  for (; k + 8 <= lpos; k += 8) {
    uint64_t w;
    std::memcpy(&w, name + k, 8);
    w = Lower8(w);
    std::memcpy(q->lower + k, &w, 8);
  }
  for (; k < lpos; ++k) {
    uint8_t ch = name[k];
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<uint8_t>(ch - 'A' + 'a');
    q->lower[k] = ch;
  }
  q->lower[lpos] = 0;
  q->qname = p + kHeaderSize;
  q->qname_len = i - kHeaderSize;
  if (i + 4 > len) return ParseVerdict::kFormErr;
  q->qtype = Get16(p + i);
  q->qclass = Get16(p + i + 2);
  i += 4;
  q->question_end = i;

  // Answer and authority records (rare in queries): skip them.
  for (int r = 0; r < an + ns; ++r) {
    if (!SkipName(p, len, &i) || i + 10 > len) return ParseVerdict::kFormErr;
    const uint16_t rdlen = Get16(p + i + 8);
    i += 10;
    if (i + rdlen > len) return ParseVerdict::kFormErr;
    i += rdlen;
  }
  for (int r = 0; r < ar; ++r) {
    if (!SkipName(p, len, &i) || i + 10 > len) return ParseVerdict::kFormErr;
    const uint16_t type = Get16(p + i);
    const uint16_t klass = Get16(p + i + 2);
    const uint16_t rdlen = Get16(p + i + 8);
    i += 10;
    if (i + rdlen > len) return ParseVerdict::kFormErr;
    if (type == kTypeOPT) {
      if (q->edns) return ParseVerdict::kFormErr;  // two OPT records
      q->edns = true;
      q->udp_size = klass;
      ParseOpt(p + i, rdlen, q);
    }
    i += rdlen;
  }
  return ParseVerdict::kOk;
}

}  // namespace beacon::dns
