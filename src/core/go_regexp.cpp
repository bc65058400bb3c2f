// Go (RE2) regexp syntax to std::regex's ECMAScript grammar. See core/go_regexp.h.
#include "beacon/core/go_regexp.h"

namespace beacon::core {
namespace {

bool IsMeta(char c) {
  return std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos;
}

}  // namespace

Result<GoRegexpSyntax> TranslateGoRegexp(std::string_view re) {
  GoRegexpSyntax out;
  bool dotall = false, multiline = false;
  // Leading flag groups: (?i), (?s), (?m), (?is), ...
  while (re.size() >= 3 && re.substr(0, 2) == "(?") {
    const size_t close = re.find(')');
    if (close == std::string_view::npos) break;
    const std::string_view fl = re.substr(2, close - 2);
    if (fl.empty() || fl.find_first_not_of("imsU") != std::string_view::npos) break;
    for (char c : fl) {
      if (c == 'i') out.flags |= std::regex::icase;
      if (c == 's') dotall = true;
      if (c == 'm') multiline = true;
      if (c == 'U') return Status::Error("the (?U) flag (ungreedy by default) is not supported");
    }
    re.remove_prefix(close + 1);
  }
  if (multiline) out.flags |= std::regex::multiline;
  std::string& s = out.ecmascript;
  s.reserve(re.size() + 8);
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\' && i + 1 < re.size()) {
      const char n = re[i + 1];
      if (n == 'p' || n == 'P') {
        return Status::Error("Unicode classes (\\" + std::string(1, n) + ") are not supported");
      }
      if (n == 'C') return Status::Error("\\C (any byte) is not supported");
      if (!in_class && (n == 'A' || n == 'z')) {
        if (multiline) {
          return Status::Error("\\" + std::string(1, n) + " together with (?m) is not supported");
        }
        s += n == 'A' ? '^' : '$';
        ++i;
        continue;
      }
      if (n == 'Q') {  // \Q...\E: every character up to \E (or the end) literally
        const size_t end = re.find("\\E", i + 2);
        const std::string_view lit =
            re.substr(i + 2, end == std::string_view::npos ? std::string_view::npos : end - i - 2);
        for (char l : lit) {
          if (IsMeta(l) || (in_class && l == '-')) s += '\\';
          s += l;
        }
        i = end == std::string_view::npos ? re.size() : end + 1;
        continue;
      }
      s += c;
      s += n;
      ++i;
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < re.size() && re[i + 1] == ':') {  // [:alpha:] inside a class
        const size_t end = re.find(":]", i + 2);
        if (end != std::string_view::npos) {
          s += re.substr(i, end + 2 - i);
          i = end + 1;
          continue;
        }
      }
      if (c == ']') in_class = false;
      s += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      s += c;
      // A ']' right after '[' or '[^' is a literal in both grammars.
      if (i + 1 < re.size() && re[i + 1] == '^') s += re[++i];
      if (i + 1 < re.size() && re[i + 1] == ']') {
        s += "\\]";
        ++i;
      }
      continue;
    }
    if (c == '(' && re.substr(i, 2) == "(?") {
      const std::string_view rest = re.substr(i + 2);
      if (rest.starts_with("P<") ||
          (rest.starts_with("<") && !rest.starts_with("<=") && !rest.starts_with("<!"))) {
        const size_t close = re.find('>', i);
        if (close == std::string_view::npos) return Status::Error("unterminated group name");
        s += '(';
        i = close;
        continue;
      }
      if (rest.starts_with(":")) {  // non-capturing group: the same in both
        s += "(?:";
        i += 2;
        continue;
      }
      return Status::Error("the group \"" + std::string(re.substr(i, 4)) +
                           "...\" is not supported (flags go at the start, as (?i))");
    }
    if (c == '.' && dotall) {
      s += "[\\s\\S]";
      continue;
    }
    s += c;
  }
  return out;
}

Result<std::regex> GoRegexp(std::string_view re) {
  auto t = TranslateGoRegexp(re);
  if (!t.ok()) return t.status();
  try {
    return std::regex(t.value().ecmascript, t.value().flags);
  } catch (const std::regex_error& e) {
    return Status::Error(e.what());
  }
}

}  // namespace beacon::core
