// Answer: the pure DNS answer function. Query bytes in, reply bytes out, from one Snapshot.
//
// Contract:
// - Never sees a socket. Reads the snapshot, the query and the Scratch; writes only `out` and
//   the Scratch. Allocates nothing (enforced by tests/unit/dns/alloc_test.cpp).
// - Any input is safe: malformed packets get FORMERR/NOTIMP or are dropped (kDrop), never a
//   crash. Nothing is read outside [pkt, pkt+len) or written outside [out, out+cap).
// - `out` must hold at least 512 bytes; TCP replies need kMaxMessage.
// - One Scratch per thread (it holds the shuffle state and working arrays, ~300 KiB).
// - Behaviour follows ../shared/spec/consul-compat.md section 1 (legacy Consul DNS), with the
//   deliberate deviations listed in README.md.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "beacon/catalog/snapshot.h"
#include "beacon/dns/query.h"

namespace beacon::dns {

enum class Transport : uint8_t { kUdp, kTcp };

struct Pick {
  const catalog::Instance* inst;
  const catalog::AddrChoice* addr;
};

struct Scratch {
  static constexpr uint32_t kMaxCandidates = 65536;
  static constexpr uint32_t kMaxPicks = 4097;

  explicit Scratch(uint64_t seed = 0x9E3779B97F4A7C15ULL) : rng(seed | 1) {}

  uint32_t Rand() {  // xorshift64*
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return static_cast<uint32_t>((rng * 0x2545F4914F6CDD1DULL) >> 32);
  }

  Query q;
  uint64_t rng;
  char text[512];  // joined labels (node names, tags)
  uint32_t cand[kMaxCandidates];
  Pick picks[kMaxPicks];

  // Working space for resolving in-domain CNAME targets, one level each (at most kMaxDepth).
  static constexpr int kMaxDepth = 3;
  struct Sub {
    Query q;
    uint8_t pkt[300];
    char text[512];
    uint32_t cand[4096];
    Pick picks[65];
  };
  Sub sub[kMaxDepth];

  // Where prepared-query templates render (`<name>.query`).
  catalog::QueryScratch qs;

  // The querying client's address as 4 or 16 bytes (an IPv4-mapped IPv6 one as 4; 0: unknown),
  // set by the transport before Answer() (SetClient): a prepared query's Near "_ip".
  uint8_t client_ip[16];
  uint8_t client_ip_len = 0;

  // Hostnames outside the zones are resolved through the recursors (spec 1.3, 1.4.1): the first
  // pass records the first such name here and Answer() returns kResolve; the caller asks a
  // recursor (HostQuery) and calls Answer() again with its reply as `ext`.
  char ext_host[256];
  size_t ext_host_len = 0;
  bool ext_needed = false;
  const uint8_t* ext = nullptr;
  size_t ext_len = 0;
};

// Per-thread counters, summed by whoever reports them.
struct Counters {
  uint64_t queries = 0;
  uint64_t dropped = 0;  // malformed beyond a reply, or QR=1
  uint64_t formerr = 0;
  uint64_t notimp = 0;
  uint64_t nxdomain = 0;
  uint64_t refused = 0;
  uint64_t truncated = 0;  // answers trimmed (TC or silent)
  uint64_t forwarded = 0;
  uint64_t udp_waits = 0;  // receive-coalescing waits (net::UdpPacer), counted by the worker
};

struct AnswerResult {
  // kForward: relay the query to the recursors. kResolve: `out` holds a complete reply, but a
  // hostname in it (Scratch::ext_host) should first be resolved through the recursors.
  enum Action : uint8_t { kReply, kDrop, kForward, kResolve };
  Action action = kDrop;
  uint8_t rcode = 0;
  size_t len = 0;  // reply length in `out` (kReply)
};

// `ext`/`ext_len`: a recursor's reply to HostQuery(Scratch::ext_host) after a kResolve, or null.
// Records the client's address (AF_INET or AF_INET6; anything else, or null: unknown) in s.
void SetClient(Scratch& s, const sockaddr* sa);

AnswerResult Answer(const catalog::Snapshot& snap, const uint8_t* pkt, size_t len, Transport t,
                    uint8_t* out, size_t cap, Scratch& s, Counters& c, const uint8_t* ext = nullptr,
                    size_t ext_len = 0);

// Batch prefetching (net::DnsWorker): the catalog lookup a query will probably make, as a hash
// into the service (map 1) or node (map 2) index; map 0 when there is nothing to warm.
struct PrefetchKey {
  uint64_t hash = 0;
  uint8_t map = 0;
  const catalog::ServiceEntry* entry = nullptr;  // found by hash in stage 2 (stages 3-4 use it)
};
PrefetchKey PrefetchKeyOf(const uint8_t* pkt, size_t len);
constexpr int kPrefetchStages = 5;
// Warms the lines for stage 0..4 of that lookup (kPrefetchStages in all). Results never depend on
// it.
void PrefetchStage(const catalog::Snapshot& snap, PrefetchKey& k, int stage);

// Writes an A query (RD set) for `host` with `id`. Returns its length, 0 if it does not fit.
size_t HostQuery(std::string_view host, uint16_t id, uint8_t* out, size_t cap);

// Builds a reply carrying only `rcode` for query `pkt` (SERVFAIL when forwarding fails, ...),
// echoing the question and, when the query had one, an OPT record. Returns its length (0 when
// the query does not parse).
size_t ErrorReply(const uint8_t* pkt, size_t len, uint8_t rcode, bool ra, uint8_t* out, size_t cap,
                  Scratch& s);

}  // namespace beacon::dns
