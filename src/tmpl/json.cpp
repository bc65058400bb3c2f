// encoding/json for template values: Marshal/MarshalIndent (HTML-escaped strings, sorted map
// keys, struct fields in declaration order, Go's float format) and Unmarshal into interface{}.
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "funcs.h"

namespace beacon::tmpl {
namespace {

void Quote(std::string& out, std::string_view s, bool html) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          continue;
        case '\\':
          out += "\\\\";
          continue;
        case '\n':
          out += "\\n";
          continue;
        case '\r':
          out += "\\r";
          continue;
        case '\t':
          out += "\\t";
          continue;
        case '\b':
          out += "\\b";
          continue;
        case '\f':
          out += "\\f";
          continue;
        default:
          break;
      }
      if (c < 0x20 || (html && (c == '<' || c == '>' || c == '&'))) {
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
      continue;
    }
    size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (!ok) {
      out += "\\ufffd";
      continue;
    }
    std::string_view seq = s.substr(i, n);
    if (seq == "\xe2\x80\xa8")
      out += "\\u2028";
    else if (seq == "\xe2\x80\xa9")
      out += "\\u2029";
    else
      out.append(seq);
    i += n - 1;
  }
  out += '"';
}

void Float(std::string& out, double f) {
  if (std::isnan(f) || std::isinf(f)) {
    out += "null";
    return;
  }
  double a = std::fabs(f);
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    std::string s = FormatFloatG(f);  // shortest digits in e form here (exp < -4 or >= 21)
    size_t e = s.find('e');
    // Go cleans e-07 to e-7 and e+21 stays e+21.
    if (e != std::string::npos && e + 2 < s.size() && s[e + 2] == '0') s.erase(e + 2, 1);
    out += s;
    return;
  }
  out += FormatFloatF(f);
}

void Encode(std::string& out, const Value& v, std::string_view indent, bool html, int level) {
  auto nl = [&](int l) {
    if (indent.empty()) return;
    out += '\n';
    for (int k = 0; k < l; ++k) out.append(indent);
  };
  switch (v.kind()) {
    case Kind::kInvalid:
    case Kind::kNil:
      out += "null";
      return;
    case Kind::kBool:
      out += v.b() ? "true" : "false";
      return;
    case Kind::kInt:
      out += std::to_string(v.i());
      return;
    case Kind::kFloat:
      Float(out, v.f());
      return;
    case Kind::kString:
      Quote(out, v.s(), html);
      return;
    case Kind::kList: {
      const List& l = v.list();
      if (l.is_nil) {
        out += "null";
        return;
      }
      out += '[';
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i) out += ',';
        nl(level + 1);
        Encode(out, l.items[i], indent, html, level + 1);
      }
      if (!l.items.empty()) nl(level);
      out += ']';
      return;
    }
    case Kind::kMap:
    case Kind::kRecord: {
      if (v.kind() == Kind::kMap && v.map().is_nil) {
        out += "null";
        return;
      }
      out += '{';
      size_t n = v.kind() == Kind::kMap ? v.map().entries.size() : v.rec().fields.size();
      for (size_t i = 0; i < n; ++i) {
        if (i) out += ',';
        nl(level + 1);
        bool is_map = v.kind() == Kind::kMap;
        Quote(out, is_map ? v.map().entries[i].first : v.rec().type->fields[i], html);
        out += indent.empty() ? ":" : ": ";
        Encode(out, is_map ? v.map().entries[i].second : v.rec().fields[i], indent, html,
               level + 1);
      }
      if (n) nl(level);
      out += '}';
      return;
    }
  }
}

Value FromDom(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::ARRAY: {
      std::vector<Value> items;
      for (auto x : simdjson::dom::array(e.get_array().value_unsafe())) items.push_back(FromDom(x));
      return MakeList(std::move(items));
    }
    case element_type::OBJECT: {
      std::vector<std::pair<std::string, Value>> entries;
      for (auto [k, x] : simdjson::dom::object(e.get_object().value_unsafe())) {
        entries.emplace_back(std::string(k), FromDom(x));
      }
      return MakeMap(std::move(entries));
    }
    case element_type::INT64:
      return Value::Float(static_cast<double>(e.get_int64().value_unsafe()));
    case element_type::UINT64:
      return Value::Float(static_cast<double>(e.get_uint64().value_unsafe()));
    case element_type::DOUBLE:
      return Value::Float(e.get_double().value_unsafe());
    case element_type::STRING:
      return Value::Str(std::string(e.get_string().value_unsafe()));
    case element_type::BOOL:
      return Value::Bool(e.get_bool().value_unsafe());
    case element_type::NULL_VALUE:
      return Value::Nil();
  }
  return Value::Nil();
}

}  // namespace

std::string ToJson(const Value& v, std::string_view indent, bool escape_html) {
  std::string out;
  Encode(out, v, indent, escape_html, 0);
  return out;
}

Result<Value> ParseJson(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  auto doc = parser.parse(padded);
  if (doc.error()) return Status::Error(std::string(simdjson::error_message(doc.error())));
  return FromDom(doc.value_unsafe());
}

}  // namespace beacon::tmpl
