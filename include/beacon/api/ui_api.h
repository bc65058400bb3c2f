// The web UI at /ui/: static HTML/CSS/JS assets built into the binary (ui/ in the repository,
// turned into byte arrays by src/api/ui_embed.py at build time), served over the HTTP API port.
//
// Contract:
// - UiAssets() lists every embedded file: its path under /ui/ ("index.html", "assets/app.css"),
//   Content-Type, strong ETag (a quoted hash of the bytes) and bytes. The table is constant data
//   (no initialisation at run time, no file system, no network).
// - AddUiRoutes registers GET routes; call it only when the UI is enabled (without it /ui/ is an
//   unknown path, 404):
//     /            -> 301 to /ui/ (any other path no route serves stays 404; other methods too)
//     /ui          -> 301 to /ui/
//     /ui/<file>   -> the asset, 200 with its Content-Type, ETag, Cache-Control: no-cache (the
//                     names are not fingerprinted: browsers revalidate, and If-None-Match naming
//                     the ETag, or "*", answers 304 with no body)
//     /ui/assets/<missing> -> 404 (a missing script or stylesheet is an error, never index.html)
//     /ui/<anything else>  -> index.html (the UI routes by the URL's #fragment, so any deep link
//                     under /ui/ loads the application)
//   Every answer carries X-Content-Type-Options: nosniff; HTML also a Content-Security-Policy
//   that allows only same-origin scripts, styles and connections.
// - Handlers run on the HTTP loop thread and never block.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "beacon/http/server.h"

namespace beacon::http {

struct UiAsset {
  std::string_view path;  // relative to /ui/, no leading slash
  std::string_view content_type;
  std::string_view etag;  // with its quotes, as sent
  const unsigned char* data;
  size_t size;
  std::string_view body() const { return {reinterpret_cast<const char*>(data), size}; }
};

// The embedded files, sorted by path (generated: ui_assets.cpp).
std::span<const UiAsset> UiAssets();
// The asset at `path` (relative to /ui/), or nullptr.
const UiAsset* FindUiAsset(std::string_view path);

void AddUiRoutes(Router& router);

}  // namespace beacon::http
