// Typed accessors over the format-neutral document tree, plus small string/address helpers.
#include <arpa/inet.h>

#include <cctype>
#include <cmath>
#include <string>

#include "beacon/core/duration.h"
#include "beacon/core/strings.h"
#include "internal.h"

namespace beacon::config::internal {
namespace {

bool Skip(char c) {
  return c == '_' || c == '-';
}

std::string Quote(std::string_view s) {
  std::string q = "\"";
  q.append(s.substr(0, 64));
  if (s.size() > 64) q += "...";
  q += '"';
  return q;
}

// Short description of what was found, for "expected X, got Y" messages.
std::string Got(const Value& v) {
  switch (v.type) {
    case Value::Type::kNull:
      return "null";
    case Value::Type::kBool:
      return v.b ? "true" : "false";
    case Value::Type::kInt:
      return std::to_string(v.i);
    case Value::Type::kDouble:
      return v.plain ? v.s : std::to_string(v.d);
    case Value::Type::kString:
      return "string " + Quote(v.s);
    case Value::Type::kArray:
      return "a list";
    case Value::Type::kObject:
      return "an object";
  }
  return "?";
}

}  // namespace

bool KeyIs(std::string_view key, std::string_view canon) {
  size_t j = 0;
  for (char c : key) {
    if (Skip(c)) continue;
    if (j >= canon.size() || core::LowerChar(c) != canon[j]) return false;
    ++j;
  }
  return j == canon.size();
}

Status Ctx::Err(int line, std::string_view path, std::string_view what) const {
  std::string msg(file);
  if (line > 0) msg += ":" + std::to_string(line);
  msg += ": ";
  if (!path.empty()) {
    msg.append(path);
    msg += ": ";
  }
  msg.append(what);
  return Status::Error(std::move(msg));
}

Status Ctx::Err(const Value& at, std::string_view path, std::string_view what) const {
  return Err(at.line, path, what);
}

Status GetString(const Ctx& c, const Value& v, std::string_view path, std::string* out) {
  if (v.type == Value::Type::kString || (v.plain && !v.is_array() && !v.is_object())) {
    *out = v.s;
    return Status::Ok();
  }
  return c.Err(v, path, "expected a string, got " + Got(v));
}

Status GetBool(const Ctx& c, const Value& v, std::string_view path, bool* out) {
  if (v.type == Value::Type::kBool) {
    *out = v.b;
    return Status::Ok();
  }
  return c.Err(v, path, "expected a boolean (true or false), got " + Got(v));
}

Status GetInt(const Ctx& c, const Value& v, std::string_view path, int64_t lo, int64_t hi,
              int64_t* out) {
  if (v.type == Value::Type::kInt && v.i >= lo && v.i <= hi) {
    *out = v.i;
    return Status::Ok();
  }
  return c.Err(v, path,
               "expected a number between " + std::to_string(lo) + " and " + std::to_string(hi) +
                   ", got " + Got(v));
}

Status GetDurationMs(const Ctx& c, const Value& v, std::string_view path, uint64_t* out_ms) {
  if (v.type == Value::Type::kString) {
    if (core::ParseDurationMs(v.s, out_ms)) return Status::Ok();
  } else if (v.type == Value::Type::kInt && v.i >= 0) {
    *out_ms = static_cast<uint64_t>(v.i) * 1000;
    return Status::Ok();
  } else if (v.type == Value::Type::kDouble && v.d >= 0 && v.d < 1e15) {
    *out_ms = static_cast<uint64_t>(std::ceil(v.d * 1000));
    return Status::Ok();
  }
  return c.Err(v, path, "expected a duration such as \"10s\" or \"1m30s\", got " + Got(v));
}

Status GetStringList(const Ctx& c, const Value& v, std::string_view path,
                     std::vector<std::string>* out) {
  if (!v.is_array()) return c.Err(v, path, "expected a list of strings, got " + Got(v));
  out->clear();
  out->reserve(v.items.size());
  for (size_t i = 0; i < v.items.size(); ++i) {
    std::string s;
    Status st = GetString(c, v.items[i], Index(path, i), &s);
    if (!st.ok()) return st;
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

Status GetStringMap(const Ctx& c, const Value& v, std::string_view path,
                    std::map<std::string, std::string>* out) {
  if (!v.is_object()) return c.Err(v, path, "expected an object of strings, got " + Got(v));
  for (const Member& m : v.members) {
    std::string s;
    Status st = GetString(c, m.value, Join(path, m.key), &s);
    if (!st.ok()) return st;
    (*out)[m.key] = std::move(s);
  }
  return Status::Ok();
}

Status ExpectObject(const Ctx& c, const Value& v, std::string_view path) {
  if (v.is_object()) return Status::Ok();
  return c.Err(v, path, "expected an object, got " + Got(v));
}

std::string Join(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out.append(key);
  return out;
}

std::string Index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

bool IsIp(std::string_view s) {
  std::string z(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, z.c_str(), buf) == 1 || inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

bool IsRecursor(std::string_view s, std::string* why) {
  std::string_view host = s;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) {
      *why = "missing ']'";
      return false;
    }
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        *why = "expected ':' after ']'";
        return false;
      }
      port = rest.substr(1);
      if (port.empty()) port = "x";  // "[::1]:" is malformed
    }
  } else if (size_t colon = s.find(':');
             colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (port.empty()) port = "x";
  }
  if (!IsIp(host)) {
    *why = "not an IP address";
    return false;
  }
  if (host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0") {
    *why = "the unspecified address cannot be a recursor";
    return false;
  }
  if (!port.empty()) {
    long p = 0;
    for (char ch : port) {
      if (ch < '0' || ch > '9' || p > 65535) {
        *why = "bad port";
        return false;
      }
      p = p * 10 + (ch - '0');
    }
    if (p < 1 || p > 65535) {
      *why = "bad port";
      return false;
    }
  }
  return true;
}

bool NormalizeDomain(std::string_view in, std::string* out) {
  std::string d;
  for (char ch : in) d += core::LowerChar(ch);
  while (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty() || d.front() == '.' || d.find("..") != std::string::npos || d.size() > 253) {
    return false;
  }
  size_t label = 0;
  for (char ch : d) {
    if (ch == '.') {
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_')) return false;
    if (++label > 63) return false;
  }
  *out = d + ".";
  return true;
}

bool NormalizeLogLevel(std::string_view in, std::string* out) {
  std::string l;
  for (char ch : in) l += core::LowerChar(ch);
  if (l == "warning") l = "warn";
  if (l == "err") l = "error";
  if (l == "trace" || l == "debug" || l == "info" || l == "warn" || l == "error") {
    *out = l;
    return true;
  }
  return false;
}

std::vector<std::string> SplitSpaces(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace beacon::config::internal
