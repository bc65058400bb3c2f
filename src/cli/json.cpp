// JSON output for the CLI: Go encoding/json style quoting and MarshalIndent layout.
#include <cstdio>

#include "internal.h"

namespace beacon::cli {
namespace {

void Write(simdjson::dom::element e, std::string_view indent, int depth, std::string* out) {
  const bool pretty = !indent.empty();
  auto newline = [&](int d) {
    if (!pretty) return;
    *out += '\n';
    for (int i = 0; i < d; ++i) *out += indent;
  };
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object obj = e.get_object().value_unsafe();
      if (obj.size() == 0) {
        *out += "{}";
        return;
      }
      *out += '{';
      bool first = true;
      for (auto field : obj) {
        if (!first) *out += ',';
        first = false;
        newline(depth + 1);
        *out += JsonQuote(field.key);
        *out += pretty ? ": " : ":";
        Write(field.value, indent, depth + 1, out);
      }
      newline(depth);
      *out += '}';
      return;
    }
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array arr = e.get_array().value_unsafe();
      if (arr.size() == 0) {
        *out += "[]";
        return;
      }
      *out += '[';
      bool first = true;
      for (simdjson::dom::element v : arr) {
        if (!first) *out += ',';
        first = false;
        newline(depth + 1);
        Write(v, indent, depth + 1, out);
      }
      newline(depth);
      *out += ']';
      return;
    }
    case simdjson::dom::element_type::STRING:
      *out += JsonQuote(e.get_string().value_unsafe());
      return;
    case simdjson::dom::element_type::INT64:
      *out += std::to_string(e.get_int64().value_unsafe());
      return;
    case simdjson::dom::element_type::UINT64:
      *out += std::to_string(e.get_uint64().value_unsafe());
      return;
    case simdjson::dom::element_type::DOUBLE: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", e.get_double().value_unsafe());
      *out += buf;
      return;
    }
    case simdjson::dom::element_type::BOOL:
      *out += e.get_bool().value_unsafe() ? "true" : "false";
      return;
    case simdjson::dom::element_type::NULL_VALUE:
      *out += "null";
      return;
  }
}

}  // namespace

std::string JsonQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
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
      case '<':
      case '>':
      case '&':  // Go escapes these for HTML safety
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string JsonPretty(simdjson::dom::element e, std::string_view indent) {
  std::string out;
  Write(e, indent, 0, &out);
  return out;
}

std::string JsonCompact(simdjson::dom::element e) {
  std::string out;
  Write(e, "", 0, &out);
  return out;
}

std::string GetString(simdjson::dom::element obj, std::string_view key) {
  std::string_view s;
  if (obj[key].get(s) != simdjson::SUCCESS) return "";
  return std::string(s);
}

uint64_t GetUint(simdjson::dom::element obj, std::string_view key) {
  simdjson::dom::element v;
  if (obj[key].get(v) != simdjson::SUCCESS) return 0;
  uint64_t u = 0;
  if (v.get(u) == simdjson::SUCCESS) return u;
  int64_t i = 0;
  if (v.get(i) == simdjson::SUCCESS && i > 0) return static_cast<uint64_t>(i);
  return 0;
}

}  // namespace beacon::cli
