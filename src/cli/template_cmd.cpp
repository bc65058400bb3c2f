// `beacon template`: consul-template's command line. Config files (-config, repeatable) are
// merged first, then the flags override them; -template flags add to the configured templates.
#include <csignal>
#include <cstdlib>
#include <ostream>

#include "beacon/core/duration.h"
#include "internal.h"
#include "template_internal.h"

namespace beacon::cli {
namespace tpl {

Status ParseTemplateFlag(std::string_view s, TemplateSpec* out) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (;;) {
    size_t c = s.find(':', pos);
    if (c == std::string_view::npos) {
      parts.emplace_back(s.substr(pos));
      break;
    }
    parts.emplace_back(s.substr(pos, c - pos));
    pos = c + 1;
  }
  if (s.empty() || parts[0].empty()) {
    return Status::Error("invalid template declaration format \"" + std::string(s) +
                         "\": missing source");
  }
  out->source = parts[0];
  if (parts.size() > 1) out->destination = parts[1];
  for (size_t i = 2; i < parts.size(); ++i) {
    out->command += (i > 2 ? ":" : "") + parts[i];
  }
  return Status::Ok();
}

Status ParseWait(std::string_view s, Wait* out) {
  size_t c = s.find(':');
  std::string_view a = s.substr(0, c);
  std::string_view b = c == std::string_view::npos ? std::string_view() : s.substr(c + 1);
  int64_t min_ns = 0;
  int64_t max_ns = 0;
  std::string err;
  if (!core::ParseGoDuration(a, &min_ns, &err)) return Status::Error("invalid wait: " + err);
  if (c != std::string_view::npos && !core::ParseGoDuration(b, &max_ns, &err)) {
    return Status::Error("invalid wait: " + err);
  }
  if (min_ns < 0 || max_ns < 0) {
    return Status::Error("invalid wait \"" + std::string(s) + "\": cannot be negative");
  }
  out->min_ms = (min_ns + 999999) / 1000000;
  out->max_ms = c == std::string_view::npos ? out->min_ms * 4 : (max_ns + 999999) / 1000000;
  if (out->max_ms < out->min_ms) {
    return Status::Error("invalid wait \"" + std::string(s) + "\": max must be larger than min");
  }
  return Status::Ok();
}

bool ParseSignal(std::string_view s, int* out) {
  static constexpr std::pair<std::string_view, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"ALRM", SIGALRM},
      {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"WINCH", SIGWINCH},
  };
  if (s.substr(0, 3) == "SIG") s.remove_prefix(3);
  for (const auto& [name, num] : kSignals) {
    if (s == name) {
      *out = num;
      return true;
    }
  }
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos && s.size() < 3) {
    *out = std::atoi(std::string(s).c_str());
    return *out > 0 && *out < 32;
  }
  return false;
}

}  // namespace tpl

