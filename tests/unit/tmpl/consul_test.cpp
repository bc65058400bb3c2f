// consul-template's Consul functions on fixture API answers: the paths asked for, blocking
// semantics (incomplete renders), filters, orders and the value shapes.
#include <doctest.h>

#include <thread>

#include "beacon/core/base64.h"
#include "fixture.h"

using tmpl_test::MapData;
using tmpl_test::Render;

namespace {

std::string Entry(const std::string& key, const char* value, int create, int modify) {
  std::string v = value ? "\"" + beacon::core::Base64Encode(value) + "\"" : "null";
  return "{\"LockIndex\":0,\"Key\":\"" + key + "\",\"Flags\":0,\"Value\":" + v +
         ",\"CreateIndex\":" + std::to_string(create) +
         ",\"ModifyIndex\":" + std::to_string(modify) + "}";
}

MapData Kv() {
  MapData d;
  d.Put("/v1/kv/master/test", "[" + Entry("master/test", "test_data3", 5, 7) + "]");
  d.Put("/v1/kv/empty", "[" + Entry("empty", nullptr, 6, 6) + "]");
  d.Put("/v1/kv/missing", "", 404);
  d.Put("/v1/kv/app?recurse", "[" + Entry("app/", nullptr, 1, 1) + "," +
                                  Entry("app/a", "1", 10, 11) + "," + Entry("app/b", "2", 12, 12) +
                                  "," + Entry("app/sub/", nullptr, 13, 13) + "," +
                                  Entry("app/sub/c", "3", 14, 15) + "]");
  d.Put("/v1/kv/none?recurse", "", 404);
  return d;
}

std::string Instance(const std::string& node, const std::string& node_addr, const std::string& id,
                     const std::string& addr, int port, const std::string& tags,
                     const std::string& status) {
  return "{\"Node\":{\"ID\":\"\",\"Node\":\"" + node + "\",\"Address\":\"" + node_addr +
         "\",\"Datacenter\":\"dc1\",\"TaggedAddresses\":null,\"Meta\":{\"rack\":\"r1\"}},"
         "\"Service\":{\"ID\":\"" +
         id + "\",\"Service\":\"web\",\"Tags\":" + tags + ",\"Address\":\"" + addr +
         "\",\"Meta\":null,\"Port\":" + std::to_string(port) +
         ",\"Weights\":{\"Passing\":1,\"Warning\":1}},\"Checks\":[{\"Node\":\"" + node +
         "\",\"CheckID\":\"serfHealth\",\"Name\":\"Serf\",\"Status\":\"passing\"},{\"Node\":\"" +
         node + "\",\"CheckID\":\"c-" + id + "\",\"Name\":\"http\",\"Status\":\"" + status +
         "\",\"ServiceID\":\"" + id + "\"}]}";
}

MapData Catalog() {
  MapData d;
  std::string n2 = Instance("n2", "10.0.0.2", "web2", "", 81, "[\"rails\",\"b\"]", "passing");
  std::string n1b =
      Instance("n1", "10.0.0.1", "web1b", "192.168.0.9", 82, "[\"rails\"]", "passing");
  std::string n1a = Instance("n1", "10.0.0.1", "web1a", "", 80, "[]", "passing");
  std::string n3w = Instance("n3", "10.0.0.3", "web3", "", 83, "[\"b\"]", "warning");
  std::string n4c = Instance("n4", "10.0.0.4", "web4", "", 84, "[]", "critical");
  d.Put("/v1/health/service/web?passing", "[" + n2 + "," + n1b + "," + n1a + "]");
  d.Put("/v1/health/service/web?passing&tag=rails", "[" + n2 + "," + n1b + "]");
  d.Put("/v1/health/service/web", "[" + n4c + "," + n3w + "," + n2 + "," + n1b + "," + n1a + "]");
  d.Put("/v1/catalog/services", R"({"web":["z","a"],"consul":[],"db":null})");
  d.Put(
      "/v1/catalog/nodes",
      R"([{"ID":"i2","Node":"n2","Address":"10.0.0.2","Datacenter":"dc1","TaggedAddresses":{"lan":"10.0.0.2"},"Meta":{}},
            {"ID":"i1","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":null,"Meta":null}])");
  d.Put("/v1/agent/self", R"({"Config":{"NodeName":"n1","Datacenter":"dc1"}})");
  d.Put(
      "/v1/catalog/node/n1",
      R"({"Node":{"ID":"i1","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":null,"Meta":{"rack":"r1"}},
            "Services":{"web1b":{"ID":"web1b","Service":"web","Tags":["z","a"],"Port":82,"Address":""},
                        "api":{"ID":"api","Service":"api","Tags":[],"Port":9000,"Address":"","Meta":{"v":"1"}},
                        "web1a":{"ID":"web1a","Service":"web","Tags":null,"Port":80,"Address":""}}})");
  d.Put("/v1/catalog/node/ghost", "null");
  return d;
}

}  // namespace

