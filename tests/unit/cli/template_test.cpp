// `beacon template` pieces that need no agent: the -template and -wait flag syntax, signal
// names, consul-template config files (JSON and YAML), atomic writes with perms and backup, and
// commands under a timeout; plus the command line's own refusals.
#include <doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "beacon/cli/commands.h"
#include "template_internal.h"

namespace beacon::cli::tpl {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/beacon-tpl-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    (void)std::system(cmd.c_str());
  }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

int Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 07777);
}

// Gone or a zombie (killed, waiting for init to reap it); polls up to 10 s for the signal.
bool Dead(int pid) {
  for (int i = 0; i < 1000; ++i) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t paren = stat.rfind(')');
    if (!f || paren == std::string::npos || stat.compare(paren + 2, 1, "Z") == 0) return true;
    usleep(10000);
  }
  return false;
}

TEST_CASE("-template: in, in:out, in:out:command with colons in the command") {
  TemplateSpec t;
  REQUIRE(ParseTemplateFlag("a.ctmpl", &t).ok());
  CHECK(t.source == "a.ctmpl");
  CHECK(t.destination.empty());
  t = {};
  REQUIRE(ParseTemplateFlag("/x/in.ctmpl:/etc/out.conf:systemctl reload nginx", &t).ok());
  CHECK(t.source == "/x/in.ctmpl");
  CHECK(t.destination == "/etc/out.conf");
  CHECK(t.command == "systemctl reload nginx");
  t = {};
  REQUIRE(ParseTemplateFlag("in:out:echo a:b:c", &t).ok());
  CHECK(t.command == "echo a:b:c");
  CHECK(!ParseTemplateFlag(":out", &t).ok());
  CHECK(!ParseTemplateFlag("", &t).ok());
}

TEST_CASE("-wait: min:max, min alone means max = 4 x min, errors are Go's") {
  Wait w;
  REQUIRE(ParseWait("5s:10s", &w).ok());
  CHECK(w.min_ms == 5000);
  CHECK(w.max_ms == 10000);
  REQUIRE(ParseWait("250ms", &w).ok());
  CHECK(w.min_ms == 250);
  CHECK(w.max_ms == 1000);
  Status st = ParseWait("5", &w);
  REQUIRE(!st.ok());
  CHECK(st.message().find("missing unit") != std::string::npos);
  CHECK(!ParseWait("10s:5s", &w).ok());
}

TEST_CASE("signals by name, with or without SIG, or by number") {
  int s = 0;
  CHECK((ParseSignal("SIGHUP", &s) && s == SIGHUP));
  CHECK((ParseSignal("USR1", &s) && s == SIGUSR1));
  CHECK((ParseSignal("15", &s) && s == SIGTERM));
  CHECK(!ParseSignal("SIGNOPE", &s));
}

TEST_CASE("config: JSON with consul-template's keys") {
  TempDir d;
  std::string f = d.Write("c.json", R"({
    "consul": {"address": "127.0.0.1:9999"},
    "log_level": "debug",
    "wait": {"min": "2s", "max": "8s"},
    "exec": {"command": "my-app", "reload_signal": "SIGHUP", "kill_timeout": "3s"},
    "max_stale": "10m",
    "template": [
      {"source": "a.ctmpl", "destination": "a.out", "command": ["touch", "x y"],
       "command_timeout": "45s", "perms": "0600", "backup": true, "wait": "1s:3s"},
      {"contents": "{{ key \"k\" }}", "destination": "b.out", "perms": 420,
       "left_delimiter": "<%", "right_delimiter": "%>"}
    ]
  })");
  TemplateOptions o;
  Status st = LoadConfigFile(f, &o);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.message()));
  CHECK(o.address == "127.0.0.1:9999");
  CHECK(o.log_level == "debug");
  CHECK(o.wait.min_ms == 2000);
  CHECK(o.wait.max_ms == 8000);
  CHECK(o.exec.command == "my-app");
  CHECK(o.exec.reload_signal == SIGHUP);
  CHECK(o.exec.kill_timeout_ms == 3000);
  REQUIRE(o.templates.size() == 2);
  const TemplateSpec& a = o.templates[0];
  CHECK(a.source == "a.ctmpl");
  CHECK(a.command == "touch 'x y'");
  CHECK(a.command_timeout_ms == 45000);
  CHECK(a.perms == 0600);
  CHECK(a.backup);
  REQUIRE(a.wait.has_value());
  CHECK(a.wait->max_ms == 3000);
  const TemplateSpec& b = o.templates[1];
  CHECK(b.contents == std::optional<std::string>("{{ key \"k\" }}"));
  CHECK(b.perms == 0644);
  CHECK(b.left_delim == "<%");
  CHECK(b.command_timeout_ms == kDefaultCommandTimeoutMs);
}

