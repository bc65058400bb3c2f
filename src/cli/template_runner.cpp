// The `beacon template` loop: parse every template (refusing bad ones before anything is
// written), render, watch each path a render asked for, re-render the templates whose data
// changed (after their quiescence wait), write changed output atomically, then run the commands
// of that pass once each, and supervise the -exec child. As consul-template (err_fatal), a
// template that fails to execute, a write that fails or a command that fails ends the runner
// with exit code 1; a lost agent does so only after the watcher's retries. Signals arrive on a
// signalfd that the watcher's poll also waits on: SIGINT/SIGTERM stop, SIGHUP re-reads the
// templates, SIGCHLD reaps the exec child, other signals are forwarded to it.
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <ostream>

#include "beacon/core/file.h"
#include "beacon/tmpl/template.h"
#include "template_internal.h"
#include "template_watch.h"

namespace beacon::cli::tpl {
namespace {

constexpr int kHandledSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2};
constexpr int64_t kIdlePollMs = 60000;

// What a destination holds now; nullopt when it is missing or unreadable (then a render
// always writes it).
std::optional<std::string> OnDisk(const std::string& path) {
  std::string data;
  if (path.empty() || !core::ReadFile(path, &data).ok()) return std::nullopt;
  return data;
}

struct Tpl {
  TemplateSpec spec;
  std::optional<tmpl::Template> parsed;
  std::optional<std::string> last;  // -dry: the last output shown (nothing is on disk)
  std::vector<std::string> deps;
  bool pending = true;    // its data changed since its last render
  bool rendered = false;  // rendered completely at least once
  int64_t first_change = 0;
  int64_t last_change = 0;

  std::string Name() const {
    return spec.contents ? "(inline) => " + spec.destination : spec.source;
  }
};

class WatchData : public tmpl::Data {
 public:
  explicit WatchData(const Watcher& w) : w_(w) {}
  const tmpl::Fetch* Get(const std::string& path) override { return w_.Get(path); }

