#!/usr/bin/env python3
"""`beacon template` (consul-template's runner) against a real agent: files rendered from KV and
the catalog, commands run exactly once per change, dedup, -once, -dry, -wait quiescence, -config
(JSON and YAML), perms and backup, command timeouts, -exec, signals, refused templates and an
agent restart during a watch."""

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, BEACON, _live_processes, free_port, stop_process, wait_for, watchdog  # noqa: E402

WAIT = 20  # generous upper bound for anything that should happen "soon"


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def lines(path):
    text = read(path)
    return [] if text is None else text.splitlines()


class Runner:
    """One `beacon template` process; stderr (the log) goes to a file we can read while it runs."""

    def __init__(self, test, *args, env=None, ignore_hup=False):
        self.log_path = test.path("template-%d.log" % test.next_id())
        self.log = open(self.log_path, "wb")
        e = {k: v for k, v in os.environ.items() if k != "CONSUL_HTTP_ADDR"}
        e.update(env or {})
        hup = (lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)) if ignore_hup else None
        self.proc = subprocess.Popen([BEACON, "template"] + list(args), stdout=subprocess.PIPE,
                                     stderr=self.log, stdin=subprocess.DEVNULL, cwd=test.tmp.name,
                                     env=e, preexec_fn=hup)
        _live_processes.append(self.proc)
        test.addCleanup(self.stop)

    def log_text(self):
        return read(self.log_path) or ""

    def wait_log(self, needle, count=1):
        wait_for(lambda: self.log_text().count(needle) >= count, WAIT,
                 what="%r in the template log:\n%s" % (needle, self.log_text()))

    def wait_exit(self):
        try:
            return self.proc.wait(timeout=WAIT)
        finally:
            if self.proc in _live_processes:
                _live_processes.remove(self.proc)

    def stop(self):
        rc = stop_process(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()
        return rc


class TemplateTest(unittest.TestCase):
    agent = None

    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(node="tmpl-node", data_dir="tmp", extra_args=["-server"])
        cls.agent.start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="beacon-tmpl-")
        self.addCleanup(self.tmp.cleanup)
        self._id = 0

    def next_id(self):
        self._id += 1
        return self._id

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def put(self, key, value):
        self.agent.api("PUT", "/v1/kv/" + key, value)

    def addr(self):
        return self.agent.http_addr

    def key_template(self, key, name="in.ctmpl"):
        return self.write(name, 'value={{ key "%s" }}\n' % key)

    def test_seed_flow_renders_and_runs_the_command_once_per_change(self):
        self.put("master/test", "test_data3")
        src = self.key_template("master/test")
        out, count = self.path("test.conf"), self.path("count")
        r = Runner(self, "-consul-addr", self.addr(),
                   "-template", "%s:%s:echo run >> %s" % (src, out, count))
        wait_for(lambda: lines(count) == ["run"], WAIT, what="first render and command")
        self.assertEqual(read(out), "value=test_data3\n")
        self.put("master/test", "second")
        wait_for(lambda: len(lines(count)) == 2, WAIT, what="second command run")
        self.assertEqual(read(out), "value=second\n")
        self.put("master/test", "third")
        wait_for(lambda: read(out) == "value=third\n", WAIT, what="third render")
        wait_for(lambda: len(lines(count)) == 3, WAIT, what="third command run")
        self.assertIn('rendered "%s" => "%s"' % (src, out), r.log_text())
        self.assertEqual(r.stop(), 0)
        self.assertEqual(lines(count), ["run"] * 3)

    def test_unchanged_output_writes_nothing_and_runs_nothing(self):
        self.put("dedup/k", "same")
        src = self.key_template("dedup/k")
        out, count = self.path("out"), self.path("count")
        # The file already holds what the template renders: no write and no command at start.
        with open(out, "w") as f:
            f.write("value=same\n")
        before = os.stat(out).st_ino
        r = Runner(self, "-consul-addr", self.addr(), "-log-level", "debug",
                   "-template", "%s:%s:echo run >> %s" % (src, out, count))
        r.wait_log("output unchanged")
        self.put("dedup/k", "same")          # same value (Beacon may not even wake the watch)
        self.put("dedup/other", "x")         # a key the template does not read
        self.put("dedup/k", "changed")       # a real change: exactly one command
        wait_for(lambda: lines(count) == ["run"], WAIT, what="one command run")
        self.assertEqual(read(out), "value=changed\n")
        self.assertNotEqual(os.stat(out).st_ino, before)  # replaced by rename, not rewritten
        self.assertEqual(r.stop(), 0)
        self.assertEqual(lines(count), ["run"])

    def test_a_deleted_destination_is_rendered_again_at_the_next_change(self):
        # Compared with the file on disk, as consul-template does, not with the last output.
        self.put("gone/a", "1")
        src = self.write("in.ctmpl", 'a={{ key "gone/a" }}{{ if keyExists "gone/z" }}{{ end }}\n')
        out, count = self.path("out"), self.path("count")
        r = Runner(self, "-consul-addr", self.addr(),
                   "-template", "%s:%s:echo run >> %s" % (src, out, count))
        wait_for(lambda: lines(count) == ["run"], WAIT, what="first render and command")
        os.unlink(out)
        self.put("gone/z", "x")  # a dependency changes; the output does not
        wait_for(lambda: os.path.exists(out), WAIT, what="the deleted file rendered again")
        self.assertEqual(read(out), "a=1\n")
        wait_for(lambda: len(lines(count)) == 2, WAIT, what="its command run again")
        self.assertEqual(r.stop(), 0)

    def test_commands_run_after_all_writes_of_a_pass_and_once_when_shared(self):
        self.put("multi/a", "1")
        a = self.key_template("multi/a", "a.ctmpl")
        b = self.write("b.ctmpl", 'b={{ key "multi/a" }}\n')
        outa, outb, log = self.path("a.out"), self.path("b.out"), self.path("cmd.log")
        cmd = "cat %s %s >> %s" % (outa, outb, log)
        r = Runner(self, "-consul-addr", self.addr(), "-template", "%s:%s:%s" % (a, outa, cmd),
                   "-template", "%s:%s:%s" % (b, outb, cmd))
        wait_for(lambda: len(lines(log)) == 2, WAIT, what="shared command run")
        self.assertEqual(lines(log), ["value=1", "b=1"])  # both files written before it ran
        self.put("multi/a", "2")
        wait_for(lambda: len(lines(log)) == 4, WAIT, what="shared command run again")
        self.assertEqual(lines(log)[2:], ["value=2", "b=2"])
        self.assertEqual(r.stop(), 0)
        self.assertEqual(len(lines(log)), 4)

    def test_once_renders_runs_and_exits(self):
        self.put("once/k", "v1")
        src = self.key_template("once/k")
        out, count = self.path("out"), self.path("count")
        r = Runner(self, "-consul-addr", self.addr(), "-once",
                   "-template", "%s:%s:echo run >> %s" % (src, out, count))
        self.assertEqual(r.wait_exit(), 0, r.log_text())
        self.assertEqual(read(out), "value=v1\n")
        self.assertEqual(lines(count), ["run"])

    def test_once_waits_for_a_missing_key(self):
        src = self.key_template("once/late")
        out = self.path("out")
        r = Runner(self, "-consul-addr", self.addr(), "-once", "-log-level", "debug",
                   "-template", "%s:%s" % (src, out))
        r.wait_log("missing data")
        self.assertIsNone(r.proc.poll())
        self.assertIsNone(read(out))
        self.put("once/late", "here")
        self.assertEqual(r.wait_exit(), 0, r.log_text())
        self.assertEqual(read(out), "value=here\n")

    def test_dry_prints_and_writes_nothing(self):
        self.put("dry/k", "shown")
        src = self.key_template("dry/k")
        out, count = self.path("out"), self.path("count")
        r = Runner(self, "-consul-addr", self.addr(), "-dry", "-once",
                   "-template", "%s:%s:echo run >> %s" % (src, out, count))
        self.assertEqual(r.wait_exit(), 0, r.log_text())
        self.assertEqual(r.proc.stdout.read().decode(), "> %s\nvalue=shown\n" % out)
        self.assertIsNone(read(out))
        self.assertIsNone(read(count))

    def test_wait_quiescence_renders_once_after_a_burst(self):
        self.put("quiet/k", "0")
        src = self.key_template("quiet/k")
        out, count = self.path("out"), self.path("count")
        Runner(self, "-consul-addr", self.addr(), "-wait", "2s:20s",
               "-template", "%s:%s:cat %s >> %s" % (src, out, out, count))
        wait_for(lambda: lines(count) == ["value=0"], WAIT, what="first render")
        for i in range(1, 6):
            self.put("quiet/k", str(i))
        wait_for(lambda: len(lines(count)) == 2, WAIT, what="render after the burst")
        self.assertEqual(lines(count), ["value=0", "value=5"])
        self.put("quiet/k", "6")  # a later change: one more render, nothing in between
        wait_for(lambda: len(lines(count)) == 3, WAIT, what="render after the last change")
        self.assertEqual(lines(count), ["value=0", "value=5", "value=6"])

    def test_bad_template_is_refused_before_anything_is_written(self):
        self.put("bad/k", "v")
        good = self.key_template("bad/k", "good.ctmpl")
        bad = self.write("bad.ctmpl", 'line one\n  {{ key "bad/k" \n')
        r = Runner(self, "-consul-addr", self.addr(),
                   "-template", "%s:%s" % (good, self.path("good.out")),
                   "-template", "%s:%s" % (bad, self.path("bad.out")))
        self.assertEqual(r.wait_exit(), 1)
        self.assertIn("%s:2:3: " % bad, r.log_text())
        self.assertIsNone(read(self.path("good.out")))
        self.assertIsNone(read(self.path("bad.out")))

    def test_missing_template_source_is_a_clear_error(self):
        missing = self.path("nope.ctmpl")
        r = Runner(self, "-consul-addr", self.addr(), "-template", "%s:%s" % (missing, "x"))
        self.assertEqual(r.wait_exit(), 1)
        self.assertIn('template source "%s"' % missing, r.log_text())

    def test_agent_restart_keeps_the_file_and_resumes(self):
        self.put("restart/k", "before")
        src = self.key_template("restart/k")
        out, count = self.path("out"), self.path("count")
        r = Runner(self, "-consul-addr", self.addr(), "-log-level", "debug",
                   "-template", "%s:%s:echo run >> %s" % (src, out, count))
        wait_for(lambda: lines(count) == ["run"], WAIT, what="first render")
        self.agent.stop()
        try:
            r.wait_log("lost agent")
            self.assertEqual(read(out), "value=before\n")
            self.assertIsNone(r.proc.poll())
        finally:
            self.agent.start(keep_ports=True)
        r.wait_log("reachable again")
        self.assertEqual(read(out), "value=before\n")
        self.put("restart/k", "after")
        wait_for(lambda: read(out) == "value=after\n", WAIT, what="render after restart")
        wait_for(lambda: len(lines(count)) == 2, WAIT, what="command after restart")
        self.assertEqual(r.stop(), 0)

    def test_gives_up_after_the_configured_retry_attempts(self):
        # Nobody listens on this port: three quick attempts, then exit 1 with the reason.
        cfg = self.write("retry.json", json.dumps({
            "consul": {"address": "127.0.0.1:%d" % free_port(),
                       "retry": {"attempts": 3, "backoff": "10ms", "max_backoff": "50ms"}},
            "template": {"contents": '{{ key "x" }}', "destination": self.path("out")}}))
        r = Runner(self, "-config", cfg)
        self.assertEqual(r.wait_exit(), 1)
        self.assertIn("lost agent", r.log_text())
        self.assertIn("giving up after 3 attempts", r.log_text())
        self.assertIsNone(read(self.path("out")))

    def test_dev_agent_restart_loses_the_key_and_the_file_is_kept(self):
        # A -dev agent forgets its KV (and its indexes restart low): the template waits for the
        # key again without touching the file, then renders the new value.
        dev = Agent(node="tmpl-dev")
        dev.start()
        self.addCleanup(dev.close)
        dev.api("PUT", "/v1/kv/dev/k", "v1")
        for i in range(20):  # move the index well past where the restarted agent starts
            dev.api("PUT", "/v1/kv/dev/other", str(i))
        src = self.key_template("dev/k")
        out, count = self.path("out"), self.path("count")
        r = Runner(self, "-consul-addr", dev.http_addr, "-log-level", "debug",
                   "-template", "%s:%s:echo run >> %s" % (src, out, count))
        wait_for(lambda: lines(count) == ["run"], WAIT, what="first render")
        dev.stop()
        r.wait_log("lost agent")
        dev.start(keep_ports=True)
        r.wait_log("reachable again")
        r.wait_log("missing data", 2)  # the key is gone: the render waits
        self.assertEqual(read(out), "value=v1\n")
        dev.api("PUT", "/v1/kv/dev/k", "v2")
        wait_for(lambda: read(out) == "value=v2\n", WAIT, what="render of the new key")
        wait_for(lambda: len(lines(count)) == 2, WAIT, what="command after the new key")
        self.assertEqual(r.stop(), 0)

    def test_config_file_json_with_perms_backup_and_wait(self):
        self.put("cfg/k", "one")
        src = self.key_template("cfg/k")
        out, count = self.path("out"), self.path("count")
        with open(out, "w") as f:
            f.write("old content\n")
        cfg = self.write("ct.json", json.dumps({
            "consul": {"address": self.addr()},
            "log_level": "info",
            "wait": {"min": "10ms", "max": "50ms"},
            "template": [{"source": src, "destination": out, "perms": "0600", "backup": True,
                          "command": "echo run >> %s" % count, "command_timeout": "5s"}],
        }))
        Runner(self, "-config", cfg)
        wait_for(lambda: lines(count) == ["run"], WAIT, what="render from -config")
        self.assertEqual(read(out), "value=one\n")
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        self.assertEqual(read(out + ".bak"), "old content\n")
        self.put("cfg/k", "two")
        wait_for(lambda: read(out) == "value=two\n", WAIT, what="second render")
        self.assertEqual(read(out + ".bak"), "value=one\n")

    def test_function_denylist_disables_a_function(self):
        out = self.path("out")
        cfg = self.write("deny.json", json.dumps({
            "consul": {"address": self.addr()},
            "template": [{"contents": 'home={{ env "HOME" }}\n', "destination": out,
                          "function_denylist": ["env"], "error_on_missing_key": True}],
        }))
        r = Runner(self, "-config", cfg, "-once")
        self.assertEqual(r.wait_exit(), 1, r.log_text())
        self.assertIn("error calling env: function is disabled", r.log_text())
        # An option that would change the render in consul-template but does nothing here is
        # named in a warning instead of passing silently.
        self.assertIn("error_on_missing_key is not supported by beacon template", r.log_text())
        self.assertFalse(os.path.exists(out))

    def test_config_file_yaml_with_delimiters_and_inline_contents(self):
        self.put("yaml/k", "from-yaml")
        out = self.path("out")
        cfg = self.write("ct.yaml", "consul:\n  address: %s\ntemplate:\n"
                         "  - contents: '[[ key \"yaml/k\" ]]'\n"
                         "    destination: %s\n"
                         "    left_delimiter: '[['\n    right_delimiter: ']]'\n"
                         "    perms: 0640\n" % (self.addr(), out))
        r = Runner(self, "-config", cfg, "-once")
        self.assertEqual(r.wait_exit(), 0, r.log_text())
        self.assertEqual(read(out), "from-yaml")
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o640)

    def test_config_file_errors_name_the_file_and_key(self):
        cfg = self.write("bad.json", json.dumps({"template": [{"source": "x", "perms": "rw"}]}))
        r = Runner(self, "-config", cfg)
        self.assertEqual(r.wait_exit(), 1)
        self.assertIn("bad.json: template[0].perms", r.log_text())
        cfg = self.write("unknown.json", json.dumps({"templates": []}))
        r = Runner(self, "-config", cfg)
        self.assertEqual(r.wait_exit(), 1)
        self.assertIn("unknown.json: templates: unknown key", r.log_text())

    def test_existing_file_mode_is_kept(self):
        self.put("mode/k", "m")
        src = self.key_template("mode/k")
        out = self.path("out")
        with open(out, "w") as f:
            f.write("x")
        os.chmod(out, 0o604)
        r = Runner(self, "-consul-addr", self.addr(), "-once", "-template", "%s:%s" % (src, out))
        self.assertEqual(r.wait_exit(), 0, r.log_text())
        self.assertEqual(read(out), "value=m\n")
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o604)
        fresh = self.path("sub/dir/new")
        r = Runner(self, "-consul-addr", self.addr(), "-once", "-template", "%s:%s" % (src, fresh))
        self.assertEqual(r.wait_exit(), 0, r.log_text())
        self.assertEqual(stat.S_IMODE(os.stat(fresh).st_mode), 0o644)

    def test_command_timeout_kills_the_command(self):
        self.put("slow/k", "v")
        src = self.key_template("slow/k")
        pidfile = self.path("pid")
        cfg = self.write("ct.json", json.dumps({
            "consul": {"address": self.addr()},
            "template": {"source": src, "destination": self.path("out"),
                         "command": "echo hello from the command; sleep 120 & echo $! > %s; wait"
                         % pidfile, "command_timeout": "1s"},
        }))
        r = Runner(self, "-config", cfg)
        # A failed command stops the runner with exit code 1, as consul-template does.
        self.assertEqual(r.wait_exit(), 1)
        self.assertIn("timed out", r.log_text())
        self.assertIn("hello from the command", r.log_text())
        pid = int(read(pidfile))

        def gone():
            try:
                os.kill(pid, 0)
                return False
            except ProcessLookupError:
                return True
        wait_for(gone, WAIT, what="the timed-out command killed")

    def test_failing_command_stops_the_runner_unless_told_to_ignore(self):
        self.put("fail/k", "v")
        src = self.key_template("fail/k")
        r = Runner(self, "-consul-addr", self.addr(), "-template",
                   "%s:%s:echo oops; exit 3" % (src, self.path("out")))
        self.assertEqual(r.wait_exit(), 1)
        self.assertIn("exited with status 3", r.log_text())
        self.assertIn("oops", r.log_text())
        self.assertEqual(read(self.path("out")), "value=v\n")
        count = self.path("count")
        r = Runner(self, "-consul-addr", self.addr(), "-template",
                   "%s:%s:(echo run >> %s; exit 3) || true" % (src, self.path("out2"), count))
        wait_for(lambda: lines(count) == ["run"], WAIT, what="command run")
        self.put("fail/k", "w")
        wait_for(lambda: len(lines(count)) == 2, WAIT, what="command run again")
        self.assertEqual(r.stop(), 0)

    def test_service_and_health_functions(self):
        for sid, port, status in (("web1", 8001, "passing"), ("web2", 8002, "critical")):
            self.agent.api("PUT", "/v1/agent/service/register", {
                "ID": sid, "Name": "tweb", "Port": port, "Address": "10.0.0.%d" % (port - 8000),
                "Tags": ["rails"], "Check": {"CheckID": sid + "-c", "TTL": "600s",
                                              "Status": status}})
        self.addCleanup(lambda: [self.agent.api("PUT", "/v1/agent/service/deregister/" + s)
                                 for s in ("web1", "web2")])
        src = self.write("svc.ctmpl",
                         '{{ range service "rails.tweb" }}{{ .Address }}:{{ .Port }}\n{{ end }}'
                         '{{ range service "tweb" "any" }}any {{ .ID }}\n{{ end }}'
                         '{{ range services }}{{ if eq .Name "tweb" }}svc {{ .Name }}'
                         '{{ end }}{{ end }}\n')
        out = self.path("out")
        r = Runner(self, "-consul-addr", self.addr(), "-template", "%s:%s" % (src, out))
        want = "10.0.0.1:8001\nany web1\nany web2\nsvc tweb\n"
        wait_for(lambda: read(out) == want, WAIT, what="services rendered")
        self.agent.api("PUT", "/v1/agent/check/pass/web2-c")
        want = "10.0.0.1:8001\n10.0.0.2:8002\nany web1\nany web2\nsvc tweb\n"
        wait_for(lambda: read(out) == want, WAIT, what="web2 passing rendered")
        self.assertEqual(r.stop(), 0)

    def test_sighup_rereads_templates(self):
        self.put("hup/k", "v")
        src = self.key_template("hup/k")
        out = self.path("out")
        r = Runner(self, "-consul-addr", self.addr(), "-template", "%s:%s" % (src, out))
        wait_for(lambda: read(out) == "value=v\n", WAIT, what="first render")
        self.write("in.ctmpl", 'new={{ key "hup/k" }}\n')
        r.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: read(out) == "new=v\n", WAIT, what="render after SIGHUP")
        r.proc.send_signal(signal.SIGINT)
        self.assertEqual(r.wait_exit(), 0)

    def test_exec_restarts_the_child_on_change_and_exits_with_it(self):
        self.put("exec/k", "a")
        src = self.key_template("exec/k")
        out, pids = self.path("out"), self.path("pids")
        child = "echo $$ >> %s; exec sleep 120" % pids
        r = Runner(self, "-consul-addr", self.addr(), "-template", "%s:%s" % (src, out),
                   "-exec", child)
        wait_for(lambda: len(lines(pids)) == 1, WAIT, what="child started")
        self.assertEqual(read(out), "value=a\n")  # started after the first render
        first = int(lines(pids)[0])
        self.put("exec/k", "b")
        wait_for(lambda: len(lines(pids)) == 2, WAIT, what="child restarted")
        self.assertEqual(read(out), "value=b\n")
        self.assertRaises(ProcessLookupError, os.kill, first, 0)
        second = int(lines(pids)[1])
        os.kill(second, signal.SIGKILL)  # the child dies: the runner exits with it
        self.assertEqual(r.wait_exit(), 128 + signal.SIGKILL)

    def test_exec_reload_signal_and_clean_stop(self):
        self.put("execsig/k", "a")
        src = self.key_template("execsig/k")
        out, got = self.path("out"), self.path("got")
        # The child says when its trap is in place: a SIGHUP before that would end the shell.
        child = "trap 'echo hup >> %s' HUP; echo ready >> %s; while :; do sleep 0.1; done" % (
            got, got)
        # Started as under nohup (SIGHUP ignored): the child still starts with the default, so
        # its trap works (a shell cannot trap a signal ignored when it started).
        r = Runner(self, "-consul-addr", self.addr(), "-template", "%s:%s" % (src, out),
                   "-exec", child, "-exec-reload-signal", "SIGHUP", ignore_hup=True)
        r.wait_log("exec: started")
        wait_for(lambda: lines(got) == ["ready"], WAIT, what="child's trap installed")
        self.put("execsig/k", "b")
        wait_for(lambda: lines(got) == ["ready", "hup"], WAIT, what="reload signal delivered")
        self.assertEqual(r.stop(), 0)


if __name__ == "__main__":
    watchdog(600)
    unittest.main(verbosity=2)