TEST_CASE("config: consul.retry (attempts, backoff, max_backoff, enabled)") {
  TempDir d;
  TemplateOptions o;
  CHECK(o.retry.attempts == 12);  // consul-template's defaults
  CHECK(o.retry.backoff_ms == 250);
  CHECK(o.retry.max_backoff_ms == 60000);
  Status st =
      LoadConfigFile(d.Write("r.json", R"({"consul": {"retry": {"attempts": 3, "backoff": "100ms",
                                                 "max_backoff": "2s"}}})"),
                     &o);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.message()));
  CHECK(o.retry.attempts == 3);
  CHECK(o.retry.backoff_ms == 100);
  CHECK(o.retry.max_backoff_ms == 2000);
  st = LoadConfigFile(d.Write("off.yaml", "consul:\n  retry:\n    enabled: false\n"), &o);
  REQUIRE(st.ok());
  CHECK(o.retry.attempts == 1);
  st = LoadConfigFile(d.Write("bad.json", R"({"consul": {"retry": {"attempts": -1}}})"), &o);
  REQUIRE(!st.ok());
  CHECK(st.message().find("consul.retry.attempts") != std::string::npos);
}

TEST_CASE("config: YAML, a single template object, octal perms") {
  TempDir d;
  std::string f = d.Write("c.yaml",
                          "consul:\n  address: 10.0.0.1:8500\nwait: 1s:2s\ntemplate:\n"
                          "  source: in.ctmpl\n  destination: out\n  perms: 0640\n"
                          "  backup: true\n  command: reload it\n");
  TemplateOptions o;
  Status st = LoadConfigFile(f, &o);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.message()));
  CHECK(o.address == "10.0.0.1:8500");
  CHECK(o.wait.max_ms == 2000);
  REQUIRE(o.templates.size() == 1);
  CHECK(o.templates[0].perms == 0640);
  CHECK(o.templates[0].backup);
  CHECK(o.templates[0].command == "reload it");
}

TEST_CASE("config: a directory merges its files in name order; HCL is refused clearly") {
  TempDir d;
  d.Write("10-consul.json", R"({"consul": {"address": "10.1.1.1:8500"}})");
  d.Write("20-a.yaml", "template:\n  source: a.ctmpl\n  destination: a.out\n");
  d.Write("30-b.json", R"({"template": {"source": "b.ctmpl", "destination": "b.out"}})");
  d.Write("notes.txt", "ignored");
  TemplateOptions o;
  Status st = LoadConfigFile(d.path, &o);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.message()));
  CHECK(o.address == "10.1.1.1:8500");
  REQUIRE(o.templates.size() == 2);
  CHECK(o.templates[0].source == "a.ctmpl");
  CHECK(o.templates[1].source == "b.ctmpl");
  st = LoadConfigFile(d.Write("c.hcl", "consul { address = \"x\" }"), &o);
  REQUIRE(!st.ok());
  CHECK(st.message().find("HCL configuration is not supported") != std::string::npos);
}

