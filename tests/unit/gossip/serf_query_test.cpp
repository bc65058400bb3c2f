// Serf queries on the virtual network: a query reaches every node once, acks and responses come
// back to the origin until the timeout; the internal keyring queries rotate the gossip key across
// three encrypted nodes (install, use, remove the old key) and the cluster keeps talking; a node
// with a wrong key cannot join and says why.
#include <doctest.h>

#include <algorithm>

#include "beacon/gossip/serf.h"
#include "serf_sim.h"

using namespace serftest;
using Kind = SerfEvent::Kind;
using beacon::gossip::Keyring;
using beacon::gossip::QueryParams;
using beacon::gossip::QueryResult;
using beacon::gossip::SerfKeyRequest;
using beacon::gossip::SerfKeyResponse;

namespace {

beacon::gossip::Bytes key_of(std::uint8_t fill) {
  return beacon::gossip::Bytes(16, fill);
}

SerfConfig encrypted(std::uint8_t fill) {
  SerfConfig cfg;
  cfg.memberlist.keyring = Keyring::make({key_of(fill)}).value();
  return cfg;
}

void three_nodes(SerfSim& net) {
  for (int i = 0; i < 3; ++i) net.Add("n" + std::to_string(i));
  net.Join(1, 0);
  net.Join(2, 0);
  REQUIRE(net.RunUntilTrue(
      [&] {
        for (std::size_t i = 0; i < 3; ++i) {
          if (net[i].NumAliveMembers() != 3) return false;
        }
        return true;
      },
      60000));
}

// Runs a query from node 0 until it is done; returns every response, acks and responses merged.
QueryResult run_query(SerfSim& net, const std::string& name, beacon::gossip::Bytes payload,
                      QueryParams params = {}) {
  std::uint64_t handle = 0;
  net.Do(0, [&](Serf& s, std::uint64_t now) {
    auto h = s.Query(now, name, payload, params);
    REQUIRE(h.ok());
    handle = h.value();
  });
  QueryResult all;
  all.handle = handle;
  REQUIRE(net.RunUntilTrue(
      [&] {
        net.Do(0, [&](Serf& s, std::uint64_t) {
          for (QueryResult& r : s.TakeQueryResults()) {
            if (r.handle != handle) continue;
            all.acks.insert(all.acks.end(), r.acks.begin(), r.acks.end());
            for (auto& nr : r.responses) all.responses.push_back(std::move(nr));
            all.done = all.done || r.done;
          }
        });
        return all.done;
      },
      30000));
  return all;
}

std::vector<SerfKeyResponse> key_query(SerfSim& net, const std::string& op,
                                       const beacon::gossip::Bytes& key) {
  QueryResult r = run_query(net, "_serf_" + op, EncodeSerf(SerfKeyRequest{key}));
  std::vector<SerfKeyResponse> out;
  for (const auto& nr : r.responses) {
    REQUIRE(!nr.payload.empty());
    auto d = DecodeSerfKeyResponse(beacon::gossip::ByteView(nr.payload).subspan(1));
    REQUIRE(d.ok());
    out.push_back(d.value());
  }
  return out;
}

}  // namespace

TEST_CASE("a query reaches every node once; acks and responses come back until the timeout") {
  SerfSim net(7);
  three_nodes(net);
  const std::uint64_t start = net.now();
  std::uint64_t handle = 0;
  net.Do(0, [&](Serf& s, std::uint64_t now) {
    handle = s.Query(now, "deploy", {'v', '1'}, QueryParams{3000, true}).value();
  });
  // Everyone (the origin too) gets the query event once and answers it.
  REQUIRE(net.RunUntilTrue(
      [&] {
        for (const char* n : {"n0", "n1", "n2"}) {
          if (net.Count(n, Kind::kQuery, "") != 1) return false;
        }
        return true;
      },
      2000));
  const std::vector<Logged> logged = net.log();  // Do() below appends to the log
  for (const Logged& l : logged) {
    if (l.event.kind != Kind::kQuery) continue;
    CHECK(l.event.name == "deploy");
    CHECK(l.event.source_node == "n0");
    const std::size_t i = static_cast<std::size_t>(l.observer[1] - '0');
    net.Do(i, [&](Serf& s, std::uint64_t now) {
      CHECK(s.RespondQuery(now, l.event.query_id,
                           {'o', 'k', static_cast<std::uint8_t>(l.observer[1])})
                .ok());
      CHECK(s.RespondQuery(now, l.event.query_id, {'x'}).message() == "response already sent");
    });
  }
  QueryResult all;
  net.RunUntil(start + 3500);
  net.Do(0, [&](Serf& s, std::uint64_t) {
    for (QueryResult& r : s.TakeQueryResults()) {
      CHECK(r.handle == handle);
      all.acks.insert(all.acks.end(), r.acks.begin(), r.acks.end());
      all.responses.insert(all.responses.end(), r.responses.begin(), r.responses.end());
      all.done = all.done || r.done;
    }
  });
  CHECK(all.done);
  std::sort(all.acks.begin(), all.acks.end());
  CHECK(all.acks == std::vector<std::string>{"n0", "n1", "n2"});
  REQUIRE(all.responses.size() == 3);
  for (const auto& r : all.responses) {
    CHECK(r.payload == beacon::gossip::Bytes{'o', 'k', static_cast<std::uint8_t>(r.from[1])});
  }
  // Gossip repeats the query; nobody sees it twice.
  net.RunUntil(net.now() + 10000);
  CHECK(net.Count("n1", Kind::kQuery, "") == 1);
  // Too big: Serf's limit and text.
  net.Do(0, [&](Serf& s, std::uint64_t now) {
    auto r = s.Query(now, "big", beacon::gossip::Bytes(2000, 'x'));
    CHECK(r.status().message() == "query exceeds limit of 1024 bytes");
  });
}

