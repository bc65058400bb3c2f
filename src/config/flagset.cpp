// Go `flag` package parsing rules (see flagset.h).
#include "beacon/config/flagset.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <type_traits>

#include "beacon/core/duration.h"
#include "beacon/core/strings.h"

namespace beacon::config {
namespace {

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  int base = 10;
  // Go's ParseInt(s, 0, 64): 0x, 0o, 0b and a leading 0 for octal.
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return false;
  if constexpr (std::is_signed_v<T>) {
    if (v > static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) return false;
    *out = neg ? static_cast<T>(0 - v) : static_cast<T>(v);
  } else {
    if (neg) return false;
    *out = v;
  }
  return true;
}

// Wraps text at 80 columns, each line indented by `indent` spaces.
std::string Wrap(std::string_view text, size_t indent) {
  std::string out;
  std::string line(indent, ' ');
  size_t words = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (words > 0 && line.size() + 1 + word.size() > 80) {
      out += line + "\n";
      line.assign(indent, ' ');
      words = 0;
    }
    if (words > 0) line += ' ';
    line += word;
    ++words;
  }
  out += line;
  return out;
}

}  // namespace

void FlagSet::Bool(std::string name, bool* out, std::string usage) {
  defs_.push_back({std::move(name), true,
                   [out](std::string_view v) -> std::string {
                     return core::ParseGoBool(v, out) ? "" : "parse error";
                   },
                   std::move(usage), *out ? "true" : "", ""});
}

void FlagSet::String(std::string name, std::string* out, std::string usage) {
  defs_.push_back({std::move(name), false,
                   [out](std::string_view v) -> std::string {
                     *out = std::string(v);
                     return "";
                   },
                   std::move(usage), *out, "string"});
}

void FlagSet::Int(std::string name, int64_t* out, std::string usage) {
  std::string def = *out == 0 ? "" : std::to_string(*out);
  defs_.push_back({std::move(name), false,
                   [out](std::string_view v) -> std::string {
                     return ParseNumber(v, out) ? "" : "parse error";
                   },
                   std::move(usage), def, "int"});
}

void FlagSet::Uint(std::string name, uint64_t* out, std::string usage) {
  std::string def = *out == 0 ? "" : std::to_string(*out);
  defs_.push_back({std::move(name), false,
                   [out](std::string_view v) -> std::string {
                     return ParseNumber(v, out) ? "" : "parse error";
                   },
                   std::move(usage), def, "uint"});
}

void FlagSet::Duration(std::string name, int64_t* out_ms, std::string usage) {
  defs_.push_back({std::move(name), false,
                   [out_ms](std::string_view v) -> std::string {
                     int64_t ns = 0;
                     std::string err;
                     if (!core::ParseGoDuration(v, &ns, &err)) return err;
                     *out_ms = ns / 1000000;
                     return "";
                   },
                   std::move(usage), "", "duration"});
}

void FlagSet::StringList(std::string name, std::vector<std::string>* out, std::string usage) {
  defs_.push_back({std::move(name), false,
                   [out](std::string_view v) -> std::string {
                     out->emplace_back(v);
                     return "";
                   },
                   std::move(usage), "", "value"});
}

void FlagSet::Func(std::string name, Setter set, std::string usage, bool is_bool,
                   std::string default_text) {
  defs_.push_back({std::move(name), is_bool, std::move(set), std::move(usage),
                   std::move(default_text), is_bool ? "" : "value"});
}

const FlagSet::Def* FlagSet::Find(std::string_view name) const {
  for (const Def& d : defs_) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

bool FlagSet::Has(std::string_view name) const {
  return std::find(seen_.begin(), seen_.end(), name) != seen_.end();
}

Status FlagSet::Fail(ErrorKind kind, std::string flag, std::string msg) {
  kind_ = kind;
  err_flag_ = std::move(flag);
  return Status::Error(std::move(msg));
}

Status FlagSet::Parse(const std::vector<std::string>& args) {
  kind_ = ErrorKind::kNone;
  args_.clear();
  size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string_view s = args[i];
    if (s.size() < 2 || s[0] != '-') break;
    size_t dashes = 1;
    if (s[1] == '-') {
      dashes = 2;
      if (s.size() == 2) {
        ++i;
        break;
      }
    }
    std::string_view name = s.substr(dashes);
    if (name.empty() || name[0] == '-' || name[0] == '=') {
      return Fail(ErrorKind::kBadSyntax, std::string(name), "bad flag syntax: " + std::string(s));
    }
    std::string_view value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const std::string flag(name);
    const Def* def = Find(name);
    if (def == nullptr) {
      if (name == "help" || name == "h")
        return Fail(ErrorKind::kHelp, flag, "flag: help requested");
      return Fail(ErrorKind::kUndefined, flag, "flag provided but not defined: -" + flag);
    }
    std::string err;
    if (def->is_bool) {
      err_value_ = has_value ? std::string(value) : "true";
      err = def->set(has_value ? value : "true");
      if (!err.empty()) {
        std::string msg = "invalid boolean value \"";
        msg.append(err_value_).append("\" for -").append(flag).append(": ").append(err);
        return Fail(ErrorKind::kBadValue, flag, std::move(msg));
      }
    } else {
      if (!has_value) {
        if (i + 1 >= args.size()) {
          return Fail(ErrorKind::kNeedsArgument, flag, "flag needs an argument: -" + flag);
        }
        value = args[++i];
      }
      err_value_ = std::string(value);
      err = def->set(value);
      if (!err.empty()) {
        std::string msg = "invalid value \"";
        msg.append(err_value_).append("\" for flag -").append(flag).append(": ").append(err);
        return Fail(ErrorKind::kBadValue, flag, std::move(msg));
      }
    }
    seen_.push_back(flag);
  }
  args_.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return Status::Ok();
}

std::string FlagSet::Defaults(const std::function<bool(std::string_view)>& include) const {
  std::vector<const Def*> sorted;
  sorted.reserve(defs_.size());
  for (const Def& d : defs_) {
    if (!include || include(d.name)) sorted.push_back(&d);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const Def* a, const Def* b) { return a->name < b->name; });
  std::string out;
  for (const Def* d : sorted) {
    // Go's UnquoteUsage: a `name` in back quotes names the value.
    std::string usage = d->usage;
    std::string value_name = d->value_name;
    if (size_t a = usage.find('`'); a != std::string::npos) {
      if (size_t b = usage.find('`', a + 1); b != std::string::npos) {
        if (!value_name.empty()) value_name = usage.substr(a + 1, b - a - 1);
        usage.erase(b, 1);
        usage.erase(a, 1);
      }
    }
    out += "  -" + d->name;
    if (!value_name.empty()) out += "=<" + value_name + ">";
    out += "\n";
    if (!d->default_text.empty() && d->usage.find("default") == std::string::npos) {
      usage += " (default " + d->default_text + ")";
    }
    out += Wrap(usage, 5) + "\n\n";
  }
  return out;
}

}  // namespace beacon::config
