// Test fixtures for tmpl: an in-memory Data (path -> Fetch) and render helpers.
#pragma once

#include <map>
#include <string>

#include "beacon/tmpl/template.h"

namespace tmpl_test {

class MapData : public beacon::tmpl::Data {
 public:
  std::map<std::string, beacon::tmpl::Fetch> m;
  std::vector<std::string> asked;
  void Put(const std::string& path, std::string body, int status = 200) {
    m[path] = beacon::tmpl::Fetch{status, std::move(body)};
  }
  const beacon::tmpl::Fetch* Get(const std::string& path) override {
    asked.push_back(path);
    auto it = m.find(path);
    return it == m.end() ? nullptr : &it->second;
  }
};

inline beacon::tmpl::Env TestEnv() {
  beacon::tmpl::Env env;
  env.getenv = [](const std::string& k) -> std::optional<std::string> {
    if (k == "HOME") return std::string("/root");
    if (k == "EMPTY") return std::string();
    return std::nullopt;
  };
  // 2026-12-02T14:06:31.123456789Z
  env.now = [] {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1796220391)) +
           std::chrono::nanoseconds(123456789);
  };
  return env;
}

// The parse error, or "" when it parses.
inline std::string ParseError(const std::string& text) {
  auto t = beacon::tmpl::Template::Parse(text, {"t.ctmpl"});
  return t.ok() ? "" : t.status().message();
}

// Renders text against data; "ERR: <message>" on a parse or execution error, and
// "INCOMPLETE: <output>" when the render is incomplete.
inline std::string Render(const std::string& text, MapData& data,
                          beacon::tmpl::ParseOptions opt = {"t.ctmpl"}) {
  auto t = beacon::tmpl::Template::Parse(text, opt);
  if (!t.ok()) return "ERR: " + t.status().message();
  auto r = t->Render(data, TestEnv());
  if (!r.ok()) return "ERR: " + r.status().message();
  return (r->complete ? "" : "INCOMPLETE: ") + r->output;
}

inline std::string Render(const std::string& text) {
  MapData d;
  return Render(text, d);
}

}  // namespace tmpl_test
