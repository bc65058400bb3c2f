// consul-template's Consul functions: key keyOrDefault keyExists ls safeLs tree safeTree service
// services node nodes datacenters. Each names the API path it reads (Ctx::Get), decodes the body
// once per render into consul-template's dependency structs and applies its filters and orders.
#include <simdjson.h>

#include <algorithm>

#include "beacon/core/base64.h"
#include "consul_types.h"
#include "funcs.h"

namespace beacon::tmpl {
namespace {

using simdjson::dom::element;

// consul-template's "@dc" suffix (and the "?ns=..." query it ignores here).
struct Spec {
  std::string name, dc;
};
Spec SplitDc(std::string_view s) {
  Spec sp;
  size_t at = s.find('@');
  sp.name = std::string(s.substr(0, at));
  if (at != std::string_view::npos) sp.dc = std::string(s.substr(at + 1));
  size_t q = sp.name.find('?');
  if (q != std::string::npos) sp.name.resize(q);
  while (!sp.name.empty() && sp.name.front() == '/') sp.name.erase(0, 1);
  return sp;
}

// Go's url.PathEscape-style escaping of a path (keeps '/' and RFC 3986 path characters), and
// url.QueryEscape of a query value: the paths handed to the runner are ready to send.
std::string Escape(std::string_view s, bool query) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~';
    if (!query) {
      keep = keep || c == '/' || c == '$' || c == '&' || c == '+' || c == ',' || c == ':' ||
             c == ';' || c == '=' || c == '@';
    }
    if (keep) {
      out += static_cast<char>(c);
    } else if (query && c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}
std::string P(std::string_view s) {
  return Escape(s, false);
}
std::string Q(std::string_view s) {
  return Escape(s, true);
}

std::string Query(std::string path, const std::vector<std::string>& params) {
  for (size_t i = 0; i < params.size(); ++i) path += (i ? "&" : "?") + params[i];
  return path;
}

// Decodes a body once per render (cached by path). nullptr result: not fetched yet.
template <typename F>
Result<const Value*> Decoded(Ctx& ctx, const std::string& path, F decode) {
  // Decoded earlier in this render: the path is already a dependency and was fetched.
  if (auto it = ctx.cache.find(path); it != ctx.cache.end()) return &it->second;
  const Fetch* f = ctx.Get(path);
  if (f == nullptr) return static_cast<const Value*>(nullptr);
  if (f->status != 200 && f->status != 404) {
    return Status::Error("GET " + path + ": unexpected response code " + std::to_string(f->status));
  }
  Value v;
  if (f->status == 200) {
    if (!ctx.json_parser) ctx.json_parser = std::make_shared<simdjson::dom::parser>();
    auto& parser = *static_cast<simdjson::dom::parser*>(ctx.json_parser.get());
    auto doc = parser.parse(f->body);  // copies into its padded buffer (reused across bodies)
    if (doc.error()) {
      return Status::Error("GET " + path + ": " + simdjson::error_message(doc.error()));
    }
    auto r = decode(doc.value_unsafe());
    if (!r.ok()) return Status::Error("GET " + path + ": " + r.status().message());
    v = std::move(*r);
  } else {
    v = Value::Nil();  // 404: absent
  }
  return &ctx.cache.emplace(path, std::move(v)).first->second;
}

// /v1/kv/<key>: the value as a string, or nil.
Result<Value> DecodeKey(element doc) {
  auto arr = doc.get_array();
  if (arr.error() || arr.value_unsafe().size() == 0) return Value::Nil();
  std::string v;
  std::string_view b64 = JStr(arr.value_unsafe().at(0).value_unsafe(), "Value");
  std::string err;
  if (!core::Base64Decode(b64, &v, &err)) return Status::Error("bad base64 value: " + err);
  return Value::Str(std::move(v));
}

// Reads key `name` for key/keyExists/keyOrDefault. nullptr: not fetched; Nil: absent.
Result<const Value*> KeyValue(Ctx& ctx, const Value& arg) {
  auto s = ArgString(arg);
  if (!s.ok()) return s.status();
  Spec sp = SplitDc(*s);
  std::vector<std::string> q;
  if (!sp.dc.empty()) q.push_back("dc=" + Q(sp.dc));
  return Decoded(ctx, Query("/v1/kv/" + P(sp.name), q), DecodeKey);
}

Result<Value> Key(Ctx& ctx, std::vector<Value>& a) {
  if (a[0].kind() == Kind::kString && a[0].s().empty()) return Value::Str("");
  auto v = KeyValue(ctx, a[0]);
  if (!v.ok()) return v.status();
  if (*v == nullptr || (*v)->kind() == Kind::kNil) {
    ctx.missing = true;  // consul-template blocks until the key exists
    return Value::Str("");
  }
  return **v;
}

Result<Value> KeyExists(Ctx& ctx, std::vector<Value>& a) {
  if (a[0].kind() == Kind::kString && a[0].s().empty()) return Value::Bool(false);
  auto v = KeyValue(ctx, a[0]);
  if (!v.ok()) return v.status();
  return Value::Bool(*v != nullptr && (*v)->kind() == Kind::kString);
}

Result<Value> KeyOrDefault(Ctx& ctx, std::vector<Value>& a) {
  auto def = ArgString(a[1]);
  if (!def.ok()) return def.status();
  if (a[0].kind() == Kind::kString && a[0].s().empty()) return Value::Str(*def);
  auto v = KeyValue(ctx, a[0]);
  if (!v.ok()) return v.status();
  if (*v == nullptr || (*v)->kind() != Kind::kString || (*v)->s().empty()) {
    return Value::Str(*def);
  }
  return **v;
}

// ls / tree / safeLs / safeTree.
template <bool kTree, bool kSafe>
Result<Value> ListFn(Ctx& ctx, std::vector<Value>& a) {
  auto s = ArgString(a[0]);
  if (!s.ok()) return s.status();
  std::vector<Value> out;
  if (s->empty()) return MakeList(std::move(out), "*dep.KeyPair");
  Spec sp = SplitDc(*s);
  std::vector<std::string> q{"recurse"};
  if (!sp.dc.empty()) q.push_back("dc=" + Q(sp.dc));
  std::string prefix = sp.name;
  auto v = Decoded(ctx, Query("/v1/kv/" + P(sp.name), q),
                   [&](element doc) { return DecodeKeyPairs(doc, prefix); });
  if (!v.ok()) return v.status();
  if (*v != nullptr && (*v)->kind() == Kind::kList) {
    for (const Value& kp : (*v)->list().items) {
      const std::string& key = kp.rec().fields[1].s();
      bool keep = kTree ? (!key.empty() && key.back() != '/')
                        : (!key.empty() && key.find('/') == std::string::npos);
      if (keep) out.push_back(kp);
    }
  }
  if (kSafe && out.empty()) ctx.missing = true;
  return MakeList(std::move(out), "*dep.KeyPair");
}

bool IsWord(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Result<Value> Service(Ctx& ctx, std::vector<Value>& a) {
  std::string s;
  for (size_t i = 0; i < a.size(); ++i) {
    auto part = ArgString(a[i]);
    if (!part.ok()) return part.status();
    s += (i ? "|" : "") + *part;
  }
  if (a.empty() || (a[0].kind() == Kind::kString && a[0].s().empty())) {
    return MakeList({}, "*dep.HealthService");
  }
  auto invalid = [&] { return Status::Error("health.service: invalid format: \"" + s + "\""); };
  std::string_view rest = s;
  std::string filter_s;
  if (size_t bar = rest.find('|'); bar != std::string_view::npos) {
    filter_s = std::string(rest.substr(bar + 1));
    rest = rest.substr(0, bar);
  }
  std::string near, dc;
  if (size_t t = rest.find('~'); t != std::string_view::npos) {
    near = std::string(rest.substr(t + 1));
    rest = rest.substr(0, t);
  }
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    dc = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) rest = rest.substr(0, q);
  std::string tag, name(rest);
  if (size_t dot = rest.rfind('.'); dot != std::string_view::npos) {
    tag = std::string(rest.substr(0, dot));
    name = std::string(rest.substr(dot + 1));
    if (tag.empty()) return invalid();
  }
  if (name.empty()) return invalid();
  for (char c : name) {
    if (!IsWord(c) && c != '-') return invalid();
  }
  std::vector<std::string> filters;
  for (size_t p = 0; !filter_s.empty() && p <= filter_s.size();) {
    size_t comma = filter_s.find(',', p);
    if (comma == std::string::npos) comma = filter_s.size();
    std::string f = filter_s.substr(p, comma - p);
    while (!f.empty() && f.front() == ' ') f.erase(0, 1);
    while (!f.empty() && f.back() == ' ') f.pop_back();
    if (f == "any" || f == "passing" || f == "warning" || f == "critical" || f == "maintenance") {
      filters.push_back(f);
    } else if (!f.empty()) {
      std::string msg = "health.service: invalid filter: \"" + f;
      msg += "\" in \"" + s + "\"";
      return Status::Error(std::move(msg));
    }
    p = comma + 1;
  }
  std::sort(filters.begin(), filters.end());
  if (filter_s.empty()) filters = {"passing"};
  std::vector<std::string> q;
  if (filters.size() == 1 && filters[0] == "passing") q.push_back("passing");
  if (!tag.empty()) q.push_back("tag=" + Q(tag));
  if (!dc.empty()) q.push_back("dc=" + Q(dc));
  if (!near.empty()) q.push_back("near=" + Q(near));
  auto v = Decoded(ctx, Query("/v1/health/service/" + P(name), q), DecodeHealthServices);
  if (!v.ok()) return v.status();
  std::vector<Value> out;
  if (*v != nullptr && (*v)->kind() == Kind::kList) {
    for (const Value& hs : (*v)->list().items) {
      const std::string& status = hs.rec().fields[kHealthStatusField].s();
      bool ok = false;
      for (const auto& f : filters) ok = ok || f == status || f == "any";
      if (ok) out.push_back(hs);
    }
  }
  if (near.empty()) {
    std::stable_sort(out.begin(), out.end(), [](const Value& x, const Value& y) {
      const auto& a1 = x.rec().fields;
      const auto& b1 = y.rec().fields;
      if (a1[0].s() != b1[0].s()) return a1[0].s() < b1[0].s();
      return a1[kHealthIdField].s() < b1[kHealthIdField].s();
    });
  }
  return MakeList(std::move(out), "*dep.HealthService");
}

std::vector<std::string> DcQuery(const std::vector<Value>& a, Status* err) {
  std::string s;
  for (const auto& v : a) {
    auto p = ArgString(v);
    if (!p.ok()) {
      *err = p.status();
      return {};
    }
    s += *p;
  }
  std::vector<std::string> q;
  if (size_t at = s.find('@'); at != std::string::npos) q.push_back("dc=" + Q(s.substr(at + 1)));
  return q;
}

Result<Value> Services(Ctx& ctx, std::vector<Value>& a) {
  Status err;
  auto q = DcQuery(a, &err);
  if (!err.ok()) return err;
  auto v = Decoded(ctx, Query("/v1/catalog/services", q), DecodeCatalogServices);
  if (!v.ok()) return v.status();
  if (*v == nullptr || (*v)->kind() != Kind::kList) return MakeList({}, "*dep.CatalogSnippet");
  return **v;
}

Result<Value> Nodes(Ctx& ctx, std::vector<Value>& a) {
  Status err;
  auto q = DcQuery(a, &err);
  if (!err.ok()) return err;
  auto v = Decoded(ctx, Query("/v1/catalog/nodes", q), DecodeNodes);
  if (!v.ok()) return v.status();
  if (*v == nullptr || (*v)->kind() != Kind::kList) return MakeList({}, "*dep.Node");
  return **v;
}

Result<Value> Datacenters(Ctx& ctx, std::vector<Value>&) {
  auto v = Decoded(ctx, "/v1/catalog/datacenters", [](element doc) -> Result<Value> {
    std::vector<std::string> dcs;
    auto arr = doc.get_array();
    if (!arr.error()) {
      for (auto e : arr.value_unsafe()) dcs.emplace_back(e.get_string().value_unsafe());
    }
    return MakeStringList(std::move(dcs));
  });
  if (!v.ok()) return v.status();
  if (*v == nullptr || (*v)->kind() != Kind::kList) return MakeStringList({});
  return **v;
}

Result<Value> Node(Ctx& ctx, std::vector<Value>& a) {
  std::string s;
  for (const auto& v : a) {
    auto p = ArgString(v);
    if (!p.ok()) return p.status();
    s += *p;
  }
  Spec sp = SplitDc(s);
  if (sp.name.empty()) {  // the agent's own node
    auto self = Decoded(ctx, "/v1/agent/self", [](element doc) -> Result<Value> {
      auto name = doc["Config"]["NodeName"].get_string();
      if (name.error()) return Status::Error("no Config.NodeName");
      return Value::Str(std::string(name.value_unsafe()));
    });
    if (!self.ok()) return self.status();
    if (*self == nullptr || (*self)->kind() != Kind::kString) return Value::Nil();
    sp.name = (*self)->s();
  }
  std::vector<std::string> q;
  if (!sp.dc.empty()) q.push_back("dc=" + Q(sp.dc));
  auto v = Decoded(ctx, Query("/v1/catalog/node/" + P(sp.name), q), DecodeCatalogNode);
  if (!v.ok()) return v.status();
  if (*v == nullptr) return Value::Nil();
  if ((*v)->kind() != Kind::kRecord) return EmptyCatalogNode();
  return **v;
}

}  // namespace

const std::vector<FuncDef>& ConsulFuncs() {
  static const std::vector<FuncDef> kFuncs = {
      {"key", 1, 1, Key},
      {"keyExists", 1, 1, KeyExists},
      {"keyOrDefault", 2, 2, KeyOrDefault},
      {"ls", 1, 1, ListFn<false, false>},
      {"safeLs", 1, 1, ListFn<false, true>},
      {"tree", 1, 1, ListFn<true, false>},
      {"safeTree", 1, 1, ListFn<true, true>},
      {"service", 0, -1, Service},
      {"services", 0, -1, Services},
      {"node", 0, -1, Node},
      {"nodes", 0, -1, Nodes},
      {"datacenters", 0, 1, Datacenters},
  };
  return kFuncs;
}

}  // namespace beacon::tmpl
