// Template functions (internal to src/tmpl): Go's builtins, consul-template's Consul functions
// and its text helpers, behind one table looked up at parse time.
//
// Contract: a FuncImpl gets its evaluated arguments (the piped value last) and returns a value
// or an error message (the executor adds "error calling NAME: " and the position). Arity is
// checked by the executor from min/max before the call (max -1: variadic). `and`/`or` are
// evaluated lazily by the executor itself (their impl is never called). Consul functions read
// through Ctx::Get, which records the path as a dependency and marks the render incomplete when
// the data is not there yet; Ctx caches decoded bodies for the length of one render.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "beacon/core/status.h"
#include "beacon/tmpl/template.h"
#include "value.h"

namespace beacon::tmpl {

struct Ctx {
  Ctx(Data& d, const Env& e) : data(d), env(e) {}
  Data& data;
  const Env& env;
  std::vector<std::string> deps;
  std::unordered_set<std::string> seen;
  bool missing = false;
  std::unordered_map<std::string, Value> cache;  // decoded bodies, keyed by path
  std::shared_ptr<void> json_parser;  // one simdjson parser per render (funcs_consul.cpp)

  // Records `path` as a dependency; nullptr (and missing = true) when it is not fetched yet.
  const Fetch* Get(const std::string& path);
};

using FuncImpl = Result<Value> (*)(Ctx& ctx, std::vector<Value>& args);

struct FuncDef {
  std::string_view name;
  int min;
  int max;  // -1: any number
  FuncImpl fn;
};

const FuncDef* FindFunc(std::string_view name);

// The table entry of a function the executor evaluates itself (and, or, executeTemplate):
// never called.
Result<Value> ExecutorEvaluated(Ctx& ctx, std::vector<Value>& args);

// The tables of each group (funcs_*.cpp); FindFunc searches them all.
const std::vector<FuncDef>& BuiltinFuncs();
const std::vector<FuncDef>& TextFuncs();
const std::vector<FuncDef>& ConsulFuncs();
const std::vector<FuncDef>& MoreFuncs();

// Argument helpers: Go's "wrong type for value; expected string; got int".
Result<std::string> ArgString(const Value& v);
Status WrongType(const Value& v, std::string_view want);

// Go's fmt.Sprintf with the verbs templates use (printf.cpp).
std::string Sprintf(std::string_view format, const std::vector<Value>& args, size_t first);

// encoding/json (json.cpp): Marshal (indent "" compact, else MarshalIndent(v, "", indent); with
// escape_html false, an Encoder with SetEscapeHTML(false)) and
// Unmarshal into interface{} values (objects -> map[string]interface{}, numbers -> float64).
std::string ToJson(const Value& v, std::string_view indent, bool escape_html = true);
Result<Value> ParseJson(std::string_view text);

}  // namespace beacon::tmpl
