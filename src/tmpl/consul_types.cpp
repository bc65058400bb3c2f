// Decoding Consul's JSON into consul-template's dependency structs; see consul_types.h.
#include "consul_types.h"

#include <algorithm>

#include "beacon/core/base64.h"

namespace beacon::tmpl {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

const RecordType kKeyPair{
    "*dep.KeyPair",
    {"Path", "Key", "Value", "CreateIndex", "ModifyIndex", "LockIndex", "Flags", "Session"}};
const RecordType kHealthService{
    "*dep.HealthService",
    {"Node", "NodeID", "NodeAddress", "NodeTaggedAddresses", "NodeMeta", "ServiceMeta", "Address",
     "ServiceTaggedAddresses", "ID", "Name", "Tags", "Checks", "Status", "Port", "Weights"}};
const RecordType kHealthCheck{
    "*api.HealthCheck",
    {"Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName",
     "ServiceTags", "Type", "ExposedPort", "Definition", "CreateIndex", "ModifyIndex"}};
const RecordType kWeights{"api.AgentWeights", {"Passing", "Warning"}, false};
const RecordType kServiceAddress{"api.ServiceAddress", {"Address", "Port"}, false};
const RecordType kSnippet{"*dep.CatalogSnippet", {"Name", "Tags"}};
const RecordType kNode{"*dep.Node",
                       {"ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta"}};
const RecordType kCatalogNode{"*dep.CatalogNode", {"Node", "Services"}};
const RecordType kNodeService{
    "*dep.CatalogNodeService",
    {"ID", "Service", "Tags", "Meta", "Port", "Address", "EnableTagOverride"}};

// A record's field values, moved in (a braced list would copy every Value).
template <typename... T>
std::vector<Value> Fields(T&&... v) {
  std::vector<Value> f;
  f.reserve(sizeof...(v));
  (f.push_back(std::forward<T>(v)), ...);
  return f;
}

// An object member that may be absent (then every read of it is empty).
struct Obj {
  element e;
  bool ok = false;
  simdjson::simdjson_result<element> operator[](std::string_view key) const {
    if (!ok) return simdjson::NO_SUCH_FIELD;
    return e[key];
  }
};
Obj Wrap(element e) {
  return Obj{e, true};
}
Obj Member(Obj obj, std::string_view key) {
  auto m = obj[key];
  if (m.error()) return Obj{};
  return Obj{m.value_unsafe(), true};
}
bool Has(Obj obj, std::string_view key) {
  return !obj[key].error();
}
std::string_view Str(Obj obj, std::string_view key) {
  auto m = obj[key].get_string();
  return m.error() ? std::string_view() : m.value_unsafe();
}

Value S(Obj obj, std::string_view key) {
  return Value::Str(std::string(Str(obj, key)));
}

Value I(Obj obj, std::string_view key) {
  auto m = obj[key];
  if (m.error()) return Value::Int(0);
  element e = m.value_unsafe();
  if (e.is_int64()) return Value::Int(e.get_int64().value_unsafe());
  if (e.is_uint64()) return Value::Int(static_cast<int64_t>(e.get_uint64().value_unsafe()));
  if (e.is_double()) return Value::Int(static_cast<int64_t>(e.get_double().value_unsafe()));
  return Value::Int(0);
}

Value B(Obj obj, std::string_view key) {
  auto m = obj[key].get_bool();
  return Value::Bool(!m.error() && m.value_unsafe());
}

// map[string]string; JSON null or absent -> a nil map.
Value StrMap(Obj obj, std::string_view key) {
  auto m = obj[key].get_object();
  std::vector<std::pair<std::string, Value>> entries;
  if (!m.error()) {
    for (auto [k, v] : m.value_unsafe()) {
      auto s = v.get_string();
      entries.emplace_back(std::string(k),
                           Value::Str(s.error() ? "" : std::string(s.value_unsafe())));
    }
  }
  if (m.error()) return MakeNilMap("string");
  return MakeMap(std::move(entries), "string");
}

// deepCopyAndSortTags: a new, sorted []string (never nil).
Value Tags(Obj obj, std::string_view key) {
  std::vector<std::string> tags;
  auto a = obj[key].get_array();
  if (!a.error()) {
    for (auto t : a.value_unsafe()) {
      auto s = t.get_string();
      if (!s.error()) tags.emplace_back(s.value_unsafe());
    }
  }
  std::sort(tags.begin(), tags.end());
  return MakeStringList(std::move(tags));
}

// Any JSON as interface{} values (Definition and the like).
Value Generic(element e) {
  switch (e.type()) {
    case element_type::ARRAY: {
      std::vector<Value> items;
      for (auto x : simdjson::dom::array(e.get_array().value_unsafe())) items.push_back(Generic(x));
      return MakeList(std::move(items));
    }
    case element_type::OBJECT: {
      std::vector<std::pair<std::string, Value>> entries;
      for (auto [k, x] : simdjson::dom::object(e.get_object().value_unsafe()))
        entries.emplace_back(std::string(k), Generic(x));
      return MakeMap(std::move(entries));
    }
    case element_type::INT64:
      return Value::Int(e.get_int64().value_unsafe());
    case element_type::UINT64:
      return Value::Int(static_cast<int64_t>(e.get_uint64().value_unsafe()));
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

Value NodeRecord(Obj n) {
  return MakeRecord(&kNode, Fields(S(n, "ID"), S(n, "Node"), S(n, "Address"), S(n, "Datacenter"),
                                   StrMap(n, "TaggedAddresses"), StrMap(n, "Meta")));
}

// api.HealthChecks.AggregatedStatus.
std::string Aggregated(Obj checks) {
  bool passing = false, warning = false, critical = false, maint = false;
  if (!checks.ok || !checks.e.is_array()) return "passing";
  for (auto c : simdjson::dom::array(checks.e.get_array().value_unsafe())) {
    std::string_view id = JStr(c, "CheckID");
    if (id == "_node_maintenance" || id.substr(0, 21) == "_service_maintenance:") {
      maint = true;
      continue;
    }
    std::string_view st = JStr(c, "Status");
    if (st == "passing")
      passing = true;
    else if (st == "warning")
      warning = true;
    else if (st == "critical")
      critical = true;
    else
      return "";
  }
  if (maint) return "maintenance";
  if (critical) return "critical";
  if (warning) return "warning";
  (void)passing;
  return "passing";
}

}  // namespace

std::string_view JStr(element obj, std::string_view key) {
  auto m = obj[key].get_string();
  return m.error() ? std::string_view() : m.value_unsafe();
}

Result<Value> DecodeKeyPairs(element doc, const std::string& prefix) {
  std::vector<Value> out;
  auto arr = doc.get_array();
  if (arr.error()) return Status::Error("expected a JSON array of KV entries");
  for (auto el : arr.value_unsafe()) {
    Obj e = Wrap(el);
    std::string full(Str(e, "Key"));
    std::string_view rel = full;
    if (rel.substr(0, prefix.size()) == prefix) rel.remove_prefix(prefix.size());
    while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
    std::string value, err;
    if (!core::Base64Decode(Str(e, "Value"), &value, &err)) {
      std::string msg = "bad base64 value of " + full;
      msg += ": ";
      msg += err;
      return Status::Error(std::move(msg));
    }
    out.push_back(MakeRecord(
        &kKeyPair, Fields(Value::Str(full), Value::Str(std::string(rel)),
                          Value::Str(std::move(value)), I(e, "CreateIndex"), I(e, "ModifyIndex"),
                          I(e, "LockIndex"), I(e, "Flags"), S(e, "Session"))));
  }
  return MakeList(std::move(out), "*dep.KeyPair");
}

Result<Value> DecodeHealthServices(element doc) {
  std::vector<Value> out;
  auto arr = doc.get_array();
  if (arr.error()) return Status::Error("expected a JSON array of service entries");
  for (auto el : arr.value_unsafe()) {
    Obj e = Wrap(el);
    Obj node = Member(e, "Node"), svc = Member(e, "Service"), checks = Member(e, "Checks");
    std::vector<Value> cs;
    if (checks.ok && checks.e.is_array()) {
      for (auto ce : simdjson::dom::array(checks.e.get_array().value_unsafe())) {
        Obj c = Wrap(ce);
        cs.push_back(MakeRecord(
            &kHealthCheck,
            Fields(S(c, "Node"), S(c, "CheckID"), S(c, "Name"), S(c, "Status"), S(c, "Notes"),
                   S(c, "Output"), S(c, "ServiceID"), S(c, "ServiceName"), Tags(c, "ServiceTags"),
                   S(c, "Type"), I(c, "ExposedPort"),
                   Has(c, "Definition") ? Generic(Member(c, "Definition").e) : MakeMap({}),
                   I(c, "CreateIndex"), I(c, "ModifyIndex"))));
      }
    }
    std::vector<std::pair<std::string, Value>> tagged;
    if (auto ta = svc["TaggedAddresses"].get_object(); !ta.error()) {
      for (auto [k, v] : ta.value_unsafe()) {
        tagged.emplace_back(
            std::string(k),
            MakeRecord(&kServiceAddress, Fields(S(Wrap(v), "Address"), I(Wrap(v), "Port"))));
      }
    }
    Value tagged_v = svc["TaggedAddresses"].get_object().error()
                         ? MakeNilMap("api.ServiceAddress")
                         : MakeMap(std::move(tagged), "api.ServiceAddress");
    std::string address(Str(svc, "Address"));
    if (address.empty()) address = std::string(Str(node, "Address"));
    Obj w = Member(svc, "Weights");
    out.push_back(MakeRecord(
        &kHealthService,
        Fields(S(node, "Node"), S(node, "ID"), S(node, "Address"), StrMap(node, "TaggedAddresses"),
               StrMap(node, "Meta"), StrMap(svc, "Meta"), Value::Str(address), tagged_v,
               S(svc, "ID"), S(svc, "Service"), Tags(svc, "Tags"),
               MakeList(std::move(cs), "*api.HealthCheck"), Value::Str(Aggregated(checks)),
               I(svc, "Port"), MakeRecord(&kWeights, {I(w, "Passing"), I(w, "Warning")}))));
  }
  return MakeList(std::move(out), "*dep.HealthService");
}

Result<Value> DecodeCatalogServices(element doc) {
  auto obj = doc.get_object();
  if (obj.error()) return Status::Error("expected a JSON object of services");
  std::vector<Value> out;
  for (auto [name, tags] : obj.value_unsafe()) {
    std::vector<std::string> ts;
    if (auto a = tags.get_array(); !a.error()) {
      for (auto t : a.value_unsafe()) {
        auto s = t.get_string();
        if (!s.error()) ts.emplace_back(s.value_unsafe());
      }
    }
    std::sort(ts.begin(), ts.end());
    out.push_back(MakeRecord(&kSnippet,
                             Fields(Value::Str(std::string(name)), MakeStringList(std::move(ts)))));
  }
  std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
    return a.rec().fields[0].s() < b.rec().fields[0].s();
  });
  return MakeList(std::move(out), "*dep.CatalogSnippet");
}

