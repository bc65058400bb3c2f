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

TEST_CASE("go regexp: flags at the start") {
  CHECK(Matches("(?i)^GEO2-(.*)$", "geo2-web"));
  CHECK_FALSE(Matches("^GEO2-(.*)$", "geo2-web"));
  CHECK(Group("(?i)^GEO2-(.*)$", "geo2-web", 1) == "web");
  CHECK(Matches("(?s)a.b", "a\nb"));
  CHECK_FALSE(Matches("a.b", "a\nb"));
  CHECK(Matches("(?m)^b$", "a\nb\nc"));
  CHECK_FALSE(Matches("^b$", "a\nb\nc"));
  CHECK(Matches("(?is)A.B", "a\nb"));
}

TEST_CASE("go regexp: named groups are numbered groups") {
  CHECK(Group("^(?P<svc>geo3)-(.*)$", "geo3-db", 1) == "geo3");
  CHECK(Group("^(?P<svc>geo3)-(.*)$", "geo3-db", 2) == "db");
  CHECK(Group("^(?<svc>geo3)-(?:x|y)(.*)$", "geo3-xdb", 2) == "db");
}

TEST_CASE("go regexp: \\A and \\z anchor the text; \\Q...\\E quotes") {
  CHECK(Group("\\Ageo5-(.*)\\z", "geo5-web", 1) == "web");
  CHECK_FALSE(Matches("\\Ageo5\\z", "xgeo5"));
  CHECK_FALSE(Matches("\\Ageo5\\z", "geo5x"));
  CHECK(Matches("\\Aweb\\z", "web"));
  CHECK(Matches("^\\Qa.b*c\\E$", "a.b*c"));
  CHECK_FALSE(Matches("^\\Qa.b*c\\E$", "axbbc"));
  // Classes, POSIX names, escapes and quantifiers pass through.
  CHECK(Matches("^[[:alpha:]]+[0-9]{2,3}\\b", "abc123 x"));
  CHECK(Matches("^[]a]+$", "]a]"));
  CHECK(Matches("^\\d+\\.\\w+\\s?$", "12.ab"));
  CHECK(Matches("[\\A]", "A"));  // inside a class \A stays as written
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
