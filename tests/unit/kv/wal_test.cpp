// The LMDB store's redo log (src/kv/wal.h): a power loss may keep none of LMDB's unsynced
// writes since the last checkpoint (or only its newer meta pages), yet every acknowledged write
// is found after reopening; a torn log tail is dropped; checkpoints keep the log short.
#include <doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <thread>

#include "../../../src/kv/wal.h"
#include "fixtures.h"

using namespace kvtest;
using beacon::kv::internal::WalOptions;
namespace fs = std::filesystem;

namespace {

struct WalFx {
  std::string root;
  std::string dir;       // the live store
  std::string snapshot;  // data.mdb as of the first checkpoint
  beacon::Logger log{beacon::LogLevel::kError};
  std::unique_ptr<Store> s;

  WalFx() {
    char tmpl[] = "/tmp/beacon-kv-wal-XXXXXX";
    root = mkdtemp(tmpl);
    dir = root + "/kv";
    snapshot = root + "/snapshot.mdb";
  }
  ~WalFx() {
    s.reset();
    fs::remove_all(root);
  }
  // No checkpoint but the one at open (which snapshots data.mdb) and the one at close.
  void OpenLive(WalOptions w = {}) {
    w.max_bytes = UINT64_MAX;
    w.interval_ms = UINT64_MAX;
    w.after_checkpoint = [this, taken = false]() mutable {
      if (!taken) fs::copy_file(dir + "/data.mdb", snapshot, fs::copy_options::overwrite_existing);
      taken = true;
    };
    s = Open(dir, std::move(w));
  }
  std::unique_ptr<Store> Open(const std::string& d, WalOptions w = {}) {
    auto r = beacon::kv::internal::OpenLmdbStoreWith(d, log, StoreOptions{}, std::move(w));
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return std::move(r.value());
  }
  // What the disk may hold after a power loss while the live store runs: LMDB's file as of the
  // checkpoint, but with the newest meta pages (pointing at pages that never reached the disk),
  // and the synced log. Returns the image's directory.
  std::string CrashImage(const std::string& name) {
    std::string img = root + "/" + name;
    fs::create_directories(img);
    fs::copy_file(snapshot, img + "/data.mdb");
    for (int i = 0; i < 2; ++i) {
      std::string log = beacon::kv::internal::WalPath(dir, i);
      if (fs::exists(log)) fs::copy_file(log, beacon::kv::internal::WalPath(img, i));
    }
    std::string meta(2 * static_cast<size_t>(sysconf(_SC_PAGESIZE)), '\0');
    std::ifstream(dir + "/data.mdb", std::ios::binary).read(meta.data(), meta.size());
    std::fstream out(img + "/data.mdb", std::ios::binary | std::ios::in | std::ios::out);
    out.write(meta.data(), meta.size());
    return img;
  }
};

// The live log of dir: its groups not yet checkpointed, and its size.
beacon::kv::internal::WalContents Log(const std::string& dir) {
  beacon::kv::internal::WalContents w;
  REQUIRE(beacon::kv::internal::ReadWal(dir, &w).ok());
  return w;
}

}  // namespace

TEST_CASE("kv log: acknowledged writes survive a power loss that kept no LMDB write") {
  WalFx fx;
  fx.OpenLive();
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 25; ++i) {
        std::string k = "pl/" + std::to_string(c) + "/" + std::to_string(i);
        REQUIRE(Set(*fx.s, k, "v" + k).ok);
      }
    });
  }
  for (auto& t : clients) t.join();
  REQUIRE(Do(*fx.s, {MakeOp(Verb::kDelete, "pl/0/0")}).ok);
  const std::string long_key = std::string(511, 'x') + "a";  // 512 bytes: a bucket record
  REQUIRE(Set(*fx.s, std::string(511, 'x') + "b", "other").ok);
  REQUIRE(Set(*fx.s, long_key, "long").ok);
  std::string sid = NewSession(*fx.s);
  REQUIRE(!sid.empty());
  const uint64_t index = fx.s->Index();
  REQUIRE(Log(fx.dir).groups.size() >= 10);

  std::string img = fx.CrashImage("crash");
  auto s = fx.Open(img);
  CHECK_FALSE(Has(*s, "pl/0/0"));
  for (int c = 0; c < 4; ++c) {
    for (int i = c == 0 ? 1 : 0; i < 25; ++i) {
      std::string k = "pl/" + std::to_string(c) + "/" + std::to_string(i);
      INFO(k);
      CHECK(MustGet(*s, k).value == "v" + k);
    }
  }
  CHECK(MustGet(*s, long_key).value == "long");
  CHECK(MustGet(*s, std::string(511, 'x') + "b").value == "other");
  std::vector<Session> sessions;
  s->SessionInfo(sid, &sessions);
  CHECK(sessions.size() == 1);
  CHECK(s->Index() == index);  // the index never goes back
  WriteResult w = Set(*s, "after", "x");
  REQUIRE(w.ok);
  CHECK(w.index > index);
  CHECK(Log(img).groups.size() == 1);  // replayed, checkpointed: only "after" is new

  s.reset();  // a clean close and a second open find the same state
  s = fx.Open(img);
  CHECK(MustGet(*s, "pl/3/24").value == "vpl/3/24");
  CHECK(MustGet(*s, "after").value == "x");
  CHECK(s->Index() == w.index);
}

