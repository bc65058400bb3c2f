#!/usr/bin/env python3
"""Health checks that really run (spec 4.3): the real binary probes an HTTP server, a TCP
listener, a UDP socket and scripts that this test controls on 127.0.0.1, and DNS, the health
API and blocking queries follow each status change.

deregister_critical_service_after is not exercised here: Consul's floor is one minute, too slow
for this suite; tests/unit/agent covers the reaper with run-check results on a fake clock.
"""

import http.server
import json
import os
import socket
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, free_port, http_request, wait_for, watchdog  # noqa: E402

WAIT = 20  # seconds: every check runs at least once a second


class ControlledHttp:
    """HTTP server: per path, the status code and body to answer; counts answers per code."""

    def __init__(self):
        self.lock = threading.Lock()
        self.routes = {}  # path -> (code, body)
        self.served = {}  # path -> list of codes answered
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                with outer.lock:
                    code, body = outer.routes.get(self.path, (404, "no route"))
                    outer.served.setdefault(self.path, []).append(code)
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set(self, path, code, body="ok"):
        with self.lock:
            self.routes[path] = (code, body)
            self.served[path] = []

    def count(self, path, code):
        with self.lock:
            return sum(1 for c in self.served.get(path, []) if c == code)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class TcpListener:
    """Accepts (and closes) connections on 127.0.0.1:port until closed."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


def udp_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    return s


def service(name, port, check):
    return {"service": {"name": name, "port": port, "check": check}}


class TestRunChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.web = ControlledHttp()
        for path in ("/web", "/thr", "/node"):
            cls.web.set(path, 200, "ok")
        cls.tcp_port = free_port()
        cls.tcp = TcpListener(cls.tcp_port)
        cls.udp_port = free_port()
        cls.udp = udp_socket(cls.udp_port)
        cls.tmp = tempfile.TemporaryDirectory(prefix="beacon-health-")
        cls.code_file = os.path.join(cls.tmp.name, "code")
        with open(cls.code_file, "w") as f:
            f.write("0")
        files = {
            "web.json": service("web", 80, {"http": cls.web.url("/web"), "interval": "1s"}),
            "tcpsvc.json": service("tcpsvc", 81, {"tcp": "127.0.0.1:%d" % cls.tcp_port,
                                                   "interval": "1s", "timeout": "2s"}),
            "udpsvc.json": service("udpsvc", 82, {"udp": "127.0.0.1:%d" % cls.udp_port,
                                                   "interval": "1s", "timeout": "300ms"}),
            "scr.json": service("scr", 83, {"args": ["sh", "-c", "echo hello; exit $(cat %s)"
                                                     % cls.code_file], "interval": "1s"}),
            "thr.json": service("thr", 84, {"http": cls.web.url("/thr"), "interval": "1s",
                                            "status": "passing",
                                            "failures_before_critical": 3,
                                            "success_before_passing": 2}),
            "mirror.json": service("mirror", 85, {"alias_service": "web"}),
            "node.json": {"check": {"name": "node-http", "http": cls.web.url("/node"),
                                    "interval": "1s"}},
        }
        cls.agent = Agent(extra_config_files=files, extra_args=["-enable-script-checks"])
        cls.agent.start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()
        cls.web.stop()
        cls.tcp.close()
        cls.udp.close()
        cls.tmp.cleanup()

    # helpers

    def rcode(self, name):
        r = self.agent.dig(name + ".service.consul", "A")
        return r.status

    def wait_dns(self, name, status):
        wait_for(lambda: self.rcode(name) == status, WAIT,
                 what="%s.service.consul -> %s" % (name, status))
        r = self.agent.dig(name + ".service.consul", "A")
        self.assertEqual(r.status, status)
        if status == "NOERROR":
            self.assertEqual(r.data("answer", "A"), ["127.0.0.1"])

    def agent_check(self, cid):
        return self.agent.api("GET", "/v1/agent/checks")[cid]

    def wait_check(self, cid, status):
        return wait_for(lambda: (lambda c: c if c["Status"] == status else None)(
            self.agent_check(cid)), WAIT, what="check %s %s" % (cid, status))

    def health_index(self, name):
        r = self.agent.http("GET", "/v1/health/service/" + name)
        self.assertEqual(r.status, 200)
        return r.index

    # tests

    def test_http_check_follows_the_server(self):
        self.wait_dns("web", "NOERROR")
        c = self.wait_check("service:web", "passing")
        self.assertEqual(c["Output"], "HTTP GET %s: 200 OK Output: ok" % self.web.url("/web"))
        self.wait_dns("mirror", "NOERROR")  # alias_service web
        self.web.set("/web", 500, "boom")
        self.wait_dns("web", "NXDOMAIN")
        c = self.wait_check("service:web", "critical")
        self.assertEqual(c["Output"],
                         "HTTP GET %s: 500 Internal Server Error Output: boom" % self.web.url("/web"))
        self.wait_dns("mirror", "NXDOMAIN")
        c = self.wait_check("service:mirror", "critical")
        self.assertEqual(c["Output"], 'Aliased check "Service \'web\' check" failing: '
                         "HTTP GET %s: 500 Internal Server Error Output: boom" % self.web.url("/web"))
        self.web.set("/web", 200, "ok")
        self.wait_dns("web", "NOERROR")
        self.wait_dns("mirror", "NOERROR")

    def test_tcp_check_follows_the_listener(self):
        self.wait_dns("tcpsvc", "NOERROR")
        self.assertEqual(self.agent_check("service:tcpsvc")["Output"],
                         "TCP connect 127.0.0.1:%d: Success" % self.tcp_port)
        self.tcp.close()
        self.wait_dns("tcpsvc", "NXDOMAIN")
        type(self).tcp = TcpListener(self.tcp_port)
        self.wait_dns("tcpsvc", "NOERROR")

    def test_udp_check_turns_critical_on_port_unreachable(self):
        self.wait_dns("udpsvc", "NOERROR")
        self.udp.close()
        self.wait_dns("udpsvc", "NXDOMAIN")
        self.assertIn("Failed to read UDP response", self.agent_check("service:udpsvc")["Output"])
        type(self).udp = udp_socket(self.udp_port)
        self.wait_dns("udpsvc", "NOERROR")

    def test_script_check_exit_codes(self):
        self.wait_dns("scr", "NOERROR")
        self.assertEqual(self.agent_check("service:scr")["Output"], "hello\n")
        for code, status, dns in (("2", "critical", "NXDOMAIN"), ("1", "warning", "NOERROR"),
                                  ("0", "passing", "NOERROR")):
            with open(self.code_file, "w") as f:
                f.write(code)
            self.wait_check("service:scr", status)
            self.wait_dns("scr", dns)

    def test_thresholds_need_consecutive_results(self):
        self.wait_check("service:thr", "passing")
        self.web.set("/thr", 500, "bad")

        def critical_after_three_failures():
            st = self.agent_check("service:thr")["Status"]
            failures = self.web.count("/thr", 500)  # read after the status
            if st == "critical":
                self.assertGreaterEqual(failures, 3)
                return True
            self.assertEqual(st, "passing")
            return False

        wait_for(critical_after_three_failures, WAIT, what="thr critical")
        self.web.set("/thr", 200, "ok")

        def passing_after_two_successes():
            st = self.agent_check("service:thr")["Status"]
            successes = self.web.count("/thr", 200)
            if st == "passing":
                self.assertGreaterEqual(successes, 2)
                return True
            self.assertEqual(st, "critical")
            return False

        wait_for(passing_after_two_successes, WAIT, what="thr passing")

    def test_output_only_changes_keep_the_index_and_status_changes_wake_watchers(self):
        self.web.set("/web", 200, "ok")
        self.wait_check("service:web", "passing")
        index = self.health_index("web")
        self.web.set("/web", 200, "ok, new output")
        # Two runs saw the new body (the first one changed the output, the second did not).
        wait_for(lambda: self.web.count("/web", 200) >= 2, WAIT, what="two runs")
        self.assertEqual(self.health_index("web"), index)
        self.assertEqual(self.agent_check("service:web")["Status"], "passing")

        reply = {}

        def watch():
            reply["r"] = http_request(self.agent.http_port, "GET",
                                      "/v1/health/service/web?index=%d&wait=60s" % index,
                                      timeout=90)

        t = threading.Thread(target=watch)
        t.start()
        self.web.set("/web", 500, "down")
        t.join(90)
        self.assertFalse(t.is_alive())
        r = reply["r"]
        self.assertEqual(r.status, 200)
        self.assertGreater(r.index, index)
        checks = [c for c in r.json()[0]["Checks"] if c["CheckID"] == "service:web"]
        self.assertEqual(checks[0]["Status"], "critical")
        self.web.set("/web", 200, "ok")
        self.wait_dns("web", "NOERROR")

    def test_node_check_takes_every_service_down(self):
        self.wait_dns("tcpsvc", "NOERROR")
        self.web.set("/web", 200, "ok")
        self.wait_dns("web", "NOERROR")
        self.web.set("/node", 503, "node down")
        self.wait_check("node-http", "critical")
        self.wait_dns("web", "NXDOMAIN")
        self.wait_dns("tcpsvc", "NXDOMAIN")
        self.web.set("/node", 200, "ok")
        self.wait_dns("web", "NOERROR")
        self.wait_dns("tcpsvc", "NOERROR")


class TestScriptPolicy(unittest.TestCase):
    SCRIPT = {"args": ["sh", "-c", "exit 0"], "interval": "1s"}

    def test_config_script_check_refused_without_a_flag(self):
        agent = Agent(extra_config_files={"scripted.json": service("s", 1, self.SCRIPT)})
        try:
            with self.assertRaises(RuntimeError) as ctx:
                agent.start(timeout=5)
            msg = str(ctx.exception)
            self.assertIn("scripted.json", msg)
            self.assertIn("Scripts are disabled on this agent; to enable, configure "
                          "'enable_script_checks' or 'enable_local_script_checks' to true", msg)
        finally:
            agent.close()

    def test_local_flag_runs_config_scripts_but_refuses_api_scripts(self):
        agent = Agent(config={"enable_local_script_checks": True},
                      extra_config_files={"scripted.json": service("s", 1, self.SCRIPT)})
        with agent:
            wait_for(lambda: agent.api("GET", "/v1/agent/checks")["service:s"]["Status"]
                     == "passing", WAIT, what="config script check passing")
            r = agent.http("PUT", "/v1/agent/check/register",
                           {"Name": "api-script", "Args": ["sh", "-c", "exit 0"],
                            "Interval": "1s"})
            self.assertEqual(r.status, 500)
            self.assertIn(b"Scripts are disabled on this agent from remote calls", r.body)
            self.assertNotIn("api-script", agent.api("GET", "/v1/agent/checks"))

    def test_reload_that_enables_scripts_starts_the_script_check(self):
        with Agent(config={}) as agent:
            agent.write_file("scripted.json", service("s", 1, self.SCRIPT))
            agent.reload({"enable_local_script_checks": True})
            wait_for(lambda: agent.api("GET", "/v1/agent/checks").get("service:s", {})
                     .get("Status") == "passing", WAIT, what="script check after reload")

    def test_api_script_check_runs_with_enable_script_checks(self):
        with Agent(config={"enable_script_checks": True}) as agent:
            agent.api("PUT", "/v1/agent/check/register",
                      {"Name": "api-script", "Args": ["sh", "-c", "echo fine"],
                       "Interval": "1s"})
            c = wait_for(lambda: (lambda x: x if x["Status"] == "passing" else None)(
                agent.api("GET", "/v1/agent/checks")["api-script"]), WAIT, what="api script")
            self.assertEqual(c["Output"], "fine\n")


if __name__ == "__main__":
    watchdog(170)
    unittest.main(verbosity=2)
