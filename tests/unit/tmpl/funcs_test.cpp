// consul-template's text helpers: env, JSON, strings, lists, byTag, timestamp, math.
#include <doctest.h>

#include "fixture.h"

using tmpl_test::Render;

TEST_CASE("env and envOrDefault read Env::getenv") {
  CHECK(Render("{{ env \"HOME\" }}|{{ env \"NOPE\" }}|") == "/root||");
  CHECK(Render("{{ envOrDefault \"NOPE\" \"d\" }} {{ envOrDefault \"EMPTY\" \"d\" }}|") == "d |");
}

TEST_CASE("toJSON and toJSONPretty encode as Go's encoding/json") {
  CHECK(Render("{{ toJSON (parseJSON `{\"b\":1,\"a\":[true,null,\"<&>\"],\"c\":{}}`) }}") ==
        "{\"a\":[true,null,\"\\u003c\\u0026\\u003e\"],\"b\":1,\"c\":{}}");
  CHECK(Render("{{ toJSON (split \",\" \"x,y\") }} {{ toJSON \"s\" }} {{ toJSON 3 }}") ==
        "[\"x\",\"y\"] \"s\" 3");
  CHECK(Render("{{ toJSON (parseJSON `[1e21, 1e-7, 100000000, 0.5, -2]`) }}") ==
        "[1e+21,1e-7,100000000,0.5,-2]");
  CHECK(Render("{{ toJSONPretty (parseJSON `{\"b\":[1,2],\"a\":{\"x\":\"y\"},\"e\":[]}`) }}") ==
        "{\n  \"a\": {\n    \"x\": \"y\"\n  },\n  \"b\": [\n    1,\n    2\n  ],\n  \"e\": []\n}");
}

TEST_CASE("parseJSON gives Go's interface{} values") {
  CHECK(Render("{{ $j := parseJSON `{\"n\":3,\"f\":2.5,\"s\":\"x\",\"l\":[1,2]}` }}"
               "{{ $j.n }} {{ $j.f }} {{ $j.s }} {{ $j.l }} {{ len $j }}") == "3 2.5 x [1 2] 4");
  CHECK(Render("{{ parseJSON \"\" }}") == "map[]");
  CHECK(Render("{{ (parseJSON `1234567`) }}") == "1.234567e+06");  // float64, printed by Go
  CHECK(Render("{{ parseJSON `{bad` }}").rfind("ERR: t.ctmpl:1:4: executing", 0) == 0);
}

TEST_CASE("string helpers") {
  CHECK(Render("{{ toLower \"MiXed\" }} {{ toUpper \"MiXed\" }}") == "mixed MIXED");
  CHECK(Render("{{ toUpper \"größe ÿ ıi ğ ω ж ё ς\" }}") == "GRÖßE Ÿ II Ğ Ω Ж Ё Σ");
  CHECK(Render("{{ toLower \"ÀÉÎ Ÿ İ Ğ ΣΑΆ ЖЁ\" }}") == "àéî ÿ i ğ σαά жё");
  CHECK(Render("{{ toLower \"A\\xffB\" }}") ==
        "a\xef\xbf\xbd"
        "b");  // invalid byte: U+FFFD
  CHECK(Render("{{ split \",\" \"a,b,,c\" | join \"-\" }}") == "a-b--c");
  CHECK(Render("{{ split \",\" \"  a,b \\n\" }} {{ len (split \",\" \"   \") }}") == "[a b] 0");
  CHECK(Render("{{ split \"\" \"ab\" }}") == "[a b]");
  CHECK(Render("{{ replaceAll \".\" \"_\" \"a.b.c\" }}") == "a_b_c");
  CHECK(Render("[{{ trimSpace \"  x y \\n\" }}] {{ trim \"-\" \"--a--\" }} "
               "{{ trimPrefix \"v\" \"v1\" }} {{ trimSuffix \".com\" \"a.com\" }}") ==
        "[x y] a 1 a");
  CHECK(Render("{{ \"a,b\" | split \",\" | contains \"b\" }} {{ \"abc\" | contains \"bc\" }} "
               "{{ contains \"z\" (split \",\" \"a,b\") }} {{ in (split \",\" \"a,b\") \"a\" }}") ==
        "true true false true");
  CHECK(Render("{{ join \",\" \"notalist\" }}").find("expected []string; got string") !=
        std::string::npos);
  CHECK(Render("{{ parseBool \"true\" }} {{ parseInt \"-12\" }} {{ parseFloat \"1.5\" }}") ==
        "true -12 1.5");
  CHECK(Render("{{ base64Encode \"hi\" }} {{ base64Decode \"aGk=\" }}") == "aGk= hi");
  CHECK(Render("{{ containsAll (split \",\" \"a,b\") (split \",\" \"a,b,c\") }} "
               "{{ containsAny (split \",\" \"x,b\") (split \",\" \"a,b\") }} "
               "{{ containsNone (split \",\" \"x\") (split \",\" \"a\") }}") == "true true true");
}

