// Internals of prepared queries (prepared_query.cpp, prepared_query_exec.cpp): the compiled form
// of one definition. Immutable once built; shared by every snapshot holding its QuerySet.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "beacon/catalog/prepared_query.h"

namespace beacon::catalog {

namespace detail {

// One piece of a templated string: literal text or a variable.
struct Seg {
  enum Kind : uint8_t { kLit, kFull, kPrefix, kSuffix, kSegment, kMatch };
  Kind kind = kLit;
  std::string lit;
  int n = 0;  // kMatch: the group
};
struct Interp {
  std::vector<Seg> segs;
};

// HIL's `${...}` subset: name.full, name.prefix, name.suffix, agent.segment, match(N); `$${` is
// a literal "${". False with *err (HIL's wording where it has one).
bool ParseInterp(std::string_view s, Interp* out, std::string* err);

}  // namespace detail

class CompiledQuery {
 public:
  CompiledQuery();
  ~CompiledQuery();

  PreparedQuery def;
  std::string id_lower, name_lower;
  // Static queries: the view, its strings owned here (stable addresses).
  QueryView view;  // templates: only only_passing / has_ttl / ttl_s are meaningful
  std::vector<std::unique_ptr<std::string>> store;
  std::vector<std::string_view> must, must_not, ignore;
  std::vector<MetaPair> node_meta, service_meta;
  // Templates.
  std::unique_ptr<std::regex> re;  // null without Regexp
  detail::Interp t_service, t_near;
  std::vector<detail::Interp> t_tags, t_ignore;
  std::vector<std::pair<std::string, detail::Interp>> t_node_meta, t_service_meta;
};

namespace detail {
// Renders a template's executable view into scratch.view. False when it does not fit.
bool RenderView(const CompiledQuery& c, const RenderInput& in, QueryScratch& scratch);
}  // namespace detail

}  // namespace beacon::catalog
