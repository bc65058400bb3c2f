// LZW as Go's compress/lzw with LSB bit order and 8-bit literals: codes start 9 bits wide, 256
// clears the table, 257 ends the stream, codes grow to 12 bits.
#include <algorithm>
#include <array>

#include "beacon/gossip/envelope.h"

namespace beacon::gossip {

namespace {
constexpr std::uint32_t kClear = 256;
constexpr std::uint32_t kEof = 257;
constexpr std::uint32_t kMaxWidth = 12;
constexpr std::uint32_t kMaxCode = (1u << kMaxWidth) - 1;
constexpr std::uint32_t kInvalid = 0xffff;

class BitWriter {
 public:
  explicit BitWriter(Bytes& out) : out_(out) {}
  void put(std::uint32_t code, std::uint32_t width) {
    bits_ |= code << nbits_;
    nbits_ += width;
    while (nbits_ >= 8) {
      out_.push_back(static_cast<std::uint8_t>(bits_));
      bits_ >>= 8;
      nbits_ -= 8;
    }
  }
  void flush() {
    if (nbits_ > 0) out_.push_back(static_cast<std::uint8_t>(bits_));
  }

 private:
  Bytes& out_;
  std::uint32_t bits_ = 0, nbits_ = 0;
};
}  // namespace

Result<Bytes> LzwDecode(ByteView data, std::size_t max_out) {
  std::array<std::uint16_t, kMaxCode + 1> prefix{};
  std::array<std::uint8_t, kMaxCode + 1> suffix{};
  std::uint32_t width = 9, hi = kEof, overflow = 512, last = kInvalid;
  std::uint32_t bits = 0, nbits = 0;
  std::size_t pos = 0;
  Bytes out;
  Bytes seq;
  for (;;) {
    while (nbits < width) {
      if (pos >= data.size()) return Status::Error("lzw: unexpected end of data");
      bits |= static_cast<std::uint32_t>(data[pos++]) << nbits;
      nbits += 8;
    }
    std::uint32_t code = bits & ((1u << width) - 1);
    bits >>= width;
    nbits -= width;
    if (code < kClear) {
      out.push_back(static_cast<std::uint8_t>(code));
      if (last != kInvalid) {
        suffix[hi] = static_cast<std::uint8_t>(code);
        prefix[hi] = static_cast<std::uint16_t>(last);
      }
    } else if (code == kClear) {
      width = 9;
      hi = kEof;
      overflow = 512;
      last = kInvalid;
      continue;
    } else if (code == kEof) {
      return out;
    } else if (code <= hi) {
      seq.clear();
      std::uint32_t c = code;
      if (code == hi && last != kInvalid) {
        // The code being defined: the last expansion followed by its own first byte.
        c = last;
        while (c >= kClear) c = prefix[c];
        seq.push_back(static_cast<std::uint8_t>(c));
        c = last;
      }
      // Each entry's prefix is a smaller code, so the walk ends; the bound is a safety net.
      for (std::size_t steps = 0; c >= kClear; ++steps) {
        if (steps > kMaxCode) return Status::Error("lzw: corrupt code table");
        seq.push_back(suffix[c]);
        c = prefix[c];
      }
      seq.push_back(static_cast<std::uint8_t>(c));
      out.insert(out.end(), seq.rbegin(), seq.rend());
      if (last != kInvalid) {
        suffix[hi] = static_cast<std::uint8_t>(c);
        prefix[hi] = static_cast<std::uint16_t>(last);
      }
    } else {
      return Status::Error("lzw: invalid code " + std::to_string(code));
    }
    if (out.size() > max_out) return Status::Error("lzw: output exceeds limit");
    last = code;
    ++hi;
    if (hi >= overflow) {
      if (width == kMaxWidth) {
        last = kInvalid;
        --hi;
      } else {
        ++width;
        overflow = 1u << width;
      }
    }
  }
}

Bytes LzwEncode(ByteView data) {
  Bytes out;
  out.reserve(data.size() / 2 + 16);
  BitWriter bw(out);
  std::uint32_t width = 9, hi = kEof, overflow = 512;
  // Go's compress/lzw table: open addressing, each slot (key << 12 | code) with key = (code << 8
  // | byte), 0 for empty (no valid key is 0 with a code, since codes start at 258).
  constexpr std::uint32_t kTableBits = 14, kTableMask = (1u << kTableBits) - 1;
  std::array<std::uint32_t, 1u << kTableBits> table{};
  if (data.empty()) {
    bw.put(kClear, width);
    bw.put(kEof, width);
    bw.flush();
    return out;
  }
  auto inc_hi = [&] {
    ++hi;
    if (hi == overflow) {
      ++width;
      overflow <<= 1;
    }
    if (hi == kMaxCode) {
      bw.put(kClear, width);
      width = 9;
      hi = kEof;
      overflow = 512;
      table.fill(0);
      return false;
    }
    return true;
  };
  bw.put(kClear, width);  // like Go: a clear code opens every non-empty stream
  std::uint32_t code = data[0];
  for (std::size_t i = 1; i < data.size(); ++i) {
    const std::uint32_t key = code << 8 | data[i];
    std::uint32_t h = ((key >> 12) ^ key) & kTableMask;
    bool found = false;
    for (std::uint32_t t = table[h]; t != 0; h = (h + 1) & kTableMask, t = table[h]) {
      if (t >> 12 == key) {
        code = t & kMaxCode;
        found = true;
        break;
      }
    }
    if (found) continue;
    bw.put(code, width);
    code = data[i];
    if (inc_hi()) table[h] = key << 12 | hi;
  }
  bw.put(code, width);
  inc_hi();
  bw.put(kEof, width);
  bw.flush();
  return out;
}

}  // namespace beacon::gossip
