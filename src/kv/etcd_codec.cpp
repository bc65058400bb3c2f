// etcd JSON gateway codec and Beacon's entry/session encodings (see etcd_codec.h).
#include "etcd_codec.h"

#include <simdjson.h>

#include <cstdlib>
#include <cstring>

#include "beacon/core/base64.h"
#include "beacon/core/json_writer.h"

namespace beacon::kv::internal {
namespace {

namespace dom = simdjson::dom;
using core::JsonWriter;

constexpr char kEtcdMagic = 'B';
constexpr char kVersion = 1;
constexpr size_t kHeader = 2 + 8 + 8 + 2;

int64_t Int(dom::element obj, const char* field) {
  return JsonInt64(obj, field);
}
bool Bool(dom::element obj, const char* field) {
  bool b = false;
  return !obj[field].get(b) && b;
}
std::string Bytes(dom::element obj, const char* field) {
  std::string_view s;
  if (obj[field].get(s)) return {};
  std::string out;
  core::Base64Decode(s, &out, nullptr);
  return out;
}

EtcdKv ReadKv(dom::element kv) {
  EtcdKv out;
  out.key = Bytes(kv, "key");
  out.value = Bytes(kv, "value");
  out.create_rev = Int(kv, "create_revision");
  out.mod_rev = Int(kv, "mod_revision");
  out.lease = Int(kv, "lease");
  return out;
}

bool Parse(dom::parser& p, std::string_view body, dom::element* root, std::string* err) {
  if (p.parse(body.data(), body.size()).get(*root)) {
    if (err) *err = "etcd sent a body that is not JSON";
    return false;
  }
  std::string_view msg;
  dom::element e;
  if (!(*root)["error"].get(e)) {
    if (err) {
      if (e.is_string()) {
        *err = std::string(e.get_string().value());
      } else if (!e["message"].get(msg)) {
        *err = std::string(msg);
      } else {
        *err = "etcd error";
      }
    }
    return false;
  }
  return true;
}

}  // namespace

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t GetU64(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// int64 fields: JSON strings ("12") from the gateway; numbers accepted too.
int64_t JsonInt64(const dom::element& obj, const char* field) {
  dom::element v;
  if (obj[field].get(v)) return 0;
  if (v.is_string()) return std::strtoll(std::string(v.get_string().value()).c_str(), nullptr, 10);
  if (v.is_int64()) return v.get_int64().value();
  if (v.is_uint64()) return static_cast<int64_t>(v.get_uint64().value());
  return 0;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto c = static_cast<unsigned char>(end.back());
    if (c < 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::string EncodeEntryValue(const Entry& e) {
  std::string out;
  out.reserve(kHeader + e.session.size() + e.value.size());
  out += kEtcdMagic;
  out += kVersion;
  PutU64(out, e.flags);
  PutU64(out, e.lock_index);
  out += static_cast<char>(e.session.size() & 0xff);
  out += static_cast<char>((e.session.size() >> 8) & 0xff);
  out += e.session;
  out += e.value;
  return out;
}

bool DecodeEntryValue(std::string_view raw, Entry* e) {
  if (raw.size() < kHeader || raw[0] != kEtcdMagic || raw[1] != kVersion) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  e->flags = GetU64(raw, 2);
  e->lock_index = GetU64(raw, 10);
  const size_t slen = p[18] | (static_cast<size_t>(p[19]) << 8);
  if (raw.size() < kHeader + slen) return false;
  e->session.assign(raw.substr(kHeader, slen));
  e->value.assign(raw.substr(kHeader + slen));
  return true;
}

std::string EncodeSession(const Session& s, int64_t lease) {
  JsonWriter w;
  w.BeginObject().Key("Name").String(s.name).Key("Node").String(s.node);
  w.Key("NodeChecks").BeginArray();
  for (const std::string& c : s.node_checks) w.String(c);
  w.EndArray().Key("ServiceChecks").BeginArray();
  for (const ServiceCheckRef& c : s.service_checks) {
    w.BeginObject().Key("ID").String(c.id).Key("Namespace").String(c.ns).EndObject();
  }
  w.EndArray();
  w.Key("LockDelay").Uint(s.lock_delay_ms);
  w.Key("Behavior").Uint(static_cast<uint64_t>(s.behavior));
  w.Key("TTL").Uint(s.ttl_ms);
  w.Key("Lease").Int(lease);
  w.EndObject();
  return w.Take();
}

bool DecodeSession(std::string_view json, Session* s, int64_t* lease) {
  dom::parser p;
  dom::element root;
  if (p.parse(json.data(), json.size()).get(root) || !root.is_object()) return false;
  std::string_view sv;
  if (!root["Name"].get(sv)) s->name = std::string(sv);
  if (!root["Node"].get(sv)) s->node = std::string(sv);
  dom::array arr;
  s->node_checks.clear();
  if (!root["NodeChecks"].get(arr)) {
    for (dom::element c : arr) {
      if (!c.get(sv)) s->node_checks.emplace_back(sv);
    }
  }
  s->service_checks.clear();
  if (!root["ServiceChecks"].get(arr)) {
    for (dom::element c : arr) {
      ServiceCheckRef ref;
      if (!c["ID"].get(sv)) ref.id = std::string(sv);
      if (!c["Namespace"].get(sv)) ref.ns = std::string(sv);
      s->service_checks.push_back(std::move(ref));
    }
  }
  s->lock_delay_ms = static_cast<uint64_t>(Int(root, "LockDelay"));
  s->behavior =
      Int(root, "Behavior") == 1 ? Session::Behavior::kDelete : Session::Behavior::kRelease;
  s->ttl_ms = static_cast<uint64_t>(Int(root, "TTL"));
  *lease = Int(root, "Lease");
  return true;
}

std::string RangeRequest(std::string_view key, std::string_view range_end) {
  JsonWriter w;
  w.BeginObject().Key("key").String(core::Base64Encode(key));
  if (!range_end.empty()) w.Key("range_end").String(core::Base64Encode(range_end));
  w.EndObject();
  return w.Take();
}

std::string WatchRequest(std::string_view key, std::string_view range_end, int64_t start_rev) {
  JsonWriter w;
  w.BeginObject().Key("create_request").BeginObject();
  w.Key("key").String(core::Base64Encode(key));
  w.Key("range_end").String(core::Base64Encode(range_end));
  w.Key("start_revision").String(std::to_string(start_rev));
  w.EndObject().EndObject();
  return w.Take();
}

std::string TxnRequest(const std::vector<std::pair<std::string, int64_t>>& compares,
                       const std::vector<TxnWrite>& success,
                       const std::vector<std::string>& failure_reads) {
  JsonWriter w;
  w.BeginObject().Key("compare").BeginArray();
  for (const auto& [key, rev] : compares) {
    w.BeginObject().Key("result").String("EQUAL").Key("target").String("MOD");
    w.Key("key").String(core::Base64Encode(key));
    w.Key("mod_revision").String(std::to_string(rev)).EndObject();
  }
  w.EndArray().Key("success").BeginArray();
  for (const TxnWrite& op : success) {
    w.BeginObject();
    if (op.del) {
      w.Key("request_delete_range").BeginObject().Key("key").String(core::Base64Encode(op.key));
    } else {
      w.Key("request_put").BeginObject().Key("key").String(core::Base64Encode(op.key));
      w.Key("value").String(core::Base64Encode(op.value));
      if (op.lease != 0) w.Key("lease").String(std::to_string(op.lease));
    }
    w.EndObject().EndObject();
  }
  w.EndArray().Key("failure").BeginArray();
  for (const std::string& key : failure_reads) {
    w.BeginObject().Key("request_range").BeginObject();
    w.Key("key").String(core::Base64Encode(key)).EndObject().EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

bool ParseRange(std::string_view body, std::vector<EtcdKv>* kvs, int64_t* rev, std::string* err) {
  dom::parser p;
  dom::element root;
  if (!Parse(p, body, &root, err)) return false;
  dom::element h;
  *rev = root["header"].get(h) ? 0 : Int(h, "revision");
  dom::array arr;
  if (!root["kvs"].get(arr)) {
    for (dom::element kv : arr) kvs->push_back(ReadKv(kv));
  }
  return true;
}

bool ParseTxn(std::string_view body, bool* succeeded, int64_t* rev, std::vector<EtcdKv>* kvs,
              std::string* err) {
  dom::parser p;
  dom::element root;
  if (!Parse(p, body, &root, err)) return false;
  dom::element h;
  *rev = root["header"].get(h) ? 0 : Int(h, "revision");
  *succeeded = Bool(root, "succeeded");
  dom::array responses;
  if (*succeeded || root["responses"].get(responses)) return true;
  for (dom::element r : responses) {
    dom::element range;
    dom::array arr;
    if (r["response_range"].get(range) || range["kvs"].get(arr)) continue;
    for (dom::element kv : arr) kvs->push_back(ReadKv(kv));
  }
  return true;
}

bool ParseWatch(std::string_view line, std::vector<EtcdKv>* events, bool* created, bool* canceled,
                int64_t* compact_rev, std::string* err) {
  dom::parser p;
  dom::element root;
  if (!Parse(p, line, &root, err)) return false;
  dom::element res;
  if (root["result"].get(res)) {
    if (err) *err = "etcd watch message without a result";
    return false;
  }
  *created = Bool(res, "created");
  *canceled = Bool(res, "canceled");
  *compact_rev = Int(res, "compact_revision");
  dom::array arr;
  if (!res["events"].get(arr)) {
    for (dom::element ev : arr) {
      dom::element kv;
      if (ev["kv"].get(kv)) continue;
      EtcdKv out = ReadKv(kv);
      std::string_view type;
      out.deleted = !ev["type"].get(type) && type == "DELETE";
      events->push_back(std::move(out));
    }
  }
  return true;
}

bool ParseLease(std::string_view body, int64_t* id, int64_t* ttl, std::string* err) {
  dom::parser p;
  dom::element root;
  if (!Parse(p, body, &root, err)) return false;
  dom::element res;
  if (!root["result"].get(res)) root = res;  // keepalive is a stream message
  *id = Int(root, "ID");
  *ttl = Int(root, "TTL");
  return true;
}

}  // namespace beacon::kv::internal
