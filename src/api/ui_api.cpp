// Serves the embedded web UI (include/beacon/api/ui_api.h).
#include "beacon/api/ui_api.h"

#include <algorithm>
#include <string>

namespace beacon::http {
namespace {

constexpr std::string_view kPrefix = "/ui/";
constexpr std::string_view kIndex = "index.html";
// Scripts, styles, images and API calls from this origin only; no inline script.
constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

void Redirect(Response& resp, std::string location) {
  resp.Text(301, "Moved Permanently: " + location);
  resp.SetHeader("Location", std::move(location));
}

// If-None-Match is a list of entity tags (possibly weak, W/"..."), or "*".
bool Matches(const std::string& if_none_match, std::string_view etag) {
  size_t i = 0;
  while (i < if_none_match.size()) {
    size_t end = if_none_match.find(',', i);
    if (end == std::string::npos) end = if_none_match.size();
    std::string_view tag(if_none_match.data() + i, end - i);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    i = end + 1;
  }
  return false;
}

void Serve(const Request& req, Response& resp, const UiAsset& a) {
  resp.SetHeader("ETag", std::string(a.etag));
  resp.SetHeader("Cache-Control", "no-cache");
  resp.SetHeader("X-Content-Type-Options", "nosniff");
  if (a.content_type.substr(0, 9) == "text/html") {
    resp.SetHeader("Content-Security-Policy", std::string(kCsp));
  }
  const std::string* inm = req.Header("If-None-Match");
  if (inm != nullptr && Matches(*inm, a.etag)) {
    resp.status = 304;
    resp.body.clear();
    return;
  }
  resp.status = 200;
  resp.SetHeader("Content-Type", std::string(a.content_type));
  resp.body.assign(a.body());
}

void ServeUi(const Request& req, Response& resp) {
  const std::string_view rel = std::string_view(req.path).substr(kPrefix.size());
  if (const UiAsset* a = FindUiAsset(rel.empty() ? kIndex : rel)) {
    Serve(req, resp, *a);
    return;
  }
  if (rel.substr(0, 7) == "assets/") {
    resp.Text(404, "UI asset not found: " + std::string(rel));
    resp.SetHeader("X-Content-Type-Options", "nosniff");
    return;
  }
  const UiAsset* index = FindUiAsset(kIndex);
  if (index == nullptr) {
    resp.Text(404, "UI not built into this binary");
    return;
  }
  Serve(req, resp, *index);
}

}  // namespace

const UiAsset* FindUiAsset(std::string_view path) {
  const std::span<const UiAsset> all = UiAssets();
  auto it = std::lower_bound(all.begin(), all.end(), path,
                             [](const UiAsset& a, std::string_view p) { return a.path < p; });
  return it != all.end() && it->path == path ? &*it : nullptr;
}

void AddUiRoutes(Router& router) {
  // HEAD as GET without the body (uptime probes), as Go's file server answers it.
  for (const char* method : {"GET", "HEAD"}) {
    router.Handle(method, std::string(kPrefix), ServeUi);
    router.Handle(method, "/ui", [](const Request&, Response& resp) { Redirect(resp, "/ui/"); });
  }
  // "/" is a prefix route: it sees every path no longer route takes. Registered for every method
  // so unknown paths stay 404 (not 405 "GET only"), exactly as without the UI.
  for (const char* method : {"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"}) {
    const bool get = std::string_view(method) == "GET" || std::string_view(method) == "HEAD";
    router.Handle(method, "/", [get](const Request& req, Response& resp) {
      if (get && req.path == "/") {
        Redirect(resp, "/ui/");
      } else {
        resp.Text(404, "Invalid URL path: not a recognized HTTP API endpoint");
      }
    });
  }
}

}  // namespace beacon::http