TEST_CASE("keyring queries rotate the gossip key on three nodes; they keep talking") {
  SerfSim net(11, encrypted(1));
  three_nodes(net);
  const auto k1 = key_of(1), k2 = key_of(2);

  auto listed = key_query(net, "list-keys", {});
  REQUIRE(listed.size() == 3);
  for (const auto& r : listed) {
    CHECK(r.result);
    CHECK(r.keys == std::vector<std::string>{"AQEBAQEBAQEBAQEBAQEBAQ=="});
    CHECK(r.primary_key == "AQEBAQEBAQEBAQEBAQEBAQ==");
  }

  for (const auto& r : key_query(net, "install-key", k2)) CHECK(r.result);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(net[i].keyring()->keys() == std::vector<beacon::gossip::Bytes>{k1, k2});
  }
  auto used = key_query(net, "use-key", k2);
  CHECK(used.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(net[i].keyring()->primary() == k2);

  auto refused = key_query(net, "remove-key", k2);
  REQUIRE(refused.size() == 3);
  for (const auto& r : refused) {
    CHECK_FALSE(r.result);
    CHECK(r.message == "Removing the primary key is not allowed");
  }
  auto unknown = key_query(net, "use-key", key_of(9));
  REQUIRE(unknown.size() == 3);
  CHECK(unknown[0].message == "Requested key is not in the keyring");

  auto removed = key_query(net, "remove-key", k1);
  CHECK(removed.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(net[i].keyring()->keys() == std::vector<beacon::gossip::Bytes>{k2});
  }

  // Still one cluster on the new key alone: a user event reaches everyone, nobody fails.
  net.Do(2, [](Serf& s, std::uint64_t now) { CHECK(s.UserEvent(now, "after", {}, false).ok()); });
  net.RunUntil(net.now() + 60000);
  for (const char* n : {"n0", "n1", "n2"}) CHECK(net.Count(n, Kind::kUser, "after") == 1);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(net[i].NumAliveMembers() == 3);
    CHECK(net.Count(net[i].name(), Kind::kMemberFailed, "n0") == 0);
  }
}

TEST_CASE(
    "keyring queries without encryption answer Serf's errors; the saver's error is reported") {
  SerfSim net(5);
  three_nodes(net);
  auto r = key_query(net, "install-key", key_of(3));
  REQUIRE(r.size() == 3);
  CHECK(r[0].message == "No keyring to modify (encryption not enabled)");
  auto l = key_query(net, "list-keys", {});
  REQUIRE(l.size() == 3);
  CHECK_FALSE(l[0].result);
  CHECK(l[0].message == "Keyring is empty (encryption not enabled)");

  SerfSim enc(6, encrypted(4));
  three_nodes(enc);
  int saved = 0;
  enc.Do(0, [&](Serf& s, std::uint64_t) {
    s.SetKeyringSaver([&](const Keyring& k) {
      ++saved;
      CHECK(k.keys().size() == 2);
      return beacon::Status::Error("disk full");
    });
  });
  auto inst = key_query(enc, "install-key", key_of(5));
  REQUIRE(inst.size() == 3);
  CHECK(saved == 1);
  std::size_t failed = 0;
  for (const auto& x : inst) failed += (!x.result && x.message == "disk full");
  CHECK(failed == 1);
}

TEST_CASE("a node with a wrong key cannot join, and the error says why") {
  SerfSim net(9, encrypted(1));
  net.Add("n0");
  const std::size_t bad = net.Add("bad", {}, encrypted(7));
  const std::uint64_t token = net.Join(bad, 0);
  net.RunUntil(net.now() + 5000);
  const auto& results = net.join_results(bad);
  REQUIRE(results.size() == 1);
  CHECK(results[0].token == token);
  CHECK(results[0].joined == 0);
  CHECK(results[0].error.find("No installed keys could decrypt the message") != std::string::npos);
  CHECK(net[0].NumAliveMembers() == 1);
  CHECK(net[bad].NumAliveMembers() == 1);
}

TEST_CASE("a name-conflict query is answered by everyone but the node named, with its record") {
  SerfSim net(13);
  three_nodes(net);
  QueryResult r = run_query(net, "_serf_conflict", {'n', '1'});
  std::vector<std::string> from;
  for (const auto& nr : r.responses) {
    from.push_back(nr.from);
    REQUIRE(!nr.payload.empty());
    auto d =
        beacon::gossip::DecodeSerfConflictResponse(beacon::gossip::ByteView(nr.payload).subspan(1));
    REQUIRE(d.ok());
    REQUIRE(d->member.has_value());
    CHECK(d->member->name == "n1");
    CHECK(d->member->addr == net.endpoint(1).ip);
    CHECK(d->member->status == 1);
  }
  std::sort(from.begin(), from.end());
  CHECK(from == std::vector<std::string>{"n0", "n2"});
}
