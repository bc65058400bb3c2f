// More of consul-template's helpers: mustEnv executeTemplate byMeta regexMatch regexReplaceAll
// indent toTitle parseUint
// splitToMap minimum maximum explode explodeMap loop toUnescapedJSON toUnescapedJSONPretty.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <regex>

#include "beacon/core/go_regexp.h"
#include "funcs.h"

namespace beacon::tmpl {
namespace {

Result<Value> MustEnv(Ctx& ctx, std::vector<Value>& a) {
  auto k = ArgString(a[0]);
  if (!k.ok()) return k.status();
  std::optional<std::string> v;
  if (ctx.env.getenv) v = ctx.env.getenv(*k);
  if (!v || v->empty()) return Status::Error("required environment variable " + *k + " is empty");
  return Value::Str(*v);
}

Result<Value> Indent(Ctx&, std::vector<Value>& a) {
  if (a[0].kind() != Kind::kInt) return WrongType(a[0], "int");
  auto s = ArgString(a[1]);
  if (!s.ok()) return s.status();
  if (a[0].i() < 0) return Status::Error("indent value must be a positive integer");
  std::string prefix(static_cast<size_t>(a[0].i()), ' '), out;
  bool at_start = true;
  for (char c : *s) {
    if (at_start && c != '\n') out += prefix;
    out += c;
    at_start = c == '\n';
  }
  return Value::Str(std::move(out));
}

// cases.Title(language.Und, cases.NoLower) for ASCII: a letter after a non-letter is upper-cased.
Result<Value> ToTitle(Ctx&, std::vector<Value>& a) {
  auto s = ArgString(a[0]);
  if (!s.ok()) return s.status();
  std::string out = *s;
  bool word = false;
  for (auto& c : out) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\'' ||
                  (c >= '0' && c <= '9') || static_cast<unsigned char>(c) >= 0x80;
    if (!word && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    word = letter;
  }
  return Value::Str(std::move(out));
}

Result<Value> ParseUint(Ctx&, std::vector<Value>& a) {
  auto s = ArgString(a[0]);
  if (!s.ok()) return s.status();
  if (s->empty()) return Value::Int(0);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s->c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE || (*s)[0] == '-' || (*s)[0] == '+' || (*s)[0] == ' ') {
    return Status::Error("parseUint: strconv.ParseUint: parsing " + GoQuote(*s) +
                         ": invalid syntax");
  }
  return Value::Int(static_cast<int64_t>(v));
}

Result<Value> SplitToMap(Ctx&, std::vector<Value>& a) {
  auto sep1 = ArgString(a[0]);
  auto sep2 = ArgString(a[1]);
  auto in = ArgString(a[2]);
  if (!sep1.ok()) return sep1.status();
  if (!sep2.ok()) return sep2.status();
  if (!in.ok()) return in.status();
  std::string_view s = *in;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::vector<std::pair<std::string, Value>> m;
  if (s.empty() || sep1->empty()) return MakeMap(std::move(m), "string");
  size_t p = 0;
  while (true) {
    size_t q = s.find(*sep1, p);
    std::string_view item =
        s.substr(p, q == std::string_view::npos ? std::string_view::npos : q - p);
    if (size_t cut = item.find(*sep2); cut != std::string_view::npos) {
      m.emplace_back(std::string(item.substr(0, cut)),
                     Value::Str(std::string(item.substr(cut + sep2->size()))));
    }
    if (q == std::string_view::npos) break;
    p = q + sep1->size();
  }
  return MakeMap(std::move(m), "string");
}

// minimum/maximum(b, a): the piped value is a.
template <bool kMin>
Result<Value> MinMax(Ctx&, std::vector<Value>& args) {
  const Value& b = args[0];
  const Value& a = args[1];
  auto num = [](const Value& v) { return v.kind() == Kind::kInt || v.kind() == Kind::kFloat; };
  const char* name = kMin ? "minimum" : "maximum";
  if (a.kind() == Kind::kString && b.kind() == Kind::kString) {
    return (a.s() < b.s()) == kMin ? a : b;
  }
  if (!num(a))
    return Status::Error(std::string(name) + ": unknown type for " + GoQuote(GoString(a)) + " (" +
                         a.GoType() + ")");
  if (!num(b))
    return Status::Error(std::string(name) + ": unknown type for " + GoQuote(GoString(b)) + " (" +
                         b.GoType() + ")");
  double x = a.kind() == Kind::kInt ? static_cast<double>(a.i()) : a.f();
  double y = b.kind() == Kind::kInt ? static_cast<double>(b.i()) : b.f();
  return (x < y) == kMin ? a : b;
}

// explode: KeyPairs (or a map) into nested maps split on '/'.
Status ExplodeInto(std::vector<std::pair<std::string, Value>>* m, std::string_view key,
                   const Value& v, std::string_view path);

Value Build(std::vector<std::pair<std::string, Value>> entries) {
  return MakeMap(std::move(entries));
}

Status ExplodeInto(std::vector<std::pair<std::string, Value>>* m, std::string_view key,
                   const Value& v, std::string_view path) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) {
    if (!key.empty()) {
      for (auto& [k, old] : *m) {
        if (k == key) {
          old = v;
          return Status::Ok();
        }
      }
      m->emplace_back(std::string(key), v);
    }
    return Status::Ok();
  }
  std::string top(key.substr(0, slash));
  for (auto& [k, old] : *m) {
    if (k != top) continue;
    if (old.kind() != Kind::kMap) {
      return Status::Error("explode: not a map: " + GoQuote(path) + ": " + GoQuote(top) +
                           " already has value " + GoQuote(GoString(old)));
    }
    auto nested = old.map().entries;
    Status s = ExplodeInto(&nested, key.substr(slash + 1), v, key);
    if (!s.ok()) return s;
    old = Build(std::move(nested));
    return Status::Ok();
  }
  std::vector<std::pair<std::string, Value>> nested;
  Status s = ExplodeInto(&nested, key.substr(slash + 1), v, key);
  if (!s.ok()) return s;
  m->emplace_back(top, Build(std::move(nested)));
  return Status::Ok();
}

