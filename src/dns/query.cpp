// Prepared-query stage (spec 1.6): `<name-or-id>.query[.<dc>].<domain>` resolves the query in the
// snapshot's compiled set and answers it through the service stage (spec 1.4), filtered by the
// query: its own health rule (OnlyPassing, IgnoreCheckIDs), tags with `!tag` exclusions, node and
// service meta, Near "_agent" or "_ip", and its DNS TTL. Allocation-free, except a template with a
// Regexp (std::regex_search; see catalog/prepared_query.h).
#include <netinet/in.h>

#include <cstring>

#include "ctx.h"

namespace beacon::dns {

void SetClient(Scratch& s, const sockaddr* sa) {
  s.client_ip_len = 0;
  if (sa == nullptr) return;
  if (sa->sa_family == AF_INET) {
    std::memcpy(s.client_ip, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    s.client_ip_len = 4;
  } else if (sa->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr.s6_addr;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const bool mapped = std::memcmp(a, kMapped, 12) == 0;
    std::memcpy(s.client_ip, mapped ? a + 12 : a, mapped ? 4 : 16);
    s.client_ip_len = mapped ? 4 : 16;
  }
}

}  // namespace beacon::dns

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

uint32_t PinNearNode(const Ctx& x, const catalog::ServiceEntry& e, uint32_t* cand, uint32_t n) {
  // "_ip": the node registered with the client's address (none known: nothing pinned).
  const catalog::NodeEntry* near = nullptr;
  if (x.query->near_ip) {
    if (x.s.client_ip_len == 0) return 0;
    near = x.snap.ptr_nodes.Find(
        std::string_view(reinterpret_cast<const char*>(x.s.client_ip), x.s.client_ip_len));
    if (near == nullptr) return 0;
  }
  for (uint32_t i = 0; i < n; ++i) {
    const catalog::NodeEntry* node = e.instances[cand[i]].node.get();
    if (near != nullptr ? node == near : node->MatchesKey(x.snap.self_node)) {
      const uint32_t t = cand[0];
      cand[0] = cand[i];
      cand[i] = t;
      return 1;
    }
  }
  return 0;
}

}  // namespace beacon::dns::detail
