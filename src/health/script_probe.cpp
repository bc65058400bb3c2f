// Script checks: uv_spawn in a new process group, one pipe for stdout+stderr, SIGKILL to the
// group at the timeout, always reaped. See probes.h.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "beacon/core/duration.h"
#include "beacon/health/check_state.h"
#include "beacon/health/probes.h"

namespace beacon::health {
namespace {

using catalog::Health;

class ScriptProbe final : public Probe {
 public:
  ScriptProbe(uv_loop_t* loop, const ProbeOptions& o, ProbeDone done)
      : opts_(o), done_(std::move(done)) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    open_ = 1;
  }

  void Spawn(uv_loop_t* loop, const std::vector<std::string>& args) {
    int fds[2] = {-1, -1};
    if (pipe2(fds, O_CLOEXEC) != 0) {
      FailSoon(std::string("pipe: ") + uv_strerror(-errno));
      return;
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = fds[1];
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = fds[1];
    uv_process_options_t po{};
    po.file = argv[0];
    po.args = argv.data();
    po.stdio_count = 3;
    po.stdio = stdio;
    po.flags = UV_PROCESS_DETACHED;  // setsid(): its own process group, killed as a whole
    po.exit_cb = [](uv_process_t* p, int64_t status, int sig) {
      static_cast<ScriptProbe*>(p->data)->OnExit(status, sig);
    };
    process_.data = this;
    const int rc = uv_spawn(loop, &process_, &po);
    close(fds[1]);
    ++open_;  // the process handle is initialised even when the spawn fails
    if (rc != 0) {
      close(fds[0]);
      exited_ = true;
      eof_ = true;
      CloseHandle(reinterpret_cast<uv_handle_t*>(&process_));
      FailSoon(args[0] + ": " + uv_strerror(rc));
      return;
    }
    pid_ = process_.pid;
    uv_pipe_init(loop, &pipe_, 0);
    pipe_.data = this;
    ++open_;
    if (uv_pipe_open(&pipe_, fds[0]) != 0 ||
        uv_read_start(reinterpret_cast<uv_stream_t*>(&pipe_), OnAlloc, OnRead) != 0) {
      eof_ = true;
      CloseHandle(reinterpret_cast<uv_handle_t*>(&pipe_));
    }
    uv_timer_start(&timer_, OnTimeout, opts_.timeout_ms, 0);
  }

  void Cancel() override {
    cancelled_ = true;
    KillGroup();
    StopReading();
    uv_timer_stop(&timer_);
    CloseHandle(reinterpret_cast<uv_handle_t*>(&timer_));
    // The process handle closes in OnExit, once the child is reaped.
  }

 private:
  void FailSoon(std::string msg) {
    failed_ = true;
    fail_msg_ = std::move(msg);
    uv_timer_start(&timer_, OnTimeout, 0, 0);
  }

  void KillGroup() {
    if (pid_ > 0 && !exited_) kill(-pid_, SIGKILL);
    // After the leader exited, members left in its group (pgid = its pid, which the kernel does
    // not reuse while the group lives) still hold the pipe: kill them too.
    if (pid_ > 0 && exited_ && !eof_) kill(-pid_, SIGKILL);
  }

  void StopReading() {
    if (!eof_) {
      eof_ = true;
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe_));
      CloseHandle(reinterpret_cast<uv_handle_t*>(&pipe_));
    }
  }

  static void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    thread_local char scratch[16384];
    *buf = uv_buf_init(scratch, sizeof scratch);
  }

  static void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* self = static_cast<ScriptProbe*>(s->data);
    if (n > 0) {
      self->Append(buf->base, static_cast<size_t>(n));
    } else if (n < 0) {
      self->StopReading();
      self->MaybeFinish();
    }
  }

  void Append(const char* p, size_t n) {
    total_ += n;
    out_.append(p, n);
    // Keep only the tail that can be shown; trim rarely.
    if (out_.size() > 2 * opts_.output_max + 4096) out_.erase(0, out_.size() - opts_.output_max);
  }

  void OnExit(int64_t status, int sig) {
    exited_ = true;
    exit_status_ = status;
    term_signal_ = sig;
    CloseHandle(reinterpret_cast<uv_handle_t*>(&process_));
    MaybeFinish();
  }

  static void OnTimeout(uv_timer_t* t) {
    auto* self = static_cast<ScriptProbe*>(t->data);
    if (self->failed_) {
      self->Finish({Health::kCritical, self->fail_msg_});
      return;
    }
    self->timed_out_ = !self->exited_;
    self->KillGroup();
    self->StopReading();
    self->MaybeFinish();
  }

  void MaybeFinish() {
    if (cancelled_ || reported_ || !exited_ || !eof_) return;
    if (timed_out_) {
      // Go prints a zero duration as "0s"; core::GoDuration gives "" (Consul's unset duration).
      const std::string limit = opts_.timeout_ms == 0 ? "0s" : core::GoDuration(opts_.timeout_ms);
      Finish({Health::kCritical, "Timed out (" + limit + ") running check"});
      return;
    }
    ProbeResult r;
    r.status = exit_status_ == 0 && term_signal_ == 0   ? Health::kPassing
               : exit_status_ == 1 && term_signal_ == 0 ? Health::kWarning
                                                        : Health::kCritical;
    std::string_view all(out_);
    // `out_` may hold a trimmed tail: CapOutput needs the real total.
    if (total_ > opts_.output_max) {
      r.output = "Captured " + std::to_string(opts_.output_max) + " of " + std::to_string(total_) +
                 " bytes\n...\n";
      r.output.append(all.substr(all.size() - opts_.output_max));
    } else {
      r.output = CapOutput(all, opts_.output_max);
    }
    Finish(std::move(r));
  }

  void Finish(ProbeResult r) {
    reported_ = true;
    uv_timer_stop(&timer_);
    CloseHandle(reinterpret_cast<uv_handle_t*>(&timer_));
    ProbeDone done = std::move(done_);
    done(std::move(r));  // may not touch `this` afterwards if it was the last handle
  }

  void CloseHandle(uv_handle_t* h) {
    if (uv_is_closing(h)) return;
    h->data = this;
    uv_close(h, [](uv_handle_t* hh) {
      auto* self = static_cast<ScriptProbe*>(hh->data);
      if (--self->open_ == 0) delete self;
    });
  }

  ProbeOptions opts_;
  ProbeDone done_;
  uv_timer_t timer_{};
  uv_process_t process_{};
  uv_pipe_t pipe_{};
  int open_ = 0;  // handles not yet closed; the last close frees this
  int pid_ = 0;
  bool exited_ = false;
  bool eof_ = false;
  bool timed_out_ = false;
  bool failed_ = false;
  bool cancelled_ = false;
  bool reported_ = false;
  int64_t exit_status_ = 0;
  int term_signal_ = 0;
  std::string fail_msg_;
  std::string out_;
  size_t total_ = 0;
};

}  // namespace

uint64_t DefaultTimeoutMs(const catalog::Check& c) {
  if (c.timeout_ms != 0) return c.timeout_ms;
  return c.args.empty() ? 10000 : 30000;
}

Probe* StartScript(uv_loop_t* loop, const std::vector<std::string>& args, const ProbeOptions& o,
                   ProbeDone done) {
  auto* p = new ScriptProbe(loop, o, std::move(done));
  p->Spawn(loop, args);
  return p;
}

}  // namespace beacon::health
