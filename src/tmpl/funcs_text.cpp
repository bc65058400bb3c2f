// consul-template's text helpers: env envOrDefault toJSON toJSONPretty parseJSON toLower
// toUpper join split contains in byTag byKey timestamp replaceAll trimSpace trim trimPrefix
// trimSuffix parseBool parseInt parseFloat base64Encode base64Decode add subtract multiply
// divide modulo.
#include <cerrno>
#include <cstdlib>

#include "beacon/core/base64.h"
#include "beacon/core/strings.h"
#include "funcs.h"
#include "timefmt.h"
#include "unicase.h"

namespace beacon::tmpl {
namespace {

// NOLINTBEGIN(bugprone-macro-parentheses): `var` names the declared variable.
#define TMPL_STR(var, expr)                   \
  auto var##_r = ArgString((expr));           \
  if (!var##_r.ok()) return var##_r.status(); \
  const std::string& var = *var##_r
// NOLINTEND(bugprone-macro-parentheses)

Result<Value> EnvFn(Ctx& ctx, std::vector<Value>& a) {
  TMPL_STR(k, a[0]);
  std::optional<std::string> v;
  if (ctx.env.getenv) v = ctx.env.getenv(k);
  return Value::Str(v.value_or(""));
}

Result<Value> EnvOrDefault(Ctx& ctx, std::vector<Value>& a) {
  TMPL_STR(k, a[0]);
  TMPL_STR(d, a[1]);
  std::optional<std::string> v;
  if (ctx.env.getenv) v = ctx.env.getenv(k);
  return Value::Str(v ? *v : d);
}

Result<Value> ToJSON(Ctx&, std::vector<Value>& a) {
  return Value::Str(ToJson(a[0], ""));
}
Result<Value> ToJSONPretty(Ctx&, std::vector<Value>& a) {
  return Value::Str(ToJson(a[0], "  "));
}

Result<Value> ParseJSON(Ctx&, std::vector<Value>& a) {
  TMPL_STR(s, a[0]);
  if (s.empty()) return MakeMap({});
  return ParseJson(s);
}

Result<Value> ToLower(Ctx&, std::vector<Value>& a) {
  TMPL_STR(s, a[0]);
  return Value::Str(GoLower(s));
}

Result<Value> ToUpper(Ctx&, std::vector<Value>& a) {
  TMPL_STR(s, a[0]);
  return Value::Str(GoUpper(s));
}

Result<Value> Join(Ctx&, std::vector<Value>& a) {
  TMPL_STR(sep, a[0]);
  if (a[1].kind() != Kind::kList) return WrongType(a[1], "[]string");
  std::string out;
  bool first = true;
  for (const auto& v : a[1].list().items) {
    if (v.kind() != Kind::kString) return WrongType(a[1], "[]string");
    if (!first) out += sep;
    first = false;
    out += v.s();
  }
  return Value::Str(std::move(out));
}

std::string_view TrimSpaceView(std::string_view s) {
  auto sp = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

Result<Value> Split(Ctx&, std::vector<Value>& a) {
  TMPL_STR(sep, a[0]);
  TMPL_STR(in, a[1]);
  std::string_view s = TrimSpaceView(in);
  std::vector<std::string> parts;
  if (s.empty()) return MakeStringList({});
  if (sep.empty()) {  // one element per UTF-8 sequence
    for (size_t i = 0; i < s.size();) {
      size_t n = 1;
      while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xc0) == 0x80) ++n;
      parts.emplace_back(s.substr(i, n));
      i += n;
    }
    return MakeStringList(std::move(parts));
  }
  size_t p = 0;
  while (true) {
    size_t q = s.find(sep, p);
    if (q == std::string_view::npos) break;
    parts.emplace_back(s.substr(p, q - p));
    p = q + sep.size();
  }
  parts.emplace_back(s.substr(p));
  return MakeStringList(std::move(parts));
}

// consul-template's in(l, v).
bool In(const Value& l, const Value& v) {
  if (l.kind() == Kind::kList) {
    for (const auto& e : l.list().items) {
      if (e.kind() == Kind::kInt && v.kind() == Kind::kInt && e.i() == v.i()) return true;
      if (e.kind() == Kind::kFloat && v.kind() == Kind::kFloat && e.f() == v.f()) return true;
      if (e.kind() == Kind::kString && v.kind() == Kind::kString && e.s() == v.s()) return true;
    }
    return false;
  }
  if (l.kind() == Kind::kString && v.kind() == Kind::kString) {
    return l.s().find(v.s()) != std::string::npos;
  }
  return false;
}

Result<Value> Contains(Ctx&, std::vector<Value>& a) {
  return Value::Bool(In(a[1], a[0]));
}
Result<Value> InFn(Ctx&, std::vector<Value>& a) {
  return Value::Bool(In(a[0], a[1]));
}

template <bool kRetTrue, bool kInvert>  // containsAll/Any/None/NotAll
Result<Value> ContainsSome(Ctx&, std::vector<Value>& a) {
  if (a[0].kind() != Kind::kList) return WrongType(a[0], "[]interface {}");
  for (const auto& v : a[0].list().items) {
    if (In(a[1], v) != kInvert) return Value::Bool(!kRetTrue);
  }
  return Value::Bool(kRetTrue);
}

Result<Value> ByTag(Ctx&, std::vector<Value>& a) {
  const Value& in = a[0];
  std::vector<std::pair<std::string, std::vector<Value>>> groups;  // in first-seen order
  if (in.kind() == Kind::kList) {
    for (const auto& s : in.list().items) {
      if (s.kind() != Kind::kRecord)
        return Status::Error("byTag: wrong argument type " + in.GoType());
      int f = s.rec().type->Field("Tags");
      if (f < 0) f = s.rec().type->Field("ServiceTags");
      if (f < 0) return Status::Error("byTag: wrong argument type " + in.GoType());
      for (const auto& t : s.rec().fields[static_cast<size_t>(f)].list().items) {
        auto it =
            std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == t.s(); });
        if (it == groups.end()) it = groups.insert(groups.end(), {t.s(), {}});
        it->second.push_back(s);
      }
    }
  } else if (in.kind() != Kind::kNil && in.kind() != Kind::kInvalid) {
    return Status::Error("byTag: wrong argument type " + in.GoType());
  }
  std::vector<std::pair<std::string, Value>> entries;
  entries.reserve(groups.size());
  for (auto& [k, v] : groups) entries.emplace_back(k, MakeList(std::move(v)));
  return MakeMap(std::move(entries), "[]interface {}");
}

