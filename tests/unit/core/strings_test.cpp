#include "beacon/core/strings.h"

#include <doctest.h>

#include <string>

namespace beacon::core {
namespace {

TEST_CASE("Lower folds ASCII only") {
  CHECK(Lower("Web-01.Service.CONSUL") == "web-01.service.consul");
  CHECK(Lower("") == "");
  CHECK(Lower("\xC3\x89t\xC3\xA9") == "\xC3\x89t\xC3\xA9");  // UTF-8 bytes pass through
  std::string s = "AbC[@]`{";
  LowerInPlace(s);
  CHECK(s == "abc[@]`{");  // the bytes next to 'A'..'Z' are not letters
  CHECK(LowerChar('Z') == 'z');
  CHECK(LowerChar('z') == 'z');
  CHECK(LowerChar('0') == '0');
}

TEST_CASE("EqualsLower compares without allocating") {
  CHECK(EqualsLower("PASSING", "passing"));
  CHECK(EqualsLower("passing", "passing"));
  CHECK_FALSE(EqualsLower("passin", "passing"));
  CHECK_FALSE(EqualsLower("passing", "PASSING"));  // the right side must be lower-case already
  CHECK(EqualsLower("", ""));
}

TEST_CASE("NormKey folds case and drops '_' and '-'") {
  CHECK(NormKey("ServiceID") == "serviceid");
  CHECK(NormKey("service_id") == "serviceid");
  CHECK(NormKey("lock-delay") == "lockdelay");
  CHECK(NormKey("__") == "");
}

TEST_CASE("ParseGoBool accepts Go's spellings only") {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    bool b = false;
    CHECK_MESSAGE((ParseGoBool(t, &b) && b), t);
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    bool b = true;
    CHECK_MESSAGE((ParseGoBool(f, &b) && !b), f);
  }
  for (const char* bad : {"", "yes", "no", "tRUE", "2", " true"}) {
    bool b = true;
    CHECK_FALSE_MESSAGE(ParseGoBool(bad, &b), bad);
    CHECK(b);  // untouched
  }
}

}  // namespace
}  // namespace beacon::core

TEST_CASE("PercentDecode: %XX in either case, a bad escape kept, '+' only in query mode") {
  using beacon::core::PercentDecode;
  CHECK(PercentDecode("a%2Fb%2fc") == "a/b/c");
  CHECK(PercentDecode("50%") == "50%");
  CHECK(PercentDecode("%zz%4") == "%zz%4");
  CHECK(PercentDecode("a+b") == "a+b");
  CHECK(PercentDecode("a+b%20c", true) == "a b c");
  CHECK(PercentDecode("etcdserver:%20request%20timed%20out") == "etcdserver: request timed out");
}
