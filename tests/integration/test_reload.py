#!/usr/bin/env python3
"""Live reload (SIGHUP and PUT /v1/agent/reload) applies the config dir as a diff.

The real agent runs on a config dir while a background loop queries a stable service over UDP
without pause. The test adds, changes and removes files and writes a broken one, reloading
after each through SIGHUP or the HTTP API: no query may fail or go unanswered meanwhile, what
did not change keeps its check status and blocking-query index, and a broken file is reported
with its file, line and key while the running config keeps answering.
"""

import os
import re
import signal
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Agent, build_query, parse_message, udp_exchange, wait_for,  # noqa: E402
                     watchdog)

STABLE = {"service": {"name": "stable", "port": 7000}}
CACHE = {"service": {"name": "cache", "port": 6379,
                     "check": {"id": "cache-ttl", "name": "cache ttl", "ttl": "10m"}}}
ADDED = {"service": {"name": "added", "port": 7100}}
ADDED_CHANGED = {"service": {"name": "added", "port": 7200}}
# Line 4 holds the bad key: the error must name it.
BROKEN = '{\n  "service": {\n    "name": "broken",\n    "port": "eighty"\n  }\n}\n'


class QueryLoop:
    """Queries `name` A over UDP back to back in a thread; records every failure."""

    def __init__(self, port, name):
        self.port = port
        self.name = name
        self.queries = 0
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            reply = udp_exchange(self.port, build_query(self.name, "A"), timeout=2.0)
            self.queries += 1
            if reply is None:
                self.failures.append("timeout")
                continue
            msg = parse_message(reply)
            if msg["rcode"] != 0 or not msg["answer"]:
                self.failures.append("%s with %d answers" % (msg["rcode_name"], len(msg["answer"])))
            self._stop.wait(0.002)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)


