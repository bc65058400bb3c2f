// Prepared queries (spec 1.6, 2.8): the definition a user stores, and the compiled, immutable
// set a Snapshot carries so DNS workers and HTTP handlers execute them without locks.
//
// Contract:
// - PreparedQuery is a plain value (the stored definition, Consul's structs.PreparedQuery minus
//   enterprise fields). The API layer parses and prints it; the catalog never sees JSON.
// - CompileQueries validates and compiles a whole set once (the writer calls it when the set is
//   replaced; the API calls CompileQuery first to report errors with Consul's text). Templates'
//   `${...}` interpolations are parsed into segments, regexps compiled, tags pre-split into
//   required and `!`-excluded and lower-cased. The QuerySet is immutable and shared by every
//   snapshot until the next replacement.
// - Resolve (any thread, no locks): by ID (exact, case-insensitive; templates cannot be resolved
//   by ID, as Consul), then an exact name (case-insensitive), then the template whose name is
//   the longest prefix of the name (an empty-Name template matches every name). A static query
//   resolves to a QueryView built at compile time: no work and no allocation. A
//   name_prefix_match template without Regexp renders into the caller's QueryScratch: no
//   allocation. A template with a Regexp runs std::regex_search, which allocates: the one
//   documented exception to the DNS path's allocation-free rule (README, "Prepared queries").
// - QueryAccepts is the execution filter HTTP and DNS share: health (a critical check drops the
//   instance, a warning one too with OnlyPassing; IgnoreCheckIDs are skipped), required and
//   excluded tags (case-insensitive), NodeMeta and ServiceMeta (exact). No allocation.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::catalog {

struct Instance;

struct QueryFailoverTarget {
  std::string peer, datacenter, partition, ns;
  bool operator==(const QueryFailoverTarget&) const = default;
};

struct PreparedQuery {
  std::string id;
  std::string name;
  std::string session;
  std::string token;
  // Template.
  std::string template_type;  // "" (a static query) or "name_prefix_match"
  std::string template_regexp;
  bool remove_empty_tags = false;
  // Service.
  std::string service;
  int64_t failover_nearest_n = 0;
  std::vector<std::string> failover_datacenters;
  std::vector<QueryFailoverTarget> failover_targets;
  bool only_passing = false;
  std::vector<std::string> ignore_check_ids;
  std::string near;
  std::vector<std::string> tags;
  std::map<std::string, std::string> node_meta;
  std::map<std::string, std::string> service_meta;
  std::string peer;
  bool connect = false;
  // DNS.
  std::string dns_ttl;  // Go duration text, "" = the agent's service_ttl
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  bool is_template() const { return !template_type.empty(); }
  bool operator==(const PreparedQuery&) const = default;
};

// The variables a template is rendered with.
struct RenderInput {
  std::string_view name;     // the name looked up (DNS: lower-case; HTTP: as given)
  std::string_view segment;  // ${agent.segment} ("" in CE)
};

struct MetaPair {
  std::string_view key, value;
};

class CompiledQuery;

// The executable form of one (rendered) query. Views point into the CompiledQuery (static) or
// into the QueryScratch it was rendered into; valid while both live.
struct QueryView {
  const CompiledQuery* query = nullptr;
  std::string_view service;                // as rendered
  std::string_view service_key;            // lower-case: the catalog key
  const std::string_view* must = nullptr;  // required tags, lower-case
  uint32_t n_must = 0;
  const std::string_view* must_not = nullptr;  // excluded tags ("!tag"), lower-case
  uint32_t n_not = 0;
  const MetaPair* node_meta = nullptr;
  uint32_t n_node_meta = 0;
  const MetaPair* service_meta = nullptr;
  uint32_t n_service_meta = 0;
  const std::string_view* ignore = nullptr;  // IgnoreCheckIDs
  uint32_t n_ignore = 0;
  bool only_passing = false;
  bool near_agent = false;  // Near == "_agent"
  bool near_ip = false;     // Near == "_ip": the node holding the client's address
  // No tag, meta or IgnoreCheckIDs filter: the health rule alone decides (a caller that already
  // picked instances by health may skip QueryAccepts).
  bool health_only = false;
  bool has_ttl = false;
  uint32_t ttl_s = 0;  // DNS.TTL in seconds when has_ttl
};

// Where a template renders. One per thread (a DNS worker's Scratch holds one).
struct QueryScratch {
  static constexpr uint32_t kMaxItems = 64;  // per list; CompileQuery refuses more
  static constexpr size_t kBuf = 4096;
  char buf[kBuf];
  size_t used = 0;
  std::string_view must[kMaxItems];
  std::string_view must_not[kMaxItems];
  std::string_view ignore[kMaxItems];
  MetaPair node_meta[kMaxItems];
  MetaPair service_meta[kMaxItems];
  QueryView view;
};

class QuerySet;
using QuerySetPtr = std::shared_ptr<const QuerySet>;

class QuerySet {
 public:
  QuerySet();
  ~QuerySet();
  enum class Found : uint8_t { kOk, kNotFound, kTemplateById, kTooLarge };
  // See the contract. *out is set when kOk.
  Found Resolve(std::string_view id_or_name, const RenderInput& in, QueryScratch& scratch,
                const QueryView** out) const;
  // The stored definition a Resolve picked (for explain), or null.
  const std::vector<std::unique_ptr<const CompiledQuery>>& queries() const { return queries_; }
  bool empty() const { return queries_.empty(); }

 private:
  friend QuerySetPtr CompileQueries(const std::vector<PreparedQuery>& defs, std::string* err);
  std::vector<std::unique_ptr<const CompiledQuery>> queries_;
  // Indexes into queries_, sorted by key (lower-case id / name / template prefix).
  std::vector<std::pair<std::string, uint32_t>> by_id_, by_name_, templates_;
};

// Checks one definition the way Consul's parseQuery and template compiler do; "" when fine,
// otherwise Consul's message ("Must provide a Service name to query", "Bad DNS TTL ...",
// "Bad Template.Type ...", "Bad Regexp: ...", "Bad format ... in Service.Tags[0]: ...").
std::string CheckQuery(const PreparedQuery& q);
// Compiles the set. A definition that does not compile is skipped and named in *err (the API
// checks each one first, so this only happens with a hand-edited file).
QuerySetPtr CompileQueries(const std::vector<PreparedQuery>& defs, std::string* err = nullptr);

// The definition with every interpolation rendered (explain): Service, Tags (empty ones dropped
// with RemoveEmptyTags), Near, IgnoreCheckIDs, NodeMeta/ServiceMeta values, Failover
// datacenters. Allocates (HTTP only).
PreparedQuery RenderDefinition(const CompiledQuery& q, const RenderInput& in);
const PreparedQuery& DefinitionOf(const CompiledQuery& q);

// The shared execution filter (see the contract).
bool QueryAccepts(const QueryView& v, const Instance& in);

}  // namespace beacon::catalog
