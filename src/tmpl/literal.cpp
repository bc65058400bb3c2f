// Literal syntax of template actions: Go's quoted strings and number constants.
#include "literal.h"

#include <cerrno>
#include <cstdlib>

namespace beacon::tmpl {

// Go's strconv.Unquote for "..." and '...' literals. False on a bad escape.
bool Unquote(std::string_view q, std::string* out) {
  out->clear();
  for (size_t i = 1; i + 1 < q.size(); ++i) {
    char c = q[i];
    if (c != '\\') {
      *out += c;
      continue;
    }
    if (++i + 1 >= q.size()) return false;
    c = q[i];
    uint32_t cp = 0;
    int hex = 0;
    switch (c) {
      case 'a':
        *out += '\a';
        continue;
      case 'b':
        *out += '\b';
        continue;
      case 'f':
        *out += '\f';
        continue;
      case 'n':
        *out += '\n';
        continue;
      case 'r':
        *out += '\r';
        continue;
      case 't':
        *out += '\t';
        continue;
      case 'v':
        *out += '\v';
        continue;
      case '\\':
      case '"':
      case '\'':
        *out += c;
        continue;
      case 'x':
        hex = 2;
        break;
      case 'u':
        hex = 4;
        break;
      case 'U':
        hex = 8;
        break;
      default:
        if (c >= '0' && c <= '7' && i + 3 < q.size()) {
          *out += static_cast<char>(((c - '0') << 6) | ((q[i + 1] - '0') << 3) | (q[i + 2] - '0'));
          i += 2;
          continue;
        }
        return false;
    }
    for (int k = 0; k < hex; ++k) {
      if (++i + 1 >= q.size()) return false;
      char h = q[i];
      int d = h >= '0' && h <= '9'   ? h - '0'
              : h >= 'a' && h <= 'f' ? h - 'a' + 10
              : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                     : -1;
      if (d < 0) return false;
      cp = cp * 16 + static_cast<uint32_t>(d);
    }
    if (hex == 2 || cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xc0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xe0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      *out += static_cast<char>(0xf0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  return true;
}

bool ParseNumber(std::string_view text, Arg* a) {
  std::string s;
  for (char c : text) {
    if (c != '_') s += c;
  }
  bool is_float = s.find_first_of(".eE") != std::string::npos &&
                  s.find("0x") == std::string::npos && s.find("0X") == std::string::npos;
  char* end = nullptr;
  errno = 0;
  if (!is_float) {
    std::string digits = s;
    int base = 10;
    bool neg = false;
    size_t k = 0;
    if (k < digits.size() && (digits[k] == '+' || digits[k] == '-')) neg = digits[k++] == '-';
    std::string body = digits.substr(k);
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
      base = 16, body = body.substr(2);
    } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'O')) {
      base = 8, body = body.substr(2);
    } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) {
      base = 2, body = body.substr(2);
    } else if (body.size() > 1 && body[0] == '0') {
      base = 8, body = body.substr(1);
    }
    unsigned long long v = std::strtoull(body.c_str(), &end, base);
    uint64_t limit = neg ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
    if (body.empty() || body[0] == '-' || body[0] == '+' || *end != '\0' || errno == ERANGE ||
        v > limit) {
      return false;
    }
    a->type = Arg::kInt;
    a->i = neg ? static_cast<int64_t>(0 - static_cast<uint64_t>(v)) : static_cast<int64_t>(v);
    return true;
  }
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0') {
    return false;
  }
  a->type = Arg::kFloat;
  a->f = v;
  return true;
}

}  // namespace beacon::tmpl
