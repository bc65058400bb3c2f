#include "beacon/core/json_writer.h"

#include <charconv>
#include <cmath>

namespace beacon::core {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid (RFC 3629: no overlongs,
// no surrogates, nothing past U+10FFFF).
size_t Utf8Len(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const size_t left = s.size() - i;
  const auto cont = [&](size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void JsonWriter::AppendQuoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8Len(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

std::string JsonWriter::Pretty(std::string_view compact) {
  std::string out;
  out.reserve(compact.size() * 2);
  int depth = 0;
  const auto newline = [&] {
    out.push_back('\n');
    out.append(static_cast<size_t>(depth) * 4, ' ');
  };
  for (size_t i = 0; i < compact.size(); ++i) {
    const char c = compact[i];
    switch (c) {
      case '"': {
        const size_t start = i;
        for (++i; i < compact.size() && compact[i] != '"'; ++i) {
          if (compact[i] == '\\') ++i;
        }
        out.append(compact.substr(start, i - start + 1));
        break;
      }
      case '{':
      case '[':
        if (i + 1 < compact.size() && compact[i + 1] == (c == '{' ? '}' : ']')) {
          out.push_back(c);
          out.push_back(compact[++i]);
          break;
        }
        out.push_back(c);
        ++depth;
        newline();
        break;
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      case ',':
        out.push_back(',');
        newline();
        break;
      case ':':
        out += ": ";
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('\n');
  return out;
}

bool JsonWriter::BeforeValue() {
  if (error_) return false;
  if (stack_.empty()) {
    if (top_done_) {
      error_ = true;
      return false;
    }
    return true;
  }
  switch (stack_.back()) {
    case Ctx::kObjectKey:
      error_ = true;
      return false;  // a value needs a key first
    case Ctx::kObjectValue:
      stack_.back() = Ctx::kObjectKey;
      return true;
    case Ctx::kArray:
      if (!first_) out_.push_back(',');
      first_ = false;
      return true;
  }
  return true;
}

void JsonWriter::AfterValue() {
  if (stack_.empty()) top_done_ = true;
}

JsonWriter& JsonWriter::Open(char bracket, Ctx ctx) {
  if (!BeforeValue()) return *this;
  out_.push_back(bracket);
  stack_.push_back(ctx);
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::Close(char bracket, Ctx ctx) {
  if (error_) return *this;
  if (stack_.empty() || stack_.back() != ctx) {
    error_ = true;
    return *this;
  }
  out_.push_back(bracket);
  stack_.pop_back();
  first_ = false;
  AfterValue();
  return *this;
}

JsonWriter& JsonWriter::BeginObject() {
  return Open('{', Ctx::kObjectKey);
}
JsonWriter& JsonWriter::EndObject() {
  return Close('}', Ctx::kObjectKey);
}
JsonWriter& JsonWriter::BeginArray() {
  return Open('[', Ctx::kArray);
}
JsonWriter& JsonWriter::EndArray() {
  return Close(']', Ctx::kArray);
}

JsonWriter& JsonWriter::Key(std::string_view k) {
  if (error_) return *this;
  if (stack_.empty() || stack_.back() != Ctx::kObjectKey) {
    error_ = true;
    return *this;
  }
  if (!first_) out_.push_back(',');
  first_ = false;
  AppendQuoted(out_, k);
  out_.push_back(':');
  stack_.back() = Ctx::kObjectValue;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  if (!BeforeValue()) return *this;
  AppendQuoted(out_, s);
  AfterValue();
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  if (!BeforeValue()) return *this;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  AfterValue();
  return *this;
}

JsonWriter& JsonWriter::Double(double v) {
  if (!BeforeValue()) return *this;
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  const double a = std::fabs(v);
  const bool exp = a != 0 && (a < 1e-6 || a >= 1e21);
  auto r = std::to_chars(buf, buf + sizeof buf, v,
                         exp ? std::chars_format::scientific : std::chars_format::fixed);
  std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  // Go writes e-07 as e-07 and e+21 as e+21: the same as to_chars.
  out_.append(text);
  AfterValue();
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t v) {
  if (!BeforeValue()) return *this;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  AfterValue();
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) {
  if (!BeforeValue()) return *this;
  out_ += v ? "true" : "false";
  AfterValue();
  return *this;
}

JsonWriter& JsonWriter::Null() {
  if (!BeforeValue()) return *this;
  out_ += "null";
  AfterValue();
  return *this;
}

}  // namespace beacon::core