Result<Value> DecodeNodes(element doc) {
  auto arr = doc.get_array();
  if (arr.error()) return Status::Error("expected a JSON array of nodes");
  std::vector<Value> out;
  for (auto n : arr.value_unsafe()) out.push_back(NodeRecord(Wrap(n)));
  std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
    const auto& x = a.rec().fields;
    const auto& y = b.rec().fields;
    if (x[1].s() != y[1].s()) return x[1].s() < y[1].s();
    return x[2].s() < y[2].s();
  });
  return MakeList(std::move(out), "*dep.Node");
}

Value EmptyCatalogNode() {
  return MakeRecord(&kCatalogNode,
                    Fields(Value::NilPtr(&kNode), MakeNilList("*dep.CatalogNodeService")));
}

Result<Value> DecodeCatalogNode(element doc) {
  if (doc.is_null()) return Value::Nil();
  if (!doc.is_object()) return Status::Error("expected a JSON object for the node");
  std::vector<Value> svcs;
  if (auto m = doc["Services"].get_object(); !m.error()) {
    for (auto [id, ve] : m.value_unsafe()) {
      Obj v = Wrap(ve);
      svcs.push_back(MakeRecord(
          &kNodeService, Fields(S(v, "ID"), S(v, "Service"), Tags(v, "Tags"), StrMap(v, "Meta"),
                                I(v, "Port"), S(v, "Address"), B(v, "EnableTagOverride"))));
    }
  }
  std::stable_sort(svcs.begin(), svcs.end(), [](const Value& a, const Value& b) {
    const auto& x = a.rec().fields;
    const auto& y = b.rec().fields;
    if (x[1].s() != y[1].s()) return x[1].s() < y[1].s();
    return x[0].s() < y[0].s();
  });
  return MakeRecord(&kCatalogNode, Fields(NodeRecord(Member(Wrap(doc), "Node")),
                                          MakeList(std::move(svcs), "*dep.CatalogNodeService")));
}

}  // namespace beacon::tmpl
