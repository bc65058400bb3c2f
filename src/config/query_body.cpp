// Prepared-query JSON. See query_body.h.
#include "beacon/config/query_body.h"

#include <string>

#include "internal.h"

namespace beacon::config {
namespace {

using internal::Member;
using internal::NormKey;
using internal::Value;

Status GetUint64(const internal::Ctx& c, const Value& v, std::string_view path, uint64_t* out) {
  int64_t i = 0;
  Status st = internal::GetInt(c, v, path, 0, INT64_MAX, &i);
  if (st.ok()) *out = static_cast<uint64_t>(i);
  return st;
}

Status DecodeFailover(const internal::Ctx& c, const Value& v, const std::string& path,
                      catalog::PreparedQuery* q) {
  if (Status st = internal::ExpectObject(c, v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    if (m.value.is_null()) continue;
    const std::string k = NormKey(m.key);
    const std::string p = internal::Join(path, m.key);
    Status st;
    if (k == "nearestn") {
      st = internal::GetInt(c, m.value, p, INT32_MIN, INT32_MAX, &q->failover_nearest_n);
    } else if (k == "datacenters") {
      st = internal::GetStringList(c, m.value, p, &q->failover_datacenters);
    } else if (k == "targets") {
      if (!m.value.is_array()) return c.Err(m.value, p, "expected an array");
      for (size_t i = 0; i < m.value.items.size(); ++i) {
        const Value& t = m.value.items[i];
        const std::string tp = internal::Index(p, i);
        if (st = internal::ExpectObject(c, t, tp); !st.ok()) return st;
        catalog::QueryFailoverTarget target;
        for (const Member& f : t.members) {
          if (f.value.is_null()) continue;
          const std::string fk = NormKey(f.key);
          std::string* dst = fk == "peer"         ? &target.peer
                             : fk == "datacenter" ? &target.datacenter
                             : fk == "partition"  ? &target.partition
                             : fk == "namespace"  ? &target.ns
                                                  : nullptr;
          if (dst == nullptr) continue;
          if (st = internal::GetString(c, f.value, internal::Join(tp, f.key), dst); !st.ok()) {
            return st;
          }
        }
        q->failover_targets.push_back(std::move(target));
      }
    }
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status DecodeService(const internal::Ctx& c, const Value& v, catalog::PreparedQuery* q) {
  if (Status st = internal::ExpectObject(c, v, "Service"); !st.ok()) return st;
  for (const Member& m : v.members) {
    if (m.value.is_null()) continue;
    const std::string k = NormKey(m.key);
    const std::string p = internal::Join("Service", m.key);
    Status st;
    if (k == "service") {
      st = internal::GetString(c, m.value, p, &q->service);
    } else if (k == "failover") {
      st = DecodeFailover(c, m.value, p, q);
    } else if (k == "onlypassing") {
      st = internal::GetBool(c, m.value, p, &q->only_passing);
    } else if (k == "ignorecheckids") {
      st = internal::GetStringList(c, m.value, p, &q->ignore_check_ids);
    } else if (k == "near") {
      st = internal::GetString(c, m.value, p, &q->near);
    } else if (k == "tags") {
      st = internal::GetStringList(c, m.value, p, &q->tags);
    } else if (k == "nodemeta") {
      st = internal::GetStringMap(c, m.value, p, &q->node_meta);
    } else if (k == "servicemeta") {
      st = internal::GetStringMap(c, m.value, p, &q->service_meta);
    } else if (k == "peer") {
      st = internal::GetString(c, m.value, p, &q->peer);
    } else if (k == "connect") {
      if (st = internal::ExpectObject(c, m.value, p); !st.ok()) return st;
      for (const Member& f : m.value.members) {
        if (NormKey(f.key) == "enabled" && !f.value.is_null()) {
          st = internal::GetBool(c, f.value, internal::Join(p, f.key), &q->connect);
        }
      }
    }
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status DecodeObject(const internal::Ctx& c, const Value& root, catalog::PreparedQuery* q) {
  if (Status st = internal::ExpectObject(c, root, ""); !st.ok()) return st;
  for (const Member& m : root.members) {
    if (m.value.is_null()) continue;
    const std::string k = NormKey(m.key);
    Status st;
    if (k == "id") {
      st = internal::GetString(c, m.value, m.key, &q->id);
    } else if (k == "name") {
      st = internal::GetString(c, m.value, m.key, &q->name);
    } else if (k == "session") {
      st = internal::GetString(c, m.value, m.key, &q->session);
    } else if (k == "token") {
      st = internal::GetString(c, m.value, m.key, &q->token);
    } else if (k == "template") {
      if (st = internal::ExpectObject(c, m.value, m.key); !st.ok()) return st;
      for (const Member& f : m.value.members) {
        if (f.value.is_null()) continue;
        const std::string fk = NormKey(f.key);
        const std::string p = internal::Join(m.key, f.key);
        if (fk == "type") {
          st = internal::GetString(c, f.value, p, &q->template_type);
        } else if (fk == "regexp") {
          st = internal::GetString(c, f.value, p, &q->template_regexp);
        } else if (fk == "removeemptytags") {
          st = internal::GetBool(c, f.value, p, &q->remove_empty_tags);
        }
        if (!st.ok()) return st;
      }
    } else if (k == "service") {
      st = DecodeService(c, m.value, q);
    } else if (k == "dns") {
      if (st = internal::ExpectObject(c, m.value, m.key); !st.ok()) return st;
      for (const Member& f : m.value.members) {
        if (NormKey(f.key) == "ttl" && !f.value.is_null()) {
          st = internal::GetString(c, f.value, internal::Join(m.key, f.key), &q->dns_ttl);
        }
      }
    } else if (k == "createindex") {
      st = GetUint64(c, m.value, m.key, &q->create_index);
    } else if (k == "modifyindex") {
      st = GetUint64(c, m.value, m.key, &q->modify_index);
    }
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

void StringList(core::JsonWriter& w, const std::vector<std::string>& v) {
  if (v.empty()) {
    w.Null();
    return;
  }
  w.BeginArray();
  for (const std::string& s : v) w.String(s);
  w.EndArray();
}

void StringMap(core::JsonWriter& w, const std::map<std::string, std::string>& m) {
  if (m.empty()) {
    w.Null();
    return;
  }
  w.BeginObject();
  for (const auto& [k, v] : m) w.Key(k).String(v);
  w.EndObject();
}

}  // namespace

Result<catalog::PreparedQuery> DecodePreparedQuery(std::string_view json) {
  const internal::Ctx c{internal::kBodyFile};
  Value root;
  if (Status st = internal::ParseJsonTree(internal::kBodyFile, json, &root); !st.ok())
    return internal::BodyDecodeError(st);
  catalog::PreparedQuery q;
  if (root.is_null()) return q;
  if (Status st = DecodeObject(c, root, &q); !st.ok()) return internal::BodyDecodeError(st);
  return q;
}

Result<std::vector<catalog::PreparedQuery>> DecodePreparedQueryList(std::string_view json) {
  const internal::Ctx c{internal::kBodyFile};
  // The tree parser wants an object at the top: wrap the array in one.
  std::string wrapped = "{\"Queries\":";
  wrapped.append(json).append("\n}");
  Value doc;
  if (Status st = internal::ParseJsonTree(internal::kBodyFile, wrapped, &doc); !st.ok())
    return internal::BodyDecodeError(st);
  std::vector<catalog::PreparedQuery> out;
  if (doc.members.size() != 1) return Status::Error("Request decode failed: expected an array");
  const Value& root = doc.members[0].value;
  if (root.is_null()) return out;
  if (!root.is_array()) return Status::Error("Request decode failed: expected an array");
  for (const Value& item : root.items) {
    catalog::PreparedQuery q;
    if (Status st = DecodeObject(c, item, &q); !st.ok()) return internal::BodyDecodeError(st);
    out.push_back(std::move(q));
  }
  return out;
}

void WritePreparedQuery(core::JsonWriter& w, const catalog::PreparedQuery& q) {
  w.BeginObject();
  w.Key("ID").String(q.id);
  w.Key("Name").String(q.name);
  w.Key("Session").String(q.session);
  w.Key("Token").String(q.token);
  w.Key("Template").BeginObject();
  w.Key("Type").String(q.template_type);
  w.Key("Regexp").String(q.template_regexp);
  w.Key("RemoveEmptyTags").Bool(q.remove_empty_tags);
  w.EndObject();
  w.Key("Service").BeginObject();
  w.Key("Service").String(q.service);
  w.Key("Failover").BeginObject();
  w.Key("NearestN").Int(q.failover_nearest_n);
  w.Key("Datacenters");
  StringList(w, q.failover_datacenters);
  w.Key("Targets");
  if (q.failover_targets.empty()) {
    w.Null();
  } else {
    w.BeginArray();
    for (const auto& t : q.failover_targets) {
      w.BeginObject();
      w.Key("Peer").String(t.peer);
      w.Key("Datacenter").String(t.datacenter);
      w.Key("Partition").String(t.partition);
      w.Key("Namespace").String(t.ns);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  w.Key("IgnoreCheckIDs");
  StringList(w, q.ignore_check_ids);
  w.Key("OnlyPassing").Bool(q.only_passing);
  w.Key("Near").String(q.near);
  w.Key("Tags");
  StringList(w, q.tags);
  w.Key("NodeMeta");
  StringMap(w, q.node_meta);
  w.Key("ServiceMeta");
  StringMap(w, q.service_meta);
  w.Key("Peer").String(q.peer);
  w.Key("Connect").BeginObject().Key("Enabled").Bool(q.connect).EndObject();
  w.EndObject();
  w.Key("DNS").BeginObject().Key("TTL").String(q.dns_ttl).EndObject();
  w.Key("CreateIndex").Uint(q.create_index);
  w.Key("ModifyIndex").Uint(q.modify_index);
  w.EndObject();
}

}  // namespace beacon::config
