// Shared pieces of the CLI commands: the command table, Consul's HTTP flags, flag parsing with
// Consul's help/error behaviour, columnised output, base64 and JSON helpers.
#pragma once

#include <signal.h>
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/cli/commands.h"
#include "beacon/config/flagset.h"
#include "beacon/core/base64.h"
#include "beacon/http/client.h"

namespace YAML {
class Node;  // yaml-cpp, kept out of this widely included header
}

namespace beacon::cli {

using Args = std::vector<std::string>;
using RunFn = int (*)(const Args& args, Io& io);

struct Command {
  std::string_view name;  // "kv get" for sub-commands
  std::string_view synopsis;
  RunFn run;
};

// Consul's -http-addr, -token, -datacenter, -stale.
struct HttpFlags {
  std::string addr;
  std::string token;
  std::string datacenter;
  bool stale = false;

  // server=true adds -datacenter and -stale (Consul's ServerFlags).
  void Register(config::FlagSet* fs, bool server);
  http::ClientOptions Options(const Io& io) const;
  // "?dc=..&stale" style query parts, joined with '&' (no leading separator).
  std::string Query() const;
};

// Parses flags. Returns -1 to go on; otherwise the exit code after printing help (stdout, 0) or
// the flag error plus help (stderr, 1).
int ParseFlags(config::FlagSet* fs, const Args& args, std::string_view help, Io& io);
std::string HelpText(std::string_view help, const config::FlagSet& fs);

// columnize.Format: columns padded to their widest cell, glued with two spaces.
std::string Columnize(const std::vector<std::vector<std::string>>& rows);

using core::Base64Encode;
inline bool Base64Decode(std::string_view in, std::string* out) {
  return core::Base64Decode(in, out, nullptr);
}

// Go api's error for a non-2xx answer: "Unexpected response code: 500 (body)".
std::string ApiError(const http::ClientResponse& r);
// Appends a query parameter with '?' or '&'.
void AddQuery(std::string* path, std::string_view kv);

// JSON
std::string JsonQuote(std::string_view s);
// A YAML node as JSON text (yaml_json.cpp). Plain true/false stay booleans; plain scalars that
// read as numbers stay numbers with kNumbersStay, and become strings with kStrings (for readers
// that take every value as text, e.g. perms "0644").
enum class YamlScalars { kNumbersStay, kStrings };
std::string YamlToJson(const YAML::Node& n, YamlScalars scalars);
// Go's json.MarshalIndent(v, "", indent) of a parsed value (key order kept).
std::string JsonPretty(simdjson::dom::element e, std::string_view indent = "    ");
std::string JsonCompact(simdjson::dom::element e);
std::string GetString(simdjson::dom::element obj, std::string_view key);
uint64_t GetUint(simdjson::dom::element obj, std::string_view key);

// Blocks SIGINT/SIGTERM for its lifetime; Pending() says one arrived. Children started with
// StartChild get the original mask back.
class SignalBlock {
 public:
  SignalBlock();
  ~SignalBlock();
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;
  bool Pending() const;

 private:
  sigset_t old_;
};

// Runs `sh -c cmd` in its own process group with the given extra env vars and stdin data
// (nullptr: inherit /dev/null). Returns the pid or -1.
int StartChild(const std::string& cmd, const std::vector<std::string>& env,
               const std::string* stdin_data, bool inherit_stdin = false);
// Sleeps; milliseconds.
void SleepMs(int64_t ms);

// Command entry points.
int Members(const Args& a, Io& io);
int Info(const Args& a, Io& io);
int Maint(const Args& a, Io& io);
int Reload(const Args& a, Io& io);
int Join(const Args& a, Io& io);
int Leave(const Args& a, Io& io);
int ForceLeave(const Args& a, Io& io);
int Rtt(const Args& a, Io& io);  // rtt.cpp
int Keygen(const Args& a, Io& io);
int Monitor(const Args& a, Io& io);
int KvGet(const Args& a, Io& io);
int KvPut(const Args& a, Io& io);
int KvDelete(const Args& a, Io& io);
int KvExport(const Args& a, Io& io);
int KvImport(const Args& a, Io& io);
int CatalogDatacenters(const Args& a, Io& io);
int CatalogNodes(const Args& a, Io& io);
int CatalogServices(const Args& a, Io& io);
int ServicesRegister(const Args& a, Io& io);
int ServicesDeregister(const Args& a, Io& io);
int Watch(const Args& a, Io& io);
int Event(const Args& a, Io& io);
int Keyring(const Args& a, Io& io);
int Lock(const Args& a, Io& io);
int Template(const Args& a, Io& io);
int SnapshotSave(const Args& a, Io& io);
int SnapshotRestore(const Args& a, Io& io);
int SnapshotInspect(const Args& a, Io& io);
int OperatorRaftListPeers(const Args& a, Io& io);
int OperatorRaftRemovePeer(const Args& a, Io& io);

// Pure formatting, exposed for unit tests.
struct Member {
  std::string name, addr;
  int64_t port = 0;
  int64_t status = 0;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string Tag(std::string_view k) const;
};
std::string MemberStatus(int64_t status);
// Consul 1.10 `members` table (servers first, then by name); detailed = Node Address Status Tags.
std::string MembersTable(std::vector<Member> members, bool detailed);
struct KvPair {
  std::string key, value, session;
  uint64_t create_index = 0, modify_index = 0, lock_index = 0, flags = 0;
};
std::string KvDetailed(const KvPair& p, bool base64);
// snapshot inspect's output: Go text/tabwriter columns (minwidth, padding) and Consul's sizes.
std::string TabWrite(const std::vector<std::string>& lines, size_t minwidth, size_t padding);
std::string ByteSize(uint64_t bytes);

}  // namespace beacon::cli

namespace beacon::cli {
// Sends a request; a transport error or a status other than 200 becomes an error Status with
// Go api's text. `allow_404` lets a 404 through (KV reads of missing keys).
Status Call(http::HttpClient& c, std::string_view method, const std::string& path,
            std::string_view body, http::ClientResponse* out, bool allow_404 = false,
            int64_t timeout_ms = 0);

// GETs `path` as Call does and parses a 200 answer with `p` into *out (a dom::element, array
// or object); an answer that is not JSON of that type becomes "invalid JSON answer". With
// `allow_404` a 404 is no error and leaves *out untouched; `resp` (optional) gets the answer.
template <typename T>
Status GetJson(http::HttpClient& c, const std::string& path, simdjson::dom::parser& p, T* out,
               bool allow_404 = false, http::ClientResponse* resp = nullptr) {
  http::ClientResponse r;
  Status st = Call(c, "GET", path, {}, &r, allow_404);
  if (st.ok() && r.status == 200 && p.parse(r.body).get(*out) != simdjson::SUCCESS) {
    st = Status::Error("invalid JSON answer");
  }
  if (resp != nullptr) *resp = std::move(r);
  return st;
}

// Prints "<what>: <message>" to stderr and returns 1, the exit code of a failed request.
int Fail(Io& io, std::string_view what, const Status& st);
// Prints Consul's "Too many arguments (expected N, got M)" to stderr and returns 1.
int TooMany(const config::FlagSet& fs, size_t expected, Io& io);
}  // namespace beacon::cli

namespace beacon::cli {
// Consul's DATA argument: "@file" reads the file, "-" reads stdin, anything else is literal.
Status ReadData(const std::string& data, Io& io, std::string* out);
}  // namespace beacon::cli
