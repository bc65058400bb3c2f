#include "beacon/core/duration.h"

#include <doctest.h>

#include <cstdint>
#include <string>

namespace beacon::core {
namespace {

uint64_t Ms(std::string_view s) {
  uint64_t ms = 12345;
  REQUIRE_MESSAGE(ParseDurationMs(s, &ms), s);
  return ms;
}

bool Rejects(std::string_view s) {
  uint64_t ms = 0;
  return !ParseDurationMs(s, &ms);
}

int64_t Ns(std::string_view s) {
  int64_t ns = 12345;
  std::string err;
  REQUIRE_MESSAGE(ParseGoDuration(s, &ns, &err), s);
  CHECK(err.empty());
  return ns;
}

std::string GoError(std::string_view s) {
  int64_t ns = 12345;
  std::string err;
  CHECK_FALSE_MESSAGE(ParseGoDuration(s, &ns, &err), s);
  CHECK(ns == 12345);
  return err;
}

TEST_CASE("ParseGoDuration parses like Go's time.ParseDuration") {
  CHECK(Ns("300ms") == 300'000'000);
  CHECK(Ns("1h2m3.5s") == 3'723'500'000'000);
  CHECK(Ns("-1.5h") == -5'400'000'000'000);
  CHECK(Ns("+2h45m") == 9'900'000'000'000);
  CHECK(Ns("0") == 0);
  CHECK(Ns("-0") == 0);
  CHECK(Ns("1ns") == 1);
  CHECK(Ns("1.5us") == 1500);
  CHECK(Ns("2\xC2\xB5s") == 2000);  // micro sign
  CHECK(Ns("2\xCE\xBCs") == 2000);  // Greek mu
  CHECK(Ns(".5s") == 500'000'000);
  CHECK(Ns("9223372036854775807ns") == INT64_MAX);
}

TEST_CASE("ParseGoDuration reports Go's error texts") {
  CHECK(GoError("") == "time: invalid duration \"\"");
  CHECK(GoError("5") == "time: missing unit in duration \"5\"");
  CHECK(GoError("1h30") == "time: missing unit in duration \"1h30\"");
  CHECK(GoError("3x") == "time: unknown unit \"x\" in duration \"3x\"");
  CHECK(GoError("s") == "time: invalid duration \"s\"");
  CHECK(GoError("-") == "time: invalid duration \"-\"");
  CHECK(GoError("9223372036854775808ns") == "time: invalid duration \"9223372036854775808ns\"");
  CHECK(GoError("3000000h") == "time: invalid duration \"3000000h\"");
  int64_t ns = 0;
  CHECK_FALSE(ParseGoDuration("1y", &ns));  // a null err is allowed
}

TEST_CASE("ParseDurationMs accepts Go duration strings") {
  CHECK(Ms("10s") == 10000);
  CHECK(Ms("1m30s") == 90000);
  CHECK(Ms("500ms") == 500);
  CHECK(Ms("300ms") == 300);
  CHECK(Ms("1h") == 3600000);
  CHECK(Ms("2.5s") == 2500);
  CHECK(Ms("1h2m3.5s") == 3723500);
  CHECK(Ms("1h2m3s4ms") == 3723004);
  CHECK(Ms("87600h") == 87600ULL * 3600 * 1000);
  CHECK(Ms("+5s") == 5000);
  CHECK(Ms("0s") == 0);
  CHECK(Ms("0") == 0);
}

TEST_CASE("ParseDurationMs rounds sub-millisecond units up to whole milliseconds") {
  CHECK(Ms("100us") == 1);
  CHECK(Ms("100\xC2\xB5s") == 1);
  CHECK(Ms("100\xCE\xBCs") == 1);
  CHECK(Ms("1500us") == 2);
  CHECK(Ms("2000000ns") == 2);
  CHECK(Ms("1ns") == 1);
}

TEST_CASE("ParseDurationMs treats a bare number as seconds") {
  CHECK(Ms("10") == 10000);
  CHECK(Ms("1.5") == 1500);
}

TEST_CASE("ParseDurationMs rejects garbage and negative durations") {
  CHECK(Rejects(""));
  CHECK(Rejects("s"));
  CHECK(Rejects("10x"));
  CHECK(Rejects("ten seconds"));
  CHECK(Rejects("-5s"));
  CHECK(Rejects("-1s"));
  CHECK(Rejects("-0"));
  CHECK(Rejects("1h30"));  // a unit is required after the first component
  CHECK(Rejects("10 s"));
  CHECK(Rejects("1.2.3s"));
  CHECK(Rejects("1.2.3"));
  CHECK(Rejects("."));
  CHECK(Rejects("99999999999999999999h"));
}

TEST_CASE("GoDuration prints like Go's time.Duration, and an unset duration as empty") {
  CHECK(GoDuration(0).empty());
  CHECK(GoDuration(1) == "1ms");
  CHECK(GoDuration(500) == "500ms");
  CHECK(GoDuration(10000) == "10s");
  CHECK(GoDuration(1500) == "1.5s");
  CHECK(GoDuration(1050) == "1.05s");
  CHECK(GoDuration(90000) == "1m30s");
  CHECK(GoDuration(3600000) == "1h0m0s");
  CHECK(GoDuration(3723500) == "1h2m3.5s");
}

TEST_CASE("GoDuration and ParseDurationMs round-trip") {
  for (uint64_t ms :
       {1ULL, 999ULL, 1000ULL, 1001ULL, 59999ULL, 61000ULL, 3723500ULL, 86400000ULL * 400}) {
    uint64_t back = 0;
    REQUIRE(ParseDurationMs(GoDuration(ms), &back));
    CHECK(back == ms);
  }
}

}  // namespace
}  // namespace beacon::core