class TestReload(unittest.TestCase):
    def setUp(self):
        self.agent = Agent(config={"node_meta": {"rack": "r1"}},
                           extra_config_files={"stable.json": STABLE, "cache.json": CACHE})
        self.agent.start()
        self.addCleanup(self.agent.close)

    # helpers ----------------------------------------------------------------------------------

    def rcode(self, name, qtype="A"):
        reply = udp_exchange(self.agent.dns_port, build_query(name, qtype), timeout=2.0)
        self.assertIsNotNone(reply, "no answer for %s" % name)
        return parse_message(reply)

    def answers(self, name):
        msg = self.rcode(name)
        return msg["rcode_name"] == "NOERROR" and len(msg["answer"]) > 0

    def nxdomain(self, name):
        return self.rcode(name)["rcode_name"] == "NXDOMAIN"

    def srv_port(self, name):
        msg = self.rcode(name, "SRV")
        if not msg["answer"]:
            return None
        return int.from_bytes(msg["answer"][0]["rdata"][4:6], "big")

    def reloads_logged(self):
        return self.agent.log_text().count("configuration reloaded")

    def sighup(self):
        """SIGHUP, then wait until the agent logged the outcome (reloaded or failed)."""
        before = self.reloads_logged() + self.agent.log_text().count("reload failed")
        self.agent.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.reloads_logged() + self.agent.log_text().count("reload failed")
                 > before, 10, what="the agent to log the SIGHUP reload")

    def api_reload(self, expect=200):
        r = self.agent.http("PUT", "/v1/agent/reload")
        self.assertEqual(r.status, expect, r.body)
        return r

    def reload_both(self, sighup_first):
        """Reload one way, then the other: the second finds nothing to do."""
        if sighup_first:
            self.sighup()
            self.api_reload()
        else:
            self.api_reload()
            self.sighup()

    def health_index(self, name):
        r = self.agent.http("GET", "/v1/health/service/%s" % name)
        self.assertEqual(r.status, 200)
        return r.index, r.json()

    def cache_check(self):
        _, entries = self.health_index("cache")
        self.assertEqual(len(entries), 1)
        return [c for c in entries[0]["Checks"] if c["CheckID"] == "cache-ttl"][0]

    # the test ---------------------------------------------------------------------------------

    def test_reload_is_a_diff_and_dns_never_misses(self):
        a = self.agent
        self.assertTrue(self.answers("stable.service.consul"))
        a.api("PUT", "/v1/agent/check/pass/cache-ttl?note=warm")
        a.api("PUT", "/v1/agent/service/register", {"Name": "viaapi", "Port": 7300})
        self.assertEqual(self.cache_check()["Status"], "passing")

        with QueryLoop(a.dns_port, "stable.service.consul") as loop:
            # A no-op reload (both ways) moves no index and keeps the TTL check's state.
            index, _ = self.health_index("cache")
            stable_index, _ = self.health_index("stable")
            blocked = {}

            def blocking_query():
                blocked["reply"] = a.http(
                    "GET", "/v1/health/service/cache?index=%d&wait=3s" % index, timeout=15)

            t = threading.Thread(target=blocking_query)
            t.start()
            self.api_reload()
            self.sighup()
            t.join(timeout=15)
            self.assertFalse(t.is_alive())
            self.assertEqual(blocked["reply"].index, index)  # it ran out its wait unchanged
            self.assertEqual(self.health_index("cache")[0], index)
            self.assertEqual(self.health_index("stable")[0], stable_index)
            chk = self.cache_check()
            self.assertEqual(chk["Status"], "passing")
            self.assertEqual(chk["Output"], "warm")

            # Add a file (SIGHUP, then HTTP): the new service answers.
            a.write_file("added.json", ADDED)
            self.reload_both(sighup_first=True)
            self.assertTrue(self.answers("added.service.consul"))
            self.assertEqual(self.srv_port("added.service.consul"), 7100)

            # Change it (HTTP, then SIGHUP): the new definition answers.
            a.write_file("added.json", ADDED_CHANGED)
            self.api_reload()
            self.assertEqual(self.srv_port("added.service.consul"), 7200)
            self.sighup()
            self.assertEqual(self.srv_port("added.service.consul"), 7200)

            # Node meta and dns_config apply.
            a.write_config({"node_meta": {"rack": "r2"},
                            "dns_config": {"service_ttl": {"stable": "7s"}}})
            self.api_reload()
            node = a.api("GET", "/v1/catalog/node/%s" % a.node)
            self.assertEqual(node["Node"]["Meta"]["rack"], "r2")
            self.assertEqual(self.rcode("stable.service.consul")["answer"][0]["ttl"], 7)

            # Remove it (SIGHUP, then HTTP): NXDOMAIN.
            os.remove(os.path.join(a.config_dir, "added.json"))
            self.reload_both(sighup_first=True)
            self.assertTrue(self.nxdomain("added.service.consul"))

            # A broken file: the API answers 500 naming file, line and key; nothing else in the
            # dir applies (later.json neither), and the old config keeps answering.
            a.write_file("broken.json", BROKEN)
            a.write_file("later.json", {"service": {"name": "later", "port": 7400}})
            r = self.api_reload(expect=500)
            body = r.body.decode()
            self.assertRegex(body, r"broken\.json:4: service\.port")
            self.sighup()
            self.assertRegex(a.log_text(), r"reload failed.*broken\.json:4: service\.port")
            self.assertTrue(self.nxdomain("later.service.consul"))
            self.assertTrue(self.answers("cache.service.consul"))
            self.assertEqual(self.cache_check()["Status"], "passing")

            # Fixed: later.json applies; the unchanged TTL check is still passing.
            os.remove(os.path.join(a.config_dir, "broken.json"))
            self.reload_both(sighup_first=False)
            self.assertTrue(self.answers("later.service.consul"))
            self.assertEqual(self.cache_check()["Status"], "passing")
            self.assertEqual(self.cache_check()["Output"], "warm")

            # The API's service was never touched.
            services = a.api("GET", "/v1/agent/services")
            self.assertIn("viaapi", services)
            self.assertTrue(self.answers("viaapi.service.consul"))

        self.assertGreater(loop.queries, 0)
        self.assertEqual(loop.failures, [], "queries failed during the reloads")
        self.assertTrue(re.search(r"reload: \d+ added", a.log_text()))


if __name__ == "__main__":
    watchdog(150)
    unittest.main()
