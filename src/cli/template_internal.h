// `beacon template`: consul-template's runner. This header is shared by its files only:
//   template_cmd.cpp     flags (-template, -wait, -once, -dry, -exec, ...) into TemplateOptions
//   template_config.cpp  -config files (JSON or YAML, consul-template's shape) into the same
//   template_watch.cpp   Watcher: one blocking query per Consul path over libcurl multi
//   template_files.cpp   atomic writes with perms and backup, commands with timeout and logging
//   template_runner.cpp  the loop: watch, render, quiescence, write, run commands, exec child
//
// Contract: everything runs on the thread that calls RunTemplate (the watcher's transfers are
// driven from its poll loop); nothing here is thread-safe. Every wait has a timeout: blocking
// queries carry wait=60000ms plus a transfer timeout, the loop polls with its nearest deadline.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/cli/commands.h"
#include "beacon/core/log.h"
#include "beacon/core/status.h"

namespace beacon::cli::tpl {

// Monotonic milliseconds (deadlines of commands, quiescence and retries).
int64_t SteadyNowMs();

inline constexpr int64_t kDefaultCommandTimeoutMs = 30000;
inline constexpr int64_t kDefaultKillTimeoutMs = 30000;

// Quiescence: render once no change arrived for min, but at the latest max after the first.
struct Wait {
  int64_t min_ms = 0;
  int64_t max_ms = 0;
  bool enabled() const { return min_ms > 0; }
};

// consul-template's consul.retry: a failed watch is retried after backoff, doubling up to
// max_backoff; after `attempts` consecutive failures (0 = never) the runner gives up.
struct Retry {
  int attempts = 12;
  int64_t backoff_ms = 250;
  int64_t max_backoff_ms = 60000;
};

struct TemplateSpec {
  std::string source;
  std::optional<std::string> contents;  // inline template text (config `contents`)
  std::string destination;
  std::string command;  // run with `sh -c`; empty = none
  int64_t command_timeout_ms = kDefaultCommandTimeoutMs;
  int perms = -1;  // -1: keep the existing file's mode, else 0644
  bool backup = false;
  std::string left_delim = "{{";
  std::string right_delim = "}}";
  std::optional<Wait> wait;  // overrides the global wait
  // function_denylist (function_blacklist): calls to these fail with "function is disabled".
  std::vector<std::string> function_denylist;
};

struct ExecSpec {
  std::string command;    // empty = no exec mode
  int reload_signal = 0;  // 0: restart the child on change
  int kill_signal = 15;   // SIGTERM
  int64_t kill_timeout_ms = kDefaultKillTimeoutMs;
};

struct TemplateOptions {
  std::string address;  // host:port; empty = CONSUL_HTTP_ADDR or 127.0.0.1:8500
  std::string token;
  std::vector<TemplateSpec> templates;
  Wait wait;
  ExecSpec exec;
  bool once = false;
  bool dry = false;
  std::string log_level = "info";
  Retry retry;
  // Config keys accepted for consul-template compatibility that would change behaviour there
  // but have no effect here (error_on_missing_key, sandbox_path, user/group, consul.ssl/auth,
  // exec.env): the runner warns about each at start.
  std::vector<std::string> unsupported;
};

// "in[:out[:command]]" (a command may itself contain ':'), as consul-template splits it.
Status ParseTemplateFlag(std::string_view s, TemplateSpec* out);
// "min[:max]" Go durations; max defaults to 4 × min.
Status ParseWait(std::string_view s, Wait* out);
// "SIGHUP" / "HUP" / "1" → the number; false when unknown.
bool ParseSignal(std::string_view s, int* out);
// Merges a consul-template config file (JSON, or YAML by extension .yaml/.yml; a directory:
// its *.json, *.yaml, *.yml in name order) into *opts.
// Errors name the file and the key.
Status LoadConfigFile(const std::string& path, TemplateOptions* opts);

// --- files and commands (template_files.cpp) ---

// Writes data to path atomically (temp file in the same directory, fsync, rename) with `perms` (-1:
// the existing file's mode, else 0644). With `backup`, the previous content is first saved as path
// + ".bak". Missing parent directories are created (0755).
Status WriteAtomic(const std::string& path, std::string_view data, int perms, bool backup);

// Runs `sh -c cmd` (own process group, stdin /dev/null, the mask of SIGINT/SIGTERM/SIGHUP
// restored), logs each line of its output, kills the group at timeout (SIGTERM, then SIGKILL
// 2 s later) and reaps it. Returns ok when it exited 0.
Status RunCommand(const std::string& cmd, int64_t timeout_ms, const Logger& log);

// The long-lived exec child: started with inherited stdio in its own process group.
pid_t StartExecChild(const std::string& cmd);

// Sleeps until `fd` is readable or timeout_ms passed; false on timeout.
bool WaitReadable(int fd, int64_t timeout_ms);

// --- the runner (template_runner.cpp) ---
int RunTemplate(const TemplateOptions& opts, Io& io);

}  // namespace beacon::cli::tpl
