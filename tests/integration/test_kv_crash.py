#!/usr/bin/env python3
"""Crash safety: a client PUTs KV keys as fast as it can while the agent (non-dev, -data-dir) is
killed with SIGKILL; after a restart on the same data dir every write that was acknowledged with
`true` is there with its value. Several rounds on the same data dir.

Also: the X-Consul-Index never goes backwards across a restart, and services registered through
the agent API come back after the crash (as Consul's agent does).
"""

import base64
import http.client
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, wait_for, watchdog  # noqa: E402

watchdog(150)

ROUNDS = 3


class Writer(threading.Thread):
    """PUTs <prefix>k<i> on one keep-alive connection until the connection fails or stop is set;
    acked holds {key: value} for every PUT answered 200 `true`."""

    def __init__(self, port, prefix, value_size=64):
        super().__init__(daemon=True)
        self.port = port
        self.prefix = prefix
        self.value_size = value_size
        self.acked = {}
        self.max_index = 0
        self.error = None
        self.stop = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        i = 0
        try:
            while not self.stop.is_set():
                key = "%sk%d" % (self.prefix, i)
                value = ("%s=%d:" % (key, i)).encode()
                value += os.urandom(max(0, self.value_size - len(value))).hex().encode()[
                    :max(0, self.value_size - len(value))]
                conn.request("PUT", "/v1/kv/" + key, body=value)
                r = conn.getresponse()
                body = r.read()
                if r.status == 200 and body.strip() == b"true":
                    self.acked[key] = value
                else:
                    self.error = "PUT %s -> %d %r" % (key, r.status, body[:200])
                    return
                i += 1
        except (OSError, http.client.HTTPException) as e:
            self.error = e  # expected once the agent is killed
        finally:
            conn.close()


def kv_tree(agent, prefix):
    """{key: value bytes} under prefix, and the reply's index."""
    r = agent.http("GET", "/v1/kv/%s?recurse" % prefix, timeout=30)
    if r.status == 404:
        return {}, r.index
    assert r.status == 200, r
    out = {}
    for e in r.json():
        out[e["Key"]] = base64.b64decode(e["Value"]) if e["Value"] is not None else b""
    return out, r.index


class TestKvCrash(unittest.TestCase):
    def test_acknowledged_writes_survive_kill_9(self):
        agent = Agent(node="crash", data_dir="tmp", extra_args=["-server"])
        try:
            agent.start()
            all_acked = {}
            last_index = 0
            rng = random.Random(1234)
            for rnd in range(ROUNDS):
                w = Writer(agent.http_port, "crash/r%d/" % rnd)
                w.start()
                # let it write for a while, then pull the plug mid-stream
                wait_for(lambda: len(w.acked) >= 50 or not w.is_alive(), 30,
                         what="the writer to get 50 acks")
                time.sleep(rng.uniform(0.2, 0.8))
                self.assertTrue(w.is_alive(), "writer stopped before the kill: %r" % w.error)
                n_before_kill = len(w.acked)
                agent.kill9()
                w.join(timeout=10)
                self.assertFalse(w.is_alive())
                self.assertGreater(len(w.acked), 0)
                all_acked.update(w.acked)
                print("round %d: %d writes acknowledged (%d when the kill was sent)"
                      % (rnd, len(w.acked), n_before_kill), flush=True)

                agent.start(keep_ports=True)
                got, index = kv_tree(agent, "crash/")
                missing = [k for k in all_acked if k not in got]
                wrong = [k for k in all_acked if k in got and got[k] != all_acked[k]]
                self.assertEqual(missing, [], "acknowledged keys lost after kill -9 (round %d): "
                                 "%d of %d, e.g. %s" % (rnd, len(missing), len(all_acked),
                                                         missing[:5]))
                self.assertEqual(wrong, [], "acknowledged keys with a wrong value: %s" % wrong[:5])
                # the index is persistent and monotonic across restarts
                self.assertIsNotNone(index)
                self.assertGreaterEqual(index, last_index, "X-Consul-Index went backwards")
                last_index = index
            # a clean stop and start keeps everything as well
            agent.stop()
            agent.start(keep_ports=True)
            got, index = kv_tree(agent, "crash/")
            self.assertEqual(len([k for k in all_acked if got.get(k) == all_acked[k]]),
                             len(all_acked))
            self.assertGreaterEqual(index, last_index)
        finally:
            agent.close()

    def test_agent_registrations_survive_kill_9(self):
        agent = Agent(node="crash2", data_dir="tmp", extra_args=["-server"])
        try:
            agent.start()
            r = agent.http("PUT", "/v1/agent/service/register",
                           {"Name": "survivor", "ID": "survivor-1", "Port": 4242, "Tags": ["t"],
                            "Check": {"CheckID": "survivor-ttl", "TTL": "60s",
                                      "Status": "passing"}})
            self.assertEqual(r.status, 200, r)
            r = agent.http("PUT", "/v1/agent/service/register", {"Name": "gone", "Port": 1})
            self.assertEqual(r.status, 200, r)
            r = agent.http("PUT", "/v1/agent/service/deregister/gone")
            self.assertEqual(r.status, 200, r)
            agent.kill9()
            agent.start(keep_ports=True)
            svcs = agent.http("GET", "/v1/agent/services").json()
            self.assertIn("survivor-1", svcs, "agent-API service lost after kill -9")
            self.assertEqual(svcs["survivor-1"]["Port"], 4242)
            self.assertNotIn("gone", svcs, "a deregistered service came back")
            self.assertIn("survivor-ttl", agent.http("GET", "/v1/agent/checks").json())
            srv = agent.dig("survivor.service.consul", "SRV").records("answer", "SRV")
            self.assertEqual([x["data"].split()[2] for x in srv], ["4242"])
        finally:
            agent.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
