// Value builders, Go's truth and Go's fmt %v printing.
#include "value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace beacon::tmpl {

int RecordType::Field(std::string_view name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i] == name) return static_cast<int>(i);
  }
  return -1;
}

const Value* Map::Find(std::string_view key) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const auto& e, std::string_view k) { return e.first < k; });
  if (it == entries.end() || it->first != key) return nullptr;
  return &it->second;
}

Value Map::Zero() const {
  return elem == "string" ? Value::Str("") : Value::Nil();
}

std::string Value::GoType() const {
  switch (kind_) {
    case Kind::kInvalid:
      return "<invalid>";
    case Kind::kNil:
      return typed_nil() ? std::get<const RecordType*>(v_)->go_name : "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "[]" + std::string(list().elem);
    case Kind::kMap:
      return "map[string]" + std::string(map().elem);
    case Kind::kRecord:
      return rec().type->go_name;
  }
  return "?";
}

Value MakeList(std::vector<Value> items, std::string_view elem) {
  auto l = std::make_shared<List>();
  l->items = std::move(items);
  l->elem = elem;
  return Value::Of(std::shared_ptr<const List>(std::move(l)));
}

Value MakeStringList(std::vector<std::string> items) {
  std::vector<Value> vs;
  vs.reserve(items.size());
  for (auto& s : items) vs.push_back(Value::Str(std::move(s)));
  return MakeList(std::move(vs), "string");
}

Value MakeMap(std::vector<std::pair<std::string, Value>> entries, std::string_view elem) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto m = std::make_shared<Map>();
  m->elem = elem;
  for (auto& e : entries) {
    if (!m->entries.empty() && m->entries.back().first == e.first) {
      m->entries.back().second = std::move(e.second);
    } else {
      m->entries.push_back(std::move(e));
    }
  }
  return Value::Of(std::shared_ptr<const Map>(std::move(m)));
}

Value MakeNilList(std::string_view elem) {
  auto l = std::make_shared<List>();
  l->elem = elem;
  l->is_nil = true;
  return Value::Of(std::shared_ptr<const List>(std::move(l)));
}

Value MakeNilMap(std::string_view elem) {
  auto m = std::make_shared<Map>();
  m->elem = elem;
  m->is_nil = true;
  return Value::Of(std::shared_ptr<const Map>(std::move(m)));
}

Value MakeRecord(const RecordType* type, std::vector<Value> fields) {
  auto r = std::make_shared<Record>();
  r->type = type;
  r->fields = std::move(fields);
  return Value::Of(std::shared_ptr<const Record>(std::move(r)));
}

bool Truth(const Value& v) {
  switch (v.kind()) {
    case Kind::kInvalid:
    case Kind::kNil:
      return false;
    case Kind::kBool:
      return v.b();
    case Kind::kInt:
      return v.i() != 0;
    case Kind::kFloat:
      return v.f() != 0;
    case Kind::kString:
      return !v.s().empty();
    case Kind::kList:
      return !v.list().items.empty();
    case Kind::kMap:
      return !v.map().entries.empty();
    case Kind::kRecord:
      return true;
  }
  return false;
}

namespace {

// The shortest digits that round-trip f (> 0 or < 0, finite) and the decimal exponent of the
// first digit: f = 0.d1d2d3... * 10^(exp+1).
void ShortestDigits(double f, std::string* digits, int* exp) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));  // -d.ddde+XX
  if (sci.front() == '-') sci.remove_prefix(1);
  size_t e = sci.find('e');
  digits->clear();
  for (char c : sci.substr(0, e)) {
    if (c != '.') *digits += c;
  }
  *exp = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), *exp);
}

// digits with the decimal point placed after exp+1 digits (zeros added as needed).
std::string Fixed(const std::string& digits, int exp) {
  std::string out;
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-(exp + 1)), '0');
    out += digits;
  } else if (static_cast<int>(digits.size()) <= exp + 1) {
    out += digits;
    out.append(static_cast<size_t>(exp) + 1 - digits.size(), '0');
  } else {
    size_t point = static_cast<size_t>(exp) + 1;
    out += digits.substr(0, point);
    out += '.';
    out += digits.substr(point);
  }
  return out;
}

}  // namespace

std::string FormatFloatG(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  if (f == 0) return std::signbit(f) ? "-0" : "0";
  std::string digits;
  int exp = 0;
  ShortestDigits(f, &digits, &exp);
  std::string out = f < 0 ? "-" : "";
  if (exp < -4 || exp >= 6) {  // %e, Go's shortest 'g' uses precision 6 for this decision
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exp < 0 ? "e-" : "e+";
    int a = exp < 0 ? -exp : exp;
    if (a < 10) out += '0';
    out += std::to_string(a);
    return out;
  }
  return out + Fixed(digits, exp);
}

std::string FormatFloatF(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  if (f == 0) return std::signbit(f) ? "-0" : "0";
  std::string digits;
  int exp = 0;
  ShortestDigits(f, &digits, &exp);
  return (f < 0 ? "-" : "") + Fixed(digits, exp);
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
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
      case '\v':
        out += "\\v";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '"':
        out += "\\\"";
        continue;
      default:
        break;
    }
    char hex[8];
    if (c < 0x20 || c == 0x7f) {
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    // A valid UTF-8 sequence passes through; a bad byte is \xNN.
    size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (!ok) {
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
      continue;
    }
    out.append(s.substr(i, n));
    i += n - 1;
  }
  return out + "\"";
}

void AppendGo(std::string& out, const Value& v, bool plus, int depth) {
  switch (v.kind()) {
    case Kind::kInvalid:
      out += "<no value>";
      return;
    case Kind::kNil:
      out += "<nil>";
      return;
    case Kind::kBool:
      out += v.b() ? "true" : "false";
      return;
    case Kind::kInt:
      out += std::to_string(v.i());
      return;
    case Kind::kFloat:
      out += FormatFloatG(v.f());
      return;
    case Kind::kString:
      out += v.s();
      return;
    case Kind::kList: {
      out += '[';
      bool first = true;
      for (const auto& item : v.list().items) {
        if (!first) out += ' ';
        first = false;
        AppendGo(out, item, plus, depth + 1);
      }
      out += ']';
      return;
    }
    case Kind::kMap: {
      out += "map[";
      bool first = true;
      for (const auto& [k, item] : v.map().entries) {
        if (!first) out += ' ';
        first = false;
        out += k;
        out += ':';
        AppendGo(out, item, plus, depth + 1);
      }
      out += ']';
      return;
    }
    case Kind::kRecord: {
      const Record& r = v.rec();
      // Go prints a nested pointer as its address; we print its contents (deterministic).
      if (r.type->pointer && depth >= 0) out += '&';
      out += '{';
      for (size_t i = 0; i < r.fields.size(); ++i) {
        if (i) out += ' ';
        if (plus) out += r.type->fields[i] + ":";
        AppendGo(out, r.fields[i], plus, depth + 1);
      }
      out += '}';
      return;
    }
  }
}

std::string GoString(const Value& v) {
  std::string s;
  AppendGo(s, v);
  return s;
}

}  // namespace beacon::tmpl
