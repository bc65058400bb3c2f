// `beacon lock`: Consul's lock/semaphore recipe over the KV and session API, on one thread.
// The session (TTL 15s) is renewed between blocking queries that wait at most 5s; the child runs
// in its own process group and is polled from the HTTP client's progress hook.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <ostream>

#include "internal.h"

namespace beacon::cli {
namespace {

constexpr uint64_t kLockFlag = 0x2ddccbc058a50c18ULL;       // api.LockFlagValue
constexpr uint64_t kSemaphoreFlag = 0xe0f69a2baa414de0ULL;  // api.SemaphoreFlagValue
constexpr int kBlockSeconds = 5;
constexpr int64_t kRenewMs = 5000;  // session TTL 15s, renewed every 5s
constexpr int64_t kGraceMs = 5000;  // SIGTERM to SIGKILL

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Semaphore {
  int64_t limit = 0;
  std::map<std::string, bool> holders;
};

std::string EncodeSemaphore(const Semaphore& s) {
  std::string out = "{\"Limit\":" + std::to_string(s.limit) + ",\"Holders\":{";
  bool first = true;
  for (const auto& [id, held] : s.holders) {
    out += (first ? "" : ",") + JsonQuote(id) + ":" + (held ? "true" : "false");
    first = false;
  }
  return out + "}}";
}

bool DecodeSemaphore(std::string_view json, Semaphore* s) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(json).get(doc) != simdjson::SUCCESS) return false;
  int64_t limit = 0;
  if (doc["Limit"].get(limit) == simdjson::SUCCESS) s->limit = limit;
  simdjson::dom::object h;
  if (doc["Holders"].get(h) == simdjson::SUCCESS) {
    for (auto f : h) {
      bool b = false;
      if (f.value.get(b) == simdjson::SUCCESS && b) s->holders[std::string(f.key)] = true;
    }
  }
  return true;
}

class Locker {
 public:
  Locker(http::HttpClient* c, std::string prefix, int64_t limit)
      : c_(c), prefix_(std::move(prefix)), limit_(limit) {}

