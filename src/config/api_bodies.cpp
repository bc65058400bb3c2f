// Agent API request bodies, parsed by the config module's service/check code. See api_bodies.h.
#include "beacon/config/api_bodies.h"

#include <arpa/inet.h>

#include <string>
#include <utility>

#include "beacon/config/limits.h"
#include "internal.h"

namespace beacon::config {
namespace {

using internal::Member;
using internal::NormKey;
using internal::Value;

// Errors of ParseService/ParseNodeCheck: wrong types are decode failures, the rest (no type,
// two types, missing interval) are invalid checks.
Status ClassifyError(const Status& st) {
  if (st.message().find("expected") != std::string::npos) return internal::BodyDecodeError(st);
  return Status::Error("Invalid check: " + internal::StripBodyLocation(st.message()));
}

bool IsDurationKey(std::string_view norm) {
  return norm == "interval" || norm == "timeout" || norm == "ttl" ||
         norm == "deregistercriticalserviceafter";
}

bool IsEmptyCheck(const Value& v) {
  return v.is_null() || (v.is_object() && v.members.empty());
}

// API-only forms: integer nanoseconds become "<n>ns"; empty `Check` objects and empty items of
// `Checks` are dropped (Consul skips empty check definitions).
void Normalize(Value* v) {
  if (v->is_array()) {
    for (Value& item : v->items) Normalize(&item);
    return;
  }
  if (!v->is_object()) return;
  std::vector<Member> kept;
  kept.reserve(v->members.size());
  for (Member& m : v->members) {
    const std::string k = NormKey(m.key);
    if (k == "check" && IsEmptyCheck(m.value)) continue;
    if (k == "checks" && m.value.is_array()) {
      std::vector<Value> items;
      for (Value& item : m.value.items) {
        if (!IsEmptyCheck(item)) items.push_back(std::move(item));
      }
      m.value.items = std::move(items);
    }
    if (IsDurationKey(k) && m.value.type == Value::Type::kInt && m.value.i >= 0) {
      m.value.s = std::to_string(m.value.i) + "ns";
      m.value.type = Value::Type::kString;
    }
    Normalize(&m.value);
    kept.push_back(std::move(m));
  }
  v->members = std::move(kept);
}

Status ParseRoot(std::string_view json, Value* root) {
  Status st = internal::ParseJsonTree(internal::kBodyFile, json, root);
  if (!st.ok()) return internal::BodyDecodeError(st);
  Normalize(root);
  return Status::Ok();
}

const Value* Find(const Value& obj, std::string_view norm) {
  for (const Member& m : obj.members) {
    if (NormKey(m.key) == norm) return &m.value;
  }
  return nullptr;
}

bool HasName(const Value& root) {
  const Value* n = Find(root, "name");
  return n != nullptr && (n->type != Value::Type::kString || !n->s.empty()) && !n->is_null();
}

bool MetaKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// structs.ValidateServiceMetadata.
Status ValidateMeta(const std::map<std::string, std::string>& meta) {
  if (meta.size() > 64) {
    return Status::Error(
        "Invalid Service Meta: Service metadata cannot contain more than 64 key/value pairs");
  }
  for (const auto& [k, v] : meta) {
    std::string why;
    if (k.empty()) {
      why = "Key cannot be blank";
    } else if (k.size() > 128) {
      why = "Key is too long (limit: 128 characters)";
    } else if (k.rfind("consul-", 0) == 0) {
      why = "Key prefix 'consul-' is reserved for internal use";
    } else if (v.size() > 512) {
      why = "Value is too long (limit: 512 characters)";
    } else {
      for (char c : k) {
        if (!MetaKeyChar(c)) why = "Key contains invalid characters";
      }
    }
    if (!why.empty()) {
      std::string msg = "Invalid Service Meta: Couldn't load metadata pair ('";
      msg.append(k).append("', '").append(v).append("'): ").append(why);
      return Status::Error(std::move(msg));
    }
  }
  return Status::Ok();
}

// 4 for IPv4, 6 for IPv6, 0 otherwise; *unspecified for 0.0.0.0 / ::.
int IpFamily(const std::string& s, bool* unspecified) {
  unsigned char buf[16] = {};
  int fam = 0;
  size_t len = 0;
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    fam = 4;
    len = 4;
  } else if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    fam = 6;
    len = 16;
  }
  *unspecified = fam != 0;
  for (size_t i = 0; i < len; ++i) *unspecified &= buf[i] == 0;
  return fam;
}

bool ValidStatus(std::string_view s, catalog::Health* out) {
  return catalog::ParseHealth(s, out) && *out != catalog::Health::kMaintenance;
}

}  // namespace

