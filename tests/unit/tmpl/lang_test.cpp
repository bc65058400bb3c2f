// The Go text/template language: text and actions, trimming, comments, literals, variables,
// control structures, builtins, printf and Go's printing, parse and execution errors.
#include <doctest.h>

#include "fixture.h"

using tmpl_test::ParseError;
using tmpl_test::Render;

TEST_CASE("text, literals and Go's printing") {
  CHECK(Render("plain text\n") == "plain text\n");
  CHECK(Render("") == "");
  CHECK(Render("a{{ \"b\" }}c") == "abc");
  CHECK(Render("{{ `raw\\n` }}") == "raw\\n");
  CHECK(Render("{{ \"tab\\there\\u00e9\" }}") == "tab\there\xc3\xa9");
  CHECK(Render("{{ 42 }} {{ -7 }} {{ 0x1F }} {{ 1_000 }} {{ 'a' }} {{ '\\n' }} {{ 'é' }}") ==
        "42 -7 31 1000 97 10 233");
  CHECK(ParseError("{{ 'ab' }}") == "t.ctmpl:1:4: malformed character constant: 'ab'");
  CHECK(Render("{{ 1.5 }} {{ 1.0 }} {{ 1e3 }} {{ 1e21 }} {{ 0.000001 }}") ==
        "1.5 1 1000 1e+21 1e-06");
  CHECK(Render("{{ true }} {{ false }}") == "true false");
  CHECK(Render("{{ 9223372036854775807 }} {{ -9223372036854775808 }}") ==
        "9223372036854775807 -9223372036854775808");
  CHECK(ParseError("{{ 9223372036854775808 }}") ==
        "t.ctmpl:1:4: bad number syntax: \"9223372036854775808\"");
  CHECK(Render("{{ . }}") == "<no value>");  // consul-template executes with nil data
  CHECK(Render("{{ print nil }}") == "<nil>");
  // A nil interface{} (JSON null, a missing index) prints as Go's "<no value>".
  CHECK(Render("{{ (parseJSON `{\"a\":null}`).a }} {{ index (parseJSON `{}`) \"x\" }}") ==
        "<no value> <no value>");
}

TEST_CASE("whitespace trimming and comments") {
  CHECK(Render("a  {{- \"b\" -}}  \n c") == "abc");
  CHECK(Render("a \n{{- 1 }} \n") == "a1 \n");
  CHECK(Render("{{ 1 -}}\n\n  x") == "1x");
  CHECK(Render("{{-3}}") == "-3");  // no space after '-': a number, not a trim marker
  CHECK(Render("a{{/* a comment */}}b") == "ab");
  CHECK(Render("a \n{{- /* trimmed both sides */ -}}\n b") == "ab");
  CHECK(Render("{{/* multi\nline */}}x") == "x");
}

TEST_CASE("variables: declare, assign, scope, $") {
  CHECK(Render("{{ $x := \"a\" }}{{ $x }}") == "a");
  CHECK(Render("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}") == "2");
  // An assignment inside a block changes the outer variable; a declaration shadows it there.
  CHECK(Render("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}") == "2");
  CHECK(Render("{{ $x := 1 }}{{ if true }}{{ $x := 3 }}{{ $x }}{{ end }}{{ $x }}") == "31");
  CHECK(Render("{{ $ }}") == "<no value>");
  CHECK(Render("{{ with $x := \"v\" }}{{ $x }}{{ . }}{{ end }}") == "vv");
  CHECK(ParseError("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}") ==
        "t.ctmpl:1:39: undefined variable \"$y\"");
  CHECK(Render("{{ $z = 1 }}") ==
        "ERR: t.ctmpl:1:4: executing \"t.ctmpl\" at <$z>: undefined variable: $z");
  CHECK(Render("{{ if false }}{{ $z = 1 }}{{ end }}ok") == "ok");  // only when reached, as Go
}

