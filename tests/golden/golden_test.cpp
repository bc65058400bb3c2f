// Golden DNS tests: tests/golden/*.golden files replayed through dns::Answer without sockets.
//
// File format (one catalog per file, many queries):
//   @self <node>                 this agent's node name (default "server1")
//   @config                      agent config JSON (Consul keys) until the next @ line
//   @catalog                     JSON array of /v1/catalog/register bodies until the next @ line
//   @queries                     JSON array of prepared queries (POST /v1/query bodies plus ID)
//   @query <name> <type> [tcp] [edns=N] [ecs=a.b.c.d/N]
//     rcode <NOERROR|NXDOMAIN|...>
//     flags <qr aa tc rd ra ...>  (optional; exact set)
//     answer: / authority: / additional:   then one RR per line in presentation format
//     count <answer|authority|additional> <N>   check only the size of that section
//     opt <udp size>              the reply carries OPT with this size ("opt none": no OPT)
//     ecs-scope <N>               the ECS option's scope in the reply
// Sections not mentioned must be empty. RR lists compare order-insensitively after folding
// whitespace. The SOA serial is fixed to 1.
#include <doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "beacon/config/config.h"
#include "beacon/config/query_body.h"
#include "beacon/dns/answer.h"
#include "beacon/dns/wire.h"
// ldns after the C++ headers: its common.h redefines bool for C.
#include "golden_util.h"

namespace {

using beacon::golden::BuildQuery;
using beacon::golden::Fold;
using beacon::golden::RenderSection;

struct Expect {
  std::string rcode = "NOERROR";
  std::string flags;
  std::map<std::string, std::vector<std::string>> sections;
  std::map<std::string, int> counts;
  std::string opt;
  int ecs_scope = -1;
};

struct QueryCase {
  int line = 0;
  std::string name, type;
  bool tcp = false;
  int edns = -1;
  std::string ecs;
  Expect expect;
};

struct GoldenFile {
  std::string self = "server1";
  std::string config = "{}";
  std::string catalog = "[]";
  std::string prepared = "[]";
  std::vector<QueryCase> queries;
};

GoldenFile ParseGolden(const std::string& path) {
  GoldenFile g;
  std::ifstream in(path);
  std::string line, block;
  std::string* target = nullptr;
  std::string section;
  int lineno = 0;
  auto flush_block = [&] {
    if (target != nullptr) *target = block;
    target = nullptr;
    block.clear();
  };
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = Fold(line);
    if (t.empty() || t[0] == '#') continue;
    if (t[0] == '@') {
      flush_block();
      std::istringstream ss(t);
      std::string kw;
      ss >> kw;
      if (kw == "@self") {
        ss >> g.self;
      } else if (kw == "@config") {
        target = &g.config;
      } else if (kw == "@catalog") {
        target = &g.catalog;
      } else if (kw == "@queries") {
        target = &g.prepared;
      } else if (kw == "@query") {
        QueryCase q;
        q.line = lineno;
        ss >> q.name >> q.type;
        std::string opt;
        while (ss >> opt) {
          if (opt == "tcp")
            q.tcp = true;
          else if (opt.rfind("edns=", 0) == 0)
            q.edns = std::stoi(opt.substr(5));
          else if (opt.rfind("ecs=", 0) == 0)
            q.ecs = opt.substr(4);
        }
        g.queries.push_back(q);
        section.clear();
      }
      continue;
    }
    if (target != nullptr) {
      block += line + "\n";
      continue;
    }
    if (g.queries.empty()) continue;
    Expect& e = g.queries.back().expect;
    if (t == "answer:" || t == "authority:" || t == "additional:") {
      section = t.substr(0, t.size() - 1);
      e.sections[section];
      continue;
    }
    std::istringstream ss(t);
    std::string kw;
    ss >> kw;
    if (kw == "rcode") {
      ss >> e.rcode;
    } else if (kw == "flags") {
      std::getline(ss, e.flags);
      e.flags = Fold(e.flags);
    } else if (kw == "count") {
      std::string sec;
      int n;
      ss >> sec >> n;
      e.counts[sec] = n;
    } else if (kw == "opt") {
      ss >> e.opt;
    } else if (kw == "ecs-scope") {
      ss >> e.ecs_scope;
    } else if (!section.empty()) {
      e.sections[section].push_back(t);
    }
  }
  flush_block();
  return g;
}

