// bench_tmpl: what one `beacon template` render costs (the engine alone, no I/O).
//   build/bench/bench_tmpl [instances=200] [runs=200]
// Prints the parse time of an nginx-style template and the median and p99 render time against
// a fixture with one service of N healthy instances (health JSON decoded on every render, as the
// runner re-renders after each change), plus 20 KV keys and a 50-entry KV tree.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "beacon/core/base64.h"
#include "beacon/tmpl/template.h"

namespace {

class Fixture : public beacon::tmpl::Data {
 public:
  std::map<std::string, beacon::tmpl::Fetch> m;
  const beacon::tmpl::Fetch* Get(const std::string& path) override {
    auto it = m.find(path);
    return it == m.end() ? nullptr : &it->second;
  }
};

std::string Kv(const std::string& key, const std::string& value) {
  return "{\"LockIndex\":0,\"Key\":\"" + key + "\",\"Flags\":0,\"Value\":\"" +
         beacon::core::Base64Encode(value) + "\",\"CreateIndex\":3,\"ModifyIndex\":9}";
}

double Us(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

constexpr const char* kTemplate = R"(# generated {{ timestamp }}
{{- range $i := split "," "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t" }}
set ${{ . }} "{{ key (printf "cfg/%s" .) }}";
{{- end }}
upstream web {
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }} weight={{ .Weights.Passing }}; # {{ .Node }} {{ join "," .Tags }}
{{- else }}
  server 127.0.0.1:65535; # none
{{- end }}
}
{{ range tree "app" }}{{ .Key }}={{ .Value | toUpper }}
{{ end -}}
{{ with $m := keyOrDefault "cfg/json" "{}" | parseJSON }}{{ toJSON $m }}{{ end }}
)";

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 200;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 200;
  Fixture data;
  std::string health = "[";
  for (int i = 0; i < n; ++i) {
    std::string node = "node" + std::to_string(i);
    if (i) health += ",";
    health += "{\"Node\":{\"ID\":\"\",\"Node\":\"" + node + "\",\"Address\":\"10.0." +
              std::to_string(i / 250) + "." + std::to_string(i % 250) +
              "\",\"Datacenter\":\"dc1\",\"TaggedAddresses\":{\"lan\":\"10.0.0.1\"},\"Meta\":{}},"
              "\"Service\":{\"ID\":\"web\",\"Service\":\"web\",\"Tags\":[\"rails\",\"v2\"],"
              "\"Address\":\"\",\"Meta\":{},\"Port\":80,\"Weights\":{\"Passing\":1,\"Warning\":1}},"
              "\"Checks\":[{\"Node\":\"" +
              node +
              "\",\"CheckID\":\"serfHealth\",\"Name\":\"Serf\","
              "\"Status\":\"passing\"}]}";
  }
  health += "]";
  data.m["/v1/health/service/web?passing"] = {200, health};
  for (char c = 'a'; c <= 't'; ++c) {
    std::string k = std::string("cfg/") + c;
    data.m["/v1/kv/" + k] = {200, "[" + Kv(k, "value-" + k) + "]"};
  }
  data.m["/v1/kv/cfg/json"] = {200, "[" + Kv("cfg/json", R"({"b":[1,2],"a":"x"})") + "]"};
  std::string tree = "[";
  for (int i = 0; i < 50; ++i) tree += (i ? "," : "") + Kv("app/k" + std::to_string(i), "v");
  data.m["/v1/kv/app?recurse"] = {200, tree + "]"};

  beacon::tmpl::Env env;
  env.now = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1)); };
  auto t0 = std::chrono::steady_clock::now();
  auto t = beacon::tmpl::Template::Parse(kTemplate, {"bench.ctmpl"});
  auto t1 = std::chrono::steady_clock::now();
  if (!t.ok()) {
    std::fprintf(stderr, "%s\n", t.status().message().c_str());
    return 1;
  }
  std::vector<double> us;
  size_t bytes = 0;
  for (int r = 0; r < runs; ++r) {
    auto a = std::chrono::steady_clock::now();
    auto out = t->Render(data, env);
    auto b = std::chrono::steady_clock::now();
    if (!out.ok() || !out->complete) {
      std::fprintf(stderr, "render failed\n");
      return 1;
    }
    bytes = out->output.size();
    us.push_back(Us(b - a));
  }
  std::sort(us.begin(), us.end());
  std::printf("parse %.1f us; render (%d instances, %zu bytes out) median %.1f us, p99 %.1f us\n",
              Us(t1 - t0), n, bytes, us[us.size() / 2], us[us.size() * 99 / 100]);
  return 0;
}
