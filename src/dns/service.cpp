// Service stage (spec 1.4, 1.13): filter, shuffle, dedup, build, trim.
#include <algorithm>
#include <cstring>

#include "ctx.h"

namespace beacon::dns::detail {
namespace {

using catalog::AddrChoice;
using catalog::Instance;

bool HasTag(const Instance& in, std::string_view tag) {
  for (const auto& t : in.tags_lower()) {
    if (t == tag) return true;
  }
  return false;
}

bool SameIp(const AddrChoice& a, const AddrChoice& b) {
  return a.kind == b.kind && std::memcmp(a.ip.data(), b.ip.data(), 16) == 0;
}

// 8 or 32 lower-case hex characters as one wire label.
size_t AddrLabel(const AddrChoice& a, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t n = a.kind == AddrChoice::kV4 ? 4 : 16;
  out[0] = static_cast<char>(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out[1 + 2 * i] = kHex[a.ip[i] >> 4];
    out[2 + 2 * i] = kHex[a.ip[i] & 15];
  }
  return 1 + 2 * n;
}

// The hostname behind a kHost choice, as registered.
std::string_view HostOf(const Pick& p) {
  return p.addr->from_service ? p.inst->address() : p.inst->node->host();
}

// Writes the SRV target name of a pick.
void TargetName(Ctx& x, const Pick& p) {
  const AddrChoice& a = *p.addr;
  if (a.kind == AddrChoice::kHost) {
    char wire[256];
    x.w.Name({std::string_view(wire, HostToWire(HostOf(p), wire))});
  } else if (a.from_service) {
    char label[40];
    x.w.Name(
        {std::string_view(label, AddrLabel(a, label)), "\4addr", x.snap.dc_wire, x.resp_domain});
  } else {
    x.w.Name({p.inst->node->name_wire, "\4node", x.snap.dc_wire, x.resp_domain});
  }
}

// Writes answers [0,k) and their additional records. Returns the size to compare with the budget.
size_t WriteSrv(Ctx& x, const MsgWriter::Mark& start, uint32_t k, uint32_t ttl, bool raw_size) {
  x.w.Rewind(start);
  const Pick* picks = x.picks;
  for (uint32_t i = 0; i < k; ++i) {
    Owner(x);
    size_t at = x.w.RrHeader(kTypeSRV, kClassIN, ttl);
    x.w.U16(1);
    x.w.U16(static_cast<uint16_t>(picks[i].inst->weight));
    x.w.U16(picks[i].inst->port);
    TargetName(x, picks[i]);
    x.w.RrEnd(at);
  }
  uint16_t ar = 0;
  const bool txt = x.snap.dns.enable_additional_node_meta_txt;
  for (uint32_t i = 0; i < k; ++i) {
    const Pick& p = picks[i];
    bool seen_target = false, seen_node = false;
    for (uint32_t j = 0; j < i; ++j) {
      const bool same_node = picks[j].inst->node == p.inst->node;
      seen_node |= same_node;
      seen_target |= picks[j].addr->from_service == p.addr->from_service &&
                     (p.addr->from_service ? SameIp(*picks[j].addr, *p.addr) : same_node);
    }
    const AddrChoice& a = *p.addr;
    if (!seen_target && a.kind == AddrChoice::kHost) {
      bool seen_host = false;
      for (uint32_t j = 0; j < i; ++j) {
        seen_host |= picks[j].addr->kind == AddrChoice::kHost && HostOf(picks[j]) == HostOf(p);
      }
      // The target's records, TTL rewritten to the service's; at most 5 without EDNS.
      if (!seen_host)
        ar = static_cast<uint16_t>(ar + ResolveHost(x, HostOf(p), x.edns ? UINT32_MAX : 5, ttl));
    }
    if (!seen_target && (a.kind == AddrChoice::kV4 || a.kind == AddrChoice::kV6)) {
      TargetName(x, p);
      const bool v4 = a.kind == AddrChoice::kV4;
      size_t at = x.w.RrHeader(v4 ? kTypeA : kTypeAAAA, kClassIN, ttl);
      x.w.Bytes(a.ip.data(), v4 ? 4 : 16);
      x.w.RrEnd(at);
      ++ar;
    }
    if (txt && !seen_node && p.inst->node->txt_count > 0) {
      const uint16_t before = x.ar;
      WriteNodeTxt(x, *p.inst->node, false, ttl);
      ar = static_cast<uint16_t>(ar + (x.ar - before));
      x.ar = before;
    }
  }
  x.an = static_cast<uint16_t>(k);
  x.ar = ar;
  return (raw_size ? x.w.uncompressed_size() : x.w.size()) + OptSize(x.q);
}

size_t WriteAddrs(Ctx& x, const MsgWriter::Mark& start, uint32_t k, uint32_t ttl, bool raw_size) {
  x.w.Rewind(start);
  for (uint32_t i = 0; i < k; ++i) WriteAddrRecord(x, {}, true, *x.picks[i].addr, ttl);
  x.an = static_cast<uint16_t>(k);
  x.ar = 0;
  return (raw_size ? x.w.uncompressed_size() : x.w.size()) + OptSize(x.q);
}

}  // namespace

void AnswerService(Ctx& x, std::string_view svc_lower, std::string_view tag_lower) {
  const catalog::ServiceEntry* e = x.snap.services.Find(svc_lower);
  if (e == nullptr) return Nxdomain(x);
  // A prepared query (query.cpp) brings its own health rule and filters.
  const catalog::QueryView* qv = x.query;
  uint32_t pool = x.snap.dns.only_passing ? e->n_passing : e->n_ok;
  if (qv != nullptr) {
    pool = qv->n_ignore != 0  ? static_cast<uint32_t>(e->instances.size())
           : qv->only_passing ? e->n_passing
                              : e->n_ok;
  }
  Scratch& s = x.s;
  uint32_t* cand = x.cand;
  Pick* picks = x.picks;
  uint32_t n = 0;
  // Instances on nodes gossip suspects are answered only when no other healthy one matches
  // (a crashed node leaves answers at its first failed probes, not after its suspicion).
  for (int pass = 0; pass < 2 && n == 0; ++pass) {
    const bool want_suspect = pass == 1;
    for (uint32_t idx = 0; idx < pool; ++idx) {
      if (n == x.cand_cap) break;
      const catalog::Instance& in = e->instances[idx];
      if (in.node->suspect != want_suspect) continue;
      if (!tag_lower.empty() && !HasTag(in, tag_lower)) continue;
      // The pool already applied the health rule when no other filter is set.
      if (qv != nullptr && !qv->health_only && !catalog::QueryAccepts(*qv, in)) continue;
      cand[n++] = idx;
    }
  }
  if (n == 0) return Nxdomain(x);

  const uint16_t qt = x.q.qtype;
  const bool srv = qt == kTypeSRV;
  const bool produces = srv || qt == kTypeA || qt == kTypeAAAA || qt == kTypeANY || qt == kTypeTXT;
  if (!produces) return Nodata(x);
  const auto fam = qt == kTypeA      ? catalog::kFamA
                   : qt == kTypeAAAA ? catalog::kFamAAAA
                                     : catalog::kFamAny;
  const bool udp = x.transport == Transport::kUdp;
  const bool capped = udp && !x.edns;
  // How many answers we could possibly send: the non-EDNS cap, the TCP cap, or what fits.
  uint32_t limit;
  if (capped) {
    limit = std::min<uint32_t>(8, x.snap.dns.udp_answer_limit);
  } else if (!udp) {
    limit = srv ? 1024 : 4096;
  } else {
    limit = static_cast<uint32_t>(x.max_size / 16);
  }
  if (limit > x.cap) limit = x.cap;
  const uint32_t a_limit = srv ? 0 : x.snap.dns.a_record_limit;

  uint32_t k = 0;
  const Pick* held_cname = nullptr;
  Pick cname{};
  bool more = false;  // an answer beyond `limit` existed
  const uint32_t pinned =
      qv != nullptr && (qv->near_agent || qv->near_ip) ? PinNearNode(x, *e, cand, n) : 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t j = i < pinned ? i : i + s.Rand() % (n - i);
    std::swap(cand[i], cand[j]);
    const Instance& in = e->instances[cand[i]];
    const AddrChoice* ap = &in.addr(fam);
    // A service address naming this very query, on a node with an IP: use the node's address.
    if (ap->kind == AddrChoice::kHost && ap->from_service &&
        (in.node->addr[fam].kind == AddrChoice::kV4 ||
         in.node->addr[fam].kind == AddrChoice::kV6) &&
        SameAsOwner(x, in.address())) {
      ap = &in.node->addr[fam];
    }
    const AddrChoice& a = *ap;
    if (a.kind == AddrChoice::kNone) continue;
    bool dup = false;
    if (srv) {
      for (uint32_t p = 0; p < k && !dup; ++p) {
        const Instance& o = *picks[p].inst;
        dup = o.node == in.node && o.port == in.port &&
              (o.addr(catalog::kFamAny).kind == AddrChoice::kHost
                   ? o.address() == in.address()
                   : SameIp(o.addr(catalog::kFamAny), in.addr(catalog::kFamAny)) &&
                         o.addr(catalog::kFamAny).from_service ==
                             in.addr(catalog::kFamAny).from_service);
      }
    } else {
      if (a.kind == AddrChoice::kHost) {
        if (held_cname == nullptr) {
          cname = Pick{&in, &a};
          held_cname = &cname;
        }
        continue;
      }
      if ((qt == kTypeA && a.kind != AddrChoice::kV4) ||
          (qt == kTypeAAAA && a.kind != AddrChoice::kV6)) {
        continue;
      }
      for (uint32_t p = 0; p < k && !dup; ++p) dup = SameIp(*picks[p].addr, a);
    }
    if (dup) continue;
    if (k == limit || k + 1 == x.picks_cap) {
      more = true;
      break;
    }
    picks[k++] = Pick{&in, &a};
    if (a_limit != 0 && k == a_limit) break;
  }