int Template(const Args& args, Io& io) {
  config::FlagSet fs;
  std::string addr;
  std::string token;
  std::vector<std::string> template_flags;
  std::vector<std::string> config_files;
  std::string wait;
  std::string exec;
  std::string exec_reload;
  std::string exec_kill;
  int64_t exec_kill_timeout_ms = tpl::kDefaultKillTimeoutMs;
  std::string log_level;
  bool once = false;
  bool dry = false;
  fs.String("consul-addr", &addr,
            "Sets the address of the Consul instance (also CONSUL_HTTP_ADDR; default "
            "127.0.0.1:8500).");
  fs.String("consul-token", &token, "Sets the Consul API token (also CONSUL_HTTP_TOKEN).");
  fs.StringList("template", &template_flags,
                "Adds a new template to watch on disk in the format 'in:out(:command)'. This "
                "option is additive and may be specified multiple times for multiple "
                "templates.");
  fs.StringList("config", &config_files,
                "Loads configuration from the given JSON or YAML file. This option is additive "
                "and may be specified multiple times.");
  fs.String("wait", &wait,
            "Sets the 'min(:max)' amount of time to wait before writing a template (and "
            "triggering a command), separated by a colon (:).");
  fs.Bool("once", &once, "Do not run the process as a daemon.");
  fs.Bool("dry", &dry, "Print generated templates to stdout instead of rendering.");
  fs.String("exec", &exec, "Enable exec mode to run as a supervisor-like process.");
  fs.String("exec-reload-signal", &exec_reload,
            "Signal to send when a template changes (default: restart the child).");
  fs.String("exec-kill-signal", &exec_kill, "Signal to send when gracefully killing the child.");
  fs.Duration("exec-kill-timeout", &exec_kill_timeout_ms,
              "Amount of time to wait for the child to gracefully die.");
  fs.String("log-level", &log_level, "Set the logging level: trace, debug, info, warn, err.");
  constexpr std::string_view kHelp = R"(
Usage: beacon template [options]

  Watches a series of templates on the file system, writing new changes when
  Consul is updated. It runs until an interrupt is received unless the -once
  flag is specified.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (!fs.Args().empty()) return TooMany(fs, 0, io);

  tpl::TemplateOptions opts;
  for (const std::string& f : config_files) {
    if (Status st = tpl::LoadConfigFile(f, &opts); !st.ok()) {
      io.err << "Error: " << st.message() << "\n";
      return 1;
    }
  }
  if (fs.Has("consul-addr")) opts.address = addr;
  if (fs.Has("consul-token")) opts.token = token;
  if (opts.address.empty()) opts.address = io.env("CONSUL_HTTP_ADDR");
  if (opts.address.empty()) opts.address = "127.0.0.1:8500";
  if (opts.token.empty()) opts.token = io.env("CONSUL_HTTP_TOKEN");
  if (opts.token.empty()) opts.token = io.env("CONSUL_TOKEN");
  for (const std::string& t : template_flags) {
    tpl::TemplateSpec spec;
    if (Status st = tpl::ParseTemplateFlag(t, &spec); !st.ok()) {
      io.err << "Error: " << st.message() << "\n";
      return 1;
    }
    opts.templates.push_back(std::move(spec));
  }
  if (fs.Has("wait")) {
    if (Status st = tpl::ParseWait(wait, &opts.wait); !st.ok()) {
      io.err << "Error: " << st.message() << "\n";
      return 1;
    }
  }
  if (fs.Has("exec")) opts.exec.command = exec;
  if (fs.Has("exec-reload-signal") && !tpl::ParseSignal(exec_reload, &opts.exec.reload_signal)) {
    io.err << "Error: unknown signal \"" << exec_reload << "\"\n";
    return 1;
  }
  if (fs.Has("exec-kill-signal") && !tpl::ParseSignal(exec_kill, &opts.exec.kill_signal)) {
    io.err << "Error: unknown signal \"" << exec_kill << "\"\n";
    return 1;
  }
  if (fs.Has("exec-kill-timeout")) opts.exec.kill_timeout_ms = exec_kill_timeout_ms;
  if (fs.Has("once")) opts.once = once;
  if (fs.Has("dry")) opts.dry = dry;
  if (fs.Has("log-level")) opts.log_level = log_level;
  LogLevel level;
  if (!ParseLogLevel(opts.log_level, &level)) {
    io.err << "Error: invalid log level \"" << opts.log_level << "\"\n";
    return 1;
  }
  if (opts.templates.empty() && opts.exec.command.empty()) {
    io.err << "Error: must specify at least one template or an exec command (-template or "
              "-config)\n";
    return 1;
  }
  for (const tpl::TemplateSpec& t : opts.templates) {
    if (t.destination.empty() && !opts.dry) {
      io.err << "Error: template \"" << t.source << "\": missing destination\n";
      return 1;
    }
  }
  return tpl::RunTemplate(opts, io);
}

}  // namespace beacon::cli
