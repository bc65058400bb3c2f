// LoadCatalogSeed: /v1/catalog/register bodies in bulk.
#include <doctest.h>

#include <chrono>
#include <string>

#include "beacon/config/config.h"
#include "test_util.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define BEACON_TEST_SANITIZED 1
#endif
#endif

namespace beacon::config {
namespace {

using catalog::Health;
using testing::TempDir;

std::string SeedError(const std::string& text) {
  TempDir t;
  std::string path = t.Write("seed.json", text);
  auto r = LoadCatalogSeed(path);
  REQUIRE_FALSE(r.ok());
  std::string msg = r.status().message();
  REQUIRE(msg.rfind(path + ": ", 0) == 0);  // every error names the file
  return msg.substr(path.size() + 2);
}

TEST_CASE("seed: register bodies with services and checks, keys in any case") {
  TempDir t;
  std::string path = t.Write("seed.json", R"([
    {"Node": "n1", "ID": "40e4a748-2192-161a-0510-9bf59fe950b5", "Address": "10.0.0.1",
     "Datacenter": "DC1", "TaggedAddresses": {"lan": "10.0.0.1", "wan": "198.51.100.1"},
     "NodeMeta": {"rack": "r1"},
     "Service": {"ID": "web-1", "Service": "web", "Tags": ["v1", "primary"], "Address": "10.0.1.1",
                 "Port": 8080, "Meta": {"version": "1"}, "Weights": {"Passing": 5, "Warning": 1},
                 "TaggedAddresses": {"lan": {"Address": "10.0.1.1", "Port": 8080}},
                 "EnableTagOverride": true},
     "Check": {"Node": "n1", "CheckID": "service:web-1", "Name": "web alive", "Status": "passing",
               "ServiceID": "web-1", "Notes": "n", "Output": "HTTP 200"},
     "Checks": [{"CheckID": "mem", "Name": "Memory", "Status": "warning"},
                {"Name": "disk"}]},
    {"node": "n2", "address": "n2.example.com",
     "service": {"service": "db", "port": 5432}, "skip_node_update": false},
    {"Node": "n3", "Address": "10.0.0.3", "Service": null}
  ])");
  auto r = LoadCatalogSeed(path);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  const auto& regs = *r;
  REQUIRE(regs.size() == 3);

  const catalog::Registration& a = regs[0];
  CHECK(a.node.name == "n1");
  CHECK(a.node.id == "40e4a748-2192-161a-0510-9bf59fe950b5");
  CHECK(a.node.address == "10.0.0.1");
  CHECK(a.node.datacenter == "dc1");
  CHECK(a.node.tagged_addresses.at("wan") == "198.51.100.1");
  CHECK(a.node.meta.at("rack") == "r1");
  REQUIRE(a.services.size() == 1);
  const catalog::Service& s = a.services[0];
  CHECK(s.id == "web-1");
  CHECK(s.name == "web");
  CHECK(s.tags == std::vector<std::string>{"v1", "primary"});
  CHECK(s.address == "10.0.1.1");
  CHECK(s.port == 8080);
  CHECK(s.meta.at("version") == "1");
  CHECK(s.weights.passing == 5);
  CHECK(s.tagged_addresses.at("lan").port == 8080);
  CHECK(s.enable_tag_override);
  REQUIRE(a.checks.size() == 3);
  CHECK(a.checks[0].id == "service:web-1");
  CHECK(a.checks[0].name == "web alive");
  CHECK(a.checks[0].status == Health::kPassing);
  CHECK(a.checks[0].service_id == "web-1");
  CHECK(a.checks[0].service_name == "web");
  CHECK(a.checks[0].notes == "n");
  CHECK(a.checks[0].output == "HTTP 200");
  CHECK(a.checks[1].id == "mem");
  CHECK(a.checks[1].status == Health::kWarning);
  CHECK(a.checks[1].service_id.empty());
  CHECK(a.checks[2].id == "disk");  // CheckID defaults to Name
  CHECK(a.checks[2].status == Health::kCritical);

