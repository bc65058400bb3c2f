// DNS wire constants and MsgWriter, the allocation-free response builder.
//
// Contract:
// - MsgWriter writes into a caller-owned buffer of fixed capacity; it never allocates. Any write
//   that would pass the capacity sets overflow() and is dropped; callers check once per record
//   with Mark()/Rewind() (write optimistically, rewind on overflow: NSD packet.c style).
// - Names are given as a list of "wire pieces" (length-prefixed labels without the terminating
//   zero); MsgWriter joins them, compresses against names already in the message when
//   compression is on, and tracks the uncompressed size of the message as well (spec 1.13 sizes
//   some replies uncompressed).
// - One MsgWriter per message; owned by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string_view>

namespace beacon::dns {

enum RType : uint16_t {
  kTypeA = 1,
  kTypeNS = 2,
  kTypeCNAME = 5,
  kTypeSOA = 6,
  kTypePTR = 12,
  kTypeMX = 15,
  kTypeTXT = 16,
  kTypeAAAA = 28,
  kTypeSRV = 33,
  kTypeOPT = 41,
  kTypeIXFR = 251,
  kTypeAXFR = 252,
  kTypeANY = 255,
};

enum Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

constexpr uint16_t kClassIN = 1;
constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxMessage = 65535;

inline uint16_t Get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

class MsgWriter {
 public:
  static constexpr int kMaxSuffixes = 96;

  MsgWriter(uint8_t* buf, size_t cap, bool compress) : buf_(buf), cap_(cap), compress_(compress) {}

  size_t size() const { return pos_; }
  size_t uncompressed_size() const { return raw_; }
  bool overflow() const { return overflow_; }
  uint8_t* data() { return buf_; }

  struct Mark {
    size_t pos, raw;
    int nsuffix;
  };
  Mark mark() const { return Mark{pos_, raw_, nsuffix_}; }
  void Rewind(const Mark& m) {
    pos_ = m.pos;
    raw_ = m.raw;
    nsuffix_ = m.nsuffix;
    overflow_ = false;
    // A mark taken before the question's suffixes were registered: register them again on demand.
    if (m.nsuffix == 0 && question_at_ != 0) question_pending_ = true;
  }

  void Bytes(const void* p, size_t n) {
    raw_ += n;
    Put(p, n);
  }
  // Appends without counting toward the uncompressed size (names account for themselves).
  void Put(const void* p, size_t n) {
    if (pos_ + n > cap_) {
      overflow_ = true;
      return;
    }
    std::memcpy(buf_ + pos_, p, n);
    pos_ += n;
  }
  void U8(uint8_t v) { Bytes(&v, 1); }
  void U16(uint16_t v) {
    uint8_t b[2];
    Put16(b, v);
    Bytes(b, 2);
  }
  void U32(uint32_t v) {
    uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                    static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    Bytes(b, 4);
  }

  // Writes the header (12 bytes, counts zero) and copies the question verbatim (uncompressed
  // name + type + class). Registers the question name for compression (when the first other name
  // is written: answers that only point at the question never hash it).
  void Header(uint16_t id, uint16_t flags);
  void Question(const uint8_t* qname, size_t qname_len, uint16_t qtype, uint16_t qclass);

  // Writes a name made of wire pieces, compressed when enabled.
  void Name(std::initializer_list<std::string_view> pieces);
  // Writes the question name (a pointer to offset 12 when compressing).
  void QName();
  // QName() then a whole IN record of `type` with rdata ip[0, n) (an A or AAAA record of the
  // question), written at once.
  void QNameRecord(uint16_t type, uint32_t ttl, const uint8_t* ip, size_t n);

  // Starts a resource record: owner must already be written. Returns the rdlength position.
  size_t RrHeader(uint16_t type, uint16_t klass, uint32_t ttl) {
    U16(type);
    U16(klass);
    U32(ttl);
    size_t at = pos_;
    U16(0);
    return at;
  }
  // Completes the rdlength of the record started at `at`.
  void RrEnd(size_t at) {
    if (overflow_ || at + 2 > pos_) return;
    Put16(buf_ + at, static_cast<uint16_t>(pos_ - at - 2));
  }

  void SetCount(int section, uint16_t n) { Put16(buf_ + 4 + 2 * static_cast<size_t>(section), n); }
  void SetFlags(uint16_t flags) { Put16(buf_ + 2, flags); }

 private:
  struct Suffix {
    uint64_t hash;
    uint16_t offset;
  };
  void AddSuffix(uint64_t h, size_t offset) {
    if (nsuffix_ < kMaxSuffixes && offset < 0x3fff) {
      suffixes_[nsuffix_++] = Suffix{h, static_cast<uint16_t>(offset)};
    }
  }
  void RegisterQuestion();
  int FindSuffix(uint64_t h) const {
    for (int i = 0; i < nsuffix_; ++i) {
      if (suffixes_[i].hash == h) return suffixes_[i].offset;
    }
    return -1;
  }

  uint8_t* buf_;
  size_t cap_;
  size_t pos_ = 0;
  size_t raw_ = 0;
  bool compress_;
  bool overflow_ = false;
  size_t qname_len_ = 0;
  size_t question_at_ = 0;         // where Question() copied the name (0: no question)
  bool question_pending_ = false;  // its suffixes are not registered yet
  int nsuffix_ = 0;
  Suffix suffixes_[kMaxSuffixes];
};

}  // namespace beacon::dns