  const uint32_t ttl = x.ttl_override != UINT32_MAX ? x.ttl_override : e->ttl_s;
  if (k == 0 && held_cname != nullptr && !more) {
    // Only hostnames: CNAME to the first one, then what it resolves to (spec 1.4.2).
    char wire[256];
    const std::string_view host = HostOf(*held_cname);
    Owner(x);
    size_t at = x.w.RrHeader(kTypeCNAME, kClassIN, ttl);
    x.w.Name({std::string_view(wire, HostToWire(host, wire))});
    x.w.RrEnd(at);
    x.an = 1;
    if (limit > 1 && !SameAsOwner(x, host)) {
      x.an = static_cast<uint16_t>(x.an + ResolveHost(x, host, limit - 1, x.ttl_override));
    }
    return;
  }
  if (k == 0 && !more) return Nodata(x);

  // Size trimming (spec 1.13): measured uncompressed when the non-EDNS cap cut something.
  const bool raw_size = capped && more;
  const size_t budget = udp ? x.max_size - 8 : x.max_size;
  const MsgWriter::Mark start = x.w.mark();
  auto write = [&](uint32_t count) {
    return srv ? WriteSrv(x, start, count, ttl, raw_size)
               : WriteAddrs(x, start, count, ttl, raw_size);
  };
  size_t size = write(k);
  if ((size > budget || x.w.overflow()) && k > 1) {
    uint32_t lo = 1, hi = k - 1;  // largest count that fits, at least 1
    while (lo < hi) {
      const uint32_t mid = (lo + hi + 1) / 2;
      const size_t sz = write(mid);
      if (sz <= budget && !x.w.overflow()) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    write(lo);
    more = true;
  }
  if (more && x.snap.dns.enable_truncate) x.tc = true;
}

}  // namespace beacon::dns::detail
