// EtcdSupervisor: the local etcd member as a child process. See etcd_supervisor.h.
#include "beacon/agent/etcd_supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <simdjson.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "beacon/core/clock.h"
#include "beacon/core/thread_name.h"

namespace beacon::agent {
namespace {

constexpr size_t kMaxLine = size_t{16} * 1024;  // a longer stderr line is cut

uint64_t NowMs() {
  return core::RealClock().MonotonicMs();
}

std::string Url(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

}  // namespace

std::vector<std::string> EtcdArgs(const EtcdSupervisorOptions& o) {
  std::vector<std::string> a = {o.binary,
                                "--name",
                                o.name,
                                "--data-dir",
                                o.data_dir,
                                "--listen-client-urls",
                                Url(o.listen_addr, o.client_port),
                                "--advertise-client-urls",
                                Url(o.advertise_addr, o.client_port),
                                "--listen-peer-urls",
                                Url(o.listen_addr, o.peer_port),
                                "--initial-advertise-peer-urls",
                                Url(o.advertise_addr, o.peer_port),
                                "--logger",
                                "zap",
                                "--log-outputs",
                                "stderr",
                                "--log-level",
                                o.log_level};
  // A delete-tree or a session's invalidation is one txn of up to two operations per key:
  // etcd's default (128) refuses one of more than ~60 keys.
  a.insert(a.end(), {"--max-txn-ops", "4096"});
  if (!o.initial_cluster.empty()) {
    for (const char* s : {"--initial-cluster", o.initial_cluster.c_str(), "--initial-cluster-state",
                          o.join_existing ? "existing" : "new", "--initial-cluster-token",
                          o.cluster_token.c_str()}) {
      a.emplace_back(s);
    }
  }
  return a;
}

EtcdLogLine ParseEtcdLogLine(std::string_view line) {
  EtcdLogLine out;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (line.empty() || line.front() != '{' ||
      parser.parse(line.data(), line.size()).get(obj) != simdjson::SUCCESS) {
    out.text = std::string(line);
    return out;
  }
  std::string_view level, msg;
  if (obj["level"].get(level) != simdjson::SUCCESS) level = "";
  if (obj["msg"].get(msg) != simdjson::SUCCESS) msg = "";
  if (level == "debug") {
    out.level = LogLevel::kDebug;
  } else if (level == "info") {
    out.level = LogLevel::kInfo;
  } else if (level == "warn") {
    out.level = LogLevel::kWarn;
  } else {
    out.level = LogLevel::kError;
  }
  out.text = std::string(msg);
  for (auto field : obj) {
    const std::string_view k = field.key;
    if (k == "level" || k == "msg" || k == "ts" || k == "caller") continue;
    out.text.append(" ").append(k).append("=");
    std::string_view s;
    if (field.value.get(s) == simdjson::SUCCESS) {
      out.text.append(s);
    } else {
      out.text.append(simdjson::minify(field.value));
    }
  }
  return out;
}

EtcdSupervisor::EtcdSupervisor(EtcdSupervisorOptions o, const Logger& log)
    : o_(std::move(o)), log_(log), args_(EtcdArgs(o_)) {}

EtcdSupervisor::~EtcdSupervisor() {
  Stop();
}

Status EtcdSupervisor::Start() {
  if (access(o_.binary.c_str(), X_OK) != 0) {
    return Status::Error("etcd: " + o_.binary + " is not executable (" + std::strerror(errno) +
                         "; install Debian's etcd-server or set etcd.binary)");
  }
  if (mkdir(o_.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Error("etcd: cannot create " + o_.data_dir + ": " + std::strerror(errno));
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Status::Error(std::string("etcd: eventfd: ") + std::strerror(errno));
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void EtcdSupervisor::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  thread_.join();
  close(wake_fd_);
  wake_fd_ = -1;
}

pid_t EtcdSupervisor::Spawn(int* err_fd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  std::vector<char*> argv;
  for (std::string& s : args_) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {  // child: async-signal-safe calls only
    // This thread is the child's parent as far as PDEATHSIG goes: it lives as long as the child.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);  // a terminal's Ctrl-C reaches the agent only; the agent stops etcd in order
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(p[1], 2);
    syscall(SYS_close_range, 3U, ~0U, 0U);  // no agent socket leaks into etcd
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv.data());
    static const char kMsg[] = "exec of etcd failed\n";
    (void)!write(2, kMsg, sizeof kMsg - 1);
    _exit(127);
  }
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    return -1;
  }
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  *err_fd = p[0];
  return pid;
}

void EtcdSupervisor::Drain(int err_fd, std::string* partial, bool flush) {
  char buf[8192];
  for (;;) {
    const ssize_t n = read(err_fd, buf, sizeof buf);
    if (n <= 0) break;
    partial->append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial->find('\n', start)) != std::string::npos; start = nl + 1) {
      const EtcdLogLine l = ParseEtcdLogLine(std::string_view(*partial).substr(start, nl - start));
      if (!l.text.empty() && log_.Enabled(l.level)) log_.Log(l.level, "etcd", "%s", l.text.c_str());
    }
    partial->erase(0, start);
    if (partial->size() > kMaxLine) {  // no newline in sight: log what came as one line
      const EtcdLogLine l = ParseEtcdLogLine(*partial);
      if (log_.Enabled(l.level)) log_.Log(l.level, "etcd", "%s", l.text.c_str());
      partial->clear();
    }
  }
  if (flush && !partial->empty()) {
    const EtcdLogLine l = ParseEtcdLogLine(*partial);
    if (log_.Enabled(l.level)) log_.Log(l.level, "etcd", "%s", l.text.c_str());
    partial->clear();
  }
}

