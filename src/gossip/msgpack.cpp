#include "msgpack.h"

#include <bit>
#include <cstring>

namespace beacon::gossip::mp {

namespace {
constexpr int kMaxDepth = 32;
}  // namespace

void Writer::be(std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void Writer::uint(std::uint64_t v) {
  if (v <= 0x7f) {
    out_.push_back(static_cast<std::uint8_t>(v));
  } else if (v <= 0xff) {
    out_.push_back(0xcc);
    be(v, 1);
  } else if (v <= 0xffff) {
    out_.push_back(0xcd);
    be(v, 2);
  } else if (v <= 0xffffffffULL) {
    out_.push_back(0xce);
    be(v, 4);
  } else {
    out_.push_back(0xcf);
    be(v, 8);
  }
}

void Writer::sint(std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  if (v >= 0) {
    uint(u);
  } else if (v >= -32) {
    out_.push_back(static_cast<std::uint8_t>(u));
  } else if (v >= INT8_MIN) {
    out_.push_back(0xd0);
    be(u, 1);
  } else if (v >= INT16_MIN) {
    out_.push_back(0xd1);
    be(u, 2);
  } else if (v >= INT32_MIN) {
    out_.push_back(0xd2);
    be(u, 4);
  } else {
    out_.push_back(0xd3);
    be(u, 8);
  }
}

void Writer::f64(double v) {
  out_.push_back(0xcb);
  be(std::bit_cast<std::uint64_t>(v), 8);
}

void Writer::container(std::size_t n, std::uint8_t fix, std::size_t fix_max, std::uint8_t b16,
                       std::uint8_t b32) {
  if (n <= fix_max) {
    out_.push_back(static_cast<std::uint8_t>(fix | n));
  } else if (n <= 0xffff) {
    out_.push_back(b16);
    be(n, 2);
  } else {
    out_.push_back(b32);
    be(n, 4);
  }
}

void Writer::str(std::string_view s) {
  container(s.size(), 0xa0, 31, 0xda, 0xdb);
  out_.insert(out_.end(), s.begin(), s.end());
}

void Writer::bytes(std::span<const std::uint8_t> b) {
  if (b.empty()) {
    nil();
    return;
  }
  container(b.size(), 0xa0, 31, 0xda, 0xdb);
  out_.insert(out_.end(), b.begin(), b.end());
}

void Writer::map(std::size_t n) {
  container(n, 0x80, 15, 0xde, 0xdf);
}
void Writer::array(std::size_t n) {
  container(n, 0x90, 15, 0xdc, 0xdd);
}

bool Reader::fail(std::string reason) {
  if (err_.empty()) err_ = "msgpack at byte " + std::to_string(pos_) + ": " + std::move(reason);
  return false;
}

bool Reader::need(std::size_t n) {
  if (!err_.empty()) return false;
  if (in_.size() - pos_ < n) {
    truncated_ = true;
    return fail("truncated input");
  }
  return true;
}

std::uint64_t Reader::be(std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | in_[pos_ + i];
  pos_ += n;
  return v;
}

bool Reader::read_uint(std::uint64_t& v) {
  std::int64_t s = 0;
  if (!need(1)) return false;
  std::uint8_t b = in_[pos_];
  if (b == 0xcf) {
    if (!need(9)) return false;
    ++pos_;
    v = be(8);
    return true;
  }
  if (!read_sint(s)) return false;
  if (s < 0) return fail("negative value for an unsigned field");
  v = static_cast<std::uint64_t>(s);
  return true;
}

bool Reader::read_sint(std::int64_t& v) {
  if (!need(1)) return false;
  std::uint8_t b = in_[pos_];
  if (b <= 0x7f) {
    ++pos_;
    v = b;
    return true;
  }
  if (b >= 0xe0) {  // negative fixint: -32..-1
    ++pos_;
    v = static_cast<std::int64_t>(b) - 0x100;
    return true;
  }
  std::size_t n = 0;
  bool sign = false;
  switch (b) {
    case 0xcc:
      n = 1;
      break;
    case 0xcd:
      n = 2;
      break;
    case 0xce:
      n = 4;
      break;
    case 0xcf:
      n = 8;
      break;
    case 0xd0:
      n = 1;
      sign = true;
      break;
    case 0xd1:
      n = 2;
      sign = true;
      break;
    case 0xd2:
      n = 4;
      sign = true;
      break;
    case 0xd3:
      n = 8;
      sign = true;
      break;
    default:
      return fail("expected an integer");
  }
  if (!need(1 + n)) return false;
  ++pos_;
  std::uint64_t u = be(n);
  if (sign) {
    // Sign-extend the n-byte two's complement value (C++20 defines the arithmetic shift).
    const unsigned shift = 64 - 8 * static_cast<unsigned>(n);
    v = static_cast<std::int64_t>(u << shift) >> shift;
  } else {
    if (n == 8 && u > static_cast<std::uint64_t>(INT64_MAX)) return fail("integer overflows int64");
    v = static_cast<std::int64_t>(u);
  }
  return true;
}

bool Reader::read_bool(bool& v) {
  if (!need(1)) return false;
  std::uint8_t b = in_[pos_];
  if (b != 0xc2 && b != 0xc3 && b != 0xc0) return fail("expected a bool");
  ++pos_;
  v = b == 0xc3;
  return true;
}

bool Reader::read_f64(double& v) {
  if (!need(1)) return false;
  std::uint8_t b = in_[pos_];
  if (b == 0xcb) {
    if (!need(9)) return false;
    ++pos_;
    v = std::bit_cast<double>(be(8));
    return true;
  }
  if (b == 0xca) {
    if (!need(5)) return false;
    ++pos_;
    v = std::bit_cast<float>(static_cast<std::uint32_t>(be(4)));
    return true;
  }
  std::int64_t s = 0;
  if (!read_sint(s)) return false;
  v = static_cast<double>(s);
  return true;
}

bool Reader::raw_len(std::size_t& n) {
  if (!need(1)) return false;
  std::uint8_t b = in_[pos_];
  std::size_t w = 0;
  if (b >= 0xa0 && b <= 0xbf) {
    ++pos_;
    n = b & 0x1f;
  } else if (b == 0xc0) {
    ++pos_;
    n = 0;
  } else {
    switch (b) {
      case 0xd9:
      case 0xc4:
        w = 1;
        break;
      case 0xda:
      case 0xc5:
        w = 2;
        break;
      case 0xdb:
      case 0xc6:
        w = 4;
        break;
      default:
        return fail("expected a string or bytes");
    }
    if (!need(1 + w)) return false;
    ++pos_;
    n = static_cast<std::size_t>(be(w));
  }
  return need(n);
}

bool Reader::read_str(std::string& v) {
  std::size_t n = 0;
  if (!raw_len(n)) return false;
  v.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
  pos_ += n;
  return true;
}

bool Reader::read_bytes(std::vector<std::uint8_t>& v) {
  std::size_t n = 0;
  if (!raw_len(n)) return false;
  v.assign(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
           in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
  pos_ += n;
  return true;
}

bool Reader::read_map(std::size_t& n) {
  if (!need(1)) return false;
  std::uint8_t b = in_[pos_];
  if (b >= 0x80 && b <= 0x8f) {
    ++pos_;
    n = b & 0x0f;
  } else if (b == 0xc0) {
    ++pos_;
    n = 0;
  } else if (b == 0xde || b == 0xdf) {
    std::size_t w = b == 0xde ? 2 : 4;
    if (!need(1 + w)) return false;
    ++pos_;
    n = static_cast<std::size_t>(be(w));
  } else {
    return fail("expected a map");
  }
  // Every entry takes at least two bytes: a count beyond that is a lie.
  if (n > remaining() / 2) {
    truncated_ = err_.empty();
    return fail("map count exceeds input");
  }
  return true;
}

bool Reader::read_array(std::size_t& n) {
  if (!need(1)) return false;
  std::uint8_t b = in_[pos_];
  if (b >= 0x90 && b <= 0x9f) {
    ++pos_;
    n = b & 0x0f;
  } else if (b == 0xc0) {
    ++pos_;
    n = 0;
  } else if (b == 0xdc || b == 0xdd) {
    std::size_t w = b == 0xdc ? 2 : 4;
    if (!need(1 + w)) return false;
    ++pos_;
    n = static_cast<std::size_t>(be(w));
  } else {
    return fail("expected an array");
  }
  if (n > remaining()) {
    truncated_ = err_.empty();
    return fail("array count exceeds input");
  }
  return true;
}

bool Reader::skip() {
  return skip_depth(0);
}

bool Reader::skip_depth(int depth) {
  if (depth > kMaxDepth) return fail("nesting too deep");
  if (!need(1)) return false;
  std::uint8_t b = in_[pos_];
  std::size_t n = 0;
  if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) {
    std::int64_t s = 0;
    std::uint64_t u = 0;
    return b == 0xcf ? read_uint(u) : read_sint(s);
  }
  if ((b >= 0xa0 && b <= 0xbf) || b == 0xd9 || b == 0xda || b == 0xdb || (b >= 0xc4 && b <= 0xc6)) {
    if (!raw_len(n)) return false;
    pos_ += n;
    return true;
  }
  if ((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf) {
    if (!read_map(n)) return false;
    for (std::size_t i = 0; i < 2 * n; ++i)
      if (!skip_depth(depth + 1)) return false;
    return true;
  }
  if ((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd) {
    if (!read_array(n)) return false;
    for (std::size_t i = 0; i < n; ++i)
      if (!skip_depth(depth + 1)) return false;
    return true;
  }
  std::size_t fixed = 0;
  switch (b) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      fixed = 1;
      break;
    case 0xca:
      fixed = 5;
      break;
    case 0xcb:
      fixed = 9;
      break;
    case 0xd4:
      fixed = 3;
      break;
    case 0xd5:
      fixed = 4;
      break;
    case 0xd6:
      fixed = 6;
      break;
    case 0xd7:
      fixed = 10;
      break;
    case 0xd8:
      fixed = 18;
      break;
    case 0xc7:
    case 0xc8:
    case 0xc9: {
      std::size_t w = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
      if (!need(1 + w)) return false;
      ++pos_;
      n = static_cast<std::size_t>(be(w));
      if (!need(1 + n)) return false;
      pos_ += 1 + n;
      return true;
    }
    default:
      return fail("invalid type byte");
  }
  if (!need(fixed)) return false;
  pos_ += fixed;
  return true;
}

}  // namespace beacon::gossip::mp