 private:
  const Watcher& w_;
};

// Reads and parses one template; errors say which file and where.
Status Load(Tpl* t) {
  std::string text;
  if (t->spec.contents) {
    text = *t->spec.contents;
  } else {
    std::ifstream f(t->spec.source, std::ios::binary);
    if (!f) {
      return Status::Error("template source \"" + t->spec.source +
                           "\": open: no such file or not readable");
    }
    text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  tmpl::ParseOptions po;
  po.name = t->spec.contents ? t->spec.destination : t->spec.source;
  po.left_delim = t->spec.left_delim;
  po.right_delim = t->spec.right_delim;
  po.denied_functions = t->spec.function_denylist;
  auto parsed = tmpl::Template::Parse(text, po);
  if (!parsed.ok()) return parsed.status();
  t->parsed = std::move(parsed.value());
  return Status::Ok();
}

class Runner {
 public:
  Runner(const TemplateOptions& opts, Io& io, const Logger& log)
      : opts_(opts), io_(io), log_(log), watcher_(opts.address, opts.token, log, opts.retry) {
    env_.getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
    env_.now = [] { return std::chrono::system_clock::now(); };
  }
  ~Runner() {
    if (sigfd_ >= 0) close(sigfd_);
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  int Run() {
    for (const TemplateSpec& s : opts_.templates) {
      Tpl t;
      t.spec = s;
      if (Status st = Load(&t); !st.ok()) {
        io_.err << "Error: " << st.message() << "\n";
        return 1;
      }
      tpls_.push_back(std::move(t));
    }
    pending_ = tpls_.size();  // every template starts pending
    sigset_t set;
    sigemptyset(&set);
    for (int s : kHandledSignals) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, &old_mask_);
    sigfd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    BEACON_LOG(log_, kInfo, "runner", "starting: %zu template(s), agent %s", tpls_.size(),
               opts_.address.c_str());
    for (const std::string& key : opts_.unsupported) {
      BEACON_LOG(log_, kWarn, "runner", "config %s is not supported by beacon template: ignored",
                 key.c_str());
    }
    for (;;) {
      if (int rc = RenderDue(); rc >= 0) return Stop(rc);
      if (opts_.once && AllRendered() && opts_.exec.command.empty()) {
        BEACON_LOG(log_, kInfo, "runner", "once mode: all templates rendered, exiting");
        return Stop(0);
      }
      if (!opts_.exec.command.empty() && child_ <= 0 && !child_started_ && AllRendered()) {
        StartChild();
      }
      bool sig = false;
      std::vector<std::string> changed;
      Status st = watcher_.Poll(NextDeadline(), sigfd_, &sig, &changed);
      if (!st.ok()) {
        BEACON_LOG(log_, kError, "runner", "%s", st.message().c_str());
        io_.err << "Error: " << st.message() << "\n";
        return Stop(1);
      }
      MarkChanged(changed);
      if (sig) {
        if (int rc = HandleSignals(); rc >= 0) return Stop(rc);
      }
    }
  }

 private:
  bool AllRendered() const { return rendered_ == tpls_.size(); }

  void SetPending(Tpl* t, int64_t now) {
    if (!t->pending || t->first_change == 0) t->first_change = now;
    t->last_change = now;
    if (!t->pending) ++pending_;
    t->pending = true;
  }

  const Wait& WaitOf(const Tpl& t) const { return t.spec.wait ? *t.spec.wait : opts_.wait; }

  // A pending template is due now, or at its quiescence deadline once data came in (the first
  // render waits too, as consul-template's: it starts the timers on every complete render).
  int64_t DueAt(const Tpl& t) const {
    const Wait& w = WaitOf(t);
    if (!w.enabled() || t.first_change == 0) return 0;
    return std::min(t.last_change + w.min_ms, t.first_change + w.max_ms);
  }

  int64_t NextDeadline() const {
    int64_t next = kIdlePollMs;
    if (pending_ == 0) return next;
    const int64_t now = SteadyNowMs();
    for (const Tpl& t : tpls_) {
      if (t.pending) next = std::min(next, std::max<int64_t>(0, DueAt(t) - now));
    }
    return next;
  }

  void MarkChanged(const std::vector<std::string>& changed) {
    if (changed.empty()) return;
    const int64_t now = SteadyNowMs();
    for (const std::string& path : changed) {
      auto it = readers_.find(path);
      if (it == readers_.end()) continue;
      for (size_t i : it->second) SetPending(&tpls_[i], now);
    }
    for (size_t i : no_deps_) SetPending(&tpls_[i], now);  // never asked for anything yet
  }

  // Renders the due templates; writes, then runs the pass's commands. Returns an exit code to
  // stop with, or -1.
  int RenderDue() {
    if (pending_ == 0) return -1;
    const int64_t now = SteadyNowMs();
    WatchData data(watcher_);
    std::vector<std::pair<std::string, int64_t>> commands;
    bool wrote = false;
    bool deps_changed = false;
    for (Tpl& t : tpls_) {
      if (!t.pending || DueAt(t) > now) continue;
      t.pending = false;
      --pending_;
      t.first_change = t.last_change = 0;
      auto r = t.parsed->Render(data, env_);
      if (!r.ok()) {
        BEACON_LOG(log_, kError, "runner", "rendering %s: %s", t.Name().c_str(),
                   r.status().message().c_str());
        io_.err << "Error: " << r.status().message() << "\n";
        return 1;
      }
      if (r->deps != t.deps) {
        t.deps = std::move(r->deps);
        for (const std::string& d : t.deps) watcher_.Add(d);
        deps_changed = true;
      }
      if (!r->complete) {
        BEACON_LOG(log_, kDebug, "runner", "%s: missing data, waiting", t.Name().c_str());
        continue;
      }
      if (!t.rendered) ++rendered_;
      t.rendered = true;
      // Compared with what the destination holds now, as consul-template does: a deleted or
      // hand-edited file is rendered again (and its command run) at the next change.
      if (opts_.dry ? t.last == r->output : OnDisk(t.spec.destination) == r->output) {
        BEACON_LOG(log_, kDebug, "runner", "%s: output unchanged", t.Name().c_str());
        continue;
      }
      if (opts_.dry) {
        io_.out << "> " << t.spec.destination << "\n" << r->output;
        io_.out.flush();
      } else {
        if (Status st = WriteAtomic(t.spec.destination, r->output, t.spec.perms, t.spec.backup);
            !st.ok()) {
          BEACON_LOG(log_, kError, "runner", "writing %s: %s", t.spec.destination.c_str(),
                     st.message().c_str());
          io_.err << "Error: " << st.message() << "\n";
          return 1;
        }
        BEACON_LOG(log_, kInfo, "runner", "rendered \"%s\" => \"%s\"", t.Name().c_str(),
                   t.spec.destination.c_str());
      }
      if (opts_.dry) t.last = std::move(r->output);
      wrote = true;
      if (!t.spec.command.empty() && !opts_.dry &&
          std::none_of(commands.begin(), commands.end(),
                       [&](const auto& c) { return c.first == t.spec.command; })) {
        commands.emplace_back(t.spec.command, t.spec.command_timeout_ms);
      }
    }
    if (deps_changed) ReindexDeps();
    // Every command of the pass runs; a failed one (non-zero exit, timeout) then stops the
    // runner with exit code 1, as consul-template does (users append `|| true` to opt out).
    int rc = -1;
    for (const auto& [cmd, timeout] : commands) {
      if (Status st = RunCommand(cmd, timeout, log_); !st.ok()) {
        BEACON_LOG(log_, kError, "runner", "failed to execute command: %s", st.message().c_str());
        io_.err << "Error: failed to execute command: " << st.message() << "\n";
        rc = 1;
      }
    }
    if (wrote && child_ > 0 && rc < 0) ReloadChild();
    return rc;
  }

  // Rebuilds path -> templates after a render changed some template's dependencies, and stops
  // watching paths no template reads any more.
  void ReindexDeps() {
    readers_.clear();
    no_deps_.clear();
    for (size_t i = 0; i < tpls_.size(); ++i) {
      for (const std::string& d : tpls_[i].deps) readers_[d].push_back(i);
      if (tpls_[i].deps.empty()) no_deps_.push_back(i);
    }
    for (const std::string& p : watcher_.Paths()) {
      if (readers_.count(p) == 0) watcher_.Remove(p);
    }
  }

  void StartChild() {
    child_ = StartExecChild(opts_.exec.command);
    child_started_ = true;
    if (child_ < 0) {
      BEACON_LOG(log_, kError, "runner", "exec: cannot start \"%s\"", opts_.exec.command.c_str());
      return;
    }
    BEACON_LOG(log_, kInfo, "runner", "exec: started \"%s\" (pid %d)", opts_.exec.command.c_str(),
               static_cast<int>(child_));
  }

  // Signals the child's group and waits up to the kill timeout, then SIGKILL. Returns its status.
  int StopChild(int sig) {
    if (child_ <= 0) return 0;
    kill(-child_, sig);
    int status = 0;
    const int64_t deadline = SteadyNowMs() + opts_.exec.kill_timeout_ms;
    pid_t r = 0;
    while ((r = waitpid(child_, &status, WNOHANG)) == 0 && SteadyNowMs() < deadline) {
      WaitReadable(-1, 20);
    }
    if (r == 0) {
      BEACON_LOG(log_, kWarn, "runner", "exec: child %d did not stop in time, killing",
                 static_cast<int>(child_));
      kill(-child_, SIGKILL);
      waitpid(child_, &status, 0);
    }
    child_ = -1;
    return status;
  }

  void ReloadChild() {
    if (opts_.exec.reload_signal != 0) {
      BEACON_LOG(log_, kInfo, "runner", "exec: sending signal %d to the child",
                 opts_.exec.reload_signal);
      kill(-child_, opts_.exec.reload_signal);
      return;
    }
    BEACON_LOG(log_, kInfo, "runner", "exec: restarting the child");
    StopChild(opts_.exec.kill_signal);
    StartChild();
  }

  void Reload() {
    BEACON_LOG(log_, kInfo, "runner", "SIGHUP: re-reading templates");
    for (Tpl& t : tpls_) {
      Tpl fresh;
      fresh.spec = t.spec;
      if (Status st = Load(&fresh); !st.ok()) {
        BEACON_LOG(log_, kError, "runner", "reload: %s (keeping the previous template)",
                   st.message().c_str());
        continue;
      }
      t.parsed = std::move(fresh.parsed);
      SetPending(&t, 0);
    }
  }

  static int ExitCode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
  }

  int HandleSignals() {
    signalfd_siginfo si{};
    while (read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      const int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGINT || sig == SIGTERM) {
        BEACON_LOG(log_, kInfo, "runner", "received signal %d, stopping", sig);
        return 0;
      }
      if (sig == SIGHUP) {
        Reload();
      } else if (sig == SIGCHLD) {
        if (child_ > 0) {
          int status = 0;
          if (waitpid(child_, &status, WNOHANG) == child_) {
            child_ = -1;
            BEACON_LOG(log_, kInfo, "runner", "exec: child exited (%d)", ExitCode(status));
            return ExitCode(status);
          }
        }
      } else if (child_ > 0) {
        kill(-child_, sig);
      }
    }
    return -1;
  }

  int Stop(int rc) {
    if (child_ > 0) {
      int status = StopChild(opts_.exec.kill_signal);
      if (rc == 0 && opts_.once) rc = ExitCode(status);
    }
    return rc;
  }

  const TemplateOptions& opts_;
  Io& io_;
  const Logger& log_;
  Watcher watcher_;
  tmpl::Env env_;
  std::vector<Tpl> tpls_;
  int sigfd_ = -1;
  sigset_t old_mask_{};
  pid_t child_ = -1;
  bool child_started_ = false;
  size_t pending_ = 0;   // templates with pending == true
  size_t rendered_ = 0;  // templates rendered completely at least once
  std::map<std::string, std::vector<size_t>> readers_;  // path -> templates that read it
  std::vector<size_t> no_deps_;                         // templates that read nothing yet
};

}  // namespace

int RunTemplate(const TemplateOptions& opts, Io& io) {
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(opts.log_level, &level);
  Logger log(level);
  Runner r(opts, io, log);
  return r.Run();
}

}  // namespace beacon::cli::tpl