TEST_CASE("key: the value; a missing key leaves the render incomplete (consul-template blocks)") {
  MapData d = Kv();
  CHECK(Render("v={{ key \"master/test\" }}", d) == "v=test_data3");
  CHECK(Render("{{ key \"/master/test\" }}", d) == "test_data3");  // a leading / is dropped
  CHECK(Render("[{{ key \"empty\" }}]", d) == "[]");
  CHECK(Render("[{{ key \"missing\" }}]", d) == "INCOMPLETE: []");
  CHECK(Render("[{{ key \"\" }}]", d) == "[]");
  CHECK(Render("{{ key \"dc/k@dc2\" }}", d) == "INCOMPLETE: ");
  CHECK(d.asked.back() == "/v1/kv/dc/k?dc=dc2");
  // Paths are URL-escaped, ready to send.
  CHECK(Render("{{ key \"my key/ü%\" }}", d) == "INCOMPLETE: ");
  CHECK(d.asked.back() == "/v1/kv/my%20key/%C3%BC%25");
}

TEST_CASE("keyExists and keyOrDefault read a 404 as absent") {
  MapData d = Kv();
  CHECK(Render("{{ keyExists \"master/test\" }} {{ keyExists \"missing\" }} "
               "{{ keyExists \"empty\" }}",
               d) == "true false true");
  CHECK(Render("{{ keyOrDefault \"master/test\" \"d\" }} {{ keyOrDefault \"missing\" \"d\" }} "
               "{{ keyOrDefault \"empty\" \"d\" }}",
               d) == "test_data3 d d");
  // Not fetched yet: the default is rendered but the render is incomplete.
  CHECK(Render("{{ keyOrDefault \"unfetched\" \"d\" }}", d) == "INCOMPLETE: d");
}

TEST_CASE("ls keeps direct children, tree drops folders; Key is relative to the prefix") {
  MapData d = Kv();
  CHECK(Render("{{ range ls \"app\" }}{{ .Key }}={{ .Value }};{{ end }}", d) == "a=1;b=2;");
  CHECK(Render("{{ range tree \"app\" }}{{ .Key }}:{{ .Path }}={{ .Value }};{{ end }}", d) ==
        "a:app/a=1;b:app/b=2;sub/c:app/sub/c=3;");
  CHECK(Render("{{ tree \"/app/\" }}", d) == "INCOMPLETE: []");  // the leading / is dropped
  CHECK(d.asked.back() == "/v1/kv/app/?recurse");
  CHECK(Render("{{ range ls \"none\" }}x{{ else }}empty{{ end }}", d) == "empty");
  CHECK(Render("{{ range safeLs \"none\" }}x{{ else }}empty{{ end }}", d) == "INCOMPLETE: empty");
  CHECK(Render("{{ with index (ls \"app\") 0 }}{{ .CreateIndex }} {{ .ModifyIndex }} "
               "{{ .Flags }}{{ end }}",
               d) == "10 11 0");
  CHECK(Render("{{ index (ls \"app\") 0 }}", d) == "{app/a a 1 10 11 0 0 }");
  CHECK(
      Render("{{ toJSON (ls \"app\") }}", d) ==
      "[{\"Path\":\"app/a\",\"Key\":\"a\",\"Value\":\"1\",\"CreateIndex\":10,\"ModifyIndex\":11,"
      "\"LockIndex\":0,\"Flags\":0,\"Session\":\"\"},{\"Path\":\"app/b\",\"Key\":\"b\",\"Value\":"
      "\"2\",\"CreateIndex\":12,\"ModifyIndex\":12,\"LockIndex\":0,\"Flags\":0,\"Session\":\"\"}]");
  CHECK(Render("{{ range $top, $pairs := tree \"app\" | byKey }}{{ $top }}:{{ range $k, $p := "
               "$pairs }}{{ $k }}={{ $p.Value }}{{ end }}{{ end }}",
               d) == "sub:c=3");
  CHECK(d.asked.back() == "/v1/kv/app?recurse");
}

