// Shared CLI helpers: HTTP flags, flag parsing with Consul's help behaviour, columnize, base64,
// JSON output, signals and child processes.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <ostream>

#include "internal.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX

namespace beacon::cli {

void HttpFlags::Register(config::FlagSet* fs, bool server) {
  fs->String("http-addr", &addr,
             "The `address` and port of the Consul HTTP agent. The value can be an IP address or "
             "DNS address, but it must also include the port. This can also be specified via the "
             "CONSUL_HTTP_ADDR environment variable. The default value is http://127.0.0.1:8500.");
  fs->String("token", &token,
             "ACL token to use in the request. This can also be specified via the "
             "CONSUL_HTTP_TOKEN environment variable.");
  if (server) {
    fs->String("datacenter", &datacenter,
               "Name of the datacenter to query. If unspecified, this will default to the "
               "datacenter of the queried agent.");
    fs->Bool("stale", &stale,
             "Permit any Consul server (non-leader) to respond to this request. This allows for "
             "lower latency and higher throughput, but can result in stale data.");
  }
}

http::ClientOptions HttpFlags::Options(const Io& io) const {
  http::ClientOptions o;
  o.address = addr;
  if (o.address.empty()) o.address = io.env("CONSUL_HTTP_ADDR");
  if (o.address.empty()) o.address = io.env("BEACON_HTTP_ADDR");
  if (o.address.empty()) o.address = "127.0.0.1:8500";
  o.token = token;
  if (o.token.empty()) o.token = io.env("CONSUL_HTTP_TOKEN");
  if (o.token.empty()) o.token = io.env("BEACON_HTTP_TOKEN");
  return o;
}

std::string HttpFlags::Query() const {
  std::string q;
  if (!datacenter.empty()) q += "dc=" + http::UrlEscape(datacenter);
  if (stale) q += std::string(q.empty() ? "" : "&") + "stale";
  return q;
}

void AddQuery(std::string* path, std::string_view kv) {
  if (kv.empty()) return;
  *path += path->find('?') == std::string::npos ? '?' : '&';
  *path += kv;
}

std::string HelpText(std::string_view help, const config::FlagSet& fs) {
  while (!help.empty() && (help.front() == '\n' || help.front() == ' ')) help.remove_prefix(1);
  while (!help.empty() && (help.back() == '\n' || help.back() == ' ')) help.remove_suffix(1);
  // Consul's layout: the HTTP flags first, then the command's own.
  auto is_http = [](std::string_view n) {
    return n == "http-addr" || n == "token" || n == "datacenter" || n == "stale";
  };
  std::string out(help);
  const std::pair<std::string_view, std::string> sections[] = {
      {"HTTP API Options", fs.Defaults(is_http)},
      {"Command Options", fs.Defaults([&](std::string_view n) { return !is_http(n); })},
  };
  for (const auto& [title, text] : sections) {
    if (text.empty()) continue;
    out.append("\n\n").append(title).append("\n\n").append(text);
    while (out.back() == '\n') out.pop_back();
  }
  return out + "\n";
}

int ParseFlags(config::FlagSet* fs, const Args& args, std::string_view help, Io& io) {
  Status st = fs->Parse(args);
  if (st.ok()) return -1;
  if (fs->kind() == config::FlagSet::ErrorKind::kHelp) {
    io.out << HelpText(help, *fs);
    return 0;
  }
  io.err << st.message() << "\n" << HelpText(help, *fs);
  return 1;
}

std::string Columnize(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  auto trim = [](const std::string& s) {
    size_t b = s.find_first_not_of(" \t\n");
    if (b == std::string::npos) return std::string();
    return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
  };
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : rows) {
    cells.emplace_back();
    for (size_t i = 0; i < row.size(); ++i) {
      cells.back().push_back(trim(row[i]));
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], cells.back().back().size());
    }
  }
  std::string out;
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - row[i].size(), ' ') + "  ";
    }
    out += '\n';
  }
  // columnize trims the whole result.
  size_t b = out.find_first_not_of(" \t\n");
  if (b == std::string::npos) return "";
  return out.substr(b, out.find_last_not_of(" \t\n") - b + 1);
}

std::string ApiError(const http::ClientResponse& r) {
  std::string body = r.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return "Unexpected response code: " + std::to_string(r.status) + " (" + body + ")";
}

SignalBlock::SignalBlock() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old_);
}

SignalBlock::~SignalBlock() {
  // Swallow a pending signal we handled ourselves, then restore the mask.
  sigset_t pending;
  sigpending(&pending);
  if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, nullptr, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

bool SignalBlock::Pending() const {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
}

void SleepMs(int64_t ms) {
  struct timespec ts = {static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
  nanosleep(&ts, nullptr);
}

int StartChild(const std::string& cmd, const std::vector<std::string>& env,
               const std::string* stdin_data, bool inherit_stdin) {
  int fds[2] = {-1, -1};
  if (stdin_data != nullptr && pipe2(fds, O_CLOEXEC) != 0) return -1;
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
  for (const std::string& kv : env) envs.push_back(kv);
  std::vector<char*> envp;
  envp.reserve(envs.size() + 1);
  for (std::string& s : envs) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    // Default dispositions for the signals the runners handle or forward, even when Beacon itself
    // was started with them ignored (nohup ignores SIGHUP): a shell cannot trap a signal that was
    // ignored when it started, so an -exec child's reload trap would never run. consul-template's
    // children start the same way (Go resets the signals it handles at exec).
    for (int sig : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2}) {
      signal(sig, SIG_DFL);
    }
    if (stdin_data != nullptr) {
      dup2(fds[0], 0);
    } else if (!inherit_stdin) {
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
    }
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    execve("/bin/sh", const_cast<char**>(argv), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);
  if (stdin_data != nullptr) {
    close(fds[0]);
    size_t off = 0;
    while (off < stdin_data->size()) {
      ssize_t n = write(fds[1], stdin_data->data() + off, stdin_data->size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fds[1]);
  }
  return pid;
}

}  // namespace beacon::cli

namespace beacon::cli {

Status Call(http::HttpClient& c, std::string_view method, const std::string& path,
            std::string_view body, http::ClientResponse* out, bool allow_404, int64_t timeout_ms) {
  auto r = c.Do(method, path, body, timeout_ms);
  if (!r.ok()) return r.status();
  *out = std::move(r.value());
  if (out->status == 200 || (allow_404 && out->status == 404)) return Status::Ok();
  return Status::Error(ApiError(*out));
}

int TooMany(const config::FlagSet& fs, size_t expected, Io& io) {
  io.err << "Too many arguments (expected " << expected << ", got " << fs.Args().size() << ")\n";
  return 1;
}

int Fail(Io& io, std::string_view what, const Status& st) {
  io.err << what << ": " << st.message() << "\n";
  return 1;
}

}  // namespace beacon::cli
