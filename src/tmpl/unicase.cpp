// Unicode simple case mapping for GoLower/GoUpper; see unicase.h.
#include "unicase.h"

namespace beacon::tmpl {
namespace {

// Pairs laid out upper, lower, upper, lower ... (even = upper when `even_upper`).
bool InPairs(char32_t c, char32_t lo, char32_t hi) {
  return c >= lo && c <= hi;
}

char32_t ToLowerRune(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
      (c >= 0x410 && c <= 0x42F)) {
    return c + 0x20;
  }
  if (c == 0x178) return 0xFF;
  if (c == 0x130) return 'i';
  if ((InPairs(c, 0x100, 0x12F) || InPairs(c, 0x132, 0x137) || InPairs(c, 0x14A, 0x177) ||
       InPairs(c, 0x460, 0x481) || InPairs(c, 0x48A, 0x4BF) || InPairs(c, 0x4D0, 0x4FF)) &&
      c % 2 == 0) {
    return c + 1;
  }
  if ((InPairs(c, 0x139, 0x148) || InPairs(c, 0x179, 0x17E)) && c % 2 == 1) return c + 1;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  return c;
}

char32_t ToUpperRune(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) ||
      (c >= 0x430 && c <= 0x44F)) {
    return c - 0x20;
  }
  if (c == 0xFF) return 0x178;
  if (c == 0xB5) return 0x39C;
  if (c == 0x131) return 'I';
  if (c == 0x17F) return 'S';
  if (c == 0x3C2) return 0x3A3;
  if ((InPairs(c, 0x100, 0x12F) || InPairs(c, 0x132, 0x137) || InPairs(c, 0x14A, 0x177) ||
       InPairs(c, 0x460, 0x481) || InPairs(c, 0x48A, 0x4BF) || InPairs(c, 0x4D0, 0x4FF)) &&
      c % 2 == 1) {
    return c - 1;
  }
  if ((InPairs(c, 0x139, 0x148) || InPairs(c, 0x179, 0x17E)) && c % 2 == 0) return c - 1;
  if (c >= 0x450 && c <= 0x45F) return c - 0x50;
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 0x25;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 0x3F;
  return c;
}

void Append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Decodes one rune at s[i]; *n is its length. U+FFFD (length 1) for an invalid sequence.
char32_t Decode(std::string_view s, size_t i, size_t* n) {
  auto b = static_cast<unsigned char>(s[i]);
  *n = 1;
  if (b < 0x80) return b;
  size_t len = b >= 0xF0 && b < 0xF5   ? 4
               : b >= 0xE0 && b < 0xF0 ? 3
               : b >= 0xC2 && b < 0xE0 ? 2
                                       : 0;
  if (len == 0 || i + len > s.size()) return 0xFFFD;
  char32_t c = b & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    auto cb = static_cast<unsigned char>(s[i + k]);
    if ((cb & 0xC0) != 0x80) return 0xFFFD;
    c = (c << 6) | (cb & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
      (len == 4 && (c < 0x10000 || c > 0x10FFFF))) {
    return 0xFFFD;
  }
  *n = len;
  return c;
}

template <char32_t (*kMap)(char32_t)>
std::string MapRunes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    Append(out, kMap(Decode(s, i, &n)));
    i += n;
  }
  return out;
}

}  // namespace

std::string GoLower(std::string_view s) {
  return MapRunes<ToLowerRune>(s);
}
std::string GoUpper(std::string_view s) {
  return MapRunes<ToUpperRune>(s);
}

}  // namespace beacon::tmpl
