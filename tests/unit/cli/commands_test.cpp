// Command dispatch, help and argument errors that need no agent (output captured through Io).
#include <doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "beacon/cli/commands.h"

namespace beacon::cli {
namespace {

struct Run {
  int rc;
  std::string out;
  std::string err;
};

Run Exec(const std::vector<std::string>& args, const std::string& input = "") {
  std::ostringstream out;
  std::ostringstream err;
  std::istringstream in(input);
  // An address nobody listens on: commands that get past their argument checks fail to connect.
  Io io{out, err, in, [](std::string_view k) {
          return std::string(k == "CONSUL_HTTP_ADDR" ? "127.0.0.1:1" : "");
        }};
  int rc = Main(args, io);
  return {rc, out.str(), err.str()};
}

TEST_CASE("help: beacon -h lists the commands on stdout, exit 0") {
  Run r = Exec({"-h"});
  CHECK(r.rc == 0);
  CHECK(r.out.rfind("Usage: beacon [--version] [--help] <command> [<args>]\n", 0) == 0);
  CHECK(r.out.find("\n    members        Lists the members of a Beacon cluster\n") !=
        std::string::npos);
  CHECK(Exec({"help"}).out == r.out);
  CHECK(Exec({"--help"}).out == r.out);
}

TEST_CASE("help: a command's -h prints its usage and exits 0; a bad flag prints usage, exit 1") {
  Run h = Exec({"kv", "get", "-h"});
  CHECK(h.rc == 0);
  CHECK(h.out.rfind("Usage: beacon kv get [options] [KEY_OR_PREFIX]", 0) == 0);
  CHECK(h.out.find("  -recurse\n") != std::string::npos);
  Run e = Exec({"members", "-x"});
  CHECK(e.rc == 1);
  CHECK(e.err.rfind("flag provided but not defined: -x\nUsage: beacon members", 0) == 0);
}

TEST_CASE("groups: beacon kv lists its sub-commands") {
  Run r = Exec({"kv"});
  CHECK(r.rc == 1);
  CHECK(r.err.find("Subcommands:\n    delete    Removes data from the KV store\n") !=
        std::string::npos);
  CHECK(Exec({"kv", "-h"}).rc == 0);
}

TEST_CASE("unknown command") {
  Run r = Exec({"frobnicate"});
  CHECK(r.rc == 1);
  CHECK(r.err.rfind("Unknown command: \"frobnicate\"", 0) == 0);
}

TEST_CASE("argument errors with Consul's messages") {
  CHECK(Exec({"kv", "get"}).err == "Error! Missing KEY argument\n");
  CHECK(Exec({"kv", "get", "a", "b"}).err == "Too many arguments (expected 1, got 2)\n");
  CHECK(Exec({"kv", "put"}).err == "Error! Missing KEY argument\n");
  CHECK(Exec({"kv", "put", "k", "v", "x"}).err ==
        "Error! Too many arguments (expected 1 or 2, got 3)\n");
  CHECK(Exec({"kv", "put", "-cas", "k", "v"}).err == "Must specify -modify-index with -cas!\n");
  CHECK(Exec({"kv", "put", "-acquire", "k"}).err ==
        "Error! Missing -session (required with -acquire and -release)\n");
  CHECK(Exec({"kv", "delete", "-recurse", "-cas", "-modify-index=3", "k"}).err ==
        "Cannot specify both -cas and -recurse!\n");
  CHECK(Exec({"maint", "-enable", "-disable"}).err ==
        "Only one of -enable or -disable may be provided\n");
  CHECK(Exec({"maint", "-reason", "x"}).err == "Reason may only be provided with -enable\n");
  CHECK(Exec({"maint", "-service", "web"}).err == "Service requires either -enable or -disable\n");
  CHECK(Exec({"lock", "-n", "0", "p", "c"}).err == "Lock holder limit must be positive\n");
  CHECK(Exec({"lock", "p"}).err == "Key prefix and child command must be specified\n");
  CHECK(Exec({"watch", "-type", "key"}).err == "Must specify a single key to watch\n");
  CHECK(Exec({"watch", "-type", "bogus"}).err == "Unsupported watch type: bogus\n");
  CHECK(Exec({"catalog", "nodes", "extra"}).err == "Too many arguments (expected 0, got 1)\n");
  CHECK(Exec({"services", "deregister"}).err ==
        "Service deregistration requires at least one argument or -id.\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"kv", "get"}, {"maint", "-enable", "-disable"}, {"lock", "p"}}) {
    CHECK(Exec(args).rc == 1);
  }
}

TEST_CASE("an agent that is not there: Go client's error text, exit 1") {
  Run r = Exec({"members"});
  CHECK(r.rc == 1);
  CHECK(r.err ==
        "Error retrieving members: Get \"http://127.0.0.1:1/v1/agent/members\": dial tcp "
        "127.0.0.1:1: connect: connection refused\n");
  Run k = Exec({"kv", "get", "foo"});
  CHECK(k.err.rfind("Error querying Consul agent: Get \"http://127.0.0.1:1/v1/kv/foo\"", 0) == 0);
}

TEST_CASE("keygen: 32 random bytes, base64") {
  Run a = Exec({"keygen"});
  Run b = Exec({"keygen"});
  CHECK(a.rc == 0);
  CHECK(a.out.size() == 45);
  CHECK(a.out != b.out);
}

TEST_CASE("keyring: one action at a time, and an action is required (exit 1, as Consul)") {
  Run two = Exec({"keyring", "-list", "-remove", "a2V5"});
  CHECK(two.rc == 1);
  CHECK(two.err == "Only a single action is allowed\n");
  Run none = Exec({"keyring"});
  CHECK(none.rc == 1);
  CHECK(none.err.find("Usage: beacon keyring [options]") != std::string::npos);
  Run down = Exec({"keyring", "-list"});
  CHECK(down.rc == 1);
  CHECK(down.out == "==> Gathering installed encryption keys...\n");
  CHECK(down.err.rfind("error: Get \"http://127.0.0.1:1/v1/operator/keyring\"", 0) == 0);
}

}  // namespace
}  // namespace beacon::cli
