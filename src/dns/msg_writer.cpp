#include "beacon/dns/wire.h"

#include "beacon/core/hash.h"

namespace beacon::dns {
namespace {

constexpr int kMaxLabels = 128;

inline uint64_t Mix(uint64_t h, const uint8_t* label, size_t len_with_prefix) {
  h = core::Fnv1a64(label, len_with_prefix, h);
  return h * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
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
  // Register every suffix of the question name.
  const uint8_t* labels[kMaxLabels];
  int n = 0;
  for (size_t i = 0; i < qname_len && qname[i] != 0 && n < kMaxLabels; i += qname[i] + 1u) {
    labels[n++] = qname + i;
  }
  uint64_t h = kRootHash;
  for (int i = n - 1; i >= 0; --i) {
    h = Mix(h, labels[i], labels[i][0] + 1u);
    AddSuffix(h, start + static_cast<size_t>(labels[i] - qname));
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
