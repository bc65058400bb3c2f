// Answer(): parse, route by zone and name form, run one stage, finish the header and EDNS.
// The order of the pipeline is this file's Answer() body; stages live in node.cpp, service.cpp.
#include "beacon/dns/answer.h"

#include <cstring>
#include <string_view>

#include "ctx.h"

namespace beacon::dns {
namespace detail {

uint32_t NodeTtl(const Ctx& x) {
  return x.snap.dns.node_ttl_s;
}

size_t OptSize(const Query& q) {
  if (!q.edns) return 0;
  return 11 + (q.has_ecs ? 4u + q.ecs_len : 0u);
}

void WriteSoa(Ctx& x) {
  const auto& soa = x.snap.dns.soa;
  x.w.Name({x.resp_domain});
  size_t at = x.w.RrHeader(kTypeSOA, kClassIN, soa.min_ttl);
  x.w.Name({"\2ns", x.resp_domain});
  x.w.Name({"\12hostmaster", x.resp_domain});
  x.w.U32(x.snap.soa_serial);
  x.w.U32(soa.refresh);
  x.w.U32(soa.retry);
  x.w.U32(soa.expire);
  x.w.U32(soa.min_ttl);
  x.w.RrEnd(at);
}

void AddSoaAuthority(Ctx& x) {
  WriteSoa(x);
  ++x.ns;
}

void Nxdomain(Ctx& x) {
  x.rcode = kNxDomain;
  if (x.sub) return;
  ++x.c.nxdomain;
  AddSoaAuthority(x);
}

void Nodata(Ctx& x) {
  x.rcode = kNoError;
  if (x.sub) return;
  AddSoaAuthority(x);
}

void Owner(Ctx& x) {
  if (x.owner.empty()) {
    x.w.QName();
  } else {
    x.w.Name({x.owner});
  }
}

void WriteAddrRecord(Ctx& x, std::initializer_list<std::string_view> owner, bool owner_is_q,
                     const catalog::AddrChoice& a, uint32_t ttl) {
  const bool v4 = a.kind == catalog::AddrChoice::kV4;
  if (owner_is_q && x.owner.empty()) {
    x.w.QNameRecord(v4 ? kTypeA : kTypeAAAA, ttl, a.ip.data(), v4 ? 4 : 16);
    return;
  }
  if (owner_is_q) {
    Owner(x);
  } else {
    x.w.Name(owner);
  }
  size_t at = x.w.RrHeader(v4 ? kTypeA : kTypeAAAA, kClassIN, ttl);
  x.w.Bytes(a.ip.data(), v4 ? 4 : 16);
  x.w.RrEnd(at);
}

void WriteNodeTxt(Ctx& x, const catalog::NodeEntry& n, bool owner_is_q, uint32_t ttl) {
  const std::string& r = n.txt_rdata;
  for (size_t i = 0; i + 2 <= r.size();) {
    const size_t len = static_cast<uint8_t>(r[i]) << 8 | static_cast<uint8_t>(r[i + 1]);
    if (owner_is_q) {
      Owner(x);
      ++x.an;
    } else {
      x.w.Name({n.name_wire, "\4node", x.snap.dc_wire, x.resp_domain});
      ++x.ar;
    }
    size_t at = x.w.RrHeader(kTypeTXT, kClassIN, ttl);
    x.w.Bytes(r.data() + i + 2, len);
    x.w.RrEnd(at);
    i += 2 + len;
  }
}

}  // namespace detail

namespace {

using detail::Ctx;

// If the query name ends with `zone` (wire labels, lower-case), returns how many labels precede
// it; otherwise -1.
int MatchZone(const Query& q, std::string_view zone) {
  if (zone.empty()) return -1;
  int zl = 0;
  for (size_t i = 0; i < zone.size(); i += static_cast<uint8_t>(zone[i]) + 1u) ++zl;
  const int prefix = q.nlabels - zl;
  if (prefix < 0) return -1;
  const size_t off = prefix == q.nlabels ? 0 : q.label_off[prefix];
  size_t total = 0;
  for (int i = prefix; i < q.nlabels; ++i) total += q.lower[q.label_off[i]] + 1u;
  if (total != zone.size()) return -1;
  return std::memcmp(q.lower + off, zone.data(), zone.size()) == 0 ? prefix : -1;
}

std::string_view Label(const Query& q, int i) {
  const uint8_t* p = q.lower + q.label_off[i];
  return std::string_view(reinterpret_cast<const char*>(p + 1), p[0]);
}

// Joins labels [from, to) with '.' into the context's text buffer (512 bytes).
std::string_view Join(Ctx& x, const Query& q, int from, int to) {
  size_t n = 0;
  for (int i = from; i < to; ++i) {
    std::string_view l = Label(q, i);
    if (n + l.size() + 1 > 512) break;
    if (i > from) x.text[n++] = '.';
    std::memcpy(x.text + n, l.data(), l.size());
    n += l.size();
  }
  return std::string_view(x.text, n);
}

bool IsKind(std::string_view l) {
  return l == "service" || l == "node" || l == "query" || l == "addr" || l == "connect" ||
         l == "virtual" || l == "ingress";
}

// Checks the locality suffix labels [from, to): true when it names the local datacenter.
bool LocalDc(const Ctx& x, int from, int to) {
  const int n = to - from;
  if (n == 0) return true;
  if (n == 1) return Label(x.q, from) == x.snap.datacenter;
  if (n == 2 && Label(x.q, from + 1) == "dc") return Label(x.q, from) == x.snap.datacenter;
  return false;  // peers, 4-label forms and anything else: not served by this agent
}

// The legacy name grammar (spec 1.2) over the labels left of the zone.
void Route(Ctx& x, int nparts_total) {
  const Query& q = x.q;
  int kind_at = -1;
  bool rfc_service = false;
  for (int i = nparts_total - 1; i >= 0; --i) {
    std::string_view l = Label(q, i);
    if (IsKind(l)) {
      kind_at = i;
      break;
    }
    if (q.qtype == kTypeSRV && !l.empty() && l[0] == '_') {
      kind_at = i;
      rfc_service = true;
      break;
    }
  }
  if (kind_at < 0) return detail::Nxdomain(x);
  if (rfc_service) {
    // Parts are labels [0, kind_at]; suffix follows.
    if (!LocalDc(x, kind_at + 1, nparts_total) || kind_at != 1) return detail::Nxdomain(x);
    std::string_view svc = Label(q, 0), tag = Label(q, 1);
    if (svc.size() < 2 || svc[0] != '_') return detail::Nxdomain(x);
    tag.remove_prefix(1);
    return detail::AnswerService(x, svc.substr(1), tag == "tcp" ? std::string_view() : tag);
  }
  const std::string_view kind = Label(q, kind_at);
  const int nparts = kind_at;
  if (kind == "addr") {
    if (nparts != 1) return detail::Nxdomain(x);
    return detail::AnswerAddr(x, Label(q, 0));
  }
  const int suffix = nparts_total - kind_at - 1;
  if (suffix != 0 && suffix != 1 && suffix != 2 && suffix != 4) return detail::Nxdomain(x);
  if (!LocalDc(x, kind_at + 1, nparts_total) || nparts == 0) return detail::Nxdomain(x);
  if (kind == "query") {
    return detail::AnswerQuery(x, nparts == 1 ? Label(q, 0) : Join(x, q, 0, nparts));
  }
  if (kind == "node") return detail::AnswerNode(x, Join(x, q, 0, nparts));
  if (kind == "service") {
    if (nparts == 2) {
      std::string_view a = Label(q, 0), b = Label(q, 1);
      if (a.size() > 1 && b.size() > 1 && a[0] == '_' && b[0] == '_') {
        b.remove_prefix(1);
        return detail::AnswerService(x, a.substr(1), b == "tcp" ? std::string_view() : b);
      }
    }
    std::string_view svc = Label(q, nparts - 1);
    std::string_view tag = nparts > 1 ? Join(x, q, 0, nparts - 1) : std::string_view();
    return detail::AnswerService(x, svc, tag);
  }
  // connect / ingress / virtual: mesh features this agent does not serve.
  return detail::Nxdomain(x);
}

uint16_t Flags(const Query& q, uint8_t rcode, bool aa, bool tc, bool ra) {
  uint16_t f = 0x8000 | static_cast<uint16_t>(q.opcode << 11) | rcode;
  if (aa) f |= 0x0400;
  if (tc) f |= 0x0200;
  if (q.rd) f |= 0x0100;
  if (ra) f |= 0x0080;
  return f;
}

void WriteOpt(MsgWriter& w, const Query& q, bool source_scope) {
  w.U8(0);
  w.U16(kTypeOPT);
  w.U16(q.udp_size);
  w.U32(0);
  if (!q.has_ecs) {
    w.U16(0);
    return;
  }
  w.U16(static_cast<uint16_t>(4 + q.ecs_len));
  w.U16(8);
  w.U16(q.ecs_len);
  uint8_t ecs[sizeof q.ecs];
  std::memcpy(ecs, q.ecs, q.ecs_len);
  // Scope: answers are valid for every client, except prepared queries' (spec 1.6).
  ecs[3] = source_scope && q.ecs_len > 2 ? ecs[2] : 0;
  w.Bytes(ecs, q.ecs_len);
}

bool RecursionAvailable(const catalog::Snapshot& snap) {
  return !snap.dns.recursors.empty() || snap.dns.recursion_available;
}

}  // namespace

namespace detail {

bool SameAsOwner(const Ctx& x, std::string_view host) {
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  // Compare label by label against the owner (question or sub-lookup name), ignoring case.
  const Query& q = x.q;
  size_t pos = 0;
  for (int i = 0; i < q.nlabels; ++i) {
    std::string_view l = Label(q, i);
    if (i > 0) {
      if (pos >= host.size() || host[pos] != '.') return false;
      ++pos;
    }
    if (host.size() - pos < l.size()) return false;
    for (size_t k = 0; k < l.size(); ++k) {
      char c = host[pos + k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != l[k]) return false;
    }
    pos += l.size();
  }
  return pos == host.size();
}

uint16_t ResolveHost(Ctx& x, std::string_view host, uint32_t cap, uint32_t ttl) {
  // A name pointing at itself stops here: no loop (spec 1.17 case 42).
  if (x.depth >= Scratch::kMaxDepth || cap == 0 || SameAsOwner(x, host)) return 0;
  Scratch::Sub& sub = x.s.sub[x.depth];
  // A query packet for the host (type ANY, as legacy Consul resolves CNAME targets).
  uint8_t* p = sub.pkt;
  const size_t n = HostQuery(host, 0, p, sizeof sub.pkt);
  if (n == 0) return 0;
  Put16(p + n - 4, kTypeANY);
  if (ParseQuery(p, n, &sub.q) != ParseVerdict::kOk) return 0;
  const int in_d = MatchZone(sub.q, x.snap.domain_wire);
  const int in_alt = MatchZone(sub.q, x.snap.alt_domain_wire);
  if (in_d < 0 && in_alt < 0) {
    // Outside the zones: the recursors answer for it, if there are any.
    if (x.snap.dns.recursors.empty()) return 0;
    Scratch& s = x.s;
    if (s.ext != nullptr) {
      return UpstreamAsked(s.ext, s.ext_len, host)
                 ? CopyUpstreamAnswers(x, s.ext, s.ext_len, cap, ttl)
                 : 0;
    }
    if (!s.ext_needed && host.size() < sizeof s.ext_host) {
      std::memcpy(s.ext_host, host.data(), host.size());
      s.ext_host_len = host.size();
      s.ext_needed = true;
    }
    return 0;
  }
  const bool use_alt = in_alt >= 0 && (in_d < 0 || in_alt < in_d);
  Ctx y{x.snap,
        sub.q,
        x.s,
        x.c,
        x.w,
        x.transport,
        use_alt ? std::string_view(x.snap.alt_domain_wire) : std::string_view(x.snap.domain_wire),
        sub.cand,
        static_cast<uint32_t>(sizeof sub.cand / sizeof sub.cand[0]),
        sub.picks,
        static_cast<uint32_t>(sizeof sub.picks / sizeof sub.picks[0]),
        sub.text};
  y.max_size = x.max_size;
  y.sub = true;
  y.depth = x.depth + 1;
  y.owner = std::string_view(reinterpret_cast<const char*>(p + kHeaderSize), sub.q.qname_len - 1);
  y.cap = cap;
  y.ttl_override = ttl;
  y.edns = true;  // the caller applies its own answer cap; the non-EDNS cap is not re-applied
  Route(y, use_alt ? in_alt : in_d);
  return y.an;
}

}  // namespace detail

namespace {

// A reply with no records: header, the question echoed, and an OPT record when the query had
// one and `opt` is set. Returns its length (0 if it does not fit).
size_t BareReply(const Query& q, uint8_t rcode, bool aa, bool ra, bool opt, uint8_t* out,
                 size_t cap) {
  MsgWriter w(out, cap, true);
  w.Header(q.id, Flags(q, rcode, aa, false, ra));
  w.Question(q.qname, q.qname_len, q.qtype, q.qclass);
  w.SetCount(0, 1);
  if (opt && q.edns) {
    WriteOpt(w, q, false);
    w.SetCount(3, 1);
  }
  return w.overflow() ? 0 : w.size();
}

}  // namespace

size_t ErrorReply(const uint8_t* pkt, size_t len, uint8_t rcode, bool ra, uint8_t* out, size_t cap,
                  Scratch& s) {
  Query& q = s.q;
  if (ParseQuery(pkt, len, &q) != ParseVerdict::kOk) return 0;
  return BareReply(q, rcode, false, ra, true, out, cap);
}

AnswerResult Answer(const catalog::Snapshot& snap, const uint8_t* pkt, size_t len, Transport t,
                    uint8_t* out, size_t cap, Scratch& s, Counters& c, const uint8_t* ext,
                    size_t ext_len) {
  if (ext == nullptr) ++c.queries;
  s.ext_needed = false;
  s.ext = ext;
  s.ext_len = ext_len;
  Query& q = s.q;
  const ParseVerdict v = ParseQuery(pkt, len, &q);
  AnswerResult r;
  if (v == ParseVerdict::kDrop) {
    ++c.dropped;
    return r;
  }
  const bool ra = RecursionAvailable(snap);
  if (v == ParseVerdict::kOk && (q.qtype == kTypeAXFR || q.qtype == kTypeIXFR)) {
    // Zone transfers are not offered: NOTIMP, authoritative, question and OPT echoed.
    ++c.notimp;
    r.action = AnswerResult::kReply;
    r.rcode = kNotImp;
    r.len = BareReply(q, kNotImp, true, ra, true, out, cap);
    return r;
  }
  if (v != ParseVerdict::kOk) {
    const uint8_t rcode = v == ParseVerdict::kFormErr ? kFormErr : kNotImp;
    ++(rcode == kFormErr ? c.formerr : c.notimp);
    MsgWriter w(out, cap, true);
    w.Header(q.id, Flags(q, rcode, false, false, ra));
    if (q.qname != nullptr && v != ParseVerdict::kNotImp) {
      w.Question(q.qname, q.qname_len, q.qtype, q.qclass);
      w.SetCount(0, 1);
    }
    r.action = AnswerResult::kReply;
    r.rcode = rcode;
    r.len = w.size();
    return r;
  }

  const int in_d = MatchZone(q, snap.domain_wire);
  const int in_alt = MatchZone(q, snap.alt_domain_wire);
  const bool arpa = q.nlabels > 0 && Label(q, q.nlabels - 1) == "arpa";
  if (in_d < 0 && in_alt < 0 && !arpa) {
    if (!snap.dns.recursors.empty()) {
      ++c.forwarded;
      r.action = AnswerResult::kForward;
      return r;
    }
    ++c.refused;
    r.action = AnswerResult::kReply;
    r.rcode = kRefused;
    r.len = BareReply(q, kRefused, false, ra, false, out, cap);  // REFUSED carries no OPT
    return r;
  }

  // The longer suffix wins when the zones overlap (fewer labels left of it).
  const bool use_alt = in_alt >= 0 && (in_d < 0 || in_alt < in_d);
  MsgWriter w(out, cap, !snap.dns.disable_compression);
  Ctx x{snap,
        q,
        s,
        c,
        w,
        t,
        use_alt ? std::string_view(snap.alt_domain_wire) : std::string_view(snap.domain_wire),
        s.cand,
        Scratch::kMaxCandidates,
        s.picks,
        Scratch::kMaxPicks,
        s.text};
  x.edns = q.edns;
  if (t == Transport::kTcp) {
    x.max_size = 65523;
  } else {
    x.max_size = q.edns && q.udp_size > 512 ? q.udp_size : 512;
    if (x.max_size > 65535 - 68) x.max_size = 65535 - 68;
  }
  x.w.Header(q.id, 0);
  x.w.Question(q.qname, q.qname_len, q.qtype, q.qclass);

  if (arpa && in_d < 0 && in_alt < 0) {
    x.resp_domain = snap.domain_wire;
    detail::AnswerPtr(x);
    if (x.rcode == 0xff) {  // no match and recursors configured
      ++c.forwarded;
      r.action = AnswerResult::kForward;
      return r;
    }
  } else if (q.qtype == kTypeSOA || q.qtype == kTypeNS) {
    detail::AnswerSoaNs(x);
  } else {
    Route(x, use_alt ? in_alt : in_d);
  }

  if (q.edns && x.opt) {
    WriteOpt(x.w, q, x.ecs_scope);
    ++x.ar;
  }
  if (x.w.overflow()) {
    // Only a single record larger than the buffer can get here: answer SERVFAIL, not garbage.
    r.len = ErrorReply(pkt, len, kServFail, ra, out, cap, s);
    r.action = r.len ? AnswerResult::kReply : AnswerResult::kDrop;
    r.rcode = kServFail;
    return r;
  }
  if (x.tc) ++c.truncated;
  x.w.SetFlags(Flags(q, x.rcode, x.aa, x.tc, ra));
  x.w.SetCount(0, 1);
  x.w.SetCount(1, x.an);
  x.w.SetCount(2, x.ns);
  x.w.SetCount(3, x.ar);
  r.action = s.ext_needed ? AnswerResult::kResolve : AnswerResult::kReply;
  r.rcode = x.rcode;
  r.len = x.w.size();
  return r;
}

}  // namespace beacon::dns
