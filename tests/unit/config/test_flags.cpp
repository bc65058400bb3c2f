#include <doctest.h>

#include <string>
#include <vector>

#include "beacon/config/config.h"

namespace beacon::config {
namespace {

using Args = std::vector<std::string>;
using Override = std::pair<std::string, std::string>;

CommandLine Parse(const Args& args) {
  Result<CommandLine> r = ParseAgentFlags(args);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.status().message()));
  return r.value();
}

std::string ParseError(const Args& args) {
  Result<CommandLine> r = ParseAgentFlags(args);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

TEST_CASE("flags: -flag value, -flag=value, and the same with two dashes") {
  CommandLine cl =
      Parse({"-node", "a", "-datacenter=DC2", "--domain", "example", "--bind=10.0.0.1"});
  CHECK(cl.overrides ==
        std::vector<Override>{
            {"node", "a"}, {"datacenter", "DC2"}, {"domain", "example"}, {"bind", "10.0.0.1"}});
}

TEST_CASE("flags: booleans stand alone or take =true/=false") {
  CommandLine cl = Parse({"-dev", "-server", "-enable-script-checks=false",
                          "--enable-local-script-checks=true", "-ui", "-bootstrap"});
  CHECK(cl.dev);
  CHECK(cl.overrides == std::vector<Override>{{"server", "true"},
                                              {"enable-script-checks", "false"},
                                              {"enable-local-script-checks", "true"},
                                              {"ui", "true"},
                                              {"bootstrap", "true"}});
  CHECK_FALSE(Parse({"-dev=false"}).dev);
  CHECK(ParseError({"-server=maybe"}).find("-server") != std::string::npos);
}

TEST_CASE("flags: repeatable config dirs, files, recursors, node meta and joins") {
  CommandLine cl = Parse({"-config-dir",
                          "a",
                          "-config-dir=b",
                          "-config-file",
                          "x.json",
                          "-config-file=y.yaml",
                          "-recursor",
                          "8.8.8.8",
                          "-recursor=1.1.1.1:53",
                          "-node-meta",
                          "rack:r1",
                          "-node-meta=zone:z",
                          "-join",
                          "10.0.0.2",
                          "-retry-join=10.0.0.3",
                          "-catalog-seed",
                          "seed.json",
                          "-dns-workers",
                          "4",
                          "-config-format=yaml"});
  CHECK(cl.config_dirs == Args{"a", "b"});
  CHECK(cl.config_files == Args{"x.json", "y.yaml"});
  CHECK(cl.catalog_seed == "seed.json");
  CHECK(cl.config_format == "yaml");
  CHECK(cl.overrides == std::vector<Override>{{"recursor", "8.8.8.8"},
                                              {"recursor", "1.1.1.1:53"},
                                              {"node-meta", "rack:r1"},
                                              {"node-meta", "zone:z"},
                                              {"join", "10.0.0.2"},
                                              {"retry-join", "10.0.0.3"},
                                              {"dns-workers", "4"}});
}

TEST_CASE("flags: every documented agent flag is accepted") {
  CommandLine cl = Parse({"-dev",        "-server",       "-bootstrap-expect",
                          "1",           "-node",         "n",
                          "-datacenter", "dc1",           "-data-dir",
                          "/tmp/d",      "-bind",         "127.0.0.1",
                          "-client",     "127.0.0.1 ::1", "-advertise",
                          "127.0.0.2",   "-dns-port",     "8600",
                          "-http-port",  "8500",          "-serf-lan-port",
                          "8301",        "-server-port",  "8300",
                          "-domain",     "consul",        "-alt-domain",
                          "alt",         "-log-level",    "debug",
                          "-pid-file",   "/tmp/p",        "-ui"});
  CHECK(cl.overrides.size() == 17);
}

TEST_CASE("flags: errors name the flag") {
  CHECK(ParseError({"-foo"}) == "unknown flag -foo");
  CHECK(ParseError({"--foo=1"}) == "unknown flag -foo");
  CHECK(ParseError({"-node"}) == "flag -node needs a value");
  CHECK(ParseError({"stray"}) == "unexpected argument \"stray\"");
  CHECK(ParseError({"-dns-port", "eighty"}).find("-dns-port") != std::string::npos);
  CHECK(ParseError({"-dns-port=70000"}).find("-dns-port") != std::string::npos);
  CHECK(ParseError({"-bind", "not-an-ip"}).find("-bind") != std::string::npos);
  CHECK(ParseError({"-recursor", "0.0.0.0"}).find("-recursor") != std::string::npos);
  CHECK(ParseError({"-node-meta", "novalue"}).find("key:value") != std::string::npos);
  CHECK(ParseError({"-log-level", "loud"}).find("-log-level") != std::string::npos);
  CHECK(ParseError({"-config-format", "hcl"}).find("-config-format") != std::string::npos);
  CHECK(ParseError({"-dns-udp-batch-wait", "5ms"}) ==
        "invalid value \"5ms\" for flag -dns-udp-batch-wait: must be between 0 and 1ms, got "
        "\"5ms\"");
  CHECK(ParseError({"-dns-udp-batch-wait=-1us"}).find("must be between 0 and 1ms") !=
        std::string::npos);
}

TEST_CASE("flags: -- ends the flags") {
  CHECK(Parse({"-server", "--"}).overrides.size() == 1);
  CHECK(ParseError({"--", "x"}) == "unexpected argument \"x\"");
}

}  // namespace
}  // namespace beacon::config
