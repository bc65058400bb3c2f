// The LMDB store acknowledges a write only after it is committed: a child process writes keys
// with several writes in flight and reports each acknowledgement through a pipe; the test
// kill -9's it mid-stream, reopens the store and finds every acknowledged key.
#include <doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "fixtures.h"

using namespace kvtest;

namespace {

[[noreturn]] void ChildWriter(const std::string& dir, int fd) {
  beacon::Logger log(beacon::LogLevel::kError);
  auto r = beacon::kv::OpenLmdbStore(dir, log);
  if (!r.ok()) _exit(2);
  Store& s = *r.value();
  std::atomic<uint32_t> next{0};
  std::function<void()> issue = [&] {
    uint32_t i = next++;
    s.Apply({SetOp("crash/" + std::to_string(i), "value-" + std::to_string(i))},
            [&, i](const WriteResult& w) {
              if (!w.ok) _exit(3);
              if (write(fd, &i, sizeof(i)) != sizeof(i)) _exit(4);
              issue();
            });
  };
  for (int k = 0; k < 8; ++k) issue();
  for (;;) pause();
}

}  // namespace

TEST_CASE("kv: every acknowledged LMDB write survives kill -9") {
  LmdbFx fx;
  fx.s.reset();  // the child owns the store until it dies
  const std::string dir = fx.dir + "/kv";
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    ChildWriter(dir, fds[1]);
  }
  close(fds[1]);
  std::set<uint32_t> acked;
  uint32_t i = 0;
  while (acked.size() < 100 && read(fds[0], &i, sizeof(i)) == sizeof(i)) acked.insert(i);
  REQUIRE(acked.size() == 100);
  kill(pid, SIGKILL);
  while (read(fds[0], &i, sizeof(i)) == sizeof(i)) acked.insert(i);  // sent before it died
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));

  fx.Open();
  for (uint32_t k : acked) {
    Entry e;
    INFO("key crash/" << k);
    REQUIRE(fx.s->Get("crash/" + std::to_string(k), &e, nullptr));
    CHECK(e.value == "value-" + std::to_string(k));
  }
  CHECK(fx.s->Index() >= acked.size() + 1);
  CHECK(Set(*fx.s, "after-crash", "x").ok);  // the store is writable again
}
