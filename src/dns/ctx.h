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
  MsgWriter w;
  Transport transport;
  std::string_view resp_domain;  // wire labels of the zone the query arrived on
  uint16_t an = 0, ns = 0, ar = 0;
  uint8_t rcode = kNoError;
  bool aa = true;
  bool tc = false;
  bool opt = true;        // append an OPT record when the query had one
  size_t max_size = 512;  // UDP/TCP size budget for trimming
};

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
void AnswerPtr(Ctx& x);
void AnswerSoaNs(Ctx& x);

}  // namespace beacon::dns::detail
