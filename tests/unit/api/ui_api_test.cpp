// The embedded web UI (api/ui_api.cpp): every asset served with its Content-Type and ETag,
// If-None-Match answered 304, deep links under /ui/ get index.html, missing assets 404,
// "/" and "/ui" redirect, and unknown API paths keep their 404 for every method.
#include <doctest.h>

#include <set>
#include <string>

#include "beacon/api/ui_api.h"

namespace beacon::http {
namespace {

Response Send(const Router& router, const std::string& path, const std::string& method = "GET",
              const std::string& if_none_match = "") {
  Request req;
  req.method = method;
  req.path = path;
  if (!if_none_match.empty()) req.headers.emplace_back("if-none-match", if_none_match);
  Response resp;
  router.Dispatch(req, resp);
  return resp;
}

std::string Header(const Response& r, const char* name) {
  const std::string* v = r.Header(name);
  return v ? *v : "";
}

Router UiRouter() {
  Router router;
  AddUiRoutes(router);
  return router;
}

TEST_CASE("ui: the embedded files are the repository's ui/ directory, sorted, hashed") {
  std::set<std::string> paths;
  std::set<std::string> etags;
  std::string_view prev;
  for (const UiAsset& a : UiAssets()) {
    CHECK(a.path > prev);
    prev = a.path;
    CHECK(a.size > 0);
    CHECK(a.etag.size() > 2);
    CHECK(a.etag.front() == '"');
    CHECK(a.etag.back() == '"');
    paths.insert(std::string(a.path));
    etags.insert(std::string(a.etag));
  }
  CHECK(etags.size() == paths.size());  // distinct files, distinct tags
  for (const char* p : {"index.html", "assets/app.css", "assets/js/main.js", "assets/js/kv.js",
                        "assets/favicon.svg"}) {
    CHECK_MESSAGE(paths.count(p) == 1, p);
  }
  CHECK(paths.count("meson.build") == 0);
  CHECK(FindUiAsset("index.html") != nullptr);
  CHECK(FindUiAsset("nope.html") == nullptr);
  CHECK(FindUiAsset("") == nullptr);
}

TEST_CASE("ui: assets with their Content-Type, ETag and Cache-Control") {
  const Router router = UiRouter();
  struct Want {
    const char* path;
    const char* type;
  };
  for (const Want& w : {Want{"/ui/", "text/html; charset=utf-8"},
                        Want{"/ui/index.html", "text/html; charset=utf-8"},
                        Want{"/ui/assets/app.css", "text/css; charset=utf-8"},
                        Want{"/ui/assets/js/main.js", "text/javascript; charset=utf-8"},
                        Want{"/ui/assets/favicon.svg", "image/svg+xml"}}) {
    CAPTURE(w.path);
    Response r = Send(router, w.path);
    CHECK(r.status == 200);
    CHECK(Header(r, "Content-Type") == w.type);
    CHECK(Header(r, "Cache-Control") == "no-cache");
    CHECK(Header(r, "X-Content-Type-Options") == "nosniff");
    const UiAsset* a = FindUiAsset(std::string_view(w.path).substr(4).empty()
                                       ? "index.html"
                                       : std::string_view(w.path).substr(4));
    REQUIRE(a != nullptr);
    CHECK(Header(r, "ETag") == a->etag);
    CHECK(r.body == a->body());
  }
  Response html = Send(router, "/ui/");
  CHECK(html.body.find("<script type=\"module\" src=\"/ui/assets/js/main.js\">") !=
        std::string::npos);
  CHECK(Header(html, "Content-Security-Policy").find("script-src 'self'") != std::string::npos);
  CHECK(Header(Send(router, "/ui/assets/app.css"), "Content-Security-Policy").empty());
}

TEST_CASE("ui: If-None-Match with the current ETag answers 304 without a body") {
  const Router router = UiRouter();
  const std::string etag(FindUiAsset("assets/app.css")->etag);
  Response r = Send(router, "/ui/assets/app.css", "GET", etag);
  CHECK(r.status == 304);
  CHECK(r.body.empty());
  CHECK(Header(r, "ETag") == etag);
  CHECK(Send(router, "/ui/assets/app.css", "GET", "\"old\", W/" + etag).status == 304);
  CHECK(Send(router, "/ui/assets/app.css", "GET", "*").status == 304);
  Response stale = Send(router, "/ui/assets/app.css", "GET", "\"old\"");
  CHECK(stale.status == 200);
  CHECK_FALSE(stale.body.empty());
  // index.html's tag for a deep link too
  const std::string index_tag(FindUiAsset("index.html")->etag);
  CHECK(Send(router, "/ui/services/web", "GET", index_tag).status == 304);
}

TEST_CASE("ui: deep links get index.html, missing assets 404") {
  const Router router = UiRouter();
  const std::string index(FindUiAsset("index.html")->body());
  for (const char* p : {"/ui/services", "/ui/kv/a/b/", "/ui/nodes/n1", "/ui/x.html"}) {
    CAPTURE(p);
    Response r = Send(router, p);
    CHECK(r.status == 200);
    CHECK(r.body == index);
    CHECK(Header(r, "Content-Type") == "text/html; charset=utf-8");
  }
  for (const char* p : {"/ui/assets/nope.js", "/ui/assets/js/", "/ui/assets/../index.html"}) {
    CAPTURE(p);
    Response r = Send(router, p);
    CHECK(r.status == 404);
    CHECK(r.body.find("UI asset not found") == 0);
  }
}

TEST_CASE("ui: / and /ui redirect to /ui/; other paths keep the API's 404") {
  const Router router = UiRouter();
  for (const char* p : {"/", "/ui"}) {
    Response r = Send(router, p);
    CHECK(r.status == 301);
    CHECK(Header(r, "Location") == "/ui/");
  }
  for (const char* m : {"GET", "PUT", "POST", "DELETE", "OPTIONS"}) {
    CAPTURE(m);
    Response r = Send(router, "/v1/no/such/thing", m);
    CHECK(r.status == 404);
    CHECK(r.body == "Invalid URL path: not a recognized HTTP API endpoint\n");
  }
  CHECK(Send(router, "/", "PUT").status == 404);
  CHECK(Send(router, "/ui/", "PUT").status == 405);  // the UI is read-only
}

TEST_CASE("ui: without AddUiRoutes there is no /ui/ (ui_config.enabled = false)") {
  Router router;
  router.Handle("GET", "/v1/status/leader", [](const Request&, Response& r) { r.Json("\"\""); });
  CHECK(Send(router, "/ui/").status == 404);
  CHECK(Send(router, "/").status == 404);
  CHECK(Send(router, "/v1/status/leader").status == 200);
}

}  // namespace
}  // namespace beacon::http