TEST_CASE("service: passing only by default, sorted by node then ID, address falls back") {
  MapData d = Catalog();
  CHECK(Render("{{ range service \"web\" }}{{ .Node }}/{{ .ID }}@{{ .Address }}:{{ .Port }} "
               "{{ end }}",
               d) == "n1/web1a@10.0.0.1:80 n1/web1b@192.168.0.9:82 n2/web2@10.0.0.2:81 ");
  CHECK(d.asked.back() == "/v1/health/service/web?passing");
  CHECK(Render("{{ range service \"rails.web\" }}{{ .ID }} {{ .Tags }} {{ end }}", d) ==
        "web1b [rails] web2 [b rails] ");
  CHECK(d.asked.back() == "/v1/health/service/web?passing&tag=rails");
  CHECK(Render("{{ range service \"web\" }}{{ if .Tags | contains \"rails\" }}{{ .ID }} {{ end }}"
               "{{ end }}",
               d) == "web1b web2 ");
  CHECK(Render("{{ range service \"web\" \"any\" }}{{ .ID }}={{ .Status }} {{ end }}", d) ==
        "web1a=passing web1b=passing web2=passing web3=warning web4=critical ");
  CHECK(d.asked.back() == "/v1/health/service/web");
  CHECK(Render("{{ service \"v=1:x.web@dc2\" }}", d) == "INCOMPLETE: []");
  CHECK(d.asked.back() == "/v1/health/service/web?passing&tag=v%3D1%3Ax&dc=dc2");
  CHECK(Render("{{ range service \"web|passing,warning\" }}{{ .ID }} {{ end }}", d) ==
        "web1a web1b web2 web3 ");
  CHECK(Render("{{ range service \"web\" \"critical\" }}{{ .ID }} {{ end }}", d) == "web4 ");
  CHECK(Render("{{ with index (service \"web\") 0 }}{{ .NodeAddress }} {{ .NodeMeta.rack }} "
               "{{ .Weights.Passing }} {{ len .Checks }} {{ (index .Checks 1).CheckID }}{{ end }}",
               d) == "10.0.0.1 r1 1 2 c-web1a");
  CHECK(Render("{{ service \"web\" \"bogus\" }}", d)
            .find("health.service: invalid filter: \"bogus\" in \"web|bogus\"") !=
        std::string::npos);
  CHECK(Render("{{ service \"we b\" }}", d).find("health.service: invalid format") !=
        std::string::npos);
}

TEST_CASE("byTag groups services by tag, tags in order") {
  MapData d = Catalog();
  CHECK(Render("{{ range $tag, $s := service \"web\" | byTag }}{{ $tag }}:{{ range $s }}{{ .ID }},"
               "{{ end }} {{ end }}",
               d) == "b:web2, rails:web1b,web2, ");
  CHECK(Render("{{ range $t, $s := services | byTag }}{{ $t }}={{ len $s }} {{ end }}", d) ==
        "a=1 z=1 ");
}

TEST_CASE("services: sorted names with sorted tags") {
  MapData d = Catalog();
  CHECK(Render("{{ range services }}{{ .Name }}{{ .Tags }} {{ end }}", d) ==
        "consul[] db[] web[a z] ");
  CHECK(d.asked.back() == "/v1/catalog/services");
  CHECK(Render("{{ len services }}", d) == "3");  // a function as an argument is called
  d.Put("/v1/catalog/datacenters", R"(["dc1","dc2"])");
  CHECK(Render("{{ datacenters }} {{ services \"@dc2\" }}", d) == "INCOMPLETE: [dc1 dc2] []");
  CHECK(d.asked.back() == "/v1/catalog/services?dc=dc2");
  CHECK(Render("{{ toJSON services }}", d) ==
        "[{\"Name\":\"consul\",\"Tags\":[]},{\"Name\":\"db\",\"Tags\":[]},{\"Name\":\"web\","
        "\"Tags\":[\"a\",\"z\"]}]");
}

TEST_CASE("nodes and node") {
  MapData d = Catalog();
  CHECK(Render("{{ range nodes }}{{ .Node }}={{ .Address }} {{ .TaggedAddresses.lan }}|{{ end }}",
               d) == "n1=10.0.0.1 <no value>|n2=10.0.0.2 10.0.0.2|");
  CHECK(Render("{{ with node }}{{ .Node.Node }} {{ .Node.Meta.rack }}:{{ range .Services }} "
               "{{ .Service }}/{{ .ID }}{{ .Tags }}{{ end }}{{ end }}",
               d) == "n1 r1: api/api[] web/web1a[] web/web1b[a z]");
  CHECK(d.asked[d.asked.size() - 2] == "/v1/agent/self");
  CHECK(d.asked.back() == "/v1/catalog/node/n1");
  CHECK(Render("{{ with node \"ghost\" }}{{ .Node }} {{ .Services }}{{ end }}", d) == "<nil> []");
  CHECK(Render("{{ (node \"ghost\").Node.Address }}", d)
            .find("nil pointer evaluating *dep.Node.Address") != std::string::npos);
}

