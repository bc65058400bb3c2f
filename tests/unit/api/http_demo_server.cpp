// A stand-alone HTTP API over a small fixed catalog, for tests/integration/test_http.py (the
// agent does not serve HTTP yet). Prints the port on the first stdout line, serves until stdin
// closes. Only for tests.
#include <unistd.h>

#include <cstdio>

#include "beacon/api/catalog_api.h"
#include "beacon/catalog/writer.h"

using namespace beacon;
using namespace beacon::catalog;

int main() {
  SnapshotHub hub;
  Writer writer(hub, "self", "dc1", {});
  Node n;
  n.name = "node1";
  n.address = "10.0.0.1";
  n.meta["rack"] = "r1";
  writer.UpsertNode(n);
  Service s;
  s.name = "web";
  s.id = "web1";
  s.port = 8080;
  s.tags = {"primary", "v1"};
  Check c;
  c.id = "service:web1";
  c.name = "web check";
  c.service_id = "web1";
  c.status = Health::kPassing;
  c.interval_ms = 10000;
  c.http = "http://10.0.0.1:8080/health";
  if (!writer.UpsertService("node1", s, {c}).ok()) return 1;
  s.id = "web2";
  s.tags = {"v1"};
  c.id = "service:web2";
  c.service_id = "web2";
  c.status = Health::kCritical;
  if (!writer.UpsertService("node1", s, {c}).ok()) return 1;
  writer.Publish();

  http::Router router;
  http::CatalogApiOptions api;  // read-only: no submit, so catalog writes answer 500
  api.leader = "127.0.0.1:8300";
  api.node_name = "self";
  http::AddCatalogRoutes(router, hub, api);
  Logger log(LogLevel::kError);
  http::HttpServerOptions opts;
  opts.port = 0;
  http::HttpServer server(log, std::move(router), opts);
  Status st = server.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 1;
  }
  std::printf("%d\n", server.port());
  std::fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  server.Stop();
  return 0;
}
