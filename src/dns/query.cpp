// Prepared-query stage (spec 1.6): `<name-or-id>.query[.<dc>].<domain>` resolves the query in the
// snapshot's compiled set and answers it through the service stage (spec 1.4), filtered by the
// query: its own health rule (OnlyPassing, IgnoreCheckIDs), tags with `!tag` exclusions, node and
// service meta, Near "_agent", and its DNS TTL. Allocation-free, except a template with a Regexp
// (std::regex_search; see catalog/prepared_query.h).
#include "ctx.h"

namespace beacon::dns::detail {

void AnswerQuery(Ctx& x, std::string_view name) {
  const catalog::QuerySet* set = x.snap.queries.get();
  const catalog::QueryView* v = nullptr;
  if (set == nullptr || set->Resolve(name, catalog::RenderInput{name, {}}, x.s.qs, &v) !=
                            catalog::QuerySet::Found::kOk) {
    return Nxdomain(x);
  }
  x.query = v;
  x.ecs_scope = true;
  if (v->has_ttl) x.ttl_override = v->ttl_s;
  AnswerService(x, v->service_key, {});
  x.query = nullptr;
}

uint32_t PinAgentNode(const Ctx& x, const catalog::ServiceEntry& e, uint32_t* cand, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    if (e.instances[cand[i]].node->MatchesKey(x.snap.self_node)) {
      const uint32_t t = cand[0];
      cand[0] = cand[i];
      cand[i] = t;
      return 1;
    }
  }
  return 0;
}

}  // namespace beacon::dns::detail
