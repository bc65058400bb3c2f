// Generations on etcd and the record encodings of a restore (see etcd_generation.h).
#include "etcd_generation.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>

#include "beacon/core/base64.h"
#include "beacon/core/json_writer.h"
#include "engine.h"

namespace beacon::kv::internal {
namespace {

namespace dom = simdjson::dom;

constexpr size_t kV1Header = 2 + 8 + 8 + 2;
constexpr std::string_view kRestoredTag = ",\"Restored\":[";

int64_t Int(dom::element obj, const char* field) {
  return JsonInt64(obj, field);
}

bool DecodeGeneration(std::string_view json, Generation* g) {
  dom::parser p;
  dom::element root;
  std::string_view sv;
  if (p.parse(json.data(), json.size()).get(root) || !root.is_object()) return false;
  if (root["Gen"].get(sv)) return false;
  g->path = std::string(sv);
  if (!root["Prev"].get(sv)) g->prev = std::string(sv);
  g->prev_base = Int(root, "PrevBase");
  g->snapshot = static_cast<uint64_t>(Int(root, "Index"));
  return true;
}

}  // namespace

std::string EncodeGeneration(const Generation& g) {
  core::JsonWriter w;
  w.BeginObject().Key("Gen").String(g.path).Key("Prev").String(g.prev);
  w.Key("PrevBase").Int(g.prev_base).Key("Index").Uint(g.snapshot).EndObject();
  return w.Take();
}

Generation FindGeneration(const std::vector<EtcdKv>& kvs, const std::string& root) {
  Generation g;
  const std::string pk = PointerKey(root);
  for (const EtcdKv& kv : kvs) {
    if (kv.key == pk && DecodeGeneration(kv.value, &g)) g.pointer_rev = kv.mod_rev;
  }
  if (g.pointer_rev == 0) return Generation{};
  int64_t kv_rev = 0, sessions_rev = 0;
  for (const EtcdKv& kv : kvs) {
    if (kv.key == root + g.prev + "m/kv") kv_rev = kv.mod_rev;
    if (kv.key == root + g.prev + "m/sessions") sessions_rev = kv.mod_rev;
  }
  auto idx = [&](int64_t rev) { return rev == 0 ? 0 : static_cast<uint64_t>(rev + g.prev_base); };
  g.c = std::max(AtLeastOne(idx(kv_rev)), AtLeastOne(idx(sessions_rev)));
  g.r = std::max(g.c, g.snapshot) + 1;
  g.base = static_cast<int64_t>(g.r) - g.pointer_rev;
  return g;
}

std::string EncodeEntryV2(const Entry& e, uint8_t mask) {
  std::string out;
  out.reserve(kV1Header + 17 + e.session.size() + e.value.size());
  out += 'B';
  out += static_cast<char>(2);
  PutU64(out, e.flags);
  PutU64(out, e.lock_index);
  out += static_cast<char>(e.session.size() & 0xff);
  out += static_cast<char>((e.session.size() >> 8) & 0xff);
  out += e.session;
  out += static_cast<char>(mask);
  if (mask & (kPinnedCreate | kRestored)) PutU64(out, e.create_index);
  if (mask & kRestored) PutU64(out, e.modify_index);
  out += e.value;
  return out;
}

bool DecodeEntryAny(std::string_view raw, Entry* e, uint8_t* mask) {
  *mask = 0;
  if (raw.size() >= 2 && raw[0] == 'B' && raw[1] == 1) return DecodeEntryValue(raw, e);
  if (raw.size() < kV1Header + 1 || raw[0] != 'B' || raw[1] != 2) return false;
  e->flags = GetU64(raw, 2);
  e->lock_index = GetU64(raw, 10);
  const size_t slen = static_cast<unsigned char>(raw[18]) |
                      (static_cast<size_t>(static_cast<unsigned char>(raw[19])) << 8);
  size_t at = kV1Header + slen;
  if (raw.size() < at + 1) return false;
  e->session.assign(raw.substr(kV1Header, slen));
  *mask = static_cast<uint8_t>(raw[at++]);
  const size_t need = (*mask & (kPinnedCreate | kRestored) ? 8 : 0) + (*mask & kRestored ? 8 : 0);
  if (raw.size() < at + need) return false;
  if (*mask & (kPinnedCreate | kRestored)) {
    e->create_index = GetU64(raw, at);
    at += 8;
  }
  if (*mask & kRestored) {
    e->modify_index = GetU64(raw, at);
    at += 8;
  }
  e->value.assign(raw.substr(at));
  return true;
}

std::string EncodeRestoredTomb(uint64_t raw) {
  std::string out = "T";
  PutU64(out, raw);
  return out;
}

bool DecodeRestoredTomb(std::string_view value, uint64_t* raw) {
  if (value.size() != 9 || value[0] != 'T') return false;
  *raw = GetU64(value, 1);
  return true;
}

std::string EncodeRestoredSession(const Session& s, int64_t lease) {
  std::string out = EncodeSession(s, lease);
  out.pop_back();  // the closing brace
  out += kRestoredTag;
  out += std::to_string(s.create_index) + "," + std::to_string(s.modify_index) + "]}";
  return out;
}

bool DecodeRestoredSession(std::string_view value, uint64_t* create, uint64_t* modify) {
  // Strings in the JSON are escaped, so the tag can only be the field appended last.
  const size_t at = value.rfind(kRestoredTag);
  if (at == std::string_view::npos || !value.ends_with("]}")) return false;
  const std::string nums(value.substr(at + kRestoredTag.size()));
  char* end = nullptr;
  *create = std::strtoull(nums.c_str(), &end, 10);
  if (*end != ',') return false;
  *modify = std::strtoull(end + 1, &end, 10);
  return *end == ']';
}

std::string LatestRequest(std::string_view prefix) {
  core::JsonWriter w;
  w.BeginObject().Key("key").String(core::Base64Encode(prefix));
  w.Key("range_end").String(core::Base64Encode(WatchEnd(prefix)));
  w.Key("limit").String("1").Key("keys_only").Bool(true);
  w.Key("sort_order").String("DESCEND").Key("sort_target").String("MOD").EndObject();
  return w.Take();
}

bool ParseLatest(std::string_view body, int64_t* rev, uint64_t* term, std::string* err) {
  dom::parser p;
  dom::element root, h, kv;
  if (p.parse(body.data(), body.size()).get(root) || !root.is_object()) {
    *err = "etcd sent a body that is not JSON";
    return false;
  }
  if (root["header"].get(h)) {
    *err = "etcd range answer without a header";
    return false;
  }
  *term = static_cast<uint64_t>(Int(h, "raft_term"));
  *rev = 0;
  dom::array kvs;
  if (!root["kvs"].get(kvs)) {
    for (dom::element e : kvs) *rev = std::max(*rev, Int(e, "mod_revision"));
  }
  return true;
}

std::string RangeAtRequest(std::string_view key, std::string_view end, int64_t rev) {
  core::JsonWriter w;
  w.BeginObject().Key("key").String(core::Base64Encode(key));
  w.Key("range_end").String(core::Base64Encode(end));
  w.Key("revision").String(std::to_string(rev)).EndObject();
  return w.Take();
}

std::string KeysRequest(std::string_view key, std::string_view end, int limit) {
  core::JsonWriter w;
  w.BeginObject().Key("key").String(core::Base64Encode(key));
  w.Key("range_end").String(core::Base64Encode(end));
  w.Key("limit").String(std::to_string(limit)).Key("keys_only").Bool(true).EndObject();
  return w.Take();
}

}  // namespace beacon::kv::internal
