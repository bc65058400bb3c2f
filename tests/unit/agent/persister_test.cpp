// Persister: the agent's state files are written off the writer thread, in order, in batches.
#include "beacon/agent/persister.h"

#include <doctest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace beacon;
using agent::FileOp;
using agent::Persister;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/beacon-persist-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string Read(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "<missing>";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("files land in order: the last op per path wins, and each request hears its result") {
  TempDir d;
  Logger log(LogLevel::kError);
  Persister p(log);
  std::vector<std::string> results;
  std::atomic<int> done{0};
  auto note = [&](const std::string& err) {
    results.push_back(err);  // persister thread only
    ++done;
  };
  const std::string a = d.path + "/a.json", b = d.path + "/b.json", c = d.path + "/c";
  for (int i = 0; i < 50; ++i) {  // many requests: some share a batch, all apply in order
    p.Enqueue({{FileOp::Kind::kDurable, a, "a" + std::to_string(i)}}, note);
  }
  p.Enqueue({{FileOp::Kind::kDurable, b, "b"}, {FileOp::Kind::kRemove, b, {}}}, note);
  p.Enqueue({{FileOp::Kind::kAtomic, c, "ttl"}}, note);
  p.Flush();
  CHECK(done == 52);
  CHECK(Read(a) == "a49");
  CHECK(Read(b) == "<missing>");  // written, then removed
  CHECK(Read(c) == "ttl");
  CHECK_FALSE(std::filesystem::exists(a + ".tmp"));
  for (const std::string& r : results) CHECK(r.empty());
}

TEST_CASE("a write that cannot happen is reported to its request and changes nothing else") {
  TempDir d;
  Logger log(LogLevel::kError);
  Persister p(log);
  std::string bad_err = "unset", good_err = "unset";
  p.Enqueue({{FileOp::Kind::kDurable, d.path + "/no/such/dir/x.json", "x"}},
            [&](const std::string& e) { bad_err = e; });
  p.Enqueue({{FileOp::Kind::kDurable, d.path + "/ok.json", "ok"}},
            [&](const std::string& e) { good_err = e; });
  p.Flush();
  CHECK(bad_err.rfind("cannot write " + d.path + "/no/such/dir/x.json: ", 0) == 0);
  CHECK(good_err.empty());
  CHECK(Read(d.path + "/ok.json") == "ok");
}

TEST_CASE("what is queued at destruction is still written") {
  TempDir d;
  Logger log(LogLevel::kError);
  {
    Persister p(log);
    for (int i = 0; i < 20; ++i) {
      p.Enqueue({{FileOp::Kind::kDurable, d.path + "/f" + std::to_string(i), "v"}}, {});
    }
  }
  for (int i = 0; i < 20; ++i) CHECK(Read(d.path + "/f" + std::to_string(i)) == "v");
}