Result<Value> ByKey(Ctx&, std::vector<Value>& a) {
  if (a[0].kind() != Kind::kList) return WrongType(a[0], "[]*dep.KeyPair");
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, Value>>>> tops;
  for (const auto& kp : a[0].list().items) {
    if (kp.kind() != Kind::kRecord || kp.rec().type->Field("Key") != 1) {
      return WrongType(a[0], "[]*dep.KeyPair");
    }
    const std::string& key = kp.rec().fields[1].s();
    size_t slash = key.find('/');
    if (slash == std::string::npos || slash + 1 == key.size()) continue;
    std::string top = key.substr(0, slash), rest = key.substr(slash + 1);
    std::vector<Value> fields = kp.rec().fields;
    fields[1] = Value::Str(rest);
    auto it = std::find_if(tops.begin(), tops.end(), [&](auto& t) { return t.first == top; });
    if (it == tops.end()) it = tops.insert(tops.end(), {top, {}});
    it->second.emplace_back(rest, MakeRecord(kp.rec().type, std::move(fields)));
  }
  std::vector<std::pair<std::string, Value>> entries;
  entries.reserve(tops.size());
  for (auto& [k, v] : tops) entries.emplace_back(k, MakeMap(std::move(v), "*dep.KeyPair"));
  return MakeMap(std::move(entries), "map[string]*dep.KeyPair");
}

Result<Value> Timestamp(Ctx& ctx, std::vector<Value>& a) {
  auto now = ctx.env.now ? ctx.env.now() : std::chrono::system_clock::time_point();
  if (a.empty()) return Value::Str(FormatTime(now, kRFC3339));
  TMPL_STR(layout, a[0]);
  if (layout == "unix") {
    return Value::Str(std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
  }
  return Value::Str(FormatTime(now, layout));
}

Result<Value> ReplaceAll(Ctx&, std::vector<Value>& a) {
  TMPL_STR(from, a[0]);
  TMPL_STR(to, a[1]);
  TMPL_STR(s, a[2]);
  if (from.empty()) {  // Go inserts `to` around every UTF-8 sequence
    std::string out = to;
    for (size_t i = 0; i < s.size();) {
      size_t n = 1;
      while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xc0) == 0x80) ++n;
      out.append(s, i, n);
      out += to;
      i += n;
    }
    return Value::Str(std::move(out));
  }
  std::string out;
  size_t p = 0;
  for (size_t q; (q = s.find(from, p)) != std::string::npos; p = q + from.size()) {
    out.append(s, p, q - p);
    out += to;
  }
  out.append(s, p);
  return Value::Str(std::move(out));
}

Result<Value> TrimSpace(Ctx&, std::vector<Value>& a) {
  TMPL_STR(s, a[0]);
  return Value::Str(std::string(TrimSpaceView(s)));
}

template <int kMode>  // 0 trim (cutset), 1 trimPrefix, 2 trimSuffix
Result<Value> Trim(Ctx&, std::vector<Value>& a) {
  TMPL_STR(cut, a[0]);
  TMPL_STR(s, a[1]);
  std::string_view v = s;
  if (kMode == 0) {
    while (!v.empty() && cut.find(v.front()) != std::string::npos) v.remove_prefix(1);
    while (!v.empty() && cut.find(v.back()) != std::string::npos) v.remove_suffix(1);
  } else if (kMode == 1 && v.substr(0, cut.size()) == cut) {
    v.remove_prefix(cut.size());
  } else if (kMode == 2 && v.size() >= cut.size() && v.substr(v.size() - cut.size()) == cut) {
    v.remove_suffix(cut.size());
  }
  return Value::Str(std::string(v));
}

