// The keyring file (<data_dir>/serf/local.keyring): written as Serf writes it, read back in
// order, missing is no error, a bad file is refused naming it.
#include <doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "beacon/agent/cluster.h"

namespace beacon::agent {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/beacon-keyring-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST_CASE("keyring file: saved as a JSON array, primary first, and loaded back") {
  TempDir dir;
  const std::string path = KeyringFilePath(dir.path);
  CHECK(path == dir.path + "/serf/local.keyring");
  auto none = LoadKeyringFile(path);
  REQUIRE(none.ok());
  CHECK_FALSE(none.value().has_value());

  auto ring = gossip::Keyring::FromBase64({"AQEBAQEBAQEBAQEBAQEBAQ==", "AgICAgICAgICAgICAgICAg=="});
  REQUIRE(ring.ok());
  REQUIRE(SaveKeyringFile(path, ring.value()).ok());
  CHECK(Slurp(path) == "[\n  \"AQEBAQEBAQEBAQEBAQEBAQ==\",\n  \"AgICAgICAgICAgICAgICAg==\"\n]");
  auto back = LoadKeyringFile(path);
  REQUIRE(back.ok());
  REQUIRE(back.value().has_value());
  CHECK(back.value()->keys() == ring.value().keys());

  std::ofstream(path) << "[\"short\"]";
  auto bad = LoadKeyringFile(path);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().rfind(path + ": ", 0) == 0);
  std::ofstream(path) << "{}";
  CHECK(LoadKeyringFile(path).status().message() == path + ": not a JSON array of keys");
}

}  // namespace
}  // namespace beacon::agent
