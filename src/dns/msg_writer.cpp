#include "beacon/dns/wire.h"

#include <cstring>

#include "beacon/core/hash.h"

namespace beacon::dns {
namespace {

constexpr int kMaxLabels = 128;

__extension__ typedef unsigned __int128 U128;  // GCC and Clang on 64-bit targets

// 64x64->128-bit multiply, folded: every input bit reaches every output bit.
inline uint64_t Fold(uint64_t a, uint64_t b) {
  const U128 r = static_cast<U128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The hash of a name suffix: `h` (the hash of the labels to its right) extended by one label of
// `n` bytes (1..64, its length byte first, so distinct label sequences never run together). The
// label is read in at most a few overlapping loads, which together cover every byte. Only the
// equality of hashes matters (a suffix table lives for one message).
inline uint64_t Mix(uint64_t h, const uint8_t* label, size_t n) {
  uint64_t a, b = 0;
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) h = Fold(h ^ Load64(label + i), 0x9E3779B97F4A7C15ULL);
    a = Load64(label + n - 8);
  } else if (n >= 4) {
    a = Load32(label);
    b = Load32(label + n - 4);
  } else {
    a = static_cast<uint64_t>(label[0]) << 16 | static_cast<uint64_t>(label[n >> 1]) << 8 |
        label[n - 1];
  }
  return Fold(h ^ a ^ 0x632BE59BD9B4E019ULL, b ^ 0xD1B54A32D192ED03ULL);
}

constexpr uint64_t kRootHash = core::kFnv64Offset;

}  // namespace

void MsgWriter::Header(uint16_t id, uint16_t flags) {
  uint8_t h[kHeaderSize] = {};
  Put16(h, id);
  Put16(h + 2, flags);
  Bytes(h, sizeof h);
}

void MsgWriter::Question(const uint8_t* qname, size_t qname_len, uint16_t qtype, uint16_t qclass) {
  const size_t start = pos_;
  Bytes(qname, qname_len);
  U16(qtype);
  U16(qclass);
  qname_len_ = qname_len;
  if (!compress_ || overflow_) return;
  question_at_ = start;
  question_pending_ = true;
}

void MsgWriter::RegisterQuestion() {
  // Every suffix of the question name (as copied into the message), before any other name.
  question_pending_ = false;
  const uint8_t* qname = buf_ + question_at_;
  const uint8_t* labels[kMaxLabels];
  int n = 0;
  for (size_t i = 0; i < qname_len_ && qname[i] != 0 && n < kMaxLabels; i += qname[i] + 1u) {
    labels[n++] = qname + i;
  }
  uint64_t h = kRootHash;
  for (int i = n - 1; i >= 0; --i) {
    h = Mix(h, labels[i], labels[i][0] + 1u);
    AddSuffix(h, question_at_ + static_cast<size_t>(labels[i] - qname));
  }
}

void MsgWriter::QName() {
  if (compress_ && qname_len_ > 1) {
    raw_ += qname_len_;
    const uint8_t ptr[2] = {0xC0, static_cast<uint8_t>(kHeaderSize)};
    Put(ptr, 2);
    return;
  }
  Bytes(buf_ + kHeaderSize, qname_len_);
}

void MsgWriter::QNameRecord(uint16_t type, uint32_t ttl, const uint8_t* ip, size_t n) {
  if (!compress_ || qname_len_ <= 1 || n > 16) {
    QName();
    const size_t at = RrHeader(type, kClassIN, ttl);
    Bytes(ip, n);
    RrEnd(at);
    return;
  }
  uint8_t r[12 + 16] = {0xC0, static_cast<uint8_t>(kHeaderSize)};
  Put16(r + 2, type);
  Put16(r + 4, kClassIN);
  Put16(r + 6, static_cast<uint16_t>(ttl >> 16));
  Put16(r + 8, static_cast<uint16_t>(ttl));
  Put16(r + 10, static_cast<uint16_t>(n));
  std::memcpy(r + 12, ip, n);
  raw_ += qname_len_ + 10 + n;
  Put(r, 12 + n);
}

void MsgWriter::Name(std::initializer_list<std::string_view> pieces) {
  const uint8_t* labels[kMaxLabels];
  int n = 0;
  size_t total = 1;
  for (std::string_view p : pieces) {
    const auto* b = reinterpret_cast<const uint8_t*>(p.data());
    for (size_t i = 0; i < p.size() && n < kMaxLabels; i += b[i] + 1u) {
      labels[n++] = b + i;
      total += b[i] + 1u;
    }
  }
  raw_ += total;
  if (!compress_) {
    for (int i = 0; i < n; ++i) Put(labels[i], labels[i][0] + 1u);
    Put("", 1);
    return;
  }
  if (question_pending_) RegisterQuestion();
  uint64_t hashes[kMaxLabels + 1];
  hashes[n] = kRootHash;
  for (int i = n - 1; i >= 0; --i) hashes[i] = Mix(hashes[i + 1], labels[i], labels[i][0] + 1u);
  int match_at = n;
  int match_off = -1;
  for (int i = 0; i < n; ++i) {
    int off = FindSuffix(hashes[i]);
    if (off >= 0) {
      match_at = i;
      match_off = off;
      break;
    }
  }
  for (int i = 0; i < match_at; ++i) {
    AddSuffix(hashes[i], pos_);
    Put(labels[i], labels[i][0] + 1u);
  }
  if (match_off >= 0) {
    const uint8_t ptr[2] = {static_cast<uint8_t>(0xC0 | (match_off >> 8)),
                            static_cast<uint8_t>(match_off & 0xff)};
    Put(ptr, 2);
  } else {
    Put("", 1);
  }
}

}  // namespace beacon::dns