  const catalog::Registration& b = regs[1];
  CHECK(b.node.address == "n2.example.com");
  REQUIRE(b.services.size() == 1);
  CHECK(b.services[0].id == "db");  // ID defaults to the service name
  CHECK(b.services[0].port == 5432);
  CHECK(b.checks.empty());
  CHECK(regs[2].services.empty());
}

TEST_CASE("seed: errors name the entry and key") {
  CHECK(SeedError(R"([{"Node": "n", "Address": "a"}, {"Address": "b"}])") ==
        "[1].Node: missing required key");
  CHECK(SeedError(R"([{"Node": "n"}])") == "[0].Address: missing required key");
  CHECK(
      SeedError(R"([{"Node": "n", "Address": "a", "Service": {"Service": "s", "Port": 70000}}])") ==
      "[0].Service.Port: expected a number between 0 and 65535");
  CHECK(SeedError(R"([{"Node": "n", "Address": "a", "Service": {"Port": 1}}])") ==
        "[0].Service.Service: missing required key (the service name)");
  CHECK(
      SeedError(
          R"([{"Node": "n", "Address": "a", "Checks": [{"Name": "x"}, {"Name": "y", "Status": "up"}]}])") ==
      "[0].Checks[1].Status: expected passing, warning or critical, got \"up\"");
  CHECK(SeedError(R"([{"Node": "n", "Address": "a", "Service": {"Service": "s", "Tags": [1]}}])") ==
        "[0].Service.Tags[0]: expected a string");
  CHECK(SeedError(R"({"Node": "n"})") == "expected a JSON array of /v1/catalog/register bodies");
  CHECK(SeedError(R"([{"Node": "n",]])").rfind("invalid JSON: ", 0) == 0);
  auto missing = LoadCatalogSeed("/nonexistent/seed.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().rfind("/nonexistent/seed.json: cannot read", 0) == 0);
}

TEST_CASE("seed: 300,000 register bodies load completely") {
  TempDir t;
  std::string text = "[";
  text.reserve(300000 * 260);
  for (int svc = 0; svc < 100000; ++svc) {
    for (int inst = 0; inst < 3; ++inst) {
      const std::string n = std::to_string(svc * 3 + inst);
      if (text.size() > 1) text += ",\n";
      text +=
          R"({"Node":"node-)" + n + R"(","Address":"10.)" + std::to_string(inst) + "." +
          std::to_string(svc / 256 % 256) + "." + std::to_string(svc % 256) +
          R"(","Datacenter":"dc1","Service":{"ID":"svc-)" + std::to_string(svc) + "-" +
          std::to_string(inst) + R"(","Service":"svc-)" + std::to_string(svc) +
          R"(","Tags":["v1","az-)" + std::to_string(inst) +
          R"("],"Port":8080},"Check":{"CheckID":"chk","Name":"alive","Status":"passing","ServiceID":"svc-)" +
          std::to_string(svc) + "-" + std::to_string(inst) + R"("}})";
    }
  }
  text += "]";
  std::string path = t.Write("big.json", text);
  auto start = std::chrono::steady_clock::now();
  auto r = LoadCatalogSeed(path);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  REQUIRE(r.ok());
  CHECK(r->size() == 300000);
  CHECK(r->back().services.at(0).name == "svc-99999");
  CHECK(r->back().checks.at(0).service_name == "svc-99999");
  MESSAGE("LoadCatalogSeed: 300000 entries (" << text.size() / (1024 * 1024) << " MiB) in " << ms
                                              << " ms");
  // Speed is measured by bench/ (bench_publish, compare.sh start time), not asserted here.
}

TEST_CASE("seed: streamed entries arrive in order; errors stop the stream and name the entry") {
  TempDir t;
  std::string path = t.Write("seed.json", R"([
    {"Node": "a", "Address": "10.0.0.1", "Service": {"Service": "web", "Port": 80}},
    {"Node": "b", "Address": "10.0.0.2"},
    {"Node": "c", "Address": "10.0.0.3", "Service": {"Service": "db", "Port": 5432}}
  ])");
  std::vector<std::string> seen;
  size_t count = 0;
  Status st = ForEachCatalogSeedEntry(
      path,
      [&](const catalog::Registration& r) {
        seen.push_back(r.node.name + ":" + (r.services.empty() ? "" : r.services[0].name));
        return Status::Ok();
      },
      &count);
  REQUIRE(st.ok());
  CHECK(count == 3);
  CHECK(seen == std::vector<std::string>{"a:web", "b:", "c:db"});

  seen.clear();
  st = ForEachCatalogSeedEntry(path, [&](const catalog::Registration& r) {
    seen.push_back(r.node.name);
    return r.node.name == "b" ? Status::Error("refused") : Status::Ok();
  });
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == path + ": [1]: refused");
  CHECK(seen == std::vector<std::string>{"a", "b"});  // nothing after the error

  std::string bad = t.Write("bad.json", R"([{"Node": "a", "Address": "10.0.0.1"}, {"Node": 7}])");
  st = ForEachCatalogSeedEntry(bad, [](const catalog::Registration&) { return Status::Ok(); });
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().rfind(bad + ": ", 0) == 0);
  CHECK(st.message().find("[1]") != std::string::npos);
}

