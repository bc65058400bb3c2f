// The DNS answer path allocates nothing: 10,000 mixed queries (service, node, addr, PTR and
// prepared-query names), zero calls to operator new.
#include <doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "beacon/dns/answer.h"
#include "beacon/dns/wire.h"
// ldns after the C++ headers.
#include "../../golden/golden_util.h"

namespace {
std::atomic<long> g_news{0};  // test-only instrumentation of the global allocator
}

void* operator new(std::size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  g_news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

TEST_CASE("10,000 mixed queries (prepared queries included) allocate nothing on the answer path") {
  using namespace beacon;
  catalog::SnapshotHub hub;
  catalog::DnsSettings dns;
  dns.service_ttl_s["*"] = 5;
  dns.alt_domain = "alt.";
  catalog::Writer w(hub, "server1", "dc1", dns);
  for (int i = 0; i < 200; ++i) {
    catalog::Node n;
    n.name = "node" + std::to_string(i);
    n.address = i % 7 == 0 ? "2001:db8::" + std::to_string(i)
                           : "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    n.meta["rack"] = "r" + std::to_string(i % 4);
    w.UpsertNode(n);
    catalog::Service s;
    s.name = "svc" + std::to_string(i % 40);
    s.id = s.name + "-" + std::to_string(i);
    s.port = static_cast<uint16_t>(8000 + i);
    s.tags = {"v" + std::to_string(i % 3), "primary"};
    if (i % 5 == 0) s.address = "192.168.1." + std::to_string(i % 250);
    if (i % 11 == 0) s.address = "host" + std::to_string(i) + ".example.com";
    std::vector<catalog::Check> checks;
    catalog::Check c;
    c.id = "chk";
    c.status = i % 9 == 0 ? catalog::Health::kCritical
                          : (i % 4 == 0 ? catalog::Health::kWarning : catalog::Health::kPassing);
    checks.push_back(c);
    REQUIRE(w.UpsertService(n.name, s, checks).ok());
  }
  catalog::Node self;
  self.name = "server1";
  self.address = "127.0.0.1";
  w.UpsertNode(self);
  // Prepared queries: static ones with every filter, and a name_prefix_match template (no
  // Regexp: a Regexp runs std::regex, the documented exception).
  std::vector<catalog::PreparedQuery> queries;
  for (int i = 0; i < 40; ++i) {
    catalog::PreparedQuery q;
    q.id = "00000000-0000-0000-0000-0000000000" + std::to_string(10 + i);
    q.name = "q" + std::to_string(i);
    q.service = "svc" + std::to_string(i);
    q.only_passing = i % 2 == 0;
    if (i % 3 == 0) q.tags = {"primary", "!v2"};
    if (i % 5 == 0) q.node_meta["rack"] = "r" + std::to_string(i % 4);
    if (i % 7 == 0) q.ignore_check_ids = {"chk"};
    if (i % 4 == 0) q.near = "_agent";
    if (i % 6 == 0) q.dns_ttl = "30s";
    queries.push_back(q);
  }
  catalog::PreparedQuery t;
  t.id = "00000000-0000-0000-0000-000000000001";
  t.name = "tmpl-";
  t.template_type = "name_prefix_match";
  t.service = "${name.suffix}";
  t.tags = {"${agent.segment}", "!v1"};  // "" in CE: dropped by RemoveEmptyTags
  t.remove_empty_tags = true;
  queries.push_back(t);
  for (const auto& q : queries) REQUIRE(catalog::CheckQuery(q).empty());
  w.SetPreparedQueries(queries);
  w.Publish(true);
  auto snap = hub.Current();

  const char* types[] = {"A", "AAAA", "SRV", "ANY", "TXT", "MX", "SOA", "NS"};
  std::vector<std::vector<uint8_t>> pkts;
  for (int i = 0; i < 10000; ++i) {
    std::string name;
    switch (i % 15) {
      case 0:
        name = "svc" + std::to_string(i % 45) + ".service.consul";
        break;
      case 1:
        name = "_svc" + std::to_string(i % 40) + "._tcp.service.consul";
        break;
      case 2:
        name = "v1.svc" + std::to_string(i % 40) + ".service.dc1.consul";
        break;
      case 3:
        name = "node" + std::to_string(i % 210) + ".node.consul";
        break;
      case 4:
        name = "0a000001.addr.dc1.consul";
        break;
      case 5:
        name = std::to_string(i % 250) + ".0.0.10.in-addr.arpa";
        break;
      case 6:
        name = "nothing.here.consul";
        break;
      case 7:
        name = "example.org";
        break;
      case 8:
        name = "SVC" + std::to_string(i % 40) + ".Service.ALT";
        break;
      case 9:
        name = "primary.svc" + std::to_string(i % 40) + ".service.consul";
        break;
      case 10:
        name = "consul";
        break;
      case 12:
        name = "Q" + std::to_string(i % 45) + ".query.consul";
        break;
      case 13:
        name = "00000000-0000-0000-0000-0000000000" + std::to_string(10 + i % 40) +
               ".query.dc1.consul";
        break;
      case 14:
        name = "tmpl-svc" + std::to_string(i % 40) + ".query.consul";
        break;
      default:
        name = "svc1.service.dc2.consul";
        break;
    }
    const int edns = i % 3 == 0 ? -1 : (i % 3 == 1 ? 1232 : 4096);
    pkts.push_back(
        golden::BuildQuery(name, types[i % 8], edns, i % 17 == 0 && edns > 0 ? "10.1.2.0/24" : ""));
  }
  // Malformed inputs too.
  pkts.push_back({0x12, 0x34});
  pkts.push_back({0x12, 0x34, 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  pkts.push_back({0x12, 0x34, 0x01, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1});
  pkts.push_back({0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1});

  dns::Scratch* scratch = new dns::Scratch(7);
  dns::Counters counters;
  std::vector<uint8_t> out(dns::kMaxMessage);
  size_t replies = 0;
  // The query names answer (not just NXDOMAIN): a static query and the template.
  for (const char* qn : {"q1.query.consul", "tmpl-svc3.query.consul"}) {
    std::vector<uint8_t> pkt = golden::BuildQuery(qn, "SRV", 1232, "");
    auto r = dns::Answer(*snap, pkt.data(), pkt.size(), dns::Transport::kUdp, out.data(),
                         out.size(), *scratch, counters);
    CHECK(r.rcode == 0);
    CHECK(dns::Get16(out.data() + 6) > 0);  // answers
  }
  g_news.store(0);
  for (size_t i = 0; i < pkts.size(); ++i) {
    const auto t = i % 5 == 0 ? dns::Transport::kTcp : dns::Transport::kUdp;
    auto r = dns::Answer(*snap, pkts[i].data(), pkts[i].size(), t, out.data(), out.size(), *scratch,
                         counters);
    replies += r.action == dns::AnswerResult::kReply;
  }
  const long news = g_news.load();
  delete scratch;
  CHECK(news == 0);
  CHECK(replies > 9000);
  CHECK(counters.queries == pkts.size() + 2);
  CHECK(counters.formerr >= 2);
  CHECK(counters.nxdomain > 0);
}
