// Records from a recursor's reply, copied into our answer (hostname resolution, spec 1.3/1.4.1).
#include <cstring>

#include "beacon/dns/answer.h"
#include "beacon/dns/wire.h"
#include "ctx.h"

namespace beacon::dns {
namespace detail {
namespace {

// Reads a possibly compressed name at *pos into `out` as uncompressed wire labels (no
// terminating zero). Advances *pos past the name in the record. False on any malformation.
bool ReadName(const uint8_t* p, size_t len, size_t* pos, uint8_t* out, size_t* out_len) {
  size_t i = *pos, n = 0;
  bool jumped = false;
  for (int guard = 0; guard < 128; ++guard) {
    if (i >= len) return false;
    const uint8_t c = p[i];
    if (c == 0) {
      if (!jumped) *pos = i + 1;
      *out_len = n;
      return true;
    }
    if ((c & 0xC0) == 0xC0) {
      if (i + 1 >= len) return false;
      if (!jumped) *pos = i + 2;
      jumped = true;
      i = static_cast<size_t>((c & 0x3F) << 8 | p[i + 1]);
      continue;
    }
    if ((c & 0xC0) != 0 || i + 1 + c > len || n + c + 1 > 250) return false;
    std::memcpy(out + n, p + i, c + 1u);
    n += c + 1u;
    i += c + 1u;
  }
  return false;
}

bool SkipQuestion(const uint8_t* p, size_t len, size_t* pos) {
  uint8_t name[256];
  size_t n;
  if (!ReadName(p, len, pos, name, &n) || *pos + 4 > len) return false;
  *pos += 4;
  return true;
}

}  // namespace

bool UpstreamAsked(const uint8_t* p, size_t len, std::string_view host) {
  if (len < kHeaderSize || Get16(p + 4) != 1) return false;
  size_t pos = kHeaderSize;
  uint8_t name[256];
  size_t n;
  if (!ReadName(p, len, &pos, name, &n)) return false;
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  size_t h = 0;
  for (size_t i = 0; i < n;) {
    const uint8_t l = name[i++];
    if (h != 0) {
      if (h >= host.size() || host[h] != '.') return false;
      ++h;
    }
    for (uint8_t k = 0; k < l; ++k, ++i, ++h) {
      if (h >= host.size()) return false;
      char a = static_cast<char>(name[i]), b = host[h];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
      if (a != b) return false;
    }
  }
  return h == host.size();
}

uint16_t CopyUpstreamAnswers(Ctx& x, const uint8_t* p, size_t len, uint32_t cap, uint32_t ttl) {
  if (len < kHeaderSize) return 0;
  const uint16_t qd = Get16(p + 4), an = Get16(p + 6);
  size_t pos = kHeaderSize;
  for (uint16_t i = 0; i < qd; ++i) {
    if (!SkipQuestion(p, len, &pos)) return 0;
  }
  uint16_t copied = 0;
  uint8_t owner[256], target[256];
  for (uint16_t i = 0; i < an && copied < cap; ++i) {
    size_t on;
    if (!ReadName(p, len, &pos, owner, &on) || pos + 10 > len) return copied;
    const uint16_t type = Get16(p + pos), klass = Get16(p + pos + 2);
    const uint32_t rttl = static_cast<uint32_t>(Get16(p + pos + 4)) << 16 | Get16(p + pos + 6);
    const uint16_t rdlen = Get16(p + pos + 8);
    pos += 10;
    if (pos + rdlen > len) return copied;
    const size_t rdata = pos;
    pos += rdlen;
    const bool name_rdata = type == kTypeCNAME || type == kTypePTR || type == kTypeNS;
    if (!name_rdata && type != kTypeA && type != kTypeAAAA && type != kTypeTXT) continue;
    const MsgWriter::Mark m = x.w.mark();
    x.w.Name({std::string_view(reinterpret_cast<char*>(owner), on)});
    const size_t at = x.w.RrHeader(type, klass, ttl != UINT32_MAX ? ttl : rttl);
    if (name_rdata) {
      size_t rp = rdata, tn;
      if (!ReadName(p, len, &rp, target, &tn)) {
        x.w.Rewind(m);
        continue;
      }
      x.w.Name({std::string_view(reinterpret_cast<char*>(target), tn)});
    } else {
      x.w.Bytes(p + rdata, rdlen);
    }
    x.w.RrEnd(at);
    ++copied;
  }
  return copied;
}

}  // namespace detail

size_t HostQuery(std::string_view host, uint16_t id, uint8_t* out, size_t cap) {
  if (cap < kHeaderSize + 6) return 0;
  std::memset(out, 0, kHeaderSize);
  Put16(out, id);
  out[2] = 0x01;  // RD
  out[5] = 1;
  size_t n = kHeaderSize;
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  size_t start = 0;
  while (start < host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const size_t l = dot - start;
    if (l == 0 || l > 63 || n + l + 1 + 5 > cap) return 0;
    out[n++] = static_cast<uint8_t>(l);
    std::memcpy(out + n, host.data() + start, l);
    n += l;
    start = dot + 1;
  }
  out[n++] = 0;
  Put16(out + n, kTypeA);
  Put16(out + n + 2, kClassIN);
  return n + 4;
}

}  // namespace beacon::dns
