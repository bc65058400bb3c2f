// Node, .addr, PTR and SOA/NS stages (spec 1.3, 1.5, 1.7, 1.8).
#include <cstring>

#include "ctx.h"

namespace beacon::dns::detail {
namespace {

using catalog::AddrChoice;

bool FamilyFits(uint16_t qtype, const AddrChoice& a) {
  if (a.kind == AddrChoice::kV4) return qtype == kTypeA || qtype == kTypeANY;
  if (a.kind == AddrChoice::kV6) return qtype == kTypeAAAA || qtype == kTypeANY;
  return false;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The servers answering NS: this agent's own node (a single-node implementation answers with
// itself, spec 1.8).
const catalog::NodeEntry* SelfNode(const Ctx& x) {
  return x.snap.nodes.Find(x.snap.self_node);
}

void WriteNsRecords(Ctx& x, bool in_answer) {
  const catalog::NodeEntry* self = SelfNode(x);
  if (self == nullptr) return;
  // NS target names are lower-case (spec 1.8): use the lower-cased node key.
  char wire[256];
  const size_t n = HostToWire(x.snap.self_node, wire);
  const std::string_view target(wire, n);
  x.w.Name({x.resp_domain});
  size_t at = x.w.RrHeader(kTypeNS, kClassIN, NodeTtl(x));
  x.w.Name({target, "\4node", x.snap.dc_wire, x.resp_domain});
  x.w.RrEnd(at);
  ++(in_answer ? x.an : x.ns);
  for (int f : {catalog::kFamA, catalog::kFamAAAA}) {
    const AddrChoice& a = self->addr[f];
    if (a.kind != (f == catalog::kFamA ? AddrChoice::kV4 : AddrChoice::kV6)) continue;
    WriteAddrRecord(x, {target, "\4node", x.snap.dc_wire, x.resp_domain}, false, a, NodeTtl(x));
    ++x.ar;
  }
}

}  // namespace

size_t HostToWire(std::string_view host, char* out) {
  size_t len = 0;
  while (!host.empty()) {
    const size_t dot = host.find('.');
    std::string_view l = host.substr(0, dot);
    if (l.size() > 63) l = l.substr(0, 63);
    if (len + l.size() + 1 > 250) break;
    if (!l.empty()) {
      out[len++] = static_cast<char>(l.size());
      std::memcpy(out + len, l.data(), l.size());
      len += l.size();
    }
    host = dot == std::string_view::npos ? std::string_view() : host.substr(dot + 1);
  }
  return len;
}

void AnswerNode(Ctx& x, std::string_view name_lower) {
  const uint16_t qt = x.q.qtype;
  if (qt != kTypeA && qt != kTypeAAAA && qt != kTypeANY && qt != kTypeTXT) return;
  const catalog::NodeEntry* n = x.snap.nodes.Find(name_lower);
  if (n == nullptr) return Nxdomain(x);
  const uint32_t ttl = x.ttl_override != UINT32_MAX ? x.ttl_override : NodeTtl(x);
  char wire[256];
  if (qt != kTypeTXT) {
    const auto fam = qt == kTypeA      ? catalog::kFamA
                     : qt == kTypeAAAA ? catalog::kFamAAAA
                                       : catalog::kFamAny;
    const AddrChoice& a = n->addr[fam];
    if (FamilyFits(qt, a)) {
      WriteAddrRecord(x, {}, true, a, ttl);
      ++x.an;
    } else if (a.kind == AddrChoice::kHost) {
      Owner(x);
      size_t at = x.w.RrHeader(kTypeCNAME, kClassIN, ttl);
      x.w.Name({std::string_view(wire, HostToWire(n->host(), wire))});
      x.w.RrEnd(at);
      ++x.an;
      if (!SameAsOwner(x, n->host())) {
        x.an = static_cast<uint16_t>(x.an + ResolveHost(x, n->host(),
                                                        x.cap == UINT32_MAX ? x.cap : x.cap - 1,
                                                        x.ttl_override));
      }
    }
  }
  if (qt == kTypeTXT || qt == kTypeANY) {
    WriteNodeTxt(x, *n, true, ttl);
  } else if (x.snap.dns.enable_additional_node_meta_txt && !x.sub) {
    WriteNodeTxt(x, *n, false, ttl);
  }
}

void AnswerAddr(Ctx& x, std::string_view label) {
  if (label.size() != 8 && label.size() != 32) return;  // NOERROR, empty, no SOA
  AddrChoice a;
  a.kind = label.size() == 8 ? AddrChoice::kV4 : AddrChoice::kV6;
  for (size_t i = 0; i < label.size(); i += 2) {
    const int hi = HexVal(label[i]), lo = HexVal(label[i + 1]);
    if (hi < 0 || lo < 0) return Nxdomain(x);
    a.ip[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  const bool v4 = a.kind == AddrChoice::kV4;
  const bool in_answer = x.q.qtype == kTypeANY || x.q.qtype == (v4 ? kTypeA : kTypeAAAA);
  WriteAddrRecord(x, {}, true, a, NodeTtl(x));
  ++(in_answer ? x.an : x.ar);
}

void AnswerPtr(Ctx& x) {
  const Query& q = x.q;
  uint8_t ip[16];
  size_t iplen = 0;
  auto label = [&](int i) {
    const uint8_t* p = q.lower + q.label_off[i];
    return std::string_view(reinterpret_cast<const char*>(p + 1), p[0]);
  };
  bool ok = false;
  if (q.nlabels == 6 && label(4) == "in-addr") {
    ok = true;
    for (int i = 0; i < 4 && ok; ++i) {
      std::string_view l = label(3 - i);
      unsigned v = 0;
      ok = !l.empty() && l.size() <= 3;
      for (char ch : l) {
        ok = ok && ch >= '0' && ch <= '9';
        v = v * 10 + static_cast<unsigned>(ch - '0');
      }
      ok = ok && v <= 255;
      ip[i] = static_cast<uint8_t>(v);
    }
    iplen = 4;
  } else if (q.nlabels == 34 && label(32) == "ip6") {
    ok = true;
    for (int i = 0; i < 32 && ok; ++i) {
      std::string_view l = label(31 - i);
      const int v = l.size() == 1 ? HexVal(l[0]) : -1;
      ok = v >= 0;
      if (i % 2 == 0) {
        ip[i / 2] = static_cast<uint8_t>(v << 4);
      } else {
        ip[i / 2] = static_cast<uint8_t>(ip[i / 2] | v);
      }
    }
    iplen = 16;
  }
  const std::string_view key(reinterpret_cast<char*>(ip), iplen);
  const catalog::NodeEntry* pn = ok ? x.snap.ptr_nodes.Find(key) : nullptr;
  const catalog::PtrEntry* e = ok && pn == nullptr ? x.snap.ptr.Find(key) : nullptr;
  if (pn == nullptr && e == nullptr) {
    if (!x.snap.dns.recursors.empty()) {
      x.rcode = 0xff;  // signal: forward
      return;
    }
    return Nxdomain(x);
  }
  const bool is_node = pn != nullptr;
  const std::string_view name = is_node ? std::string_view() : e->name.view();
  char wire[256];
  // A node's name is kept as wire labels already; a service name is converted.
  const std::string_view target =
      is_node ? std::string_view(pn->name_wire) : std::string_view(wire, HostToWire(name, wire));
  Owner(x);
  size_t at = x.w.RrHeader(kTypePTR, kClassIN, 0);  // PTR TTL is always 0 (spec 1.7)
  x.w.Name({target, is_node ? "\4node" : "\7service", x.snap.dc_wire, x.snap.domain_wire});
  x.w.RrEnd(at);
  ++x.an;
  if (q.qtype == kTypeSOA) AddSoaAuthority(x);
}

void AnswerSoaNs(Ctx& x) {
  if (x.q.qtype == kTypeSOA) {
    WriteSoa(x);
    ++x.an;
    WriteNsRecords(x, false);
  } else {
    WriteNsRecords(x, true);
  }
}

}  // namespace beacon::dns::detail
