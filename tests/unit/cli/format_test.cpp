// Pure output formatting: columnize, the members table, KV details, base64.
#include <doctest.h>

#include <string>
#include <vector>

#include "internal.h"

namespace beacon::cli {
namespace {

TEST_CASE("columnize: columns padded to the widest cell, two spaces, last column unpadded") {
  CHECK(Columnize({{"Node", "ID", "Address"}, {"a-long-name", "1", "x"}, {"b", "22", "y"}}) ==
        "Node         ID  Address\n"
        "a-long-name  1   x\n"
        "b            22  y");
  CHECK(Columnize({}) == "");
}

Member M(std::string name, std::string role, int64_t status, std::string build = "1.16.4:abc") {
  Member m;
  m.name = std::move(name);
  m.addr = "10.0.0.1";
  m.port = 8301;
  m.status = status;
  m.tags = {{"role", std::move(role)}, {"dc", "dc1"}, {"vsn", "2"}, {"build", std::move(build)}};
  return m;
}

TEST_CASE("members: servers first then by name; Build cut at ':'; Consul 1.10 columns") {
  std::string out =
      MembersTable({M("zeta", "node", 1), M("beta", "node", 4), M("srv", "consul", 1)}, false);
  CHECK(out ==
        "Node  Address        Status  Type    Build   Protocol  DC   Segment\n"
        "srv   10.0.0.1:8301  alive   server  1.16.4  2         dc1  <all>\n"
        "beta  10.0.0.1:8301  failed  client  1.16.4  2         dc1  <default>\n"
        "zeta  10.0.0.1:8301  alive   client  1.16.4  2         dc1  <default>");
}

TEST_CASE("members: -detailed shows sorted k=v tags; IPv6 addresses in brackets") {
  Member m = M("n1", "node", 3, "");
  m.addr = "::1";
  std::string out = MembersTable({m}, true);
  CHECK(out ==
        "Node  Address     Status  Tags\n"
        "n1    [::1]:8301  left    build=,dc=dc1,role=node,segment=<default>,vsn=2");
}

TEST_CASE("members: unknown status and role") {
  CHECK(MemberStatus(0) == "none");
  CHECK(MemberStatus(2) == "leaving");
  CHECK(MemberStatus(9) == "unknown");
  std::string out = MembersTable({M("x", "other", 1)}, false);
  CHECK(out.find("x     10.0.0.1:8301  alive   unknown") != std::string::npos);
}

TEST_CASE("kv -detailed: Consul's field order, tabwriter padding, '-' for no session") {
  KvPair p;
  p.key = "foo";
  p.value = "bar";
  p.create_index = 5;
  p.modify_index = 7;
  p.flags = 42;
  CHECK(KvDetailed(p, false) ==
        "CreateIndex      5\n"
        "Flags            42\n"
        "Key              foo\n"
        "LockIndex        0\n"
        "ModifyIndex      7\n"
        "Session          -\n"
        "Value            bar");
  p.session = "abc";
  std::string b64 = KvDetailed(p, true);
  CHECK(b64.find("Session          abc\n") != std::string::npos);
  CHECK(b64.find("Value            YmFy") != std::string::npos);
}

TEST_CASE("base64 (core): standard alphabet with padding, round trip, rejects junk") {
  CHECK(Base64Encode("") == "");
  CHECK(Base64Encode("f") == "Zg==");
  CHECK(Base64Encode("fo") == "Zm8=");
  CHECK(Base64Encode("foo") == "Zm9v");
  std::string out;
  CHECK(Base64Decode("Zm9vYmE=", &out));
  CHECK(out == "fooba");
  CHECK_FALSE(Base64Decode("Zm=v", &out));
  CHECK(Base64Encode(std::string(32, '\xff')).size() == 44);
}

TEST_CASE("json: Go-style quoting and MarshalIndent layout") {
  CHECK(JsonQuote("a\"b<c>\n") == "\"a\\\"b\\u003cc\\u003e\\n\"");
  simdjson::dom::parser p;
  simdjson::dom::element e = p.parse(std::string(R"({"a":[1,{"b":null}],"c":{},"d":[]})"));
  CHECK(JsonPretty(e) ==
        "{\n    \"a\": [\n        1,\n        {\n            \"b\": null\n        }\n    ],\n"
        "    \"c\": {},\n    \"d\": []\n}");
  CHECK(JsonCompact(e) == R"({"a":[1,{"b":null}],"c":{},"d":[]})");
}

}  // namespace
}  // namespace beacon::cli