TEST_CASE("math: the piped value is the left operand") {
  CHECK(Render("{{ add 1 2 }} {{ 5 | subtract 2 }} {{ multiply 3 4 }} {{ 10 | divide 4 }} "
               "{{ 10 | modulo 4 }} {{ add 1 0.5 }}") == "3 3 12 2 2 1.5");
  CHECK(Render("{{ 1 | divide 0 }}").find("integer divide by zero") != std::string::npos);
}

TEST_CASE("timestamp: RFC3339 UTC by default, Go layouts, unix") {
  CHECK(Render("{{ timestamp }}") == "2026-12-02T14:06:31Z");
  CHECK(Render("{{ timestamp \"unix\" }}") == "1796220391");
  CHECK(Render("{{ timestamp \"2006-01-02 15:04:05.000 MST\" }}") == "2026-12-02 14:06:31.123 UTC");
  CHECK(Render("{{ timestamp \"Mon Jan _2 3:04PM -0700 .999999999\" }}") ==
        "Wed Dec  2 2:06PM +0000 .123456789");
  CHECK(Render("{{ timestamp \"January 2, 06 002\" }}") == "December 2, 26 336");
}

TEST_CASE("more helpers: indent toTitle splitToMap minimum maximum explode loop mustEnv") {
  CHECK(Render("{{ indent 2 \"a\\nb\\n\\nc\" }}") == "  a\n  b\n\n  c");
  CHECK(Render("{{ toTitle \"hello wide-world don't\" }}") == "Hello Wide-World Don't");
  CHECK(Render("{{ splitToMap \",\" \"=\" \"a=1,b=2,bad\" }}") == "map[a:1 b:2]");
  CHECK(
      Render(
          "{{ minimum 3 5 }} {{ 5 | maximum 3 }} {{ minimum 1.5 2 }} {{ maximum \"a\" \"b\" }}") ==
      "3 5 1.5 b");
  CHECK(Render("{{ parseUint \"42\" }}") == "42");
  CHECK(Render("{{ range loop 3 }}{{ . }}{{ end }} {{ range loop 2 4 }}{{ . }}{{ end }}") ==
        "012 23");
  CHECK(Render("{{ mustEnv \"HOME\" }}") == "/root");
  CHECK(Render("{{ mustEnv \"EMPTY\" }}").find("required environment variable EMPTY is empty") !=
        std::string::npos);
  CHECK(Render("{{ toUnescapedJSON (parseJSON `{\"a\":\"<b>&\"}`) }} "
               "{{ toJSON (parseJSON `{\"a\":\"<b>&\"}`) }}") ==
        "{\"a\":\"<b>&\"} {\"a\":\"\\u003cb\\u003e\\u0026\"}");
  CHECK(Render("{{ toJSON (explodeMap (parseJSON `{\"a/b\":1,\"a/c\":2,\"d\":3}`)) }}") ==
        "{\"a\":{\"b\":1,\"c\":2},\"d\":3}");
}

TEST_CASE("regexMatch and regexReplaceAll") {
  CHECK(Render("{{ regexMatch \"^web-[0-9]+$\" \"web-12\" }} {{ regexMatch \"b\" \"abc\" }} "
               "{{ regexMatch \"(?i)ABC\" \"xabcx\" }} {{ regexMatch \"^z\" \"abc\" }}") ==
        "true true true false");
  CHECK(Render("{{ regexReplaceAll \"(\\\\w+)-(\\\\d+)\" \"$2:$1\" \"web-1 db-22\" }}") ==
        "1:web 22:db");
  CHECK(Render("{{ \"a.b.c\" | regexReplaceAll \"\\\\.\" \"${0}/\" }}") == "a./b./c");
  CHECK(Render("{{ regexMatch \"(\" \"x\" }}").find("error parsing regexp") != std::string::npos);
  // Go's syntax: \A and \z anchors, named groups; \p is refused, not silently false.
  CHECK(Render("{{ regexMatch \"\\\\Aweb\\\\z\" \"web\" }} {{ regexMatch \"\\\\Aweb\\\\z\" "
               "\"webs\" }}") == "true false");
  CHECK(Render("{{ regexReplaceAll \"(?P<n>\\\\w+)-(\\\\d+)\" \"$2\" \"web-1\" }}") == "1");
  CHECK(Render("{{ regexMatch \"\\\\pL\" \"a\" }}").find("Unicode classes") != std::string::npos);
}

TEST_CASE("function_denylist: a denied function fails when called, as consul-template's does") {
  tmpl_test::MapData d;
  beacon::tmpl::ParseOptions opt{"t.ctmpl"};
  opt.denied_functions = {"env", "nope"};
  CHECK(Render("a{{ env \"HOME\" }}", d, opt) ==
        "ERR: t.ctmpl:1:5: executing \"t.ctmpl\" at <env \"HOME\">: error calling env: function "
        "is disabled");
  // Only mentioning it is fine; other functions are untouched.
  CHECK(Render("{{ if false }}{{ env \"HOME\" }}{{ end }}{{ toUpper \"x\" }}", d, opt) == "X");
  CHECK(Render("{{ env \"HOME\" }}", d) == "/root");  // without the list
}
