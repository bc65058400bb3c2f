// Prepared queries: rendering templates and the execution filter. See prepared_query.h.
#include <cstring>

#include "beacon/catalog/entries.h"
#include "beacon/core/strings.h"
#include "prepared_query_internal.h"

namespace beacon::catalog {

namespace {

using detail::Interp;
using detail::Seg;

struct Vars {
  std::string_view full, prefix, suffix, segment;
  const std::cmatch* m = nullptr;  // the Regexp's match, when there is one
};

Vars VarsFor(const CompiledQuery& c, const RenderInput& in, std::cmatch* m) {
  Vars v;
  v.full = in.name;
  v.prefix = c.def.name;
  v.segment = in.segment;
  // name.suffix: the name without the template's prefix (compared ignoring case, as lookups are).
  v.suffix = in.name;
  if (in.name.size() >= c.name_lower.size() &&
      core::EqualsLower(in.name.substr(0, c.name_lower.size()), c.name_lower)) {
    v.suffix = in.name.substr(c.name_lower.size());
  }
  // std::regex_search allocates: only templates with a Regexp get here (see the header).
  if (c.re != nullptr && std::regex_search(in.name.begin(), in.name.end(), *m, *c.re)) v.m = m;
  return v;
}

std::string_view VarOf(const Seg& s, const Vars& v) {
  switch (s.kind) {
    case Seg::kLit:
      return s.lit;
    case Seg::kFull:
      return v.full;
    case Seg::kPrefix:
      return v.prefix;
    case Seg::kSuffix:
      return v.suffix;
    case Seg::kSegment:
      return v.segment;
    case Seg::kMatch:
      if (v.m == nullptr || s.n >= static_cast<int>(v.m->size()) || !(*v.m)[s.n].matched) {
        return {};
      }
      return std::string_view((*v.m)[s.n].first, static_cast<size_t>((*v.m)[s.n].length()));
  }
  return {};
}

// Appends the rendering of f to the scratch buffer (lower-cased when asked).
bool Render(const Interp& f, const Vars& v, QueryScratch& s, bool lower, std::string_view* out) {
  const size_t start = s.used;
  for (const Seg& seg : f.segs) {
    const std::string_view part = VarOf(seg, v);
    if (s.used + part.size() > QueryScratch::kBuf) return false;
    for (char ch : part) s.buf[s.used++] = lower ? core::LowerChar(ch) : ch;
  }
  *out = std::string_view(s.buf + start, s.used - start);
  return true;
}

std::string RenderString(const Interp& f, const Vars& v) {
  std::string out;
  for (const Seg& seg : f.segs) out.append(VarOf(seg, v));
  return out;
}

bool Ignored(const QueryView& v, std::string_view id) {
  for (uint32_t i = 0; i < v.n_ignore; ++i) {
    if (v.ignore[i] == id) return true;
  }
  return false;
}

// Consul's FilterIgnore for one check list.
bool ChecksPass(const QueryView& v, const std::vector<Check>& checks) {
  for (const Check& c : checks) {
    if (Ignored(v, c.id)) continue;
    if (c.status == Health::kCritical || c.status == Health::kMaintenance) return false;
    if (v.only_passing && c.status != Health::kPassing) return false;
  }
  return true;
}

bool HasTag(const Instance& in, std::string_view tag) {
  for (const std::string& t : in.tags_lower()) {
    if (t == tag) return true;
  }
  return false;
}

bool MetaMatches(const MetaPair* want, uint32_t n, const std::map<std::string, std::string>* have) {
  for (uint32_t i = 0; i < n; ++i) {
    if (have == nullptr) return false;
    bool ok = false;
    for (const auto& [k, val] : *have) {  // small maps; no key string built
      if (k == want[i].key) {
        ok = val == want[i].value;
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace

namespace detail {

bool RenderView(const CompiledQuery& c, const RenderInput& in, QueryScratch& s) {
  std::cmatch m;  // empty: allocates nothing unless the Regexp runs
  const Vars v = VarsFor(c, in, &m);
  s.used = 0;
  QueryView& out = s.view;
  out = QueryView{};
  out.query = &c;
  out.only_passing = c.view.only_passing;
  out.has_ttl = c.view.has_ttl;
  out.ttl_s = c.view.ttl_s;
  if (!Render(c.t_service, v, s, false, &out.service)) return false;
  if (!Render(c.t_service, v, s, true, &out.service_key)) return false;
  std::string_view near;
  if (!Render(c.t_near, v, s, false, &near)) return false;
  out.near_agent = near == "_agent";
  out.near_ip = near == "_ip";
  uint32_t nm = 0, nn = 0;
  for (const Interp& t : c.t_tags) {
    std::string_view tag;
    if (!Render(t, v, s, true, &tag)) return false;
    if (tag.empty() && c.def.remove_empty_tags) continue;
    if (!tag.empty() && tag[0] == '!') {
      s.must_not[nn++] = tag.substr(1);
    } else {
      s.must[nm++] = tag;
    }
  }
  out.must = s.must;
  out.n_must = nm;
  out.must_not = s.must_not;
  out.n_not = nn;
  for (const Interp& t : c.t_ignore) {
    if (!Render(t, v, s, false, &s.ignore[out.n_ignore++])) return false;
  }
  out.ignore = s.ignore;
  auto meta = [&](const auto& fields, MetaPair* dst, uint32_t* n) {
    for (const auto& [k, f] : fields) {
      MetaPair& p = dst[(*n)++];
      p.key = k;
      if (!Render(f, v, s, false, &p.value)) return false;
    }
    return true;
  };
  if (!meta(c.t_node_meta, s.node_meta, &out.n_node_meta)) return false;
  if (!meta(c.t_service_meta, s.service_meta, &out.n_service_meta)) return false;
  out.node_meta = s.node_meta;
  out.service_meta = s.service_meta;
  out.health_only = out.n_must == 0 && out.n_not == 0 && out.n_ignore == 0 &&
                    out.n_node_meta == 0 && out.n_service_meta == 0;
  return true;
}

}  // namespace detail

PreparedQuery RenderDefinition(const CompiledQuery& c, const RenderInput& in) {
  PreparedQuery q = c.def;
  if (!q.is_template()) return q;
  std::cmatch m;
  const Vars v = VarsFor(c, in, &m);
  q.service = RenderString(c.t_service, v);
  q.near = RenderString(c.t_near, v);
  q.tags.clear();
  for (const Interp& t : c.t_tags) {
    std::string tag = RenderString(t, v);
    if (!tag.empty() || !q.remove_empty_tags) q.tags.push_back(std::move(tag));
  }
  for (size_t i = 0; i < c.t_ignore.size(); ++i) {
    q.ignore_check_ids[i] = RenderString(c.t_ignore[i], v);
  }
  for (const auto& [k, f] : c.t_node_meta) q.node_meta[k] = RenderString(f, v);
  for (const auto& [k, f] : c.t_service_meta) q.service_meta[k] = RenderString(f, v);
  for (std::string& dc : q.failover_datacenters) {
    Interp f;
    std::string err;
    if (detail::ParseInterp(dc, &f, &err)) dc = RenderString(f, v);
  }
  return q;
}

bool QueryAccepts(const QueryView& v, const Instance& in) {
  if (v.n_ignore == 0) {
    if (in.health == Health::kCritical || in.health == Health::kMaintenance) return false;
    if (v.only_passing && in.health != Health::kPassing) return false;
  } else if (!ChecksPass(v, in.node->checks()) || !ChecksPass(v, in.checks())) {
    return false;
  }
  for (uint32_t i = 0; i < v.n_must; ++i) {
    if (!HasTag(in, v.must[i])) return false;
  }
  for (uint32_t i = 0; i < v.n_not; ++i) {
    if (HasTag(in, v.must_not[i])) return false;
  }
  if (v.n_node_meta != 0 && !MetaMatches(v.node_meta, v.n_node_meta,
                                         in.node->extras ? &in.node->extras->meta : nullptr)) {
    return false;
  }
  if (v.n_service_meta != 0 &&
      !MetaMatches(v.service_meta, v.n_service_meta, in.extras ? &in.extras->meta : nullptr)) {
    return false;
  }
  return true;
}

}  // namespace beacon::catalog
