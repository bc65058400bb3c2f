// Internals of the config module: a small format-neutral document tree that both the JSON and
// the YAML readers produce, typed accessors that turn tree nodes into values with file:line
// error messages, and the semantic passes (agent keys, services/checks).
//
// Contract: single thread (start-up / reload). Nothing here throws; every failure is a Status
// whose message is "<file>:<line>: <key path>: <what was expected>".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/config/config.h"
#include "beacon/core/strings.h"

namespace beacon::config::internal {

struct Member;

// One node of a parsed config document. Lines are 1-based (0 = unknown).
struct Value {
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  Type type = Type::kNull;
  // YAML plain (unquoted) scalar: `s` holds the raw text, so a string key may still accept it.
  bool plain = false;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;
  int line = 0;
  std::vector<Value> items;     // kArray
  std::vector<Member> members;  // kObject, in document order

  bool is_null() const { return type == Type::kNull; }
  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
};

struct Member {
  std::string key;
  Value value;
};

// Parses text into a tree. Errors carry the file name and, where known, the line. A JSON
// document nested kMaxJsonDepth or more containers deep is refused ("nested deeper than ...")
// without recursing that deep (no config or API body comes close; Consul's decoder is Go's).
inline constexpr int kMaxJsonDepth = 256;
Status ParseJsonTree(std::string_view name, std::string_view text, Value* out);
Status ParseYamlTree(std::string_view name, std::string_view text, Value* out);

// Lower-cases and drops '_' and '-', so "service_id", "ServiceID" and "serviceid" compare equal.
using core::NormKey;
// Same comparison without allocating; `canon` must already be normalised.
bool KeyIs(std::string_view key, std::string_view canon);

// Error context: the file name used in messages.
struct Ctx {
  std::string_view file;
  Status Err(const Value& at, std::string_view path, std::string_view what) const;
  Status Err(int line, std::string_view path, std::string_view what) const;
};

// Typed accessors. Each returns an error naming ctx.file, v.line and path when v has the wrong
// type or an out-of-range value.
Status GetString(const Ctx& c, const Value& v, std::string_view path, std::string* out);
Status GetBool(const Ctx& c, const Value& v, std::string_view path, bool* out);
Status GetInt(const Ctx& c, const Value& v, std::string_view path, int64_t lo, int64_t hi,
              int64_t* out);
Status GetDurationMs(const Ctx& c, const Value& v, std::string_view path, uint64_t* out_ms);
Status GetStringList(const Ctx& c, const Value& v, std::string_view path,
                     std::vector<std::string>* out);
// An object of string values; keys are kept as written (not normalised).
Status GetStringMap(const Ctx& c, const Value& v, std::string_view path,
                    std::map<std::string, std::string>* out);
Status ExpectObject(const Ctx& c, const Value& v, std::string_view path);
// A gossip encryption key (encrypt / -encrypt): base64 of 16, 24 or 32 bytes. Empty `why` when
// valid, else the reason as Consul words it.
std::string GossipKeyProblem(std::string_view b64);
// dns_udp_batch_wait / -dns-udp-batch-wait: a Go duration from 0 to 1ms. Empty when valid (and
// *out_ns set), else the reason.
std::string BatchWaitProblem(std::string_view s, uint64_t* out_ns);

// "a.b" / "a[3]" path helpers.
std::string Join(std::string_view path, std::string_view key);
std::string Index(std::string_view path, size_t i);

// Address helpers.
bool IsIp(std::string_view s);
// "ip", "ip:port", "[v6]:port" or bare v6; rejects 0.0.0.0 / :: and bad ports.
bool IsRecursor(std::string_view s, std::string* why);
// Lower-case, ensure a trailing dot. Returns false for empty or malformed names.
bool NormalizeDomain(std::string_view in, std::string* out);
bool NormalizeLogLevel(std::string_view in, std::string* out);
std::vector<std::string> SplitSpaces(std::string_view s);

// Mutable state carried across the documents of one load.
struct LoadState {
  // "file:line: path" of each script/docker check seen; checked once everything is merged.
  std::vector<std::string> script_checks;
  // (service_id, "file:line: path") of node-level checks that name a service.
  std::vector<std::pair<std::string, std::string>> service_refs;
};

// kv_backend / etcd { ... } keys and -kv-backend / -etcd-endpoints (etcd_keys.cpp).
Status GetKvBackend(const Ctx& c, const Value& v, std::string_view path, std::string* out);
Status ApplyEtcd(const Ctx& c, const Value& v, std::string_view path, EtcdConfig* out);
Status ParseEtcdEndpoints(std::string_view list, std::vector<std::string>* out);
// After everything is merged: kv_backend "etcd" needs endpoints.
Status FinalizeKvBackend(const AgentConfig& cfg);

// Applies one parsed document (root object) to cfg.
Status ApplyDocument(const Ctx& c, const Value& root, AgentConfig* cfg, LoadState* st);

// Service / check definitions (service_def.cpp).
Status ParseService(const Ctx& c, const Value& v, std::string_view path, AgentConfig* cfg,
                    LoadState* st);
Status ParseNodeCheck(const Ctx& c, const Value& v, std::string_view path, AgentConfig* cfg,
                      LoadState* st);

// Fails when script checks were defined but neither enable flag is set.
Status CheckScriptPolicy(const AgentConfig& cfg, const LoadState& st);
// Runs once everything is merged: fails when script checks were defined but neither enable
// flag is set, fills service_name of node-level checks that name a service_id, and fails when
// that service does not exist.
Status FinalizeChecks(AgentConfig* cfg, const LoadState& st);

// Applies one command-line override (flag name without dashes, value as given; booleans are
// "true"/"false") to cfg. Errors name the flag.
Status ApplyOverride(std::string_view flag, std::string_view value, AgentConfig* cfg);

// The host name, used as the default node name ("localhost" if it cannot be read).
std::string Hostname();

// HTTP request bodies (api_bodies.cpp, query_body.cpp) are parsed as a document named
// kBodyFile; BodyDecodeError turns a parse error into Consul's "Request decode failed: <key>:
// <what>" without that name and line.
inline constexpr std::string_view kBodyFile = "request body";
std::string StripBodyLocation(const std::string& msg);
Status BodyDecodeError(const Status& st);

}  // namespace beacon::config::internal