int EtcdSupervisor::Watch(pid_t pid, int err_fd, std::string* partial) {
  for (;;) {
    pollfd fds[2] = {{err_fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    (void)poll(fds, 2, 200);
    Drain(err_fd, partial, false);
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      Drain(err_fd, partial, true);
      return status;
    }
    if (stopping_) return -1;
  }
}

int EtcdSupervisor::Terminate(pid_t pid, int err_fd, std::string* partial) {
  BEACON_LOG(log_, kInfo, "etcd", "stopping etcd (pid %d)", static_cast<int>(pid));
  kill(pid, SIGTERM);
  const uint64_t deadline = NowMs() + o_.stop_timeout_ms;
  int status = 0;
  while (NowMs() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      Drain(err_fd, partial, true);
      return status;
    }
    pollfd fd = {err_fd, POLLIN, 0};
    (void)poll(&fd, 1, 50);
    Drain(err_fd, partial, false);
  }
  BEACON_LOG(log_, kWarn, "etcd",
             "etcd (pid %d) still running %llu ms after SIGTERM, sending SIGKILL",
             static_cast<int>(pid), static_cast<unsigned long long>(o_.stop_timeout_ms));
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Drain(err_fd, partial, true);
  return status;
}

bool EtcdSupervisor::SleepUnlessStopped(uint64_t ms) {
  const uint64_t until = NowMs() + ms;
  while (!stopping_) {
    const uint64_t now = NowMs();
    if (now >= until) return true;
    pollfd fd = {wake_fd_, POLLIN, 0};
    (void)poll(&fd, 1, static_cast<int>(std::min<uint64_t>(until - now, 1000)));
  }
  return false;
}

void EtcdSupervisor::Run() {
  core::SetThreadName("beacon-etcd");
  uint64_t backoff = o_.backoff_min_ms;
  while (!stopping_) {
    int err_fd = -1;
    const pid_t pid = Spawn(&err_fd);
    if (pid < 0) {
      BEACON_LOG(log_, kError, "etcd", "cannot start etcd: %s; retrying in %llu ms",
                 std::strerror(errno), static_cast<unsigned long long>(backoff));
    } else {
      pid_ = pid;
      BEACON_LOG(log_, kInfo, "etcd", "etcd started (pid %d): client %s, peer %s, %s",
                 static_cast<int>(pid), Url(o_.advertise_addr, o_.client_port).c_str(),
                 Url(o_.advertise_addr, o_.peer_port).c_str(),
                 o_.initial_cluster.empty()
                     ? "existing data"
                     : ((o_.join_existing ? "joining running cluster " : "new cluster ") +
                        o_.initial_cluster)
                           .c_str());
      const uint64_t t0 = NowMs();
      std::string partial;
      int status = Watch(pid, err_fd, &partial);
      const bool stopped = status == -1 || stopping_;
      if (status == -1) status = Terminate(pid, err_fd, &partial);
      close(err_fd);
      pid_ = 0;
      if (stopped) {
        BEACON_LOG(log_, kInfo, "etcd", "etcd (pid %d) stopped: %s", static_cast<int>(pid),
                   DescribeExit(status).c_str());
        return;
      }
      if (NowMs() - t0 >= 30000) backoff = o_.backoff_min_ms;  // it had been running fine
      BEACON_LOG(log_, kWarn, "etcd", "etcd (pid %d) %s; restarting in %llu ms",
                 static_cast<int>(pid), DescribeExit(status).c_str(),
                 static_cast<unsigned long long>(backoff));
    }
    if (!SleepUnlessStopped(backoff)) return;
    backoff = std::min(backoff * 2, o_.backoff_max_ms);
  }
}

void AddEtcdTags(const config::AgentConfig& cfg, std::map<std::string, std::string>* tags) {
  if (!cfg.etcd.supervise) return;
  (*tags)["etcd_peer"] = Url(cfg.advertise_addr, cfg.etcd.peer_port);
  (*tags)["etcd_client"] = Url(cfg.advertise_addr, cfg.etcd.client_port);
}

std::vector<EtcdPeer> EtcdPeersOf(const std::vector<http::ClusterMember>& members) {
  std::vector<EtcdPeer> out;
  for (const http::ClusterMember& m : members) {
    if (m.status != 1) continue;
    auto role = m.tags.find("role");
    auto peer = m.tags.find("etcd_peer");
    auto client = m.tags.find("etcd_client");
    if (role == m.tags.end() || role->second != "consul" || peer == m.tags.end() ||
        client == m.tags.end()) {
      continue;
    }
    out.push_back({m.name, peer->second, client->second});
  }
  std::sort(out.begin(), out.end(),
            [](const EtcdPeer& a, const EtcdPeer& b) { return a.name < b.name; });
  return out;
}

}  // namespace beacon::agent
