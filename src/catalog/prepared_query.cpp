// Prepared queries: checking, compiling, resolving and rendering. See prepared_query.h.
#include "beacon/catalog/prepared_query.h"
#include "beacon/core/go_regexp.h"

#include <algorithm>
#include <cstring>
// gcc 12 at -O1 with ASan reports a false -Wmaybe-uninitialized inside libstdc++'s regex
// compiler (std::function moves in regex_automaton.h); nothing in this file is affected.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>

#include "beacon/core/duration.h"
#include "beacon/core/strings.h"
#include "prepared_query_internal.h"

namespace beacon::catalog {

namespace detail {

// Parses one string field of a template (HIL's `${...}` subset Consul's templates use).
bool ParseInterp(std::string_view s, Interp* out, std::string* err) {
  out->segs.clear();
  std::string lit;
  size_t i = 0;
  auto flush = [&] {
    if (!lit.empty()) out->segs.push_back(Seg{Seg::kLit, std::move(lit), 0});
    lit.clear();
  };
  while (i < s.size()) {
    if (s.compare(i, 3, "$${") == 0) {  // HIL's escape for a literal "${"
      lit += "${";
      i += 3;
      continue;
    }
    if (s.compare(i, 2, "${") != 0) {
      lit += s[i++];
      continue;
    }
    const size_t end = s.find('}', i + 2);
    if (end == std::string_view::npos) {
      *err = "expected expression end";
      return false;
    }
    std::string_view e = s.substr(i + 2, end - i - 2);
    while (!e.empty() && e.front() == ' ') e.remove_prefix(1);
    while (!e.empty() && e.back() == ' ') e.remove_suffix(1);
    flush();
    Seg seg;
    if (e == "name.full") {
      seg.kind = Seg::kFull;
    } else if (e == "name.prefix") {
      seg.kind = Seg::kPrefix;
    } else if (e == "name.suffix") {
      seg.kind = Seg::kSuffix;
    } else if (e == "agent.segment") {
      seg.kind = Seg::kSegment;
    } else if (e.substr(0, 6) == "match(") {
      if (e.size() < 8 || e.back() != ')') {
        *err = "match: expected ')'";
        return false;
      }
      std::string_view n = e.substr(6, e.size() - 7);
      while (!n.empty() && n.front() == ' ') n.remove_prefix(1);
      while (!n.empty() && n.back() == ' ') n.remove_suffix(1);
      if (n.empty() || n.size() > 4 ||
          !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        *err = "match: argument must be an integer";
        return false;
      }
      seg.kind = Seg::kMatch;
      seg.n = std::stoi(std::string(n));
    } else {
      *err = "unknown variable accessed: " + std::string(e);
      return false;
    }
    out->segs.push_back(std::move(seg));
    i = end + 1;
  }
  flush();
  return true;
}

}  // namespace detail

using detail::Interp;

namespace {

bool MetaKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// structs.ValidateNodeMetadata with the consul- prefix allowed (prepared query filters).
std::string CheckNodeMeta(const std::map<std::string, std::string>& meta) {
  if (meta.size() > 64) return "Node metadata cannot contain more than 64 key/value pairs";
  for (const auto& [k, v] : meta) {
    std::string why;
    if (k.empty()) {
      why = "Key cannot be blank";
    } else if (k.size() > 128) {
      why = "Key is too long (limit: 128 characters)";
    } else if (v.size() > 512) {
      why = "Value is too long (limit: 512 characters)";
    } else if (!std::all_of(k.begin(), k.end(), MetaKeyChar)) {
      why = "Key contains invalid characters";
    }
    if (!why.empty()) {
      std::string msg = "Couldn't load metadata pair ('";
      msg += k;
      msg += "', '";
      msg += v;
      msg += "'): ";
      msg += why;
      return msg;
    }
  }
  return "";
}

// Every templated string field of Service, with Consul's path, in one walk.
template <typename Fn>
bool WalkFields(const PreparedQuery& q, Fn&& fn) {
  if (!fn(".Service", q.service)) return false;
  for (size_t i = 0; i < q.failover_datacenters.size(); ++i) {
    if (!fn(".Failover.Datacenters[" + std::to_string(i) + "]", q.failover_datacenters[i])) {
      return false;
    }
  }
  for (size_t i = 0; i < q.ignore_check_ids.size(); ++i) {
    if (!fn(".IgnoreCheckIDs[" + std::to_string(i) + "]", q.ignore_check_ids[i])) return false;
  }
  if (!fn(".Near", q.near)) return false;
  for (size_t i = 0; i < q.tags.size(); ++i) {
    if (!fn(".Tags[" + std::to_string(i) + "]", q.tags[i])) return false;
  }
  for (const auto& [k, v] : q.node_meta) {
    if (!fn(".NodeMeta[" + k + "]", v)) return false;
  }
  for (const auto& [k, v] : q.service_meta) {
    if (!fn(".ServiceMeta[" + k + "]", v)) return false;
  }
  return true;
}

bool ParseTtl(const std::string& text, uint32_t* ttl_s, std::string* err) {
  int64_t ns = 0;
  std::string why;
  if (!core::ParseGoDuration(text, &ns, &why)) {
    *err = "Bad DNS TTL '" + text + "': " + why;
    return false;
  }
  if (ns < 0) {
    *err = "DNS TTL '" + std::to_string(ns) + "', must be >=0";
    return false;
  }
  *ttl_s = static_cast<uint32_t>(std::min<int64_t>(ns / 1000000000, UINT32_MAX));
  return true;
}

std::string_view Keep(CompiledQuery& c, std::string s) {
  c.store.push_back(std::make_unique<std::string>(std::move(s)));
  return *c.store.back();
}

// The QueryView of a static query, its strings owned by the CompiledQuery.
void BuildStaticView(CompiledQuery& c) {
  const PreparedQuery& q = c.def;
  QueryView& v = c.view;
  v.query = &c;
  v.service = Keep(c, q.service);
  v.service_key = Keep(c, core::Lower(q.service));
  for (const std::string& t : q.tags) {
    const std::string low = core::Lower(t);
    if (!low.empty() && low[0] == '!') {
      c.must_not.push_back(Keep(c, low.substr(1)));
    } else {
      c.must.push_back(Keep(c, low));
    }
  }
  for (const std::string& id : q.ignore_check_ids) c.ignore.push_back(Keep(c, id));
  for (const auto& [k, val] : q.node_meta) c.node_meta.push_back({Keep(c, k), Keep(c, val)});
  for (const auto& [k, val] : q.service_meta) c.service_meta.push_back({Keep(c, k), Keep(c, val)});
  v.must = c.must.data();
  v.n_must = static_cast<uint32_t>(c.must.size());
  v.must_not = c.must_not.data();
  v.n_not = static_cast<uint32_t>(c.must_not.size());
  v.ignore = c.ignore.data();
  v.n_ignore = static_cast<uint32_t>(c.ignore.size());
  v.node_meta = c.node_meta.data();
  v.n_node_meta = static_cast<uint32_t>(c.node_meta.size());
  v.service_meta = c.service_meta.data();
  v.n_service_meta = static_cast<uint32_t>(c.service_meta.size());
  v.near_agent = q.near == "_agent";
  v.near_ip = q.near == "_ip";
  v.health_only = v.n_must == 0 && v.n_not == 0 && v.n_ignore == 0 && v.n_node_meta == 0 &&
                  v.n_service_meta == 0;
}

// Compiles one definition (already checked, or not: errors come back in *err).
std::unique_ptr<CompiledQuery> Compile(const PreparedQuery& q, std::string* err) {
  auto c = std::make_unique<CompiledQuery>();
  c->def = q;
  c->id_lower = core::Lower(q.id);
  c->name_lower = core::Lower(q.name);
  c->view.only_passing = q.only_passing;
  if (!q.dns_ttl.empty()) {
    if (!ParseTtl(q.dns_ttl, &c->view.ttl_s, err)) return nullptr;
    c->view.has_ttl = true;
  }
  if (!q.is_template()) {
    BuildStaticView(*c);
    return c;
  }
  if (q.template_type != "name_prefix_match") {
    *err = "Bad Template.Type '" + q.template_type + "'";
    return nullptr;
  }
  if (!q.template_regexp.empty()) {
    // Go's syntax, as Consul reads it ((?i), (?P<name>...), \A, \z: core/go_regexp.h).
    auto re = core::GoRegexp(q.template_regexp);
    if (!re.ok()) {
      *err = "Bad Regexp: " + re.status().message();
      return nullptr;
    }
    c->re = std::make_unique<std::regex>(std::move(re.value()));
  }
  auto parse = [&](const std::string& path, const std::string& text, Interp* out) {
    std::string why;
    if (ParseInterp(text, out, &why)) return true;
    const bool eval = why.rfind("unknown variable", 0) == 0;
    *err = std::string(eval ? "Bad evaluation for '" : "Bad format '") + text + "' in Service" +
           path + ": " + why;
    return false;
  };
  bool ok = parse(".Service", q.service, &c->t_service) && parse(".Near", q.near, &c->t_near);
  c->t_tags.resize(q.tags.size());
  c->t_ignore.resize(q.ignore_check_ids.size());
  for (size_t i = 0; ok && i < q.tags.size(); ++i) {
    ok = parse(".Tags[" + std::to_string(i) + "]", q.tags[i], &c->t_tags[i]);
  }
  for (size_t i = 0; ok && i < q.ignore_check_ids.size(); ++i) {
    ok =
        parse(".IgnoreCheckIDs[" + std::to_string(i) + "]", q.ignore_check_ids[i], &c->t_ignore[i]);
  }
  for (const auto& [k, v] : q.node_meta) {
    if (!ok) break;
    c->t_node_meta.emplace_back(k, Interp{});
    ok = parse(".NodeMeta[" + k + "]", v, &c->t_node_meta.back().second);
  }
  for (const auto& [k, v] : q.service_meta) {
    if (!ok) break;
    c->t_service_meta.emplace_back(k, Interp{});
    ok = parse(".ServiceMeta[" + k + "]", v, &c->t_service_meta.back().second);
  }
  for (size_t i = 0; ok && i < q.failover_datacenters.size(); ++i) {
    Interp unused;
    ok = parse(".Failover.Datacenters[" + std::to_string(i) + "]", q.failover_datacenters[i],
               &unused);
  }
  if (!ok) return nullptr;
  return c;
}

template <typename V>
uint32_t FindSorted(const V& v, std::string_view key) {
  auto it = std::lower_bound(v.begin(), v.end(), key,
                             [](const auto& e, std::string_view k) { return e.first < k; });
  return it != v.end() && it->first == key ? it->second : UINT32_MAX;
}

}  // namespace

CompiledQuery::~CompiledQuery() = default;
CompiledQuery::CompiledQuery() = default;
QuerySet::QuerySet() = default;
QuerySet::~QuerySet() = default;

std::string CheckQuery(const PreparedQuery& q) {
  std::string why;
  if (q.name.empty() && q.template_type.empty() && q.session.empty()) {
    why = "Must be bound to a session";
  } else if (q.token == "<hidden>") {
    why =
        "Bad Token '<hidden>', it looks like a query definition with a redacted token was "
        "submitted";
  } else if (q.service.empty()) {
    why = "Must provide a Service name to query";
  } else if (q.failover_nearest_n < 0) {
    why = "Bad NearestN '" + std::to_string(q.failover_nearest_n) + "', must be >= 0";
  } else if (std::string m = CheckNodeMeta(q.node_meta); !m.empty()) {
    why = std::move(m);
  } else if (uint32_t ttl = 0; !q.dns_ttl.empty() && !ParseTtl(q.dns_ttl, &ttl, &why)) {
  }
  if (!why.empty()) return "Invalid prepared query: " + why;
  constexpr size_t kMax = QueryScratch::kMaxItems;
  auto limit = [](size_t n, const char* what) {
    return n > kMax ? std::string("Invalid prepared query: Beacon executes at most 64 ") + what
                    : std::string();
  };
  for (const std::string& m :
       {limit(q.tags.size(), "Tags"), limit(q.ignore_check_ids.size(), "IgnoreCheckIDs"),
        limit(q.service_meta.size(), "ServiceMeta entries")}) {
    if (!m.empty()) return m;
  }
  if (q.is_template()) {
    std::string err;
    if (Compile(q, &err) == nullptr) return "failed compiling template: " + err;
  }
  return "";
}

QuerySetPtr CompileQueries(const std::vector<PreparedQuery>& defs, std::string* err) {
  auto set = std::make_shared<QuerySet>();
  for (const PreparedQuery& q : defs) {
    std::string why;
    std::unique_ptr<CompiledQuery> c = Compile(q, &why);
    if (c == nullptr) {
      if (err != nullptr) err->append(q.id).append(": ").append(why).append("; ");
      continue;
    }
    const auto at = static_cast<uint32_t>(set->queries_.size());
    set->by_id_.emplace_back(c->id_lower, at);
    if (!c->name_lower.empty()) set->by_name_.emplace_back(c->name_lower, at);
    if (c->def.is_template()) set->templates_.emplace_back(c->name_lower, at);
    set->queries_.push_back(std::move(c));
  }
  for (auto* v : {&set->by_id_, &set->by_name_, &set->templates_}) std::sort(v->begin(), v->end());
  return set;
}

QuerySet::Found QuerySet::Resolve(std::string_view id_or_name, const RenderInput& in,
                                  QueryScratch& scratch, const QueryView** out) const {
  if (id_or_name.empty() || id_or_name.size() > 255) return Found::kNotFound;
  char low[256];
  for (size_t i = 0; i < id_or_name.size(); ++i) low[i] = core::LowerChar(id_or_name[i]);
  const std::string_view key(low, id_or_name.size());
  // IDs are UUIDs (36 characters): other names skip the ID index, as Consul's isUUID check.
  uint32_t at = key.size() == 36 ? FindSorted(by_id_, key) : UINT32_MAX;
  if (at != UINT32_MAX) {
    if (queries_[at]->def.is_template()) return Found::kTemplateById;
  } else {
    at = FindSorted(by_name_, key);
  }
  if (at == UINT32_MAX) {
    // The longest template name that prefixes the name ("" prefixes every name).
    size_t best = 0;
    for (const auto& [prefix, idx] : templates_) {
      if ((at == UINT32_MAX || prefix.size() > best) && key.substr(0, prefix.size()) == prefix) {
        at = idx;
        best = prefix.size();
      }
    }
  }
  if (at == UINT32_MAX) return Found::kNotFound;
  const CompiledQuery& c = *queries_[at];
  if (!c.def.is_template()) {
    *out = &c.view;
    return Found::kOk;
  }
  if (!detail::RenderView(c, in, scratch)) return Found::kTooLarge;
  *out = &scratch.view;
  return Found::kOk;
}

const PreparedQuery& DefinitionOf(const CompiledQuery& q) {
  return q.def;
}

}  // namespace beacon::catalog
