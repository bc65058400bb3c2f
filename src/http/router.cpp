#include <strings.h>

#include <algorithm>

#include "beacon/http/server.h"

namespace beacon::http {

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

const std::string* Find(const std::vector<std::pair<std::string, std::string>>& kv,
                        std::string_view name, bool icase) {
  for (const auto& [k, v] : kv) {
    if (icase ? IEquals(k, name) : k == name) return &v;
  }
  return nullptr;
}

bool Matches(std::string_view route, std::string_view path) {
  if (!route.empty() && route.back() == '/') return path.substr(0, route.size()) == route;
  return path == route;
}

}  // namespace

const std::string* Request::Header(std::string_view name) const {
  return Find(headers, name, true);
}

const std::string* Request::Query(std::string_view name) const {
  return Find(query, name, false);
}

void Response::SetHeader(std::string_view name, std::string value) {
  for (auto& [k, v] : headers) {
    if (IEquals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

const std::string* Response::Header(std::string_view name) const {
  return Find(headers, name, true);
}

void Response::Json(std::string json, int code) {
  status = code;
  SetHeader("Content-Type", "application/json");
  body = std::move(json);
}

void Response::Text(int code, std::string_view text) {
  status = code;
  SetHeader("Content-Type", "text/plain; charset=utf-8");
  body.assign(text);
  body.push_back('\n');
}

void Router::Handle(std::string method, std::string route, Handler h) {
  for (Route& r : routes_) {
    if (r.method == method && r.route == route) {
      r.handler = std::move(h);
      return;
    }
  }
  routes_.push_back(Route{std::move(method), std::move(route), std::move(h)});
}

void Router::Dispatch(const Request& req, Response& resp) const {
  const Route* best = nullptr;
  std::string allow;
  size_t allow_len = 0;
  for (const Route& r : routes_) {
    if (!Matches(r.route, req.path)) continue;
    if (r.method == req.method) {
      if (best == nullptr || r.route.size() > best->route.size()) best = &r;
    } else if (r.route.size() >= allow_len) {
      if (r.route.size() > allow_len) allow.clear();
      allow_len = r.route.size();
      if (!allow.empty()) allow += ", ";
      allow += r.method;
    }
  }
  if (best != nullptr && best->route.size() >= allow_len) {
    best->handler(req, resp);
    return;
  }
  if (!allow.empty()) {
    // Spec 2.1: Allow lists OPTIONS first, then the route's methods.
    std::string methods = "OPTIONS";
    for (size_t i = 0; i < allow.size();) {
      const size_t end = std::min(allow.find(", ", i), allow.size());
      methods += "," + allow.substr(i, end - i);
      i = end + 2;
    }
    if (req.method == "OPTIONS") {
      resp.status = 200;
      resp.body.clear();
    } else {
      resp.Text(405, "method " + req.method + " not allowed");
    }
    resp.SetHeader("Allow", methods);
    return;
  }
  resp.Text(404, "Invalid URL path: not a recognized HTTP API endpoint");
}

const char* StatusText(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 403:
      return "Forbidden";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

}  // namespace beacon::http
