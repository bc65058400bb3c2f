#include "beacon/core/json_writer.h"

#include <doctest.h>

using beacon::core::JsonWriter;

TEST_CASE("JsonWriter escapes strings per RFC 8259") {
  std::string out;
  JsonWriter::AppendQuoted(out, std::string_view("a\"b\\c\n\t\x01\x1f/\x7f", 11));
  CHECK(out == "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\x7f\"");
  out.clear();
  JsonWriter::AppendQuoted(out, std::string_view("\0x", 2));
  CHECK(out == "\"\\u0000x\"");
}

TEST_CASE("JsonWriter keeps valid UTF-8 and replaces invalid bytes with U+FFFD") {
  std::string out;
  JsonWriter::AppendQuoted(out, "h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK(out == "\"h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  out.clear();
  JsonWriter::AppendQuoted(out,
                           "a\xFF"
                           "b\xC3");  // stray byte, truncated sequence
  CHECK(out ==
        "\"a\xEF\xBF\xBD"
        "b\xEF\xBF\xBD\"");
  out.clear();
  JsonWriter::AppendQuoted(out, "\xC0\xAF\xED\xA0\x80");  // overlong '/', surrogate
  CHECK(out == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST_CASE("JsonWriter nests objects and arrays") {
  JsonWriter w;
  w.BeginObject().Key("a").Int(-1).Key("b").BeginArray().Uint(2).Bool(true).Null().String("x");
  w.BeginObject().EndObject().EndArray().Key("c").BeginArray().EndArray().EndObject();
  CHECK(w.done());
  CHECK(w.str() == R"({"a":-1,"b":[2,true,null,"x",{}],"c":[]})");
}

TEST_CASE("JsonWriter refuses misuse") {
  SUBCASE("value without key") {
    JsonWriter w;
    w.BeginObject().String("v");
    CHECK(w.error());
  }
  SUBCASE("key in array") {
    JsonWriter w;
    w.BeginArray().Key("k");
    CHECK(w.error());
  }
  SUBCASE("mismatched close") {
    JsonWriter w;
    w.BeginArray().EndObject();
    CHECK(w.error());
  }
  SUBCASE("close with dangling key") {
    JsonWriter w;
    w.BeginObject().Key("k").EndObject();
    CHECK(w.error());
  }
  SUBCASE("two top-level values") {
    JsonWriter w;
    w.Int(1).Int(2);
    CHECK(w.error());
    CHECK(!w.done());
  }
  SUBCASE("unclosed") {
    JsonWriter w;
    w.BeginArray();
    CHECK(!w.error());
    CHECK(!w.done());
  }
}

TEST_CASE("JsonWriter::Pretty matches Go's MarshalIndent with 4 spaces") {
  CHECK(JsonWriter::Pretty(R"({"a":[1,{}],"b":"x,:{[\"]","c":[]})") ==
        "{\n    \"a\": [\n        1,\n        {}\n    ],\n    \"b\": \"x,:{[\\\"]\",\n"
        "    \"c\": []\n}\n");
  CHECK(JsonWriter::Pretty("\"s\"") == "\"s\"\n");
}