  Status CreateSession(const std::string& name) {
    http::ClientResponse r;
    std::string body =
        "{\"Name\":" + JsonQuote(name) + ",\"TTL\":\"15s\",\"Behavior\":\"release\"}";
    Status st = Call(*c_, "PUT", "/v1/session/create", body, &r);
    if (!st.ok()) return Status::Error("failed to create session: " + st.message());
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(r.body).get(doc) != simdjson::SUCCESS) return Status::Error("bad session answer");
    session_ = GetString(doc, "ID");
    renewed_ = NowMs();
    return Status::Ok();
  }

  // false when the session is gone.
  bool RenewIfDue() {
    if (NowMs() - renewed_ < kRenewMs) return true;
    http::ClientResponse r;
    Status st = Call(*c_, "PUT", "/v1/session/renew/" + session_, {}, &r, true);
    if (st.ok() && r.status == 404) return false;
    renewed_ = NowMs();
    return true;
  }

  // Caps the blocking waits of TryAcquire (0 = no cap).
  void set_max_wait_ms(int64_t ms) { max_wait_ms_ = ms; }

  // One acquisition attempt plus one blocking wait; *held on success.
  Status TryAcquire(bool* held) { return limit_ == 1 ? TryLock(held) : TrySemaphore(held); }

  // Blocks up to kBlockSeconds; *lost when the lock is no longer ours. Transport errors and 5xx
  // come back as errors (the caller counts them against -monitor-retry).
  Status Monitor(bool* lost) {
    std::string path = LockPath() + "?index=" + std::to_string(index_) +
                       "&wait=" + std::to_string(kBlockSeconds) + "s";
    http::ClientResponse r;
    Status st = Call(*c_, "GET", path, {}, &r, true, int64_t{kBlockSeconds + 10} * 1000);
    if (!st.ok()) return st;
    index_ = r.index;
    *lost = true;
    if (r.status == 404) return Status::Ok();
    simdjson::dom::parser p;
    simdjson::dom::array arr;
    if (p.parse(r.body).get(arr) != simdjson::SUCCESS || arr.size() == 0) return Status::Ok();
    simdjson::dom::element pair = arr.at(0).value_unsafe();
    if (limit_ == 1) {
      *lost = GetString(pair, "Session") != session_;
    } else {
      std::string value;
      Semaphore s;
      if (Base64Decode(GetString(pair, "Value"), &value) && DecodeSemaphore(value, &s)) {
        *lost = s.holders.count(session_) == 0;
      }
    }
    if (!RenewIfDue()) *lost = true;
    return Status::Ok();
  }

  // Release, clean up if unused, destroy the session; errors are reported, not fatal.
  void ReleaseAndDestroy(Io& io) {
    http::ClientResponse r;
    if (limit_ == 1) {
      Call(*c_, "PUT", LockPath() + "?release=" + session_ + "&flags=" + std::to_string(kLockFlag),
           {}, &r);
    } else {
      for (int attempt = 0; attempt < 10; ++attempt) {
        http::ClientResponse g;
        if (!Call(*c_, "GET", LockPath(), {}, &g, true).ok() || g.status == 404) break;
        KvEntry e;
        if (!FirstPair(g.body, &e)) break;
        Semaphore s;
        DecodeSemaphore(e.value, &s);
        if (s.holders.erase(session_) == 0) break;
        Status st = Call(*c_, "PUT",
                         LockPath() + "?cas=" + std::to_string(e.modify_index) +
                             "&flags=" + std::to_string(kSemaphoreFlag),
                         EncodeSemaphore(s), &r);
        if (st.ok() && r.body.find("true") != std::string::npos) break;
      }
      Call(*c_, "DELETE", KeyPath(prefix_ + "/" + session_), {}, &r);
    }
    Cleanup();
    if (Status st = Call(*c_, "PUT", "/v1/session/destroy/" + session_, {}, &r); !st.ok()) {
      io.err << "Lock release failed: " << st.message() << "\n";
    }
  }

 private:
  struct KvEntry {
    std::string key, value, session;
    uint64_t flags = 0, modify_index = 0;
  };

  static bool FirstPair(const std::string& body, KvEntry* e) {
    simdjson::dom::parser p;
    simdjson::dom::array arr;
    if (p.parse(body).get(arr) != simdjson::SUCCESS || arr.size() == 0) return false;
    simdjson::dom::element pair = arr.at(0).value_unsafe();
    e->key = GetString(pair, "Key");
    e->session = GetString(pair, "Session");
    e->flags = GetUint(pair, "Flags");
    e->modify_index = GetUint(pair, "ModifyIndex");
    Base64Decode(GetString(pair, "Value"), &e->value);
    return true;
  }

  static std::string KeyPath(const std::string& key) {
    return "/v1/kv/" + http::UrlEscape(key, true);
  }
  std::string LockPath() const { return KeyPath(prefix_ + "/.lock"); }
  std::string Wait() const {
    int64_t ms = int64_t{kBlockSeconds} * 1000;
    if (max_wait_ms_ > 0 && max_wait_ms_ < ms) ms = max_wait_ms_;
    return "&wait=" + std::to_string(ms < 1 ? 1 : ms) + "ms";
  }

  Status TryLock(bool* held) {
    http::ClientResponse r;
    Status st =
        Call(*c_, "PUT",
             LockPath() + "?acquire=" + session_ + "&flags=" + std::to_string(kLockFlag), {}, &r);
    if (!st.ok()) return st;
    if (r.body.find("true") != std::string::npos) {
      *held = true;
      return Status::Ok();
    }
    // Held by someone else: wait for a change of the key (or lock-delay to pass).
    std::string path = LockPath() + "?index=" + std::to_string(index_) + Wait();
    st = Call(*c_, "GET", path, {}, &r, true, int64_t{kBlockSeconds + 10} * 1000);
    if (!st.ok()) return st;
    index_ = r.index;
    KvEntry e;
    if (r.status == 200 && FirstPair(r.body, &e) && e.flags != kLockFlag) {
      return Status::Error("Existing key does not match lock use");
    }
    if (!RenewIfDue()) return Status::Error("session invalidated");
    return Status::Ok();
  }

  Status TrySemaphore(bool* held) {
    http::ClientResponse r;
    if (!contender_) {
      Status st = Call(*c_, "PUT",
                       KeyPath(prefix_ + "/" + session_) + "?acquire=" + session_ +
                           "&flags=" + std::to_string(kSemaphoreFlag),
                       {}, &r);
      if (!st.ok()) return st;
      if (r.body.find("true") == std::string::npos) {
        return Status::Error("failed to make contender entry");
      }
      contender_ = true;
    }
    std::string path = KeyPath(prefix_) + "?recurse";
    if (index_ > 0) {
      path += "&index=" + std::to_string(index_) + Wait();
    }
    Status st = Call(*c_, "GET", path, {}, &r, true, int64_t{kBlockSeconds + 10} * 1000);
    if (!st.ok()) return st;
    const uint64_t seen = r.index;
    simdjson::dom::parser p;
    simdjson::dom::array arr;
    Semaphore sem;
    sem.limit = limit_;
    uint64_t lock_index = 0;
    std::map<std::string, bool> alive;
    if (r.status == 200 && p.parse(r.body).get(arr) == simdjson::SUCCESS) {
      for (simdjson::dom::element e : arr) {
        const std::string key = GetString(e, "Key");
        if (key == prefix_ + "/.lock") {
          if (GetUint(e, "Flags") != kSemaphoreFlag) {
            return Status::Error("Existing key does not match semaphore use");
          }
          std::string value;
          Base64Decode(GetString(e, "Value"), &value);
          DecodeSemaphore(value, &sem);
          if (sem.limit != limit_) {
            return Status::Error("Semaphore limit conflict (lock: " + std::to_string(sem.limit) +
                                 ", local: " + std::to_string(limit_) + ")");
          }
          lock_index = GetUint(e, "ModifyIndex");
        } else if (!GetString(e, "Session").empty()) {
          alive[GetString(e, "Session")] = true;
        }
      }
    }
    for (auto it = sem.holders.begin(); it != sem.holders.end();) {
      it = alive.count(it->first) ? std::next(it) : sem.holders.erase(it);
    }
    if (static_cast<int64_t>(sem.holders.size()) >= limit_) {
      index_ = seen;  // full: block on the prefix next time
      if (!RenewIfDue()) return Status::Error("session invalidated");
      return Status::Ok();
    }
    sem.holders[session_] = true;
    st = Call(*c_, "PUT",
              LockPath() + "?cas=" + std::to_string(lock_index) +
                  "&flags=" + std::to_string(kSemaphoreFlag),
              EncodeSemaphore(sem), &r);
    if (!st.ok()) return st;
    *held = r.body.find("true") != std::string::npos;
    index_ = *held ? 0 : seen;
    return Status::Ok();
  }

  // Deletes the lock key when nobody uses it (Consul's Destroy; "in use" is not an error).
  void Cleanup() {
    http::ClientResponse r;
    if (!Call(*c_, "GET", LockPath(), {}, &r, true).ok() || r.status == 404) return;
    KvEntry e;
    if (!FirstPair(r.body, &e)) return;
    if (limit_ == 1) {
      if (!e.session.empty()) return;
    } else {
      Semaphore s;
      DecodeSemaphore(e.value, &s);
      if (!s.holders.empty()) return;
      http::ClientResponse list;
      if (Call(*c_, "GET", KeyPath(prefix_) + "?recurse", {}, &list, true).ok()) {
        simdjson::dom::parser p;
        simdjson::dom::array arr;
        if (p.parse(list.body).get(arr) == simdjson::SUCCESS) {
          for (simdjson::dom::element x : arr) {
            if (GetString(x, "Key") != prefix_ + "/.lock" && !GetString(x, "Session").empty()) {
              return;  // contenders remain
            }
          }
        }
      }
    }
    Call(*c_, "DELETE", LockPath() + "?cas=" + std::to_string(e.modify_index), {}, &r);
  }

  http::HttpClient* c_;
  std::string prefix_;
  int64_t limit_;
  std::string session_;
  int64_t renewed_ = 0;
  uint64_t index_ = 0;
  bool contender_ = false;
  int64_t max_wait_ms_ = 0;
};