TEST_CASE("seed: read in batches, strings with brackets, commas and escapes stay whole") {
  // The file is cut into batches of whole entries by scanning its structure, so text that looks
  // like structure inside strings, and entries larger than one read block, must not confuse it.
  TempDir t;
  const std::string big(700 * 1024, 'x');  // one entry spanning several 256 KiB blocks
  std::string text = "[\n";
  for (int i = 0; i < 2000; ++i) {
    if (i > 0) text += " ,\n";
    text +=
        R"({"Node": "n)" + std::to_string(i) + R"(", "Address": "10.0.0.1", "NodeMeta": {"m": )";
    text += i == 1000 ? "\"" + big + "\"" : R"("a],b}c{[\"q\" \\ \\\" ,")";
    text += R"(}, "Service": {"Service": "s", "Tags": ["t]", "[u"]}})";
  }
  text += "\n]\n";
  std::string path = t.Write("seed.json", text);
  auto r = LoadCatalogSeed(path);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  REQUIRE(r->size() == 2000);
  CHECK(r->at(0).node.meta.at("m") == R"(a],b}c{["q" \ \" ,)");
  CHECK(r->at(1000).node.meta.at("m") == big);
  CHECK(r->at(1999).node.name == "n1999");
  CHECK(r->at(1999).services.at(0).tags == std::vector<std::string>{"t]", "[u"});
}

TEST_CASE("seed: many batches; a refusal or a late syntax error stops the stream") {
  // Many batches: stopping early must not deliver anything after the stop, and a syntax error far
  // into the file is reported after every entry before its batch was delivered, in order.
  TempDir t;
  std::string text = "[";
  for (int i = 0; i < 20000; ++i) {
    if (i > 0) text += ",";
    text += R"({"Node": "n)" + std::to_string(i) + R"(", "Address": "10.0.0.1", "Service": )" +
            R"({"Service": "s", "Port": 80, "Tags": ["a", "b"], "Meta": {"k": "v"}}})";
  }
  const std::string good = t.Write("good.json", text + "]");
  size_t seen = 0;
  Status st = ForEachCatalogSeedEntry(good, [&](const catalog::Registration& r) {
    if (r.node.name != "n" + std::to_string(seen)) return Status::Error("out of order");
    return ++seen == 10 ? Status::Error("refused") : Status::Ok();
  });
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == good + ": [9]: refused");
  CHECK(seen == 10);

  const std::string late = t.Write("late.json", text + R"(,{"Node": ]})");
  seen = 0;
  st = ForEachCatalogSeedEntry(late, [&](const catalog::Registration& r) {
    return r.node.name == "n" + std::to_string(seen++) ? Status::Ok() : Status::Error("order");
  });
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("invalid JSON") != std::string::npos);
  CHECK(seen > 0);
  CHECK(seen <= 20000);

  size_t count = 0;
  seen = 0;
  st = ForEachCatalogSeedEntry(
      good,
      [&](const catalog::Registration&) {
        ++seen;
        return Status::Ok();
      },
      &count);
  REQUIRE(st.ok());
  CHECK(count == 20000);
  CHECK(seen == 20000);
}

TEST_CASE("seed: an empty array loads nothing; broken arrays are invalid JSON") {
  TempDir t;
  auto empty = LoadCatalogSeed(t.Write("e.json", " [ ] \n"));
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  const char* bad[] = {
      R"([{"Node": "a", "Address": "b"},])",               // trailing comma
      R"([{"Node": "a", "Address": "b"})",                 // not closed
      R"([{"Node": "a", "Address": "b"}] x)",              // text after the array
      R"([{"Node": "a", "Address": "b"} {"Node": "c"}])",  // no comma
      R"([{"Node": "a", "Address": "b)",                   // string not closed
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK(SeedError(text).rfind("invalid JSON: ", 0) == 0);
  }
}

}  // namespace
}  // namespace beacon::config