Result<Value> Explode(Ctx&, std::vector<Value>& a) {
  std::vector<std::pair<std::string, Value>> m;
  if (a[0].kind() == Kind::kList) {
    for (const auto& kp : a[0].list().items) {
      if (kp.kind() != Kind::kRecord || kp.rec().type->Field("Key") != 1) {
        return WrongType(a[0], "[]*dep.KeyPair");
      }
      const std::string& key = kp.rec().fields[1].s();
      if (Status s = ExplodeInto(&m, key, kp.rec().fields[2], key); !s.ok()) return s;
    }
  } else if (a[0].kind() == Kind::kMap) {  // explodeMap: keys in sorted order
    for (const auto& [k, v] : a[0].map().entries) {
      if (Status s = ExplodeInto(&m, k, v, k); !s.ok()) return s;
    }
  } else {
    return WrongType(a[0], "[]*dep.KeyPair");
  }
  return Build(std::move(m));
}

// loop [start] stop: the integers start..stop-1 (consul-template returns a channel).
Result<Value> Loop(Ctx&, std::vector<Value>& a) {
  int64_t bounds[2] = {0, 0};
  for (size_t i = 0; i < a.size(); ++i) {
    const Value& v = a[i];
    int64_t n = 0;
    if (v.kind() == Kind::kInt) {
      n = v.i();
    } else if (v.kind() == Kind::kString) {
      char* end = nullptr;
      n = std::strtoll(v.s().c_str(), &end, 10);
      if (*end != '\0') return Status::Error("parseInt: invalid syntax: " + GoQuote(v.s()));
    } else {
      return Status::Error("loop: bad argument type: " + v.GoType());
    }
    bounds[a.size() == 1 ? 1 : i] = n;
  }
  std::vector<Value> out;
  for (int64_t i = bounds[0]; i < bounds[1]; ++i) out.push_back(Value::Int(i));
  return MakeList(std::move(out), "int64");
}