Result<ServiceBody> ParseServiceBody(std::string_view json) {
  Value root;
  Status st = ParseRoot(json, &root);
  if (!st.ok()) return st;
  if (!HasName(root)) return Status::Error("Missing service name");
  AgentConfig cfg;
  internal::LoadState ls;
  st = internal::ParseService(internal::Ctx{internal::kBodyFile}, root, "", &cfg, &ls);
  if (!st.ok()) return ClassifyError(st);
  ServiceBody out;
  out.service = std::move(cfg.services.front());
  out.checks = std::move(cfg.checks);
  out.has_script_check = !ls.script_checks.empty();
  catalog::Service& svc = out.service;
  st = ValidateMeta(svc.meta);
  if (!st.ok()) return st;
  st = CheckServiceLimits(svc);
  for (size_t i = 0; st.ok() && i < out.checks.size(); ++i) st = CheckCheckLimits(out.checks[i]);
  if (!st.ok()) return st;
  bool unspecified = false;
  const int fam = IpFamily(svc.address, &unspecified);
  if (unspecified) return Status::Error("Invalid service address \"" + svc.address + "\"");
  if (fam != 0) {
    const std::string v = fam == 4 ? "ipv4" : "ipv6";
    svc.tagged_addresses.emplace("lan_" + v, catalog::TaggedAddress{svc.address, svc.port});
    svc.tagged_addresses.emplace("wan_" + v, catalog::TaggedAddress{svc.address, svc.port});
  }
  if (svc.weights.warning > 65535 || svc.weights.passing > 65535) {
    return Status::Error("Invalid Weights: values must be at most 65535");
  }
  return out;
}

Result<CheckBody> ParseCheckBody(std::string_view json) {
  Value root;
  Status st = ParseRoot(json, &root);
  if (!st.ok()) return st;
  if (!HasName(root)) return Status::Error("Missing check name");
  for (auto it = root.members.begin(); it != root.members.end(); ++it) {
    if (NormKey(it->key) != "status" || it->value.is_null()) continue;
    catalog::Health h;
    if (it->value.type != Value::Type::kString ||
        (!it->value.s.empty() && !ValidStatus(it->value.s, &h))) {
      return Status::Error("Bad check status");
    }
    if (it->value.s.empty()) {  // "" means the default (critical)
      root.members.erase(it);
      break;
    }
  }
  AgentConfig cfg;
  internal::LoadState ls;
  st = internal::ParseNodeCheck(internal::Ctx{internal::kBodyFile}, root, "", &cfg, &ls);
  if (!st.ok()) return ClassifyError(st);
  CheckBody out;
  out.check = std::move(cfg.checks.front());
  out.has_script_check = !ls.script_checks.empty();
  st = CheckCheckLimits(out.check);
  if (!st.ok()) return st;
  return out;
}

Result<CheckBody> ParsePersistedCheck(std::string_view json, bool* maintenance) {
  *maintenance = false;
  Value root;
  Status st = ParseRoot(json, &root);
  if (!st.ok()) return st;
  const Value* type = Find(root, "type");
  if (type == nullptr || type->type != Value::Type::kString || type->s != "maintenance") {
    return ParseCheckBody(json);
  }
  *maintenance = true;
  CheckBody out;
  catalog::Check& c = out.check;
  c.status = catalog::Health::kCritical;
  for (const Member& m : root.members) {
    if (m.value.type != Value::Type::kString) continue;
    const std::string k = NormKey(m.key);
    if (k == "checkid" || k == "id") c.id = m.value.s;
    if (k == "name") c.name = m.value.s;
    if (k == "notes") c.notes = m.value.s;
    if (k == "serviceid") c.service_id = m.value.s;
  }
  if (c.id.empty()) return Status::Error("maintenance check without an ID");
  return out;
}

Result<CheckUpdateBody> ParseCheckUpdateBody(std::string_view json) {
  Value root;
  Status st = ParseRoot(json, &root);
  if (!st.ok()) return st;
  CheckUpdateBody out;
  std::string status;
  for (const Member& m : root.members) {
    const std::string k = NormKey(m.key);
    if (k != "status" && k != "output") continue;
    if (m.value.is_null()) continue;
    if (m.value.type != Value::Type::kString) {
      return Status::Error("Request decode failed: " + m.key + ": expected a string");
    }
    (k == "status" ? status : out.output) = m.value.s;
  }
  if (!ValidStatus(status, &out.status) || status != NormKey(status)) {
    return Status::Error("Invalid check status: '" + status + "'");
  }
  return out;
}

namespace internal {

// "request body:3: Check.Interval: expected ..." -> "Check.Interval: expected ...".
std::string StripBodyLocation(const std::string& msg) {
  std::string_view s(msg);
  if (s.substr(0, kBodyFile.size()) == kBodyFile) s.remove_prefix(kBodyFile.size());
  if (!s.empty() && s.front() == ':') s.remove_prefix(1);
  while (!s.empty() && s.front() >= '0' && s.front() <= '9') s.remove_prefix(1);
  if (s.substr(0, 2) == ": ") s.remove_prefix(2);
  return std::string(s);
}

Status BodyDecodeError(const Status& st) {
  return Status::Error("Request decode failed: " + StripBodyLocation(st.message()));
}

}  // namespace internal

}  // namespace beacon::config
