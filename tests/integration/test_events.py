#!/usr/bin/env python3
"""User events against a real agent: /v1/event/fire and /v1/event/list (shapes, filters, the
index that blocks while it equals the client's), `beacon event` and `beacon watch -type event`
with a real handler, as a Consul user runs them."""

import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, BEACON, http_request, stop_process, wait_for  # noqa: E402

WAIT = 20


class TestEvents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(node="event-node")
        cls.agent.start()
        r = http_request(cls.agent.http_port, "PUT", "/v1/agent/service/register",
                         {"Name": "web", "ID": "web-1", "Port": 80, "Tags": ["v1"]})
        assert r.status == 200, r

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def fire(self, name, payload=None, **filters):
        q = "&".join("%s=%s" % kv for kv in filters.items())
        r = http_request(self.agent.http_port, "PUT", "/v1/event/fire/%s%s" % (name, "?" + q if q else ""),
                         payload)
        self.assertEqual(r.status, 200, r)
        return json.loads(r.body)

    def events(self, name=None, index=None, timeout=10.0):
        q = []
        if name:
            q.append("name=" + name)
        if index is not None:
            q.append("index=%d&wait=%ds" % (index, WAIT))
        r = http_request(self.agent.http_port, "GET", "/v1/event/list" + ("?" + "&".join(q) if q else ""),
                         timeout=timeout)
        self.assertEqual(r.status, 200, r)
        return json.loads(r.body), int(r.headers["x-consul-index"])

    def cli(self, *args):
        return subprocess.run([BEACON, args[0], "-http-addr", self.agent.http_addr] + list(args[1:]),
                              capture_output=True, text=True, timeout=30)

    def test_fire_and_list(self):
        ev = self.fire("deploy-a", b"v2")
        self.assertEqual(ev["Name"], "deploy-a")
        self.assertEqual(base64.b64decode(ev["Payload"]), b"v2")
        self.assertEqual((ev["Version"], ev["LTime"]), (1, 0))
        listed, index = self.events("deploy-a")
        self.assertEqual([e["ID"] for e in listed], [ev["ID"]])
        self.assertGreater(listed[0]["LTime"], 0)
        hexid = ev["ID"].replace("-", "")
        self.assertEqual(index, int(hexid[:16], 16) ^ int(hexid[16:], 16))
        self.assertEqual(self.events("nothing-by-this-name"), ([], 1))

    def test_filters_decide_what_this_agent_keeps(self):
        kept = self.fire("filtered", service="^web", tag="v1")
        self.fire("filtered", service="db")            # no such service here
        self.fire("filtered", node="other-node")        # not this node
        self.fire("filtered", node="event-.*")
        listed, _ = self.events("filtered")
        self.assertEqual(len(listed), 2)
        self.assertEqual(listed[0]["ID"], kept["ID"])
        self.assertEqual(listed[1]["NodeFilter"], "event-.*")
        r = http_request(self.agent.http_port, "PUT", "/v1/event/fire/x?tag=v1")
        self.assertEqual((r.status, r.body), (500, b"Cannot provide tag filter without service filter\n"))

    def test_list_blocks_until_an_event_arrives(self):
        self.fire("block")
        _, index = self.events("block")
        got = {}

        def wait():
            got["reply"] = self.events("block", index=index, timeout=WAIT + 5)

        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.5)
        self.assertTrue(t.is_alive(), "the list answered although its index had not changed")
        ev = self.fire("block", b"second")
        t.join(WAIT + 10)
        self.assertFalse(t.is_alive())
        listed, new_index = got["reply"]
        self.assertEqual(listed[-1]["ID"], ev["ID"])
        self.assertNotEqual(new_index, index)

    def test_cli_event(self):
        r = self.cli("event", "-name", "cli-ev", "payload-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^Event ID: [0-9a-f-]{36}\n$")
        listed, _ = self.events("cli-ev")
        self.assertEqual(base64.b64decode(listed[-1]["Payload"]), b"payload-1")
        self.assertEqual(listed[-1]["ID"], r.stdout.split()[-1])
        r = self.cli("event")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("Event name must be specified\n"), r.stderr)
        r = self.cli("event", "-name", "x", "-tag", "v1")
        self.assertEqual((r.returncode, r.stderr), (1, "Cannot provide tag filter without service filter.\n"))
        r = self.cli("event", "-name", "x", "a", "b")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("Too many command line arguments."), r.stderr)

    def test_watch_event_hands_only_new_events_to_the_handler(self):
        first = self.fire("watched", b"one")
        with tempfile.TemporaryDirectory() as d:
            handler = os.path.join(d, "handler.sh")
            with open(handler, "w") as f:
                f.write("#!/bin/sh\ncat > %s/run.$$.json\n" % d)
            os.chmod(handler, 0o755)
            w = subprocess.Popen([BEACON, "watch", "-http-addr", self.agent.http_addr, "-type", "event",
                                  "-name", "watched", handler], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            try:
                def runs():
                    out = []
                    for fn in sorted(os.listdir(d), key=lambda f: os.path.getmtime(os.path.join(d, f))):
                        if fn.startswith("run."):
                            with open(os.path.join(d, fn)) as f:
                                text = f.read()
                            if text.endswith("\n"):
                                out.append(json.loads(text))
                    return out
                wait_for(lambda: len(runs()) >= 1, 15, what="the first handler run")
                self.assertEqual([e["ID"] for e in runs()[0]], [first["ID"]])
                second = self.fire("watched", b"two")
                wait_for(lambda: len(runs()) >= 2, 15, what="the handler run for the new event")
                self.assertEqual([e["ID"] for e in runs()[1]], [second["ID"]])
            finally:
                stop_process(w)
                w.stdout.close()
                w.stderr.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