Result<Value> ParseBool(Ctx&, std::vector<Value>& a) {
  TMPL_STR(s, a[0]);
  bool b = false;
  if (!s.empty() && !core::ParseGoBool(s, &b)) {
    return Status::Error("parseBool: strconv.ParseBool: parsing " + GoQuote(s) +
                         ": invalid syntax");
  }
  return Value::Bool(b);
}

Result<Value> ParseInt(Ctx&, std::vector<Value>& a) {
  TMPL_STR(s, a[0]);
  if (s.empty()) return Value::Int(0);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE || s[0] == ' ') {
    return Status::Error("parseInt: strconv.ParseInt: parsing " + GoQuote(s) + ": invalid syntax");
  }
  return Value::Int(v);
}

Result<Value> ParseFloat(Ctx&, std::vector<Value>& a) {
  TMPL_STR(s, a[0]);
  if (s.empty()) return Value::Float(0);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || s[0] == ' ') {
    return Status::Error("parseFloat: strconv.ParseFloat: parsing " + GoQuote(s) +
                         ": invalid syntax");
  }
  return Value::Float(v);
}

Result<Value> B64Enc(Ctx&, std::vector<Value>& a) {
  TMPL_STR(s, a[0]);
  return Value::Str(core::Base64Encode(s));
}

Result<Value> B64Dec(Ctx&, std::vector<Value>& a) {
  TMPL_STR(s, a[0]);
  std::string out, err;
  if (!core::Base64Decode(s, &out, &err)) return Status::Error("base64Decode: " + err);
  return Value::Str(std::move(out));
}

// consul-template's math: the piped value is the left operand (`{{ 5 | subtract 2 }}` is 3).
template <char kOp>
Result<Value> Math(Ctx&, std::vector<Value>& a) {
  const Value& r = a[0];
  const Value& l = a[1];
  auto num = [](const Value& v) { return v.kind() == Kind::kInt || v.kind() == Kind::kFloat; };
  if (!num(l) || !num(r)) {
    return Status::Error(std::string("unknown type for \"") + GoString(l) + "\" (" + l.GoType() +
                         ")");
  }
  if (l.kind() == Kind::kInt && r.kind() == Kind::kInt) {
    int64_t x = l.i(), y = r.i();
    if ((kOp == '/' || kOp == '%') && y == 0) return Status::Error("integer divide by zero");
    switch (kOp) {
      case '+':
        return Value::Int(x + y);
      case '-':
        return Value::Int(x - y);
      case '*':
        return Value::Int(x * y);
      case '/':
        return Value::Int(x / y);
      default:
        return Value::Int(x % y);
    }
  }
  double x = l.kind() == Kind::kInt ? static_cast<double>(l.i()) : l.f();
  double y = r.kind() == Kind::kInt ? static_cast<double>(r.i()) : r.f();
  switch (kOp) {
    case '+':
      return Value::Float(x + y);
    case '-':
      return Value::Float(x - y);
    case '*':
      return Value::Float(x * y);
    case '/':
      return Value::Float(x / y);
    default:
      return Status::Error("modulo: unsupported type float64");
  }
}

}  // namespace

const std::vector<FuncDef>& TextFuncs() {
  static const std::vector<FuncDef> kFuncs = {
      {"env", 1, 1, EnvFn},
      {"envOrDefault", 2, 2, EnvOrDefault},
      {"toJSON", 1, 1, ToJSON},
      {"toJSONPretty", 1, 1, ToJSONPretty},
      {"parseJSON", 1, 1, ParseJSON},
      {"toLower", 1, 1, ToLower},
      {"toUpper", 1, 1, ToUpper},
      {"join", 2, 2, Join},
      {"split", 2, 2, Split},
      {"contains", 2, 2, Contains},
      {"in", 2, 2, InFn},
      {"containsAll", 2, 2, ContainsSome<true, true>},
      {"containsAny", 2, 2, ContainsSome<false, false>},
      {"containsNone", 2, 2, ContainsSome<true, false>},
      {"containsNotAll", 2, 2, ContainsSome<false, true>},
      {"byTag", 1, 1, ByTag},
      {"byKey", 1, 1, ByKey},
      {"timestamp", 0, 1, Timestamp},
      {"replaceAll", 3, 3, ReplaceAll},
      {"trimSpace", 1, 1, TrimSpace},
      {"trim", 2, 2, Trim<0>},
      {"trimPrefix", 2, 2, Trim<1>},
      {"trimSuffix", 2, 2, Trim<2>},
      {"parseBool", 1, 1, ParseBool},
      {"parseInt", 1, 1, ParseInt},
      {"parseFloat", 1, 1, ParseFloat},
      {"base64Encode", 1, 1, B64Enc},
      {"base64Decode", 1, 1, B64Dec},
      {"add", 2, 2, Math<'+'>},
      {"subtract", 2, 2, Math<'-'>},
      {"multiply", 2, 2, Math<'*'>},
      {"divide", 2, 2, Math<'/'>},
      {"modulo", 2, 2, Math<'%'>},
  };
  return kFuncs;
}

}  // namespace beacon::tmpl
