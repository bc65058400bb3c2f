// `beacon template`'s side effects: atomic destination writes with perms and backup, commands
// run with `sh -c` under a timeout with their output logged, and the exec child.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include "template_internal.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX

namespace beacon::cli::tpl {
namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

Status MkdirAll(const std::string& dir) {
  if (dir.empty() || dir == "/" || dir == ".") return Status::Ok();
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) return Status::Ok();
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (Status s = MkdirAll(dir.substr(0, slash)); !s.ok()) return s;
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Status::Error(Errno("mkdir", dir));
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Error(Errno("write", path));
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// temp file beside path, mode set before the data goes in, fsync, rename. As consul-template,
// the directory is not synced: after a crash the file holds the old or the new content, whole,
// and the next start re-renders (an fsync of the directory would add ~4 ms to every change).
Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = dir + "." + base + ".XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Status::Error(Errno("create temp file for", path));
  Status st;
  if (fchmod(fd, mode) != 0) st = Status::Error(Errno("chmod", tmp));
  if (st.ok()) st = WriteAll(fd, data, tmp);
  if (st.ok() && fsync(fd) != 0) st = Status::Error(Errno("fsync", tmp));
  if (close(fd) != 0 && st.ok()) st = Status::Error(Errno("close", tmp));
  if (st.ok() && rename(tmp.c_str(), path.c_str()) != 0) st = Status::Error(Errno("rename", tmp));
  if (!st.ok()) {
    unlink(tmp.c_str());
    return st;
  }
  return Status::Ok();
}

// `sh -c cmd` through posix_spawn (vfork-like: no copy of this process's page tables, which
// with hundreds of watches is most of a fork's cost): its own process group, an empty signal
// mask, SIGPIPE back to default; with out_fd >= 0, stdin is /dev/null and stdout/stderr go to
// out_fd. Returns the pid or -1.
pid_t SpawnShell(const std::string& cmd, int out_fd) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  // Default dispositions for the signals the runner handles or forwards, even when Beacon was
  // started with them ignored (nohup ignores SIGHUP): a shell cannot trap a signal ignored when
  // it started, so an -exec child's reload trap would never run (consul-template's children
  // start with defaults too).
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (out_fd >= 0) {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  }
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

}  // namespace

Status WriteAtomic(const std::string& path, std::string_view data, int perms, bool backup) {
  const size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (Status st = MkdirAll(path.substr(0, slash)); !st.ok()) return st;
  }
  struct stat st {};
  const bool exists = stat(path.c_str(), &st) == 0;
  mode_t mode = perms >= 0 ? static_cast<mode_t>(perms) : (exists ? st.st_mode & 07777 : 0644);
  if (backup && exists) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error(Errno("open", path));
    std::string old;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) old.append(buf, static_cast<size_t>(n));
    close(fd);
    if (n < 0) return Status::Error(Errno("read", path));
    if (Status s = ReplaceFile(path + ".bak", old, st.st_mode & 07777); !s.ok()) return s;
  }
  return ReplaceFile(path, data, mode);
}

bool WaitReadable(int fd, int64_t timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, static_cast<int>(timeout_ms < 0 ? 0 : timeout_ms));
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

Status RunCommand(const std::string& cmd, int64_t timeout_ms, const Logger& log) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Error(std::string("pipe: ") + strerror(errno));
  pid_t pid = SpawnShell(cmd, fds[1]);
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Status::Error("cannot start /bin/sh for \"" + cmd + "\"");
  }
  close(fds[1]);
  BEACON_LOG(log, kInfo, "runner", "executing command \"%s\"", cmd.c_str());
  const int64_t deadline = SteadyNowMs() + timeout_ms;
  std::string pending;
  bool timed_out = false;
  bool eof = false;
  auto flush_lines = [&](bool all) {
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      BEACON_LOG(log, kInfo, "child", "%s", pending.substr(0, nl).c_str());
      pending.erase(0, nl + 1);
    }
    if (all && !pending.empty()) {
      BEACON_LOG(log, kInfo, "child", "%s", pending.c_str());
      pending.clear();
    }
  };
  // Output until EOF (every holder of the pipe exited) or the deadline.
  while (!eof) {
    const int64_t left = deadline - SteadyNowMs();
    if (left <= 0 || !WaitReadable(fds[0], left)) {
      timed_out = true;
      break;
    }
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    pending.append(buf, static_cast<size_t>(n));
    flush_lines(false);
  }
  flush_lines(true);
  int status = 0;
  if (!timed_out) {
    // EOF came; the shell may still be finishing (or have left a background job holding no fd).
    while (SteadyNowMs() < deadline) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) break;
      WaitReadable(-1, 10);
      if (SteadyNowMs() >= deadline) timed_out = true;
    }
    if (!timed_out && waitpid(pid, &status, WNOHANG) == 0) timed_out = true;
  }
  if (timed_out) {
    kill(-pid, SIGTERM);
    const int64_t hard = SteadyNowMs() + 2000;
    pid_t r = 0;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && SteadyNowMs() < hard) WaitReadable(-1, 10);
    if (r == 0) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    kill(-pid, SIGKILL);  // anything left in the group
    close(fds[0]);
    return Status::Error("command timed out after " + std::to_string(timeout_ms) + "ms: \"" + cmd +
                         "\" (killed)");
  }
  close(fds[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  if (WIFSIGNALED(status)) {
    return Status::Error("command \"" + cmd + "\" killed by signal " +
                         std::to_string(WTERMSIG(status)));
  }
  return Status::Error("command \"" + cmd + "\" exited with status " +
                       std::to_string(WEXITSTATUS(status)));
}

pid_t StartExecChild(const std::string& cmd) {
  return SpawnShell(cmd, -1);
}

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace beacon::cli::tpl
