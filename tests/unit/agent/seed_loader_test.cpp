// LoadCatalogSeed (src/agent/seed_loader.h): a parsing thread feeding the writer, in file order,
// stopping at the first bad entry with its index.
#include <doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "seed_loader.h"

using beacon::agent::LoadCatalogSeed;
using beacon::catalog::SnapshotHub;
using beacon::catalog::Writer;

namespace {

// A seed file in a fresh temporary directory, removed with it.
class SeedFile {
 public:
  explicit SeedFile(const std::string& body) {
    char tmpl[] = "/tmp/beacon-seed-test.XXXXXX";
    const char* d = mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    dir_ = d;
    path_ = dir_ + "/seed.json";
    FILE* f = std::fopen(path_.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fwrite(body.data(), 1, body.size(), f);
    std::fclose(f);
  }
  ~SeedFile() {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

// n entries: node-i at 10.0.(i/250).(i%250+1), service "svc-(i/3)" id "s-i" on port 1000+i.
std::string Entries(size_t n, size_t bad_at = SIZE_MAX) {
  std::string s = "[";
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) s += ",\n";
    const std::string node = i == bad_at ? "" : "node-" + std::to_string(i);
    s += R"({"Node":")" + node + R"(","Address":"10.0.)" + std::to_string(i / 250) + "." +
         std::to_string(i % 250 + 1) + R"(","Service":{"ID":"s-)" + std::to_string(i) +
         R"(","Service":"svc-)" + std::to_string(i / 3) + R"(","Port":)" +
         std::to_string(1000 + i) + "}}";
  }
  return s + "]";
}

}  // namespace

TEST_CASE("seed loader: every entry of a multi-batch file lands, in file order") {
  const size_t n = 2000;  // several parser batches
  SeedFile f(Entries(n));
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  size_t count = 0;
  REQUIRE(LoadCatalogSeed(f.path(), w, &count).ok());
  CHECK(count == n);
  w.Publish();
  auto snap = hub.Current();
  CHECK(snap->nodes.size() == n);
  const auto* svc = snap->services.Find("svc-0");
  REQUIRE(svc != nullptr);
  REQUIRE(svc->instances.size() == 3);
  CHECK(snap->nodes.Find("node-1999") != nullptr);
  const auto* last = snap->services.Find("svc-666");
  REQUIRE(last != nullptr);
  CHECK(last->instances.size() == 2);  // entries 1998 and 1999
  // Versions are stamped in file order: a later entry's node has a later version.
  CHECK(w.VersionOf("node-1") > w.VersionOf("node-0"));
  CHECK(w.VersionOf("node-1999") > w.VersionOf("node-1000"));
}

TEST_CASE("seed loader: a bad entry stops the load, naming the file and the entry") {
  SeedFile f(Entries(1200, 700));
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  size_t count = 0;
  const auto st = LoadCatalogSeed(f.path(), w, &count);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find(f.path()) != std::string::npos);
  CHECK(st.message().find("[700]") != std::string::npos);
  CHECK(count == 700);  // the entries before it stay applied
  w.Publish();
  CHECK(hub.Current()->nodes.Find("node-699") != nullptr);
  CHECK(hub.Current()->nodes.Find("node-701") == nullptr);
}

TEST_CASE("seed loader: a missing file and broken JSON are errors, not crashes") {
  SnapshotHub hub;
  Writer w(hub, "self", "dc1", {});
  size_t count = 0;
  CHECK_FALSE(LoadCatalogSeed("/nonexistent/seed.json", w, &count).ok());
  SeedFile broken(Entries(600).substr(0, 20000) + "{{{");
  const auto st = LoadCatalogSeed(broken.path(), w, &count);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find(broken.path()) != std::string::npos);
}