// Child state polled from the HTTP progress hook.
struct Child {
  int pid = -1;
  bool exited = false;
  int code = 0;
  bool Poll() {
    if (pid < 0 || exited) return exited;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return exited;
  }
  void Kill() {
    if (pid < 0 || exited) return;
    kill(-pid, SIGTERM);
    const int64_t deadline = NowMs() + kGraceMs;
    while (!Poll() && NowMs() < deadline) SleepMs(20);
    if (!exited) {
      kill(-pid, SIGKILL);
      while (!Poll()) SleepMs(20);
    }
  }
};

}  // namespace

int Lock(const Args& args, Io& io) {
  config::FlagSet fs;
  bool child_exit_code = false;
  int64_t limit = 1;
  int64_t monitor_retry = 3;
  std::string name;
  bool pass_stdin = false;
  bool shell = true;  // accepted; the child always runs with sh -c
  int64_t timeout_ms = 0;
  bool verbose = false;
  fs.Bool("child-exit-code", &child_exit_code,
          "Exit 2 if the child process exited with an error if this is true, otherwise this "
          "doesn't propagate an error from the child. The default value is false. (Beacon "
          "always exits with the child's exit code.)");
  fs.Int("n", &limit,
         "Optional limit on the number of concurrent lock holders. The underlying "
         "implementation switches from a lock to a semaphore when the value is greater than 1. "
         "The default value is 1.");
  fs.Int("monitor-retry", &monitor_retry,
         "Number of times to retry if Consul returns a 500 error while monitoring the lock. The "
         "default value is 3, with a 1s wait between retries.");
  fs.String("name", &name,
            "Optional name to associate with the lock session. It not provided, one is "
            "generated based on the provided child command.");
  fs.Bool("pass-stdin", &pass_stdin, "Pass stdin to the child process.");
  fs.Bool("shell", &shell, "Use a shell to run the command.");
  fs.Duration("timeout", &timeout_ms,
              "Maximum amount of time to wait to acquire the lock, specified as a duration like "
              "\"1s\" or \"3h\". The default value is 0.");
  fs.Bool("verbose", &verbose, "Enable verbose (debugging) output.");
  fs.Duration("try", &timeout_ms, "DEPRECATED. Use -timeout instead.");
  HttpFlags hf;
  hf.Register(&fs, true);
  constexpr std::string_view kHelp = R"(
Usage: beacon lock [options] prefix child...

  Acquires a lock or semaphore at a given path, and invokes a child process
  when successful. The child process can assume the lock is held while it
  executes. If the lock is lost or communication is disrupted the child
  process will be sent a SIGTERM signal and given time to gracefully exit.
  After the grace period expires the process will be hard terminated.

  When -n=1, only a single lock holder or leader exists providing mutual
  exclusion. Setting a higher value switches to a semaphore allowing multiple
  holders to coordinate.

  The prefix provided must have write privileges.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (limit <= 0) {
    io.err << "Lock holder limit must be positive\n";
    return 1;
  }
  const Args& extra = fs.Args();
  if (extra.size() < 2) {
    io.err << "Key prefix and child command must be specified\n";
    return 1;
  }
  std::string prefix = extra[0];
  if (!prefix.empty() && prefix[0] == '/') prefix.erase(0, 1);
  if (timeout_ms < 0) {
    io.err << "Timeout must be positive\n";
    return 1;
  }
  std::string command;
  for (size_t i = 1; i < extra.size(); ++i) command += (i > 1 ? " " : "") + extra[i];
  if (name.empty()) name = "Consul lock for '" + command + "' at '" + prefix + "'";
  if (monitor_retry < 0) {
    io.err << "Number for 'monitor-retry' must be >= 0\n";
    return 1;
  }

  SignalBlock sig;
  Child child;
  http::ClientOptions opts = hf.Options(io);
  bool interruptible = true;  // release and clean-up run to the end
  opts.cancel = [&] { return interruptible && (sig.Pending() || child.Poll()); };
  http::HttpClient client(opts);
  http::ClientResponse r;
  if (Status st = Call(client, "GET", "/v1/agent/self", {}, &r); !st.ok()) {
    return Fail(io, "Error querying Consul agent", st);
  }
  Locker locker(&client, prefix, limit);
  if (verbose) io.out << "Attempting lock acquisition\n";
  if (Status st = locker.CreateSession(name); !st.ok()) {
    return Fail(io, "Lock acquisition failed", st);
  }
  const int64_t deadline = timeout_ms > 0 ? NowMs() + timeout_ms : 0;
  bool held = false;
  while (!held) {
    if (sig.Pending() || (deadline > 0 && NowMs() >= deadline)) {
      io.err << "Shutdown triggered or timeout during lock acquisition\n";
      interruptible = false;
      locker.ReleaseAndDestroy(io);
      return 1;
    }
    locker.set_max_wait_ms(deadline > 0 ? deadline - NowMs() : 0);
    Status st = locker.TryAcquire(&held);
    if (!st.ok() && !sig.Pending()) {
      io.err << "Lock acquisition failed: " << st.message() << "\n";
      interruptible = false;
      locker.ReleaseAndDestroy(io);
      return 1;
    }
  }
  io.out.flush();
  child.pid = StartChild(command, {"CONSUL_LOCK_HELD=true"}, nullptr, pass_stdin);
  if (child.pid < 0) {
    io.err << "Error starting handler: fork failed\n";
    interruptible = false;
    locker.ReleaseAndDestroy(io);
    return 1;
  }
  bool lost = false;
  int failures = 0;
  while (!child.Poll() && !sig.Pending()) {
    bool now_lost = false;
    Status st = locker.Monitor(&now_lost);
    if (child.Poll() || sig.Pending()) break;
    if (!st.ok()) {
      if (++failures > monitor_retry) {
        now_lost = true;
      } else {
        SleepMs(1000);
        continue;
      }
    } else {
      failures = 0;
    }
    if (now_lost) {
      lost = true;
      break;
    }
  }
  if (lost || !child.exited) {
    if (lost) io.err << "Lock lost, killing child\n";
    if (!lost && verbose) io.out << "Shutdown triggered, killing child\n";
    io.err.flush();
    child.Kill();
  } else if (verbose) {
    io.out << "Child terminated, releasing lock\n";
  }
  interruptible = false;
  locker.ReleaseAndDestroy(io);
  if (lost) return 1;
  if (sig.Pending() && child.code == 0) return 1;
  return child.code;
}

}  // namespace beacon::cli