// byMeta "k1,k2|int" services: groups by the values of service meta keys (consul-template's).
Result<Value> ByMeta(Ctx&, std::vector<Value>& a) {
  auto spec = ArgString(a[0]);
  if (!spec.ok()) return spec.status();
  std::vector<std::string> metas;
  for (size_t p = 0;;) {
    size_t q = spec->find(',', p);
    metas.push_back(spec->substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (q == std::string::npos) break;
    p = q + 1;
  }
  std::vector<std::pair<std::string, std::vector<Value>>> groups;
  if (a[1].kind() != Kind::kList) return WrongType(a[1], "[]*dep.HealthService");
  for (const auto& s : a[1].list().items) {
    int f = s.kind() == Kind::kRecord ? s.rec().type->Field("ServiceMeta") : -1;
    if (f < 0) return WrongType(a[1], "[]*dep.HealthService");
    const Value& meta = s.rec().fields[static_cast<size_t>(f)];
    std::string key;
    for (const auto& m : metas) {
      bool as_int = m.size() > 4 && m.compare(m.size() - 4, 4, "|int") == 0;
      std::string real = as_int ? m.substr(0, m.size() - 4) : m;
      const Value* v = meta.kind() == Kind::kMap ? meta.map().Find(real) : nullptr;
      std::string value = v != nullptr && v->kind() == Kind::kString ? v->s() : "";
      if (value.empty()) value = as_int ? "0" : "_no_" + real + "_";
      if (as_int) {
        char* end = nullptr;
        long long n = std::strtoll(value.c_str(), &end, 10);
        if (*end != '\0') return Status::Error("cannot parse " + value + " as number");
        char buf[32];
        std::snprintf(buf, sizeof buf, "%05lld", n);
        value = buf;
      }
      for (auto& c : value) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
      }
      if (!key.empty()) key += '_';
      key += value;
    }
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == key; });
    if (it == groups.end()) it = groups.insert(groups.end(), {key, {}});
    it->second.push_back(s);
  }
  std::vector<std::pair<std::string, Value>> entries;
  entries.reserve(groups.size());
  for (auto& [k, v] : groups) entries.emplace_back(k, MakeList(std::move(v), "*dep.HealthService"));
  return MakeMap(std::move(entries), "[]*dep.HealthService");
}

// regexMatch / regexReplaceAll: Go's syntax on std::regex (core/go_regexp.h: leading flags,
// named groups, \A, \z, \Q...\E); ${N} in the replacement means $N.
Result<std::regex> Compile(const std::string& re) {
  auto r = core::GoRegexp(re);
  if (!r.ok())
    return Status::Error("error parsing regexp: " + r.status().message() + ": " + GoQuote(re));
  return r;
}

Result<Value> RegexMatch(Ctx&, std::vector<Value>& a) {
  auto re = ArgString(a[0]);
  auto s = ArgString(a[1]);
  if (!re.ok()) return re.status();
  if (!s.ok()) return s.status();
  auto rx = Compile(*re);
  if (!rx.ok()) return rx.status();
  return Value::Bool(std::regex_search(*s, *rx));
}

Result<Value> RegexReplaceAll(Ctx&, std::vector<Value>& a) {
  auto re = ArgString(a[0]);
  auto pl = ArgString(a[1]);
  auto s = ArgString(a[2]);
  if (!re.ok()) return re.status();
  if (!pl.ok()) return pl.status();
  if (!s.ok()) return s.status();
  auto rx = Compile(*re);
  if (!rx.ok()) return rx.status();
  std::string fmt;  // ${N} -> $N
  for (size_t i = 0; i < pl->size(); ++i) {
    size_t close = (*pl)[i] == '$' && i + 1 < pl->size() && (*pl)[i + 1] == '{' ? pl->find('}', i)
                                                                                : std::string::npos;
    if (close != std::string::npos) {
      fmt += '$';
      fmt += pl->substr(i + 2, close - i - 2);
      i = close;
    } else {
      fmt += (*pl)[i];
    }
  }
  return Value::Str(std::regex_replace(*s, *rx, fmt));
}

Result<Value> ToUnescapedJSON(Ctx&, std::vector<Value>& a) {
  return Value::Str(ToJson(a[0], "", /*escape_html=*/false));
}
Result<Value> ToUnescapedJSONPretty(Ctx&, std::vector<Value>& a) {
  return Value::Str(ToJson(a[0], "  ", /*escape_html=*/false));
}

}  // namespace

const std::vector<FuncDef>& MoreFuncs() {
  static const std::vector<FuncDef> kFuncs = {
      {"mustEnv", 1, 1, MustEnv},
      {"executeTemplate", 1, 2, ExecutorEvaluated},
      {"byMeta", 2, 2, ByMeta},
      {"regexMatch", 2, 2, RegexMatch},
      {"regexReplaceAll", 3, 3, RegexReplaceAll},
      {"indent", 2, 2, Indent},
      {"toTitle", 1, 1, ToTitle},
      {"parseUint", 1, 1, ParseUint},
      {"splitToMap", 3, 3, SplitToMap},
      {"minimum", 2, 2, MinMax<true>},
      {"maximum", 2, 2, MinMax<false>},
      {"explode", 1, 1, Explode},
      {"explodeMap", 1, 1, Explode},
      {"loop", 1, 2, Loop},
      {"toUnescapedJSON", 1, 1, ToUnescapedJSON},
      {"toUnescapedJSONPretty", 1, 1, ToUnescapedJSONPretty},
  };
  return kFuncs;
}

}  // namespace beacon::tmpl