void RunFile(const std::string& path) {
  GoldenFile g = ParseGolden(path);
  beacon::config::AgentConfig cfg;
  beacon::Status st = beacon::config::MergeDocument(path + "@config", g.config, false, &cfg);
  REQUIRE_MESSAGE(st.ok(), path << ": " << (st.ok() ? "" : st.message()));
  const std::string seed = std::filesystem::temp_directory_path() /
                           ("beacon-golden-" + std::to_string(::getpid()) + ".json");
  std::ofstream(seed) << g.catalog;
  auto regs = beacon::config::LoadCatalogSeed(seed);
  std::filesystem::remove(seed);
  REQUIRE_MESSAGE(regs.ok(), path << ": " << (regs.ok() ? "" : regs.status().message()));
  beacon::catalog::SnapshotHub hub;
  beacon::catalog::Writer writer(hub, g.self, cfg.datacenter, cfg.dns);
  for (const auto& r : regs.value()) REQUIRE(writer.Apply(r).ok());
  auto prepared = beacon::config::DecodePreparedQueryList(g.prepared);
  REQUIRE_MESSAGE(prepared.ok(),
                  path << ": " << (prepared.ok() ? "" : prepared.status().message()));
  for (const auto& pq : prepared.value()) {
    REQUIRE_MESSAGE(beacon::catalog::CheckQuery(pq).empty(), beacon::catalog::CheckQuery(pq));
  }
  writer.SetPreparedQueries(prepared.value());
  writer.Publish(true);
  beacon::catalog::Snapshot snap = *hub.Current();
  snap.soa_serial = 1;

  auto scratch = std::make_unique<beacon::dns::Scratch>(42);
  beacon::dns::Counters counters;
  std::vector<uint8_t> out(beacon::dns::kMaxMessage);
  for (const QueryCase& q : g.queries) {
    const std::string where =
        path + ":" + std::to_string(q.line) + ": " + q.name + " " + q.type + (q.tcp ? " tcp" : "");
    INFO(where);
    std::vector<uint8_t> pkt = BuildQuery(q.name, q.type, q.edns, q.ecs);
    const size_t cap = q.tcp ? out.size() : 65535;
    auto r =
        beacon::dns::Answer(snap, pkt.data(), pkt.size(),
                            q.tcp ? beacon::dns::Transport::kTcp : beacon::dns::Transport::kUdp,
                            out.data(), cap, *scratch, counters);
    REQUIRE(r.action == beacon::dns::AnswerResult::kReply);
    if (!q.tcp) CHECK(r.len <= std::max<size_t>(512, q.edns > 0 ? q.edns : 512));
    ldns_pkt* p = nullptr;
    REQUIRE(ldns_wire2pkt(&p, out.data(), r.len) == LDNS_STATUS_OK);
    char* rc = ldns_pkt_rcode2str(ldns_pkt_get_rcode(p));
    CHECK(std::string(rc) == q.expect.rcode);
    free(rc);
    if (!q.expect.flags.empty()) {
      std::string f;
      if (ldns_pkt_qr(p)) f += "qr ";
      if (ldns_pkt_aa(p)) f += "aa ";
      if (ldns_pkt_tc(p)) f += "tc ";
      if (ldns_pkt_rd(p)) f += "rd ";
      if (ldns_pkt_ra(p)) f += "ra ";
      CHECK(Fold(f) == q.expect.flags);
    }
    // The question comes back exactly as sent (case preserved).
    CHECK(std::equal(pkt.begin() + 12,
                     pkt.end() - (q.edns >= 0 ? 11 : 0) - (q.ecs.empty() ? 0 : 12),
                     out.begin() + 12));
    const std::pair<const char*, ldns_rr_list*> secs[] = {{"answer", ldns_pkt_answer(p)},
                                                          {"authority", ldns_pkt_authority(p)},
                                                          {"additional", ldns_pkt_additional(p)}};
    for (const auto& sec : secs) {
      // Plain variables, not structured bindings: clang 14 (C++20) cannot capture bindings in
      // doctest's assertion lambdas.
      const char* const name = sec.first;
      std::vector<std::string> got = RenderSection(sec.second);
      auto cnt = q.expect.counts.find(name);
      if (cnt != q.expect.counts.end()) {
        CHECK_MESSAGE(static_cast<int>(got.size()) == cnt->second, std::string(name));
        continue;
      }
      auto want_it = q.expect.sections.find(name);
      std::vector<std::string> want =
          want_it == q.expect.sections.end() ? std::vector<std::string>() : want_it->second;
      std::sort(want.begin(), want.end());
      std::sort(got.begin(), got.end());
      std::string w, gstr;
      for (auto& s : want) w += "  " + s + "\n";
      for (auto& s : got) gstr += "  " + s + "\n";
      CHECK_MESSAGE(want == got, std::string(name) << " section\nwant:\n" << w << "got:\n" << gstr);
    }
    if (q.expect.opt == "none") {
      CHECK_FALSE(ldns_pkt_edns(p));
    } else if (!q.expect.opt.empty()) {
      CHECK(ldns_pkt_edns_udp_size(p) == std::stoi(q.expect.opt));
    }
    if (q.expect.ecs_scope >= 0) {
      // OPT rdata: code(2) len(2) family(2) source(1) scope(1) ...
      ldns_rdf* data = ldns_pkt_edns_data(p);
      CHECK(data != nullptr);
      if (data != nullptr) {
        CHECK(ldns_rdf_size(data) >= 8);
        if (ldns_rdf_size(data) >= 8) CHECK(ldns_rdf_data(data)[7] == q.expect.ecs_scope);
      }
    }
    ldns_pkt_free(p);
  }
}

}  // namespace

TEST_CASE("golden DNS answers (tests/golden/*.golden)") {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator("tests/golden")) {
    if (e.path().extension() == ".golden") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(!files.empty());
  for (const auto& f : files) {
    SUBCASE(f.c_str()) {
      RunFile(f);
    }
  }
}
