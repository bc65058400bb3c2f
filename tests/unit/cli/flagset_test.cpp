// FlagSet follows Go's flag package: forms, booleans, termination and error texts.
#include <doctest.h>

#include <string>
#include <vector>

#include "beacon/config/flagset.h"

namespace beacon::config {
namespace {

using Args = std::vector<std::string>;

struct Fixture {
  FlagSet fs;
  bool b = false;
  std::string s;
  int64_t n = 0;
  uint64_t u = 0;
  int64_t d = 0;
  std::vector<std::string> list;
  Fixture() {
    fs.Bool("b", &b, "a bool");
    fs.String("s", &s, "a string");
    fs.Int("n", &n, "an int");
    fs.Uint("u", &u, "a uint");
    fs.Duration("d", &d, "a duration");
    fs.StringList("l", &list, "repeatable");
  }
};

TEST_CASE("flagset: -f, --f, -f value and -f=value") {
  Fixture f;
  REQUIRE(f.fs.Parse({"-s", "x", "--n=5", "-u", "7", "--d", "1m30s", "-b"}).ok());
  CHECK(f.s == "x");
  CHECK(f.n == 5);
  CHECK(f.u == 7);
  CHECK(f.d == 90000);
  CHECK(f.b);
  CHECK(f.fs.Args().empty());
  CHECK(f.fs.Has("s"));
  CHECK_FALSE(f.fs.Has("l"));
}

TEST_CASE("flagset: booleans take no separate value") {
  Fixture f;
  REQUIRE(f.fs.Parse({"-b", "false"}).ok());
  CHECK(f.b);
  CHECK(f.fs.Args() == Args{"false"});
  Fixture g;
  REQUIRE(g.fs.Parse({"-b=false"}).ok());
  CHECK_FALSE(g.b);
  Fixture h;
  Status st = h.fs.Parse({"-b=maybe"});
  CHECK(st.message() == "invalid boolean value \"maybe\" for -b: parse error");
  CHECK(h.fs.kind() == FlagSet::ErrorKind::kBadValue);
}

TEST_CASE("flagset: repeatable lists") {
  Fixture f;
  REQUIRE(f.fs.Parse({"-l", "a", "-l=b", "--l", "c"}).ok());
  CHECK(f.list == Args{"a", "b", "c"});
}

TEST_CASE("flagset: parsing stops at the first non-flag, a lone - or after --") {
  Fixture f;
  REQUIRE(f.fs.Parse({"-s", "x", "key", "-b"}).ok());
  CHECK(f.fs.Args() == Args{"key", "-b"});
  CHECK_FALSE(f.b);
  Fixture g;
  REQUIRE(g.fs.Parse({"-b", "--", "-s", "y"}).ok());
  CHECK(g.fs.Args() == Args{"-s", "y"});
  CHECK(g.s.empty());
  Fixture h;
  REQUIRE(h.fs.Parse({"key", "-"}).ok());
  CHECK(h.fs.Args() == Args{"key", "-"});
  Fixture i;
  REQUIRE(i.fs.Parse({"-", "x"}).ok());
  CHECK(i.fs.Args() == Args{"-", "x"});
}

TEST_CASE("flagset: Go's error texts") {
  Fixture a;
  CHECK(a.fs.Parse({"-x"}).message() == "flag provided but not defined: -x");
  CHECK(a.fs.kind() == FlagSet::ErrorKind::kUndefined);
  CHECK(a.fs.flag() == "x");
  Fixture b;
  CHECK(b.fs.Parse({"-n"}).message() == "flag needs an argument: -n");
  CHECK(b.fs.kind() == FlagSet::ErrorKind::kNeedsArgument);
  Fixture c;
  CHECK(c.fs.Parse({"-n", "x"}).message() == "invalid value \"x\" for flag -n: parse error");
  Fixture d;
  CHECK(d.fs.Parse({"-u=-1"}).message() == "invalid value \"-1\" for flag -u: parse error");
  Fixture e;
  CHECK(e.fs.Parse({"---s"}).message() == "bad flag syntax: ---s");
  Fixture g;
  CHECK(g.fs.Parse({"-d", "10"}).message() ==
        "invalid value \"10\" for flag -d: time: missing unit in duration \"10\"");
}

TEST_CASE("flagset: -h and -help ask for help unless defined") {
  Fixture f;
  CHECK_FALSE(f.fs.Parse({"-h"}).ok());
  CHECK(f.fs.kind() == FlagSet::ErrorKind::kHelp);
  Fixture g;
  CHECK_FALSE(g.fs.Parse({"--help"}).ok());
  CHECK(g.fs.kind() == FlagSet::ErrorKind::kHelp);
}

TEST_CASE("flagset: numbers as Go's ParseInt(s, 0, 64)") {
  Fixture f;
  REQUIRE(f.fs.Parse({"-n", "0x10", "-u", "0o17"}).ok());
  CHECK(f.n == 16);
  CHECK(f.u == 15);
  Fixture g;
  REQUIRE(g.fs.Parse({"-n=-42"}).ok());
  CHECK(g.n == -42);
}

TEST_CASE("flagset: Defaults lists flags sorted, with value names") {
  Fixture f;
  const std::string d = f.fs.Defaults();
  CHECK(d.find("  -b\n     a bool\n") != std::string::npos);
  CHECK(d.find("  -s=<string>\n") != std::string::npos);
  CHECK(d.find("  -b\n") < d.find("  -d=<duration>\n"));
  FlagSet q;
  std::string addr;
  q.String("http-addr", &addr, "The `address` of the agent.");
  CHECK(q.Defaults() == "  -http-addr=<address>\n     The address of the agent.\n\n");
}

}  // namespace
}  // namespace beacon::config
