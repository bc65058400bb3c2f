#!/usr/bin/env python3
"""The operator CLI (`beacon members|kv|catalog|services|maint|reload|info|keygen|monitor|watch|
lock`) run as a user would against a real agent: stdout, stderr and exit codes as Consul's."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, BEACON, dig, free_port, stop_process, wait_for  # noqa: E402

HANDLER_TIMEOUT = 20


class Cli:
    """Runs `beacon <args>` against one agent, by flag (default) or through CONSUL_HTTP_ADDR."""

    def __init__(self, agent):
        self.agent = agent

    def env(self, extra=None):
        env = {k: v for k, v in os.environ.items()
               if k not in ("CONSUL_HTTP_ADDR", "BEACON_HTTP_ADDR", "CONSUL_HTTP_TOKEN")}
        env.update(extra or {})
        return env

    def run(self, *args, stdin=None, use_env=False, timeout=30):
        cmd = [BEACON] + list(args[:1])
        rest = list(args[1:])
        env = self.env({"CONSUL_HTTP_ADDR": self.agent.http_addr} if use_env else None)
        if not use_env:
            # Sub-commands take the flag after their last name word.
            words = 2 if args and args[0] in ("kv", "catalog", "services") else 1
            cmd = [BEACON] + list(args[:words]) + ["-http-addr", self.agent.http_addr] + \
                list(args[words:])
            rest = None
        if rest is not None:
            cmd += rest
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                              env=env)

    def popen(self, *args, stdout=None, cwd=None):
        words = 2 if args and args[0] in ("kv", "catalog", "services") else 1
        cmd = [BEACON] + list(args[:words]) + ["-http-addr", self.agent.http_addr] + \
            list(args[words:])
        return subprocess.Popen(cmd, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, env=self.env(), cwd=cwd)


def columns(line):
    return re.split(r"\s{2,}", line.strip())


def finish(proc):
    """Stops (if still running) and reaps a CLI process, closing its pipes."""
    stop_process(proc)
    for pipe in (proc.stdout, proc.stderr):
        if pipe:
            pipe.close()


def wait_exit(proc, timeout=HANDLER_TIMEOUT):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(proc)
        raise


class TestCliOps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(node="cli-node")
        cls.agent.start()
        cls.cli = Cli(cls.agent)
        cls.tmp = tempfile.TemporaryDirectory(prefix="beacon-cli-")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()
        cls.agent.close()
        cls.tmp.cleanup()

    def ok(self, *args, **kw):
        r = self.cli.run(*args, **kw)
        self.assertEqual(r.returncode, 0, "%s: %s%s" % (args, r.stdout, r.stderr))
        return r

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    # ---------------------------------------------------------------- members, info, reload

    def test_members_table_and_status_filter(self):
        for use_env in (False, True):
            r = self.ok("members", use_env=use_env)
            lines = r.stdout.splitlines()
            self.assertEqual(columns(lines[0]), ["Node", "Address", "Status", "Type", "Build",
                                                 "Protocol", "DC", "Segment"])
            row = columns(lines[1])
            self.assertEqual(row[0], "cli-node")
            self.assertRegex(row[1], r"^127\.0\.0\.1:\d+$")
            self.assertEqual(row[2], "alive")
            self.assertNotIn(":", row[4])  # build cut at ':'
            self.assertEqual(row[6], "dc1")
        r = self.cli.run("members", "-status=fail.*")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (2, "", ""))
        r = self.ok("members", "-detailed")
        self.assertEqual(columns(r.stdout.splitlines()[0]), ["Node", "Address", "Status", "Tags"])
        tags = columns(r.stdout.splitlines()[1])[3].split(",")
        self.assertEqual(tags, sorted(tags))
        self.assertIn("dc=dc1", tags)

    def test_info_sections(self):
        r = self.ok("info")
        lines = r.stdout.splitlines()
        sections = [l[:-1] for l in lines if not l.startswith("\t")]
        self.assertIn("agent", sections)
        self.assertEqual(sections, sorted(sections))
        for l in lines:
            if l.startswith("\t"):
                self.assertRegex(l, r"^\t\S+ = ")

    def test_reload(self):
        r = self.ok("reload")
        self.assertEqual(r.stdout, "Configuration reload triggered\n")

    def test_reload_without_agent(self):
        port = free_port()
        r = subprocess.run([BEACON, "reload", "-http-addr", "http://127.0.0.1:%d" % port],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, 'Error reloading: Put "http://127.0.0.1:%d/v1/agent/reload": '
                                   'dial tcp 127.0.0.1:%d: connect: connection refused\n'
                         % (port, port))

    # ---------------------------------------------------------------- kv

    def test_kv_put_get_variants(self):
        self.assertEqual(self.ok("kv", "put", "app/a", "one").stdout,
                         "Success! Data written to: app/a\n")
        self.ok("kv", "put", "-flags=42", "app/b", "two words")
        self.ok("kv", "put", "app/c/d", "-", stdin="from stdin\n")
        with open(self.path("value.txt"), "w") as f:
            f.write("from a file")
        self.ok("kv", "put", "app/file", "@" + self.path("value.txt"))
        self.ok("kv", "put", "-base64", "app/b64", base64.b64encode(b"raw").decode())
        self.assertEqual(self.ok("kv", "get", "app/a").stdout, "one\n")
        self.assertEqual(self.ok("kv", "get", "/app/c/d").stdout, "from stdin\n\n")
        self.assertEqual(self.ok("kv", "get", "app/file", use_env=True).stdout, "from a file\n")
        self.assertEqual(self.ok("kv", "get", "app/b64").stdout, "raw\n")
        self.assertEqual(self.ok("kv", "get", "-base64", "app/a").stdout, "b25l\n")
        self.assertEqual(self.ok("kv", "get", "-recurse", "app/").stdout,
                         "app/a:one\napp/b:two words\napp/b64:raw\napp/c/d:from stdin\n\n"
                         "app/file:from a file\n")
        self.assertEqual(self.ok("kv", "get", "-keys", "app/").stdout,
                         "app/a\napp/b\napp/b64\napp/c/\napp/file\n")
        self.assertEqual(self.ok("kv", "get", "-keys", "-separator=", "app/c").stdout,
                         "app/c/d\n")
        detailed = self.ok("kv", "get", "-detailed", "app/b").stdout.splitlines()
        self.assertEqual([l.split()[0] for l in detailed],
                         ["CreateIndex", "Flags", "Key", "LockIndex", "ModifyIndex", "Session",
                          "Value"])
        self.assertEqual(detailed[1], "Flags            42")
        self.assertEqual(detailed[2], "Key              app/b")
        self.assertEqual(detailed[5], "Session          -")
        self.assertEqual(detailed[6], "Value            two words")

    def test_kv_missing_key_and_cas(self):
        r = self.cli.run("kv", "get", "no/such/key")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", "Error! No key exists at: no/such/key\n"))
        self.ok("kv", "put", "cas/k", "v1")
        idx = self.ok("kv", "get", "-detailed", "cas/k").stdout.splitlines()[4].split()[1]
        r = self.cli.run("kv", "put", "-cas", "-modify-index=%d" % (int(idx) + 1000), "cas/k", "x")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "Error! Did not write to cas/k: CAS failed\n"))
        self.ok("kv", "put", "-cas", "-modify-index=" + idx, "cas/k", "v2")
        self.assertEqual(self.ok("kv", "get", "cas/k").stdout, "v2\n")
        r = self.cli.run("kv", "delete", "-cas", "-modify-index=1", "cas/k")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "Error! Did not delete key cas/k: CAS failed\n"))
        self.assertEqual(self.ok("kv", "delete", "cas/k").stdout, "Success! Deleted key: cas/k\n")
        r = self.cli.run("kv", "put", "-cas", "cas/k", "x")
        self.assertEqual((r.returncode, r.stderr), (1, "Must specify -modify-index with -cas!\n"))

    def test_kv_acquire_release(self):
        sess = self.agent.api("PUT", "/v1/session/create", {"Name": "cli-test"})["ID"]
        self.assertEqual(self.ok("kv", "put", "-acquire", "-session=" + sess, "lk", "x").stdout,
                         "Success! Lock acquired on: lk\n")
        other = self.agent.api("PUT", "/v1/session/create", {"Name": "cli-other"})["ID"]
        r = self.cli.run("kv", "put", "-acquire", "-session=" + other, "lk", "y")
        self.assertEqual((r.returncode, r.stderr), (1, "Error! Did not acquire lock\n"))
        self.assertEqual(self.ok("kv", "put", "-release", "-session=" + sess, "lk").stdout,
                         "Success! Lock released on: lk\n")
        self.agent.api("PUT", "/v1/session/destroy/" + sess)
        self.agent.api("PUT", "/v1/session/destroy/" + other)

    def test_kv_delete_recurse_export_import_round_trip(self):
        self.ok("kv", "put", "exp/x", "1")
        self.ok("kv", "put", "-flags=7", "exp/y/z", "two")
        exported = self.ok("kv", "export", "exp/").stdout
        self.assertEqual(json.loads(exported), [
            {"key": "exp/x", "flags": 0, "value": base64.b64encode(b"1").decode()},
            {"key": "exp/y/z", "flags": 7, "value": base64.b64encode(b"two").decode()}])
        self.assertIn('\n\t{\n\t\t"key": "exp/x",\n', exported)  # MarshalIndent with tabs
        self.assertEqual(self.ok("kv", "delete", "-recurse", "exp/").stdout,
                         "Success! Deleted keys with prefix: exp/\n")
        self.assertEqual(self.ok("kv", "get", "-recurse", "exp/").stdout, "")
        with open(self.path("export.json"), "w") as f:
            f.write(exported)
        self.assertEqual(self.ok("kv", "import", "@" + self.path("export.json")).stdout,
                         "Imported: exp/x\nImported: exp/y/z\n")
        self.assertEqual(self.ok("kv", "get", "-recurse", "exp/").stdout, "exp/x:1\nexp/y/z:two\n")
        self.ok("kv", "delete", "-recurse", "exp/")
        self.ok("kv", "import", "-", stdin=exported)
        self.assertEqual(self.ok("kv", "export", "exp/").stdout, exported)
        self.ok("kv", "delete", "-recurse", "exp/")

    # ---------------------------------------------------------------- services, catalog

    def test_services_register_catalog_and_deregister(self):
        with open(self.path("api.json"), "w") as f:
            json.dump({"service": {"name": "api", "port": 8080, "tags": ["v2", "blue"]}}, f)
        with open(self.path("db.yaml"), "w") as f:
            f.write("services:\n  - name: db\n    id: db-1\n    port: 5432\n")
        self.assertEqual(self.ok("services", "register", self.path("api.json")).stdout,
                         "Registered service: api\n")
        self.assertEqual(self.ok("services", "register", self.path("db.yaml")).stdout,
                         "Registered service: db\n")
        self.assertEqual(self.ok("services", "register", "-name=cache", "-port=6379", "-tag=a",
                                 "-meta", "k=v").stdout, "Registered service: cache\n")
        services = self.ok("catalog", "services").stdout.splitlines()
        self.assertTrue({"api", "db", "cache"} <= set(services))
        self.assertEqual(services, sorted(services))
        tagged = {columns(l)[0]: (columns(l) + [""])[1]
                  for l in self.ok("catalog", "services", "-tags").stdout.splitlines()}
        self.assertEqual(tagged["api"], "blue,v2")
        self.assertEqual(tagged["cache"], "a")
        self.assertEqual(self.ok("catalog", "services", "-node", "cli-node").stdout.splitlines(),
                         services)
        r = self.ok("catalog", "services", "-node-meta", "no=such")
        self.assertEqual((r.stdout, r.stderr),
                         ("", "No services match the given query - try expanding your search.\n"))
        nodes = self.ok("catalog", "nodes", "-service=api").stdout.splitlines()
        self.assertEqual(columns(nodes[0]), ["Node", "ID", "Address", "DC"])
        row = columns(nodes[1])
        self.assertEqual(row[0], "cli-node")
        self.assertRegex(row[1], r"^[0-9a-f]{8}$")
        self.assertEqual(self.ok("catalog", "datacenters").stdout, "dc1\n")
        self.assertEqual(self.ok("services", "deregister", self.path("db.yaml")).stdout,
                         "Deregistered service: db-1\n")
        self.assertEqual(self.ok("services", "deregister", "-id", "cache").stdout,
                         "Deregistered service: cache\n")
        r = self.cli.run("services", "deregister", "-id", "cache")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith('Error deregistering service "cache": '
                                            'Unexpected response code: 404'), r.stderr)
        self.ok("services", "deregister", self.path("api.json"))
        self.assertNotIn("api", self.ok("catalog", "services").stdout.splitlines())

    # ---------------------------------------------------------------- maint

    def passing(self, name):
        return self.agent.api("GET", "/v1/health/service/%s?passing" % name)

    def test_maint_node_and_service(self):
        self.ok("services", "register", "-name=web", "-port=80")
        self.assertEqual(len(self.passing("web")), 1)
        self.assertEqual(dig(self.agent.dns_port, "web.service.consul", "A").data(), ["127.0.0.1"])
        self.assertEqual(self.ok("maint").stdout, "")
        self.assertEqual(self.ok("maint", "-enable", "-reason", "disk swap").stdout,
                         "Node maintenance is now enabled\n")
        self.assertEqual(self.passing("web"), [])
        wait_for(lambda: dig(self.agent.dns_port, "web.service.consul", "A").answer == [], 10,
                 what="web to leave DNS")
        self.assertEqual(self.ok("maint", "-enable", "-service", "web").stdout,
                         'Service maintenance is now enabled for "web"\n')
        listing = self.ok("maint").stdout
        self.assertIn("Node:\n  Name:   cli-node\n  Reason: disk swap\n\n", listing)
        self.assertIn("Service:\n  ID:     web\n  Reason: ", listing)
        self.assertEqual(self.ok("maint", "-disable").stdout, "Node maintenance is now disabled\n")
        self.assertEqual(self.passing("web"), [])  # the service is still in maintenance
        self.assertEqual(self.ok("maint", "-disable", "-service", "web").stdout,
                         'Service maintenance is now disabled for "web"\n')
        self.assertEqual(len(self.passing("web")), 1)
        wait_for(lambda: dig(self.agent.dns_port, "web.service.consul", "A").data() ==
                 ["127.0.0.1"], 10, what="web back in DNS")
        self.assertEqual(self.ok("maint").stdout, "")
        r = self.cli.run("maint", "-enable", "-service", "nope")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("Error enabling service maintenance: Unexpected "
                                            "response code: 404"), r.stderr)
        self.ok("services", "deregister", "-id", "web")

    # ---------------------------------------------------------------- keygen, help, misuse

    def test_keygen(self):
        keys = set()
        for _ in range(2):
            r = subprocess.run([BEACON, "keygen"], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            key = r.stdout.strip()
            self.assertEqual(len(key), 44)
            self.assertEqual(len(base64.b64decode(key)), 32)
            keys.add(key)
        self.assertEqual(len(keys), 2)

    def test_help_and_misuse(self):
        r = subprocess.run([BEACON, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("Usage: beacon [--version] [--help] <command> "
                                            "[<args>]\n\nAvailable commands are:\n"))
        for cmd in ("members", "kv", "catalog", "maint", "watch", "lock", "monitor", "keygen"):
            self.assertRegex(r.stdout, r"\n    %s\s+\S" % cmd)
        r = subprocess.run([BEACON, "kv", "put", "-h"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("Usage: beacon kv put [options] KEY [DATA]"))
        r = self.cli.run("kv", "get", "-bogus", "x")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("flag provided but not defined: -bogus\n"), r.stderr)
        r = self.cli.run("lock", "-n", "x", "p", "c")
        self.assertEqual((r.returncode, r.stderr.splitlines()[0]),
                         (1, 'invalid value "x" for flag -n: parse error'))
        r = self.cli.run("maint", "-reason", "x")
        self.assertEqual((r.returncode, r.stderr), (1, "Reason may only be provided with -enable\n"))
        r = self.cli.run("join", "127.0.0.2")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("Error joining address '127.0.0.2': "), r.stderr)
        self.assertTrue(r.stderr.endswith("Failed to join any nodes.\n"), r.stderr)

    # ---------------------------------------------------------------- monitor

    def test_monitor_streams_log_lines(self):
        out = self.path("monitor.out")
        with open(out, "w") as f:
            proc = self.cli.popen("monitor", "-log-level=debug", stdout=f)
        try:
            def reloaded():
                self.agent.reload()  # SIGHUP: the agent logs "configuration reloaded"
                with open(out) as f:
                    return "agent: configuration reloaded" in f.read()
            wait_for(reloaded, 15, interval=0.3, what="monitor output")
            proc.send_signal(signal.SIGINT)
            self.assertEqual(wait_exit(proc), 0)
        finally:
            finish(proc)
        with open(out) as f:
            line = next(l for l in f if "configuration reloaded" in l)
        self.assertRegex(line, r"^\d{4}-\d\d-\d\dT[\d:.]+Z \[INFO\] agent: configuration reloaded$")

    def test_monitor_bad_level(self):
        r = self.cli.run("monitor", "-log-level=loud")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "Error starting monitor: Unexpected response code: 400 "
                             "(Unknown log level: loud)\n"))

    # ---------------------------------------------------------------- watch

    def test_watch_without_handler_prints_once(self):
        self.ok("kv", "put", "w1/k", "hello")
        r = self.ok("watch", "-type=key", "-key=w1/k")
        data = json.loads(r.stdout)
        self.assertEqual(data["Key"], "w1/k")
        self.assertEqual(base64.b64decode(data["Value"]), b"hello")
        self.assertTrue(r.stdout.startswith('{\n    "Key": "w1/k",\n'))
        r = self.ok("watch", "-type=services")
        self.assertIn("consul", json.loads(r.stdout))

    def test_watch_runs_handler_on_each_change(self):
        outdir = self.path("watch-out")
        os.mkdir(outdir)
        script = self.path("handler.sh")
        with open(script, "w") as f:
            # Written aside, then renamed: the test polls the directory and reads what it finds.
            f.write('#!/bin/sh\ncat > "%s.$CONSUL_INDEX" && mv "%s.$CONSUL_INDEX" "%s/run.$CONSUL_INDEX"\n'
                    % (outdir, outdir, outdir))
        os.chmod(script, 0o755)
        self.ok("kv", "put", "w2/k", "v1")
        proc = self.cli.popen("watch", "-type=key", "-key=w2/k", script)
        try:
            def runs():
                return sorted(os.listdir(outdir), key=lambda n: int(n.split(".")[1]))
            wait_for(lambda: len(runs()) == 1, HANDLER_TIMEOUT, what="initial handler run")
            self.ok("kv", "put", "w2/k", "v2")
            wait_for(lambda: len(runs()) == 2, HANDLER_TIMEOUT, what="second handler run")
            self.ok("kv", "put", "w2/other", "x")  # another key: no run for w2/k
            self.ok("kv", "put", "w2/k", "v3")
            wait_for(lambda: len(runs()) == 3, HANDLER_TIMEOUT, what="third handler run")
            values = []
            for name in runs():
                with open(os.path.join(outdir, name)) as f:
                    pair = json.load(f)
                self.assertEqual(int(name.split(".")[1]), pair["ModifyIndex"])
                values.append(base64.b64decode(pair["Value"]))
            self.assertEqual(values, [b"v1", b"v2", b"v3"])
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(wait_exit(proc), 0)
        finally:
            finish(proc)

    def test_watch_misuse(self):
        r = self.cli.run("watch")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("Watch type must be specified\n\nUsage: beacon watch"))
        r = self.cli.run("watch", "-type=service")
        self.assertEqual((r.returncode, r.stderr), (1, "Must specify a single service to watch\n"))

    # ---------------------------------------------------------------- lock

    def sessions(self):
        return self.agent.api("GET", "/v1/session/list")

    def test_lock_runs_child_and_propagates_its_exit_code(self):
        marker = self.path("lock-env")
        r = self.ok("lock", "locks/simple", 'echo "$CONSUL_LOCK_HELD" > %s' % marker)
        with open(marker) as f:
            self.assertEqual(f.read(), "true\n")
        r = self.cli.run("lock", "locks/simple", "exit 3")
        self.assertEqual(r.returncode, 3)
        self.assertEqual(self.ok("kv", "get", "-recurse", "locks/simple").stdout, "")
        self.assertEqual([s for s in self.sessions() if "locks/simple" in s["Name"]], [])

    def test_second_lock_waits_for_the_first(self):
        d = self.path("lockwait")
        os.mkdir(d)
        first = self.cli.popen("lock", "locks/wait",
                               "touch %s/a; while [ ! -e %s/release ]; do sleep 0.1; done" % (d, d))
        second = None
        try:
            wait_for(lambda: os.path.exists(d + "/a"), HANDLER_TIMEOUT, what="first child")
            second = self.cli.popen("lock", "locks/wait", "touch %s/b" % d)
            wait_for(lambda: len([s for s in self.sessions() if "locks/wait" in s["Name"]]) == 2,
                     HANDLER_TIMEOUT, what="second contender's session")
            self.assertFalse(os.path.exists(d + "/b"))  # the first one still holds the lock
            r = self.cli.run("lock", "-timeout=500ms", "locks/wait", "touch %s/c" % d)
            self.assertEqual((r.returncode, r.stderr),
                             (1, "Shutdown triggered or timeout during lock acquisition\n"))
            self.assertFalse(os.path.exists(d + "/c"))
            open(d + "/release", "w").close()
            self.assertEqual(wait_exit(first), 0)
            self.assertEqual(wait_exit(second), 0)
            self.assertTrue(os.path.exists(d + "/b"))
        finally:
            finish(first)
            if second:
                finish(second)

    def test_lost_lock_kills_the_child(self):
        pidfile = self.path("lock-child.pid")
        proc = self.cli.popen("lock", "locks/lost", "echo $$ > %s; exec sleep 60" % pidfile)
        try:
            wait_for(lambda: os.path.exists(pidfile) and os.path.getsize(pidfile) > 0,
                     HANDLER_TIMEOUT, what="lock child")
            with open(pidfile) as f:
                child = int(f.read())
            sess = [s["ID"] for s in self.sessions() if "locks/lost" in s["Name"]]
            self.assertEqual(len(sess), 1)
            self.agent.api("PUT", "/v1/session/destroy/" + sess[0])
            rc = wait_exit(proc)
            self.assertNotEqual(rc, 0)
            self.assertIn("Lock lost, killing child\n", proc.stderr.read())

            def gone():
                try:
                    os.kill(child, 0)
                    return False
                except ProcessLookupError:
                    return True
            wait_for(gone, 10, what="child killed")
        finally:
            finish(proc)

    def test_semaphore_admits_n_holders(self):
        d = self.path("sem")
        os.mkdir(d)
        procs = [self.cli.popen("lock", "-n=2", "locks/sem",
                                "touch %s/h%d; while [ ! -e %s/release ]; do sleep 0.1; done"
                                % (d, i, d)) for i in range(2)]
        try:
            wait_for(lambda: len(os.listdir(d)) == 2, HANDLER_TIMEOUT, what="two holders")
            sem = json.loads(self.ok("kv", "get", "locks/sem/.lock").stdout)
            self.assertEqual(sem["Limit"], 2)
            self.assertEqual(len(sem["Holders"]), 2)
            open(d + "/release", "w").close()
            for p in procs:
                self.assertEqual(wait_exit(p), 0)
            self.assertEqual(self.ok("kv", "get", "-recurse", "locks/sem").stdout, "")
        finally:
            for p in procs:
                finish(p)


if __name__ == "__main__":
    unittest.main(verbosity=2)
