// tmpl::Template: the Go text/template language as consul-template uses it, parsed once into an
// immutable tree and rendered against Consul data the caller supplies.
//
// Contract:
// - Parse reads the whole text (actions between the delimiters, pipelines with `|`, variables,
//   if/else if/else, range (with `$i, $v :=` and else), with/else, `{{-`/`-}}` trimming,
//   comments, literals, parenthesized pipelines, define/template/block, Go's builtins and
//   consul-template's functions: key keyOrDefault keyExists ls tree service services node nodes
//   env printf toJSON toJSONPretty parseJSON toLower toUpper join split contains byTag timestamp
//   replaceAll trimSpace and more of its helpers; no Vault, Nomad, file, plugin or sockaddr).
//   Every problem is reported as "<name>:<line>:<col>: <what>" (1-based line and column of the
//   offending token), Go's wording where there is one: an unclosed action, an unknown function,
//   an `end` without a block, an unexpected EOF. Nothing is ever half-parsed.
// - The engine never does I/O. A function that needs Consul names the API path it reads
//   ("/v1/kv/foo", "/v1/kv/app?recurse", "/v1/health/service/web?passing&tag=rails",
//   "/v1/catalog/services", "/v1/catalog/nodes", "/v1/catalog/node/n1", "/v1/agent/self") and
//   asks Data::Get for it. The runner watches every path in Rendered::deps with blocking queries.
//   Paths are URL-escaped and ready to send; a path already has a '?' when it carries
//   parameters, so the runner appends "&index=..&wait=.." (or "?index=..") to it.
// - Data semantics follow consul-template exactly: `key` on a missing key (404) leaves the render
//   incomplete (consul-template blocks until it exists), keyOrDefault/keyExists read a 404 as
//   absent; ls keeps direct children only, tree drops folder keys, both with Key relative to the
//   prefix; service results are sorted by node then ID with Address falling back to the node's;
//   services are sorted by name with sorted tags; node without a name is the agent's own.
// - Render: complete == false when a path asked for is not fetched yet or consul-template would
//   block on it (`key` on a 404, safeLs/safeTree on an empty prefix); the output is then partial
//   (functions saw empty values, as in consul-template) and must not be written. deps lists every
//   path asked for either way (deduplicated, in first-use order). An execution error (wrong
//   argument type or count, index out of range, range over a string ...) is an error Status
//   "<name>:<line>:<col>: executing "<name>" at <...>: <what>" -- except while the render is
//   incomplete, when errors caused by still-missing data are not reported.
// - Output formatting is Go's (fmt %v of slices/maps/structs, printf verbs with Go's %!d(...)
//   diagnostics, float64 from JSON printed as Go prints it, toJSON with map keys sorted and HTML
//   characters escaped as encoding/json does). Known deviations: a struct pointer nested in a
//   slice or map prints as &{...} (Go prints its address); toLower/toUpper map Latin, Greek and
//   Cyrillic letters (others pass unchanged) and toTitle ASCII only; regexMatch/regexReplaceAll
//   take Go's syntax translated to std::regex (core/go_regexp.h; Unicode classes refused).
// - Template is immutable after Parse: Render is const, reentrant and thread-safe (concurrent
//   renders of one Template from several threads are fine); Data is used by one render at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/core/status.h"

namespace beacon::tmpl {

// What a Consul HTTP GET returned: 200 with the JSON body, or 404 (key absent; empty body).
struct Fetch {
  int status = 0;
  std::string body;
};

class Data {
 public:
  virtual ~Data() = default;
  // nullptr: not fetched yet (the render is then incomplete; the runner fetches and renders
  // again). The pointer must stay valid until Render returns.
  virtual const Fetch* Get(const std::string& path) = 0;
};

// Everything a render reads besides Data. Unset functions read as "no variable" / the epoch.
struct Env {
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::function<std::chrono::system_clock::time_point()> now;
};

struct ParseOptions {
  std::string name;  // file name used in errors
  std::string left_delim = "{{";
  std::string right_delim = "}}";
  // consul-template's function_denylist: a call to one of these fails when it runs, "error
  // calling env: function is disabled" (a template that only mentions one still renders).
  std::vector<std::string> denied_functions;
};

struct Rendered {
  bool complete = false;
  std::string output;
  std::vector<std::string> deps;  // every path asked for, deduped, in first-use order
};

class Template {  // parsed once into a tree; immutable; Render is const and reentrant
 public:
  struct Tree;  // internal (src/tmpl)

  // Error text "<name>:<line>:<col>: <what>" (Go's style).
  static Result<Template> Parse(std::string_view text, const ParseOptions& opt);
  // Execution errors also name line:col.
  Result<Rendered> Render(Data& data, const Env& env) const;

  const std::string& name() const;

 private:
  explicit Template(std::shared_ptr<const Tree> tree) : tree_(std::move(tree)) {}
  std::shared_ptr<const Tree> tree_;
};

}  // namespace beacon::tmpl