TEST_CASE("config: errors name the file and the key") {
  TempDir d;
  TemplateOptions o;
  Status st = LoadConfigFile(d.Write("a.json", R"({"template": {"destination": "x"}})"), &o);
  REQUIRE(!st.ok());
  CHECK(st.message() == d.path + "/a.json: template: must specify a source or contents");
  st = LoadConfigFile(d.Write("b.json", R"({"template": [{"source": "s", "wait": 5}]})"), &o);
  REQUIRE(!st.ok());
  CHECK(st.message().find("b.json: template[0].wait") != std::string::npos);
  st = LoadConfigFile(d.Write("c.json", R"({"consul": {"adress": "x"}})"), &o);
  REQUIRE(!st.ok());
  CHECK(st.message() == d.path + "/c.json: consul.adress: unknown key");
  st = LoadConfigFile(d.Write("d.json", "{"), &o);
  REQUIRE(!st.ok());
  CHECK(st.message().find("d.json: invalid JSON") != std::string::npos);
  st = LoadConfigFile(d.path + "/missing.json", &o);
  REQUIRE(!st.ok());
  CHECK(st.message().find("missing.json") != std::string::npos);
}

TEST_CASE("WriteAtomic: perms given, kept from the old file, 0644 for a new one; backup") {
  TempDir d;
  const std::string p = d.path + "/sub/out";
  REQUIRE(WriteAtomic(p, "one", -1, false).ok());
  CHECK(Slurp(p) == "one");
  CHECK(Mode(p) == 0644);
  REQUIRE(chmod(p.c_str(), 0604) == 0);
  REQUIRE(WriteAtomic(p, "two", -1, true).ok());
  CHECK(Slurp(p) == "two");
  CHECK(Mode(p) == 0604);
  CHECK(Slurp(p + ".bak") == "one");
  CHECK(Mode(p + ".bak") == 0604);
  REQUIRE(WriteAtomic(p, "three", 0600, true).ok());
  CHECK(Mode(p) == 0600);
  CHECK(Slurp(p + ".bak") == "two");
  // No temp files left behind.
  CHECK(std::system(("test -z \"$(ls -A " + d.path + "/sub | grep -v '^out')\"").c_str()) == 0);
}

TEST_CASE("WriteAtomic: an unwritable directory is an error naming the path") {
  Status st = WriteAtomic("/proc/nope/out", "x", -1, false);
  REQUIRE(!st.ok());
  CHECK(st.message().find("/proc/nope") != std::string::npos);
}

TEST_CASE("RunCommand: exit status, output logged, timeout kills the group") {
  Logger log(LogLevel::kError);  // quiet
  CHECK(RunCommand("true", 5000, log).ok());
  Status st = RunCommand("exit 3", 5000, log);
  REQUIRE(!st.ok());
  CHECK(st.message().find("exited with status 3") != std::string::npos);
  TempDir d;
  const std::string pidfile = d.path + "/pid";
  st = RunCommand("sleep 60 & echo $! > " + pidfile + "; wait", 300, log);
  REQUIRE(!st.ok());
  CHECK(st.message().find("timed out") != std::string::npos);
  const int pid = std::atoi(Slurp(pidfile).c_str());
  REQUIRE(pid > 0);
  CHECK(Dead(pid));  // the background job was in the killed group
}

TEST_CASE("beacon template: refusals before any connection") {
  std::ostringstream out;
  std::ostringstream err;
  std::istringstream in;
  Io io{out, err, in, [](std::string_view) { return std::string(); }};
  CHECK(Main({"template"}, io) == 1);
  CHECK(err.str().find("must specify at least one template") != std::string::npos);
  err.str("");
  CHECK(Main({"template", "-template", "in.ctmpl"}, io) == 1);
  CHECK(err.str().find("missing destination") != std::string::npos);
  err.str("");
  CHECK(Main({"template", "-template", "a:b", "-wait", "x"}, io) == 1);
  CHECK(err.str().find("invalid wait") != std::string::npos);
  err.str("");
  CHECK(Main({"template", "-template", "/nonexistent/in.ctmpl:out"}, io) == 1);
  CHECK(err.str().find("template source \"/nonexistent/in.ctmpl\"") != std::string::npos);
}

}  // namespace
}  // namespace beacon::cli::tpl