TEST_CASE("kv log: a torn tail is dropped, every whole record before it is replayed") {
  WalFx fx;
  fx.OpenLive();
  for (int i = 0; i < 5; ++i) REQUIRE(Set(*fx.s, "torn/" + std::to_string(i), "v").ok);
  const uint64_t index_before_last = MustGet(*fx.s, "torn/3").modify_index;
  std::string img = fx.CrashImage("crash");
  auto before = Log(img);
  REQUIRE(before.groups.size() == 5);
  std::string live = beacon::kv::internal::WalPath(img, before.active);
  fs::resize_file(live, fs::file_size(live) - 5);  // the last record half-written
  {
    std::ofstream junk(live, std::ios::binary | std::ios::app);
    junk << "garbage after the tear";
  }
  auto s = fx.Open(img);
  for (int i = 0; i < 4; ++i) CHECK(Has(*s, "torn/" + std::to_string(i)));
  CHECK_FALSE(Has(*s, "torn/4"));  // never acknowledged: its record never completed
  CHECK(s->Index() == index_before_last);
  CHECK(Log(img).groups.empty());
  CHECK(Log(img).generation > before.generation);
  WriteResult w = Set(*s, "torn/4", "again");
  REQUIRE(w.ok);
  CHECK(w.index > index_before_last);
}

TEST_CASE("kv log: checkpoints bound the log by size and by age") {
  WalFx fx;
  WalOptions w;
  w.max_bytes = 16 << 10;
  w.interval_ms = 60000;
  fx.s = fx.Open(fx.dir, w);
  std::string value(1024, 'v');
  for (int i = 0; i < 300; ++i) {
    REQUIRE(Set(*fx.s, "big/" + std::to_string(i), value).ok);
  }
  // Checkpoints run in the background: the log may pass the bound by what is written meanwhile.
  CHECK(Log(fx.dir).file_bytes < (150 << 10));  // 300 KiB were written
  CHECK(Log(fx.dir).generation > 2);
  fx.s.reset();
  CHECK(Log(fx.dir).groups.empty());  // a clean close checkpoints

  WalOptions aged;
  aged.interval_ms = 50;
  fx.s = fx.Open(fx.dir, aged);
  CHECK(MustGet(*fx.s, "big/299").value == value);
  REQUIRE(Set(*fx.s, "aged", "x").ok);
  CHECK(Log(fx.dir).groups.size() == 1);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!Log(fx.dir).groups.empty() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(Log(fx.dir).groups.empty());  // an idle log is checkpointed
}

TEST_CASE("kv log: a store opened without the log still recovers a crashed log first") {
  WalFx fx;
  fx.OpenLive();
  for (int i = 0; i < 10; ++i) REQUIRE(Set(*fx.s, "nolog/" + std::to_string(i), "v").ok);
  const uint64_t index = fx.s->Index();
  std::string img = fx.CrashImage("crash");
  WalOptions off;
  off.enabled = false;
  auto s = fx.Open(img, off);
  for (int i = 0; i < 10; ++i) CHECK(Has(*s, "nolog/" + std::to_string(i)));
  CHECK(s->Index() == index);
  CHECK_FALSE(fs::exists(beacon::kv::internal::WalPath(img, 0)));
  CHECK_FALSE(fs::exists(beacon::kv::internal::WalPath(img, 1)));
  CHECK(Set(*s, "nolog/new", "v").ok);
}

TEST_CASE("kv log: a data dir another process has open is refused, not recovered over") {
  WalFx fx;
  fx.s = fx.Open(fx.dir);
  fx.s.reset();  // leaves a log with a checkpoint header
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    auto r = beacon::kv::OpenLmdbStore(fx.dir, fx.log);
    char c = r.ok() ? 'y' : 'n';
    if (write(fds[1], &c, 1) != 1) _exit(1);
    for (;;) pause();
  }
  close(fds[1]);
  char c = 0;
  REQUIRE(read(fds[0], &c, 1) == 1);
  close(fds[0]);
  REQUIRE(c == 'y');
  auto r = beacon::kv::OpenLmdbStore(fx.dir, fx.log);
  CHECK_FALSE(r.ok());
  if (!r.ok()) CHECK(r.status().message().find("in use") != std::string::npos);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  auto again = beacon::kv::OpenLmdbStore(fx.dir, fx.log);  // the holder is gone
  CHECK(again.ok());
}