TEST_CASE("if / else if / else, with / else, and Go's truth") {
  const char* t = "{{ if eq . 1 }}one{{ else if eq . 2 }}two{{ else }}many{{ end }}";
  (void)t;
  CHECK(Render("{{ $n := 2 }}{{ if eq $n 1 }}one{{ else if eq $n 2 }}two{{ else }}many{{ end }}") ==
        "two");
  CHECK(Render("{{ $n := 5 }}{{ if eq $n 1 }}one{{ else if eq $n 2 }}two{{ else }}many{{ end }}") ==
        "many");
  CHECK(Render("{{ if \"\" }}y{{ else }}n{{ end }}{{ if 0 }}y{{ else }}n{{ end }}"
               "{{ if 0.0 }}y{{ else }}n{{ end }}{{ if print nil }}y{{ else }}n{{ end }}"
               "{{ if \"x\" }}y{{ end }}{{ if 3 }}y{{ end }}{{ if split \",\" \"\" }}y{{ else }}"
               "n{{ end }}") == "nnnyyyn");
  CHECK(Render("{{ with \"\" }}w{{ else }}e{{ end }}{{ with \"v\" }}[{{ . }}]{{ end }}") == "e[v]");
  CHECK(Render("{{ with \"\" }}a{{ else with \"b\" }}{{ . }}{{ end }}") == "b");
  CHECK(Render("{{ if and 1 0 }}y{{ else }}n{{ end }}{{ or 0 \"\" \"z\" }}{{ and 1 2 }}") == "nz2");
  CHECK(Render("{{ not 0 }} {{ not \"a\" }}") == "true false");
  // and/or stop at the first deciding argument (the rest is never evaluated).
  CHECK(Render("{{ or 1 (index (split \",\" \"\") 5) }}") == "1");
}

TEST_CASE("range over lists, maps and ints; $i, $v; else; break and continue") {
  CHECK(Render("{{ range split \",\" \"a,b,c\" }}[{{ . }}]{{ end }}") == "[a][b][c]");
  CHECK(Render("{{ range $i, $v := split \",\" \"a,b\" }}{{ $i }}={{ $v }} {{ end }}") ==
        "0=a 1=b ");
  CHECK(Render("{{ range $v := split \",\" \"a,b\" }}{{ $v }}{{ end }}") == "ab");
  CHECK(Render("{{ range split \",\" \"\" }}x{{ else }}empty{{ end }}") == "empty");
  CHECK(Render("{{ range $k, $v := parseJSON `{\"b\":2,\"a\":1}` }}{{ $k }}{{ $v }}{{ end }}") ==
        "a1b2");
  CHECK(Render("{{ range 3 }}{{ . }}{{ end }}") == "012");
  CHECK(Render("{{ range split \",\" \"a,b,c,d\" }}{{ if eq . \"b\" }}{{ continue }}{{ end }}"
               "{{ if eq . \"d\" }}{{ break }}{{ end }}{{ . }}{{ end }}") == "ac");
  // Nested range/with/if with the outer variables visible inside.
  CHECK(Render("{{ range $o := split \",\" \"1,2\" }}{{ range split \",\" \"a,b\" }}"
               "{{ with $o }}{{ . }}{{ end }}{{ . }} {{ end }}{{ end }}") == "1a 1b 2a 2b ");
  CHECK(ParseError("{{ break }}") == "t.ctmpl:1:4: {{break}} outside {{range}}");
}

TEST_CASE("pipelines, parentheses, fields on values") {
  CHECK(Render("{{ \"ABC\" | toLower | printf \"%s!\" }}") == "abc!");
  CHECK(Render("{{ (split \",\" \"x,y\") | len }}") == "2");
  CHECK(Render("{{ (parseJSON `{\"a\":{\"b\":\"deep\"}}`).a.b }}") == "deep");
  CHECK(Render("{{ $m := parseJSON `{\"a\":{\"b\":7}}` }}{{ $m.a.b }} {{ $m.missing }}") ==
        "7 <no value>");
  CHECK(Render("{{ with parseJSON `{\"n\":\"x\"}` }}{{ .n }}{{ end }}") == "x");
  CHECK(Render("{{ index (split \",\" \"a,b,c\") 1 }}") == "b");
  CHECK(Render("{{ index (parseJSON `{\"k\":[1,2.5]}`) \"k\" 1 }}") == "2.5");
  CHECK(Render("{{ slice \"abcdef\" 1 3 }} {{ slice (split \",\" \"a,b,c\") 1 }}") == "bc [b c]");
  CHECK(Render("{{ len \"héllo\" }}") == "6");
}

TEST_CASE("comparisons follow Go") {
  CHECK(Render("{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} "
               "{{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}") == "true true true true true true false");
  CHECK(Render("{{ eq 1 \"1\" }}").find("incompatible types for comparison") != std::string::npos);
  CHECK(Render("{{ lt true false }}").find("invalid type for comparison") != std::string::npos);
}

