// Internal: the etcd v3 JSON gateway's wire forms and Beacon's key layout on etcd (see
// include/beacon/kv/etcd.h for the layout and the entry envelope).
//
// Contract: pure functions, any thread. Parsers return false (with *err when given) on a body
// that is not the expected JSON; etcd's int64 fields arrive as JSON strings and omitted fields
// are zero/false (grpc-gateway leaves defaults out).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/kv/store.h"

namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace beacon::kv::internal {

// Little-endian u64 in Beacon's value envelopes (etcd_codec.cpp, etcd_generation.cpp).
void PutU64(std::string& out, uint64_t v);
uint64_t GetU64(std::string_view s, size_t at);  // s.size() >= at + 8
// An etcd int64 field of a parsed JSON object: a string ("12") or a number; 0 when absent.
int64_t JsonInt64(const simdjson::dom::element& obj, const char* field);

struct EtcdKv {
  std::string key;
  std::string value;
  int64_t create_rev = 0;
  int64_t mod_rev = 0;
  int64_t lease = 0;
  bool deleted = false;  // watch events: a DELETE
};

// Range end covering every key that starts with prefix (etcd's "prefix + 1").
std::string PrefixEnd(std::string_view prefix);
// The writers' request-id slots of one store: prefix + "~w/<store>/" (include/beacon/kv/etcd.h).
inline std::string SlotPrefix(std::string_view prefix, std::string_view store) {
  return std::string(prefix) + "~w/" + std::string(store) + "/";
}
// The end of the range the store's watch follows, [prefix, WatchEnd): every other key of the
// layout starts with a lowercase letter after the prefix, so '~' (0x7e) sorts after them all
// and a commit's slot write sends no watch event to any agent.
inline std::string WatchEnd(std::string_view prefix) {
  return std::string(prefix) + "~";
}

std::string EncodeEntryValue(const Entry& e);
// Fills flags, lock_index, session, value (not key or indexes).
bool DecodeEntryValue(std::string_view raw, Entry* e);
std::string EncodeSession(const Session& s, int64_t lease);
bool DecodeSession(std::string_view json, Session* s, int64_t* lease);

// Requests.
std::string RangeRequest(std::string_view key, std::string_view range_end);
std::string WatchRequest(std::string_view key, std::string_view range_end, int64_t start_rev);
struct TxnWrite {
  std::string key;
  bool del = false;
  std::string value;
  int64_t lease = 0;
};
// compares: key -> required mod_revision; failure ranges: keys read back when a compare fails.
std::string TxnRequest(const std::vector<std::pair<std::string, int64_t>>& compares,
                       const std::vector<TxnWrite>& success,
                       const std::vector<std::string>& failure_reads);

// Responses.
bool ParseRange(std::string_view body, std::vector<EtcdKv>* kvs, int64_t* rev, std::string* err);
// On failure, *kvs gets the kvs of the failure branch's range reads.
bool ParseTxn(std::string_view body, bool* succeeded, int64_t* rev, std::vector<EtcdKv>* kvs,
              std::string* err);
// One watch message; *events get the events; *created/*canceled as etcd says.
bool ParseWatch(std::string_view line, std::vector<EtcdKv>* events, bool* created, bool* canceled,
                int64_t* compact_rev, std::string* err);
bool ParseLease(std::string_view body, int64_t* id, int64_t* ttl, std::string* err);

}  // namespace beacon::kv::internal
