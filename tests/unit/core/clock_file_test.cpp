#include <doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "beacon/core/clock.h"
#include "beacon/core/file.h"

namespace beacon::core {
namespace {

TEST_CASE("FakeClock moves only when told to") {
  FakeClock c(100, 5000);
  const Clock& clock = c;
  CHECK(clock.MonotonicMs() == 100);
  CHECK(clock.WallMs() == 5000);
  c.Advance(250);
  CHECK(clock.MonotonicMs() == 350);
  CHECK(clock.WallMs() == 5250);
  c.SetWall(1000);  // the user sets the system clock back
  CHECK(clock.WallMs() == 1000);
  CHECK(clock.MonotonicMs() == 350);
}

TEST_CASE("RealClock's monotonic time does not go back and its wall time is after 2020") {
  RealClock c;
  const uint64_t a = c.MonotonicMs();
  const uint64_t b = c.MonotonicMs();
  CHECK(b >= a);
  CHECK(c.WallMs() > 1577836800000ULL);
}

// A fresh directory under TMPDIR (or /tmp), removed with its files at the end.
struct TempDir {
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/beacon-core-XXXXXX";
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    for (const char* f : {"/state", "/state.tmp", "/other"}) ::unlink((path + f).c_str());
    ::rmdir(path.c_str());
  }
  std::string path;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

TEST_CASE("WriteFileDurable and WriteFileAtomic replace the whole file and leave no temp file") {
  TempDir d;
  const std::string p = d.path + "/state";
  REQUIRE(WriteFileDurable(p, "first version, longer than the second").ok());
  CHECK(Slurp(p) == "first version, longer than the second");
  REQUIRE(WriteFileDurable(p, std::string_view("second\0x", 8)).ok());
  CHECK(Slurp(p) == std::string("second\0x", 8));
  REQUIRE(WriteFileAtomic(p, "").ok());
  CHECK(Exists(p));
  CHECK(Slurp(p).empty());
  CHECK_FALSE(Exists(p + ".tmp"));
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("A write that cannot happen reports the path and leaves the old file") {
  TempDir d;
  const std::string p = d.path + "/other";
  REQUIRE(WriteFileAtomic(p, "old").ok());
  const Status st = WriteFileDurable(d.path + "/missing-dir/state", "x");
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "cannot write " + d.path + "/missing-dir/state: No such file or directory");
  CHECK(Slurp(p) == "old");
}

TEST_CASE("ReadFile reads what was written and tells a missing file apart when asked") {
  TempDir d;
  const std::string p = d.path + "/state";
  std::string big(200000, 'x');  // more than one read(2)
  big[123456] = '\0';
  REQUIRE(WriteFileAtomic(p, big).ok());
  std::string out = "stale";
  REQUIRE(ReadFile(p, &out).ok());
  CHECK(out == big);

  const std::string gone = d.path + "/other";
  const Status st = ReadFile(gone, &out);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == gone + ": cannot read: No such file or directory");
  bool missing = false;
  out = "stale";
  REQUIRE(ReadFile(gone, &out, &missing).ok());
  CHECK(missing);
  CHECK(out.empty());
  REQUIRE(ReadFile(p, &out, &missing).ok());
  CHECK_FALSE(missing);
}

}  // namespace
}  // namespace beacon::core