TEST_CASE("print, println and printf with Go's verbs") {
  CHECK(Render("{{ print \"a\" 1 2 \"b\" }}") == "a1 2b");
  CHECK(Render("{{ println \"a\" 1 }}") == "a 1\n");
  CHECK(Render("{{ printf \"%d|%5d|%-5d|%05d|%x|%X|%o|%b|%c\" 42 42 42 -42 255 255 8 5 65 }}") ==
        "42|   42|42   |-0042|ff|FF|10|101|A");
  CHECK(Render("{{ printf \"%s|%q|%v|%10s|%-4s|%.2s\" \"hi\" \"a\\\"b\\n\" \"v\" \"r\" \"l\" "
               "\"xyz\" }}") == "hi|\"a\\\"b\\n\"|v|         r|l   |xy");
  CHECK(Render("{{ printf \"%f %.2f %e %g %v %8.3f\" 3.5 3.14159 1234.5 0.00001 2.0 3.14159 }}") ==
        "3.500000 3.14 1.234500e+03 1e-05 2    3.142");
  CHECK(Render("{{ printf \"%t %v %%\" true false }}") == "true false %");
  CHECK(Render("{{ printf \"%v %s %d\" (split \",\" \"a,b\") (split \",\" \"c,d\") 7 }}") ==
        "[a b] [c d] 7");
  CHECK(Render("{{ printf \"%v\" (parseJSON `{\"b\":[1,\"x\"],\"a\":null}`) }}") ==
        "map[a:<nil> b:[1 x]]");
  CHECK(Render("{{ printf \"%d %s\" \"str\" 5 }}") == "%!d(string=str) %!s(int=5)");
  CHECK(Render("{{ printf \"%d %d\" 1 }}") == "1 %!d(MISSING)");
  CHECK(Render("{{ printf \"%d\" 1 2 }}") == "1%!(EXTRA int=2)");
  CHECK(Render("{{ printf \"%x\" \"hi\" }} {{ printf \"%T %T\" 1 \"s\" }}") == "6869 int string");
  CHECK(Render("{{ printf \"%*d|%.*f\" 4 7 1 2.25 }}") == "   7|2.2");
}

TEST_CASE("define and template") {
  CHECK(Render(
            "{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" \"a\" }}{{ template \"x\" }}") ==
        "[a][<no value>]");
  CHECK(Render("{{ block \"b\" \"v\" }}<{{ . }}>{{ end }}") == "<v>");
  CHECK(Render("{{ define \"e\" }}{{ end }}{{ define \"e\" }}E{{ end }}{{ define \"e\" }} {{ end }}"
               "{{ template \"e\" }}") == "E");
  CHECK(ParseError("{{ define \"d\" }}1{{ end }}{{ define \"d\" }}2{{ end }}") ==
        "t.ctmpl:1:30: template: multiple definition of template \"d\"");
  CHECK(ParseError("{{ block \"b\" }}{{ end }}") == "t.ctmpl:1:14: missing value for block clause");
  CHECK(Render("{{ template \"nope\" }}").find("no such template \"nope\"") != std::string::npos);
}

TEST_CASE("parse errors name the file, line and column") {
  CHECK(ParseError("ok\n  {{ key \"a\" ") == "t.ctmpl:2:3: unclosed action");
  CHECK(ParseError("{{ nosuch 1 }}") == "t.ctmpl:1:4: function \"nosuch\" not defined");
  CHECK(ParseError("a\n{{ end }}") == "t.ctmpl:2:4: unexpected {{end}}");
  CHECK(ParseError("{{ else }}") == "t.ctmpl:1:4: unexpected {{else}}");
  CHECK(ParseError("{{ if true }}\nno end") == "t.ctmpl:2:7: unexpected EOF");
  CHECK(ParseError("{{ range .x }}{{ else }}{{ else }}{{ end }}") ==
        "t.ctmpl:1:28: expected end; found {{else}}");
  CHECK(ParseError("{{ if }}{{ end }}") == "t.ctmpl:1:7: missing value for if");
  CHECK(ParseError("{{ \"abc }}") == "t.ctmpl:1:4: unterminated quoted string");
  CHECK(ParseError("{{ (1 }}") == "t.ctmpl:1:7: unclosed left paren");
  CHECK(ParseError("{{ 1) }}") == "t.ctmpl:1:5: unexpected right paren");
  CHECK(ParseError("{{/* x */ 1 }}") == "t.ctmpl:1:1: comment ends before closing delimiter");
  CHECK(ParseError("{{ /* x */ }}") == "t.ctmpl:1:4: unrecognized character in action: /");
  CHECK(ParseError("{{/* x") == "t.ctmpl:1:1: unclosed comment");
  CHECK(ParseError("{{ 1 | 2 }}") == "t.ctmpl:1:8: non executable command in pipeline stage 2");
  CHECK(ParseError("{{ 12ab }}") == "t.ctmpl:1:4: bad number syntax: \"12ab\"");
  CHECK(ParseError("{{ \"a\"\"b\" }}") == "t.ctmpl:1:7: unexpected \"\\\"b\\\"\" in operand");
  CHECK(ParseError("{{ # }}") == "t.ctmpl:1:4: unrecognized character in action: #");
  std::string deep;
  for (int i = 0; i < 2000; ++i) deep += "{{ if 1 }}";
  CHECK(ParseError(deep).find("max nesting depth exceeded") != std::string::npos);
  CHECK(ParseError("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}")
            .find("max nesting depth exceeded") != std::string::npos);
}