TEST_CASE("an incomplete render lists every dependency in first-use order, deduplicated") {
  auto t = beacon::tmpl::Template::Parse(
      "{{ key \"a\" }}{{ range service \"web\" }}{{ .Address }}{{ end }}{{ key \"a\" }}"
      "{{ keyOrDefault \"b\" \"x\" }}{{ range ls \"p\" }}{{ end }}{{ with node }}{{ end }}"
      "{{ index (service \"web\") 0 }}",  // an error on the empty stand-in is not reported
      {"deps"});
  REQUIRE(t.ok());
  MapData none;
  auto r = t->Render(none, tmpl_test::TestEnv());
  REQUIRE(r.ok());
  CHECK_FALSE(r->complete);
  CHECK(r->deps == std::vector<std::string>{"/v1/kv/a", "/v1/health/service/web?passing",
                                            "/v1/kv/b", "/v1/kv/p?recurse", "/v1/agent/self"});
  // Once fetched, the same template completes and lists the node path too.
  MapData d = Catalog();
  d.Put("/v1/kv/a", "[" + Entry("a", "A", 1, 1) + "]");
  d.Put("/v1/kv/b", "", 404);
  d.Put("/v1/kv/p?recurse", "", 404);
  r = t->Render(d, tmpl_test::TestEnv());
  REQUIRE(r.ok());
  CHECK(r->complete);
  CHECK(r->deps.back() == "/v1/catalog/node/n1");
  CHECK(r->output.substr(0, 1) == "A");
}

TEST_CASE("an error in a complete render is reported; bad bodies are errors") {
  MapData d = Catalog();
  CHECK(Render("{{ index (service \"web\" \"critical\") 3 }}", d).find("index out of range: 3") !=
        std::string::npos);
  d.Put("/v1/kv/bad", "{not json");
  CHECK(Render("{{ key \"bad\" }}", d).find("GET /v1/kv/bad:") != std::string::npos);
  d.Put("/v1/kv/err", "", 500);
  CHECK(Render("{{ key \"err\" }}", d).find("unexpected response code 500") != std::string::npos);
}

TEST_CASE("one parsed template renders concurrently from several threads") {
  auto t = beacon::tmpl::Template::Parse(
      "{{ range service \"web\" }}{{ .Node }}={{ .Address }}:{{ .Port }}{{ .Tags }}\n{{ end }}"
      "{{ range services }}{{ .Name }}{{ end }}{{ with node }}{{ .Node.Node }}{{ end }}",
      {"mt"});
  REQUIRE(t.ok());
  MapData base = Catalog();
  auto want = t->Render(base, tmpl_test::TestEnv());
  REQUIRE(want.ok());
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      MapData d = Catalog();  // Data is per render; the Template is shared
      for (int k = 0; k < 50; ++k) {
        auto r = t->Render(d, tmpl_test::TestEnv());
        if (!r.ok() || r->output != want->output) return;
      }
      got[i] = want->output;
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& g : got) CHECK(g == want->output);
}

TEST_CASE("explode turns a KV tree into nested maps") {
  MapData d = Kv();
  CHECK(Render("{{ with tree \"app\" | explode }}{{ .a }} {{ .sub.c }} {{ toJSON . }}{{ end }}",
               d) == "1 3 {\"a\":\"1\",\"b\":\"2\",\"sub\":{\"c\":\"3\"}}");
}

TEST_CASE("byMeta groups services by meta values; executeTemplate renders a definition") {
  MapData d;
  auto inst = [](const std::string& id, const std::string& meta) {
    return "{\"Node\":{\"Node\":\"n-" + id + "\",\"Address\":\"10.0.0.1\"},\"Service\":{\"ID\":\"" +
           id + "\",\"Service\":\"db\",\"Tags\":[],\"Meta\":" + meta +
           ",\"Port\":1},\"Checks\":[]}";
  };
  d.Put("/v1/health/service/db?passing", "[" + inst("a", R"({"zone":"eu-1","w":"7"})") + "," +
                                             inst("b", R"({"zone":"us.2"})") + "," +
                                             inst("c", "null") + "]");
  CHECK(Render("{{ range $k, $s := service \"db\" | byMeta \"zone,w|int\" }}{{ $k }}={{ range $s }}"
               "{{ .ID }}{{ end }} {{ end }}",
               d) == "_no_zone__00000=c eu-1_00007=a us_2_00000=b ");
  CHECK(Render("{{ define \"row\" }}<{{ .ID }}>{{ end }}{{ range service \"db\" }}"
               "{{ executeTemplate \"row\" . | toUpper }}{{ end }}",
               d) == "<A><B><C>");
  CHECK(Render("{{ executeTemplate \"nope\" }}", d).find("no template \"nope\"") !=
        std::string::npos);
}
