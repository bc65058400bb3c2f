// Go (RE2) syntax on std::regex: the constructs Consul users write that ECMAScript spells
// differently match as in Go; the ones it cannot express are refused with their name.
#include "beacon/core/go_regexp.h"

#include <doctest.h>

namespace beacon::core {
namespace {

bool Matches(const char* re, const std::string& text) {
  auto r = GoRegexp(re);
  REQUIRE_MESSAGE(r.ok(), re << ": " << r.status().message());
  return std::regex_search(text, r.value());
}

std::string Group(const char* re, const std::string& text, size_t n) {
  auto r = GoRegexp(re);
  REQUIRE_MESSAGE(r.ok(), re << ": " << r.status().message());
  std::smatch m;
  if (!std::regex_search(text, m, r.value()) || m.size() <= n) return "<no match>";
  return m[n].str();
}

std::string Refusal(const char* re) {
  auto r = GoRegexp(re);
  return r.ok() ? "<accepted>" : r.status().message();
}

struct Case {
  const char* re;
  const char* text;
  bool match;
};

void CheckAll(std::initializer_list<Case> cases) {
  for (const Case& c : cases)
    CHECK_MESSAGE(Matches(c.re, c.text) == c.match, c.re << " on " << c.text);
}

TEST_CASE("go regexp: flags at the start") {
  CheckAll({{"(?i)^GEO2-(.*)$", "geo2-web", true},
            {"^GEO2-(.*)$", "geo2-web", false},
            {"(?s)a.b", "a\nb", true},
            {"a.b", "a\nb", false},
            {"(?m)^b$", "a\nb\nc", true},
            {"^b$", "a\nb\nc", false},
            {"(?is)A.B", "a\nb", true}});
  CHECK(Group("(?i)^GEO2-(.*)$", "geo2-web", 1) == "web");
}

TEST_CASE("go regexp: named groups are numbered groups") {
  CHECK(Group("^(?P<svc>geo3)-(.*)$", "geo3-db", 1) == "geo3");
  CHECK(Group("^(?P<svc>geo3)-(.*)$", "geo3-db", 2) == "db");
  CHECK(Group("^(?<svc>geo3)-(?:x|y)(.*)$", "geo3-xdb", 2) == "db");
}

TEST_CASE("go regexp: \\A and \\z anchor the text; \\Q...\\E quotes; the rest passes through") {
  CHECK(Group("\\Ageo5-(.*)\\z", "geo5-web", 1) == "web");
  CheckAll({{"\\Ageo5\\z", "xgeo5", false},
            {"\\Ageo5\\z", "geo5x", false},
            {"\\Aweb\\z", "web", true},
            {"^\\Qa.b*c\\E$", "a.b*c", true},
            {"^\\Qa.b*c\\E$", "axbbc", false},
            // Classes, POSIX names, escapes and quantifiers as written.
            {"^[[:alpha:]]+[0-9]{2,3}\\b", "abc123 x", true},
            {"^[]a]+$", "]a]", true},
            {"^\\d+\\.\\w+\\s?$", "12.ab", true},
            {"[\\A]", "A", true}});  // inside a class \A stays as written
}

TEST_CASE("go regexp: what std::regex cannot express is refused by name") {
  CHECK(Refusal("\\pL") == "Unicode classes (\\p) are not supported");
  CHECK(Refusal("[\\p{Greek}]") == "Unicode classes (\\p) are not supported");
  CHECK(Refusal("a(?i)b").find("is not supported (flags go at the start") != std::string::npos);
  CHECK(Refusal("(?i:a)b").find("is not supported") != std::string::npos);
  CHECK(Refusal("(?U)a+") == "the (?U) flag (ungreedy by default) is not supported");
  CHECK(Refusal("(?m)\\Aa") == "\\A together with (?m) is not supported");
  CHECK(Refusal("(unclosed") != "<accepted>");  // std::regex's own message
}

}  // namespace
}  // namespace beacon::core