TEST_CASE("execution errors name line and column and what failed") {
  CHECK(Render("\n {{ index (split \",\" \"a\") 3 }}") ==
        "ERR: t.ctmpl:2:5: executing \"t.ctmpl\" at <index (split \",\" \"a\"...>: error calling "
        "index: index out of range: 3");
  CHECK(Render("{{ toLower 5 }}") ==
        "ERR: t.ctmpl:1:4: executing \"t.ctmpl\" at <toLower 5>: error calling toLower: wrong "
        "type for value; expected string; got int");
  CHECK(Render("{{ key }}") ==
        "ERR: t.ctmpl:1:4: executing \"t.ctmpl\" at <key>: wrong number of args for key: want 1 "
        "got 0");
  CHECK(Render("{{ \"a\" 1 }}").find("can't give argument to non-function") != std::string::npos);
  CHECK(Render("{{ nil }}").find("nil is not a command") != std::string::npos);
  CHECK(Render("{{ .Foo }} {{ .A.B }} {{ $.C }}") == "<no value> <no value> <no value>");
  CHECK(Render("{{ (parseJSON `{\"a\":{}}`).a.b 1 }}")
            .find("b has arguments but cannot be invoked as function") != std::string::npos);
  CHECK(Render("{{ \"s\" | len | toUpper }}").find("expected string; got int") !=
        std::string::npos);
  CHECK(Render("{{ range 1.5 }}{{ end }}").find("range can't iterate over 1.5") !=
        std::string::npos);
}

TEST_CASE("custom delimiters") {
  beacon::tmpl::ParseOptions opt{"d.tpl", "[[", "]]"};
  tmpl_test::MapData d;
  CHECK(Render("{{ x }} [[ \"y\" ]] [[- \" z\" -]] !", d, opt) == "{{ x }} y z!");
}

TEST_CASE("a parsed template renders the same output every time") {
  auto t = beacon::tmpl::Template::Parse(
      "{{ range $k, $v := parseJSON `{\"z\":1,\"a\":2,\"m\":3}` }}{{ $k }}{{ $v }},{{ end }}"
      "{{ toJSON (parseJSON `{\"b\":[1,2],\"a\":{\"y\":1,\"x\":null}}`) }}",
      {"det"});
  REQUIRE(t.ok());
  tmpl_test::MapData d;
  auto first = t->Render(d, tmpl_test::TestEnv());
  REQUIRE(first.ok());
  CHECK(first->output == "a2,m3,z1,{\"a\":{\"x\":null,\"y\":1},\"b\":[1,2]}");
  for (int i = 0; i < 20; ++i) {
    auto again = t->Render(d, tmpl_test::TestEnv());
    REQUIRE(again.ok());
    CHECK(again->output == first->output);
  }
}

TEST_CASE("html, js and urlquery escape as Go's text/template does") {
  CHECK(Render("{{ html \"<a href='x'>&\\\"\" }}") == "&lt;a href=&#39;x&#39;&gt;&amp;&#34;");
  CHECK(Render("{{ js \"a'b\\\"c<d>&e=\\\\f\\n\" }}") ==
        "a\\'b\\\"c\\u003Cd\\u003E\\u0026e\\u003D\\\\f\\u000A");
  // Printable non-ASCII passes through; separators and non-ASCII spaces are escaped.
  CHECK(Render("{{ js \"\xc3\xa9\xe2\x80\xa8\xc2\xa0\" }}") == "\xc3\xa9\\u2028\\u00A0");
  CHECK(Render("{{ \"x=1\" | js }} {{ js \"a\" 1 }}") == "x\\u003D1 a1");
  CHECK(Render("{{ urlquery \"a b&c/\xc3\xa9\" }}") == "a+b%26c%2F%C3%A9");
}
