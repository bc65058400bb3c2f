// Per-query state shared by the answer stages. Internal to src/dns.
#pragma once

#include <string_view>

#include "beacon/catalog/snapshot.h"
#include "beacon/dns/answer.h"
#include "beacon/dns/wire.h"

namespace beacon::dns::detail {

struct Ctx {
  const catalog::Snapshot& snap;
  const Query& q;
  Scratch& s;
  Counters& c;
  MsgWriter& w;
  Transport transport;
  std::string_view resp_domain;  // wire labels of the zone the query arrived on
  // Working arrays (the Scratch's own, or a sub-lookup level's).
  uint32_t* cand;
  uint32_t cand_cap;
  Pick* picks;
  uint32_t picks_cap;
  char* text;
  uint16_t an = 0, ns = 0, ar = 0;
  uint8_t rcode = kNoError;
  bool aa = true;
  bool tc = false;
  bool opt = true;        // append an OPT record when the query had one
  size_t max_size = 512;  // UDP/TCP size budget for trimming
  // Sub-lookups resolve an in-domain CNAME target: records are owned by `owner` (wire labels)
  // instead of the question, nothing goes to authority or additional, at most `cap` answers are
  // written, with TTL `ttl_override` when set.
  bool sub = false;
  int depth = 0;
  std::string_view owner;
  uint32_t cap = UINT32_MAX;
  uint32_t ttl_override = UINT32_MAX;
  bool edns = false;  // the client's query had EDNS (sub-lookups inherit it)
  // A prepared query being answered (query.cpp): AnswerService filters instances through it,
  // and the reply's ECS scope is the client's source prefix (spec 1.6).
  const catalog::QueryView* query = nullptr;
  bool ecs_scope = false;
};

// Writes the owner name of a record: the question (compressed to a pointer) or `owner`.
void Owner(Ctx& x);
// Resolves an in-domain hostname (lower- or mixed-case text, optional trailing dot) to records
// named after it, written at the current position: at most `cap` of them, TTL `ttl` when not
// UINT32_MAX. Returns how many were written; 0 for names outside the zones or past kMaxDepth.
uint16_t ResolveHost(Ctx& x, std::string_view host, uint32_t cap, uint32_t ttl);
// Hostname text to wire labels (no terminating zero) in out[256]; returns the length.
size_t HostToWire(std::string_view host, char* out);
// Copies the answer records of a recursor's reply (names decompressed) at the current position:
// at most `cap`, TTL `ttl` when not UINT32_MAX. Returns how many (upstream.cpp).
uint16_t CopyUpstreamAnswers(Ctx& x, const uint8_t* pkt, size_t len, uint32_t cap, uint32_t ttl);
// True when the question of `pkt` names `host` (text, any case, optional trailing dot).
bool UpstreamAsked(const uint8_t* pkt, size_t len, std::string_view host);
// True when `host` (text, optional trailing dot) names the same thing as the record owner.
bool SameAsOwner(const Ctx& x, std::string_view host);

// Record helpers (answer.cpp).
void WriteSoa(Ctx& x);         // SOA for resp_domain, owner = resp_domain
void AddSoaAuthority(Ctx& x);  // one SOA in authority
void Nxdomain(Ctx& x);         // rcode NXDOMAIN + SOA
void Nodata(Ctx& x);           // NOERROR + SOA
void WriteAddrRecord(Ctx& x, std::initializer_list<std::string_view> owner, bool owner_is_q,
                     const catalog::AddrChoice& a, uint32_t ttl);
void WriteNodeTxt(Ctx& x, const catalog::NodeEntry& n, bool owner_is_q, uint32_t ttl);
size_t OptSize(const Query& q);
uint32_t NodeTtl(const Ctx& x);

// Stages.
void AnswerNode(Ctx& x, std::string_view name_lower);
void AnswerService(Ctx& x, std::string_view svc_lower, std::string_view tag_lower);
void AnswerAddr(Ctx& x, std::string_view label);
void AnswerQuery(Ctx& x, std::string_view name);  // `<name>.query` (query.cpp)
// With x.query and Near "_agent" (this agent's node) or "_ip" (the node registered with the
// client's address): moves a candidate on that node to cand[0]. Returns how many leading
// candidates the shuffle must leave in place (0 or 1).
uint32_t PinNearNode(const Ctx& x, const catalog::ServiceEntry& e, uint32_t* cand, uint32_t n);
void AnswerPtr(Ctx& x);
void AnswerSoaNs(Ctx& x);

}  // namespace beacon::dns::detail
